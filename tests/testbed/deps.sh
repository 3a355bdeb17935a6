#!/usr/bin/env bash
# Install the testbed prerequisites on a Debian 12 machine (idempotent) and the pinned
# Python toolchain into .venv. Re-running does nothing when everything is in place.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

# util-linux: nsenter (tests/testbed/connection_plugins); wrk: benchmarks/nginx_proxy.sh
APT_PACKAGES=(podman runc debootstrap golang-github-containernetworking-plugin-dnsname etcd-server
              uidmap slirp4netns openssl curl python3-venv iproute2 shellcheck util-linux wrk)

[ "$(id -u)" = 0 ] || die "the testbed needs root (podman with systemd hosts, cgroups): run 'sudo make deps'."
command -v apt-get >/dev/null || die "this script installs with apt-get (Debian 12); on other systems install: ${APT_PACKAGES[*]}."
check_disk / 8

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  apt-get update -qq || die "apt-get update failed: check the Debian mirror in /etc/apt/sources.list*."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed: see the messages above."
fi

# Podman settings that work on this kind of host (hybrid cgroups, rlimits that cannot be raised).
conf=/etc/containers/containers.conf
want=$(cat "$here/containers.conf")
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  log "writing $conf (runc, cgroupfs, bounded ulimits)"
  mkdir -p /etc/containers; printf '%s\n' "$want" >"$conf"
fi
podman info >/dev/null 2>&1 || die "podman does not work here ('podman info' fails): run it by hand to see why."

# Go: MinIO, mc, Kubernetes and the stand-in for wandb/local are built from the Go module proxy.
go_want=$(awk '$1 == "go" {print $2; exit}' "$here/standin/go.mod")
command -v go >/dev/null 2>&1 \
  || die "Go >= $go_want is missing: install it from https://go.dev/dl (tar -C /usr/local -xzf go*.linux-amd64.tar.gz; PATH=/usr/local/go/bin:\$PATH) and re-run."
go_have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
printf '%s\n%s\n' "$go_want" "${go_have:-0}" | sort -V -C \
  || die "Go ${go_have:-?} is older than $go_want (tests/testbed/standin/go.mod, MinIO and Kubernetes need it): install a newer Go from https://go.dev/dl."
go env GOPROXY | grep -qv '^off$' \
  || die "GOPROXY=off: the testbed builds from the Go module proxy; set GOPROXY (go env -w GOPROXY=https://proxy.golang.org,direct)."

# Python toolchain, rebuilt only when requirements-dev.txt changes.
venv="$REPO_ROOT/.venv"; stamp="$venv/.requirements.sha256"
want_sum=$(sha256sum "$REPO_ROOT/requirements-dev.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_sum" ]; then
  log "python: installing the pinned toolchain into .venv"
  python3 -m venv "$venv" || die "python3 -m venv failed: apt-get install python3-venv."
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -r "$REPO_ROOT/requirements-dev.txt" || die "pip install failed: check that PyPI is reachable."
  echo "$want_sum" >"$stamp"
fi
# molecule and ansible-lint start ansible-config, ansible-playbook... from PATH; make
# `.venv/bin/molecule` work without an activated venv.
for tool in molecule ansible-lint; do
  if ! grep -q 'onprem.wandb wrapper' "$venv/bin/$tool" 2>/dev/null; then
    mv "$venv/bin/$tool" "$venv/bin/.$tool-real"
    # shellcheck disable=SC2016  # $PATH and $@ must expand in the wrapper, not here
    printf '#!/bin/sh\n# onprem.wandb wrapper: put the venv first on PATH\nPATH="%s/bin:$PATH" ANSIBLE_HOME="${ANSIBLE_HOME:-%s/.ansible}" exec "%s/bin/.%s-real" "$@"\n' "$venv" "$REPO_ROOT" "$venv" "$tool" >"$venv/bin/$tool"
    chmod +x "$venv/bin/$tool"
  fi
done

# Go >= 1.24 builds MinIO, mc and Kubernetes, and the integration tests parse W&B's MYSQL with
# the Go MySQL driver (as W&B's Go server does): the driver module is fetched once from the Go
# module proxy into the module cache, where the test finds it offline.
PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || die "Go is not installed: install Go >= 1.24 (https://go.dev/dl, into /usr/local/go) and re-run."
gov=$(go env GOVERSION | sed 's/^go//')
case "$gov" in 1.2[4-9]*|1.[3-9]*) ;; *) die "Go $gov is too old: MinIO, Kubernetes and the tests need Go >= 1.24.";; esac
if ! [ -f "$(go env GOMODCACHE)/cache/download/github.com/go-sql-driver/mysql/@v/$GO_MYSQL_DRIVER_VERSION.zip" ]; then
  log "go: fetching github.com/go-sql-driver/mysql@$GO_MYSQL_DRIVER_VERSION (the MYSQL DSN test)"
  go mod download -x "github.com/go-sql-driver/mysql@$GO_MYSQL_DRIVER_VERSION" >/dev/null 2>&1 \
    || die "go mod download github.com/go-sql-driver/mysql@$GO_MYSQL_DRIVER_VERSION failed: check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))."
fi
log "deps: ready"
