#!/usr/bin/env bash
# Build (once, cached by version) the server binaries the testbed needs:
#   minio, mc            from the Go module proxy (MinIO is source-only)
#   kubernetes           kube-apiserver, kubectl, kube-controller-manager, kube-scheduler,
#                        kubelet, kube-proxy from k8s.io/kubernetes with the staging-module
#                        replace workaround (kube-apiserver is an alias of this target)
# Usage: build-binaries.sh [minio|mc|kubernetes|all]
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

# Every Kubernetes binary the testbed runs, built together in one `go build` (they share
# most packages) from the k8s.io/kubernetes module into $CACHE/kubernetes-VERSION/.
KUBE_BINARIES="kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy"
build_kubernetes() {
  local v=$KUBERNETES_VERSION dest="$CACHE/kubernetes-$KUBERNETES_VERSION" b missing=""
  for b in $KUBE_BINARIES; do [ -x "$dest/$b" ] || missing+=" $b"; done
  if [ -z "$missing" ]; then log "kubernetes $v: cached ($dest)"; return 0; fi
  need_go; check_disk "$CACHE" 8
  log "kubernetes $v: building$missing from k8s.io/kubernetes (10-25 minutes on 2 cores when cold)"
  local work="$dest.tmp"; rm -rf "$work"; mkdir -p "$work/src" "$work/bin"
  local minor=${v#*.}; local staging="v0.$minor"
  # k8s.io/kubernetes requires its staging modules at v0.0.0; point every one of them at
  # the published v0.X.Y, exactly the versions it was released with.
  local mods
  mods=$(cd "$work/src" && go mod download -json "k8s.io/kubernetes@v$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module onprem.wandb/testbed/kubernetes"
    echo "go 1.24"
    echo "require k8s.io/kubernetes v$v"
    # the staging modules are exactly those that k8s.io/kubernetes replaces with ./staging/...
    grep -oE '^\s*(replace )?k8s\.io/[a-z0-9-]+ => \./staging/' "$mods" | grep -oE 'k8s\.io/[a-z0-9-]+' | sort -u | while read -r m; do
      echo "replace $m => $m $staging"
    done
  } >"$work/src/go.mod"
  local pkgs=() imports=""
  for b in $KUBE_BINARIES; do pkgs+=("k8s.io/kubernetes/cmd/$b"); imports+="import _ \"k8s.io/kubernetes/cmd/$b\"\n"; done
  printf 'package main\n%bfunc main() {}\n' "$imports" >"$work/src/tools.go"
  # stamp the version the way Kubernetes' own build does, so /version answers v1.X.Y
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$v -X $pkg.gitMajor=${v%%.*} -X $pkg.gitMinor=${minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local t0; t0=$(date +%s)
  if ! (cd "$work/src" && go mod tidy >"$work/build.log" 2>&1 \
        && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/bin/" "${pkgs[@]}" >>"$work/build.log" 2>&1); then
    tail -20 "$work/build.log" >&2
    die "building kubernetes $v failed (full log $work/build.log): check the Go module proxy and that k8s.io/kubernetes v$v and its staging modules $staging exist."
  fi
  mv "$work/bin"/* "$work/"; rm -rf "${work:?}/src" "${work:?}/bin"; rm -rf "${dest:?}"; mv "$work" "$dest"
  log "kubernetes $v: built in $(( $(date +%s) - t0 )) s"
}

what=${1:-all}
case "$what" in
  path)  # path NAME: where the cached binary is (build it first with the NAME target)
    case "${2:-}" in
      minio) echo "$CACHE/minio-$MINIO_VERSION/minio" ;;
      mc) echo "$CACHE/mc-$MC_VERSION/mc" ;;
      kube-apiserver|kubectl|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
        echo "$CACHE/kubernetes-$KUBERNETES_VERSION/$2" ;;
      *) die "usage: build-binaries.sh path minio|mc|kubectl|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy" ;;
    esac ;;
  minio) go_install minio github.com/minio/minio "$MINIO_VERSION" ;;
  mc) go_install mc github.com/minio/mc "$MC_VERSION" ;;
  kubernetes|kube-apiserver) build_kubernetes ;;
  all) go_install minio github.com/minio/minio "$MINIO_VERSION"
       go_install mc github.com/minio/mc "$MC_VERSION"
       build_kubernetes ;;
  *) die "unknown target '$what' (minio|mc|kubernetes|all)" ;;
esac
