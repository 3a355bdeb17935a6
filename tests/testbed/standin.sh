#!/usr/bin/env bash
# The stand-in for wandb/local, a test fixture (source: tests/testbed/standin/). It is NOT W&B.
#   standin.sh build VERSION   build (cached by source hash + version) the static binary and an
#                              image archive for `ctr -n k8s.io images import` / `podman load`;
#                              prints the archive path
#   standin.sh ref VERSION     prints the image reference (localhost/onprem-wandb/wandb-standin:VERSION)
#   standin.sh binary VERSION  builds like `build` and prints the binary's path
#   standin.sh test            go vet + go test of the stand-in (the unit stage of make test)
# Versions: 1.0.0 and 1.1.0 (same source, the version stamped by -ldflags).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

SRC="$here/standin"
REPO_REF=localhost/onprem-wandb/wandb-standin
VERSIONS="1.0.0 1.1.0"

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed: run 'make deps' (it checks Go) or install Go >= $(go_wanted)."
  local have want; have=$(go env GOVERSION | sed 's/^go//'); want=$(go_wanted)
  printf '%s\n%s\n' "$want" "$have" | sort -V -C || die "Go $have is older than $want, which tests/testbed/standin/go.mod needs: install a newer Go."
}
go_wanted() { awk '$1 == "go" {print $2; exit}' "$SRC/go.mod"; }

check_version() {
  case " $VERSIONS " in *" $1 "*) ;; *) die "unknown stand-in version '$1': use one of $VERSIONS." ;; esac
}

# Everything that goes into the image: the sources, the module files, the archive writer, this script.
source_hash() {
  (cd "$here" && cat standin/go.mod standin/go.sum standin/*.go image_archive.py standin.sh) | sha256sum | cut -c1-16
}

build() {
  local v=$1 hash dest
  check_version "$v"
  hash=$(source_hash); dest="$CACHE/wandb-standin-$v-$hash"
  if [ -f "$dest/image.tar" ] && [ -x "$dest/wandb-standin" ]; then
    log "stand-in $v: cached ($dest)"; echo "$dest/image.tar"; return 0
  fi
  need_go; check_disk "$CACHE" 1
  log "stand-in $v: building (test fixture for wandb/local)"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp/rootfs"
  if ! (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -buildvcs=false \
          -ldflags "-s -w -X main.version=$v" -o "$dest.tmp/wandb-standin" .) >"$dest.tmp/build.log" 2>&1; then
    tail -20 "$dest.tmp/build.log" >&2
    die "building the stand-in failed (full log $dest.tmp/build.log): check the Go module proxy (GOPROXY=$(go env GOPROXY))."
  fi
  # The layout wandb/local has where the collection touches it: uid 999 gid 0, the CA mount
  # point, a CA bundle directory group 0 may write (OpenShift runs with an arbitrary uid, gid 0),
  # a writable /tmp.
  local r="$dest.tmp/rootfs"
  mkdir -p "$r/usr/local/bin" "$r/etc/ssl/certs" "$r/usr/local/share/ca-certificates" "$r/tmp" "$r/home/wandb"
  install -m 0755 "$dest.tmp/wandb-standin" "$r/usr/local/bin/wandb-standin"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nwandb:x:999:0:stand-in for wandb/local (test fixture):/home/wandb:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
  chmod 0644 "$r/etc/passwd" "$r/etc/group"; chmod 0775 "$r/etc/ssl/certs" "$r/home/wandb"
  chmod 0755 "$r/usr/local/share/ca-certificates"; chmod 1777 "$r/tmp"
  if ! python3 "$here/image_archive.py" --rootfs "$r" --ref "$REPO_REF:$v" --out "$dest.tmp/image.tar" \
        --user 999:0 --entrypoint /usr/local/bin/wandb-standin --workdir /home/wandb \
        --env PATH=/usr/local/bin --env HOME=/home/wandb --port 8080 --port 8181 \
        --owner home/wandb:999:0 \
        --label "org.opencontainers.image.title=wandb-standin" \
        --label "org.opencontainers.image.description=stand-in for wandb/local, a test fixture of onprem.wandb (not W&B)" \
        --label "org.opencontainers.image.version=$v" >"$dest.tmp/image.id" 2>>"$dest.tmp/build.log"; then
    die "writing the image archive failed (log $dest.tmp/build.log)."
  fi
  rm -rf "$r" "$dest"; mv "$dest.tmp" "$dest"
  # keep the cache small: older builds of this version go
  find "$CACHE" -maxdepth 1 -name "wandb-standin-$v-*" ! -name "wandb-standin-$v-$hash" -exec rm -rf {} + 2>/dev/null || true
  log "stand-in $v: built ($(du -h "$dest/image.tar" | cut -f1) archive, image id $(cut -c1-12 "$dest/image.id"))"
  echo "$dest/image.tar"
}

run_tests() {
  need_go
  (cd "$SRC" && GOFLAGS=-mod=mod go vet ./... && GOFLAGS=-mod=mod go test -count=1 ./...)
}

case "${1:-}" in
  build) build "${2:?usage: standin.sh build VERSION}" ;;
  ref) check_version "${2:?usage: standin.sh ref VERSION}"; echo "$REPO_REF:$2" ;;
  binary) archive=$(build "${2:?usage: standin.sh binary VERSION}"); echo "$(dirname "$archive")/wandb-standin" ;;
  test) run_tests ;;
  versions) echo "$VERSIONS" ;;
  *) die "usage: standin.sh build VERSION | ref VERSION | binary VERSION | test | versions" ;;
esac
