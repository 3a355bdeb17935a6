#!/usr/bin/env bash
# Images of the testbed's Kubernetes node, each cached by a hash of its recipe:
#   build.sh node-image      the node host image (testbed bookworm + etcd, containerd, runc, CNI); prints its tag
#   build.sh pause           the pod sandbox image archive (a pause binary built here); prints its path
#   build.sh testapp [TAG]   the node's smoke-test image archive (localhost/onprem-wandb/node-testapp:TAG,
#                            default 1.0.0); prints its path
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/../lib.sh"

dir_hash() { (cd "$here" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum; echo "${EXTRA_HASH:-}") | sha256sum | cut -c1-12; }

node_image() {
  local base; base=$("$here/../images.sh" tag bookworm)
  podman image exists "$base" || "$here/../images.sh" bookworm
  local tag; tag="localhost/onprem-wandb/kube-node:$(EXTRA_HASH=$base dir_hash Containerfile etc onprem-wandb-node)"
  if ! podman image exists "$tag"; then
    log "image $tag: building (apt-get of etcd, containerd, runc, CNI plugins; about a minute)"
    podman build -q --build-arg BASE="$base" -t "$tag" -f "$here/Containerfile" "$here" >"$CACHE/kube-node-build.log" 2>&1 \
      || { tail -20 "$CACHE/kube-node-build.log" >&2; die "building the node image failed (log $CACHE/kube-node-build.log): check that the Debian mirror is reachable from podman."; }
    log "image $tag: built"
  fi
  echo "$tag"
}

# go_image NAME IMAGE-REF: build ./NAME (a Go main) statically into a FROM-scratch image, save it as an archive
go_image() {
  local name=$1 ref=$2 h; h=$(EXTRA_HASH=$ref dir_hash "$name")
  local out="$CACHE/node-$name-$h"
  if [ ! -f "$out/image.tar" ]; then
    command -v go >/dev/null || die "Go is not installed: run 'make deps'."
    rm -rf "$out.tmp"; mkdir -p "$out.tmp"
    (cd "$here/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp/$name" .) \
      || die "building $name failed (see above)."
    printf 'FROM scratch\nCOPY %s /%s\nENTRYPOINT ["/%s"]\n' "$name" "$name" "$name" >"$out.tmp/Containerfile"
    podman build -q -t "$ref" "$out.tmp" >/dev/null || die "podman build of $ref failed (see above)."
    podman save -q --format docker-archive -o "$out.tmp/image.tar" "$ref" || die "podman save of $ref failed."
    podman rmi -f "$ref" >/dev/null 2>&1 || true
    rm -rf "$out"; mv "$out.tmp" "$out"
  fi
  echo "$out/image.tar"
}

case "${1:-}" in
  node-image) node_image ;;
  pause) go_image pause localhost/onprem-wandb/pause:3.10 ;;
  testapp) go_image testapp "localhost/onprem-wandb/node-testapp:${2:-1.0.0}" ;;
  *) die "usage: node/build.sh node-image|pause|testapp [TAG]" ;;
esac
