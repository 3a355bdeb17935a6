#!/usr/bin/env bash
# Build (once, cached by version) the server binaries the testbed needs:
#   minio, mc            from the Go module proxy (MinIO is source-only)
#   kube-apiserver       from k8s.io/kubernetes with the staging-module replace workaround
# Usage: build-binaries.sh [minio|mc|kube-apiserver|all]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed: install Go >= 1.24 (apt-get install golang or https://go.dev/dl) and re-run."
  local v; v=$(go env GOVERSION | sed 's/^go//')
  case "$v" in 1.2[4-9]*|1.[3-9]*) ;; *) die "Go $v is too old: MinIO and Kubernetes need Go >= 1.24.";; esac
}

# go_install NAME MODULE VERSION: build MODULE@VERSION into $CACHE/NAME-VERSION/NAME
go_install() {
  local name=$1 module=$2 version=$3 dest="$CACHE/$1-$3"
  if [ -x "$dest/$name" ]; then log "$name $version: cached ($dest)"; return 0; fi
  need_go; check_disk "$CACHE" 4
  log "$name $version: building from the Go module proxy (a few minutes on 2 cores)"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  if ! GOBIN="$dest.tmp" CGO_ENABLED=0 go install -trimpath "$module@$version" >"$dest.tmp/build.log" 2>&1; then
    tail -20 "$dest.tmp/build.log" >&2
    die "building $name failed (log above, full log $dest.tmp/build.log): check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY)) and that $version exists."
  fi
  mv "$dest.tmp" "$dest"
  log "$name $version: built"
}

build_kube_apiserver() {
  local v=$KUBERNETES_VERSION dest="$CACHE/kube-apiserver-$KUBERNETES_VERSION"
  if [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kubectl" ]; then log "kube-apiserver $v: cached ($dest)"; return 0; fi
  need_go; check_disk "$CACHE" 6
  log "kube-apiserver $v: building from k8s.io/kubernetes (5-15 minutes on 2 cores)"
  local work="$dest.tmp"; rm -rf "$work"; mkdir -p "$work/src"
  local minor=${v#*.}; local staging="v0.$minor"
  # k8s.io/kubernetes requires its staging modules at v0.0.0; point every one of them at
  # the published v0.X.Y, exactly the versions it was released with.
  local mods
  mods=$(cd "$work/src" && go mod download -json "k8s.io/kubernetes@v$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module onprem.wandb/testbed/kubeapiserver"
    echo "go 1.24"
    echo "require k8s.io/kubernetes v$v"
    # the staging modules are exactly those that k8s.io/kubernetes replaces with ./staging/...
    grep -oE '^\s*(replace )?k8s\.io/[a-z0-9-]+ => \./staging/' "$mods" | grep -oE 'k8s\.io/[a-z0-9-]+' | sort -u | while read -r m; do
      echo "replace $m => $m $staging"
    done
  } >"$work/src/go.mod"
  printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\nimport _ "k8s.io/kubernetes/cmd/kubectl"\nfunc main() {}\n' >"$work/src/tools.go"
  # stamp the version the way Kubernetes' own build does, so /version answers v1.X.Y
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$v -X $pkg.gitMajor=${v%%.*} -X $pkg.gitMinor=${minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  if ! (cd "$work/src" && go mod tidy >"$work/build.log" 2>&1 \
        && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >>"$work/build.log" 2>&1 \
        && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/kubectl" k8s.io/kubernetes/cmd/kubectl >>"$work/build.log" 2>&1); then
    tail -20 "$work/build.log" >&2
    die "building kube-apiserver $v failed (full log $work/build.log): check the Go module proxy and that k8s.io/kubernetes v$v and its staging modules $staging exist."
  fi
  rm -rf "$work/src"; mv "$work" "$dest"
  log "kube-apiserver $v: built"
}

what=${1:-all}
case "$what" in
  path)  # path NAME: where the cached binary is (build it first with the NAME target)
    case "${2:-}" in
      minio) echo "$CACHE/minio-$MINIO_VERSION/minio" ;;
      mc) echo "$CACHE/mc-$MC_VERSION/mc" ;;
      kube-apiserver|kubectl) echo "$CACHE/kube-apiserver-$KUBERNETES_VERSION/$2" ;;
      *) die "usage: build-binaries.sh path minio|mc|kube-apiserver|kubectl" ;;
    esac ;;
  minio) go_install minio github.com/minio/minio "$MINIO_VERSION" ;;
  mc) go_install mc github.com/minio/mc "$MC_VERSION" ;;
  kube-apiserver) build_kube_apiserver ;;
  all) go_install minio github.com/minio/minio "$MINIO_VERSION"
       go_install mc github.com/minio/mc "$MC_VERSION"
       build_kube_apiserver ;;
  *) die "unknown target '$what' (minio|mc|kube-apiserver|all)" ;;
esac
