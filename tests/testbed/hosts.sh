#!/usr/bin/env bash
# Testbed hosts: podman containers with systemd as PID 1 on the network "onprem-wandb"
# (name resolution between hosts through the dnsname plugin).
#   hosts.sh up NAME=IMAGE[,ALIAS...] ...     IMAGE is bookworm or sid; ALIASes are extra DNS
#                                             names on the network; replaces leftovers
#   hosts.sh ensure NAME=IMAGE[,ALIAS...] ... like up, but keeps hosts already running from
#                                             the current image (a second `make demo` changes nothing)
#   hosts.sh down NAME [NAME ...]             stop and remove these hosts
#   hosts.sh clean [RUN]                      remove every testbed host (or those of one run), network, cgroups
#   hosts.sh list                             names of running testbed hosts
#   hosts.sh network                          create the testbed network if missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

NETWORK=${ONPREM_WANDB_NETWORK:-onprem-wandb}
LABEL=onprem-wandb.testbed
CGROUP_PARENT=/onprem-wandb-testbed

command -v podman >/dev/null || die "podman is missing: run 'make deps'."

ensure_network() {
  podman network exists "$NETWORK" || podman network create "$NETWORK" >/dev/null \
    || die "cannot create podman network $NETWORK: check 'podman network ls' and the CNI plugins (make deps)."
  # podman 4.3: when a network is removed and created again while aardvark-dns keeps running,
  # aardvark goes on listening on the old gateway and names stop resolving. Point it at the
  # current gateway and make it reload.
  local conf=/run/containers/networks/aardvark-dns/$NETWORK gw
  gw=$(podman network inspect "$NETWORK" --format '{{range .Subnets}}{{.Gateway}}{{end}}' 2>/dev/null || true)
  if [ -n "$gw" ] && [ -f "$conf" ] && [ "$(head -n1 "$conf")" != "$gw" ]; then
    sed -i "1s/.*/$gw/" "$conf"
    pkill -HUP -f aardvark-dns || true
  fi
  prune_dns
}

# podman 4.3 leaves a container's name in aardvark-dns when the container dies uncleanly, so a
# name can answer with the address of a container that is gone as well as the live one. nginx
# then sends every other request to the dead address and waits ~3 s for "No route to host".
# Drop the records of containers that no longer exist.
prune_dns() {
  local conf=/run/containers/networks/aardvark-dns/$NETWORK ids
  [ -f "$conf" ] || return 0
  ids=$(podman ps -a --no-trunc --format '{{.ID}}')
  if awk -v ids="$ids" 'BEGIN{n=split(ids,a,"\n"); for(i=1;i<=n;i++) live[a[i]]=1}
       NR==1 || ($1 in live) {print; next} {stale=1} END{exit !stale}' "$conf" >"$conf.new"; then
    cat "$conf.new" >"$conf"
    log "removed stale DNS records of deleted containers from aardvark-dns ($NETWORK)"
    pkill -HUP -f aardvark-dns || true
  fi
  rm -f "$conf.new"
}

remove_host() {
  local name=$1
  podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
}

start_host() {
  local name=$1 suite=${2%%,*} tag alias aliases=()
  if [ "$suite" != "$2" ]; then
    IFS=, read -ra more <<<"${2#*,}"
    for alias in "${more[@]}"; do aliases+=(--network-alias "$alias"); done
  fi
  tag=$("$here/images.sh" tag "$suite")
  podman image exists "$tag" || "$here/images.sh" "$suite"
  remove_host "$name"
  local extra=() init=()
  if [ "$suite" = sid ]; then
    # sid's systemd (>= 256) runs only on cgroup2, and this host is hybrid (v1 controllers
    # plus an empty unified tree). In a private cgroup namespace the container can mount
    # cgroup2 itself; the mount's root is then exactly its own unified cgroup.
    extra=(--cgroupns=private)
    init=(/bin/sh -c 'umount -R /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup && exec /sbin/init')
  fi
  # ONPREM_WANDB_RUN labels the hosts of one `make test` run, so it removes only its own
  podman run -d --name "$name" --hostname "$name" --network "$NETWORK" --label "$LABEL=1" \
    --label "$LABEL.run=${ONPREM_WANDB_RUN:-manual}" \
    --privileged --systemd=always --cgroup-parent="$CGROUP_PARENT" --tmpfs /tmp:rw,exec --stop-timeout 10 \
    "${aliases[@]}" "${extra[@]}" "$tag" "${init[@]}" >/dev/null || die "podman run $name failed: see the message above."
}

wait_booted() {
  local name=$1 state
  for _ in $(seq 1 120); do
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac
    sleep 0.5
  done
  podman logs --tail 30 "$name" >&2 || true
  die "host $name did not boot systemd within 60 s (state '$state'); its log is above."
}

cmd=${1:-}; shift || true
case "$cmd" in
  up)
    [ $# -gt 0 ] || die "usage: hosts.sh up NAME=IMAGE[,ALIAS...] ..."
    ensure_network
    for spec in "$@"; do start_host "${spec%%=*}" "${spec#*=}"; done
    for spec in "$@"; do wait_booted "${spec%%=*}"; done
    log "hosts up: ${*}"
    ;;
  ensure)
    [ $# -gt 0 ] || die "usage: hosts.sh ensure NAME=IMAGE[,ALIAS...] ..."
    ensure_network
    started=()
    for spec in "$@"; do
      name=${spec%%=*}; suite=${spec#*=}; suite=${suite%%,*}
      if [ "$(podman inspect -f '{{.State.Running}} {{.ImageName}}' "$name" 2>/dev/null)" = "true $("$here/images.sh" tag "$suite")" ]; then
        continue
      fi
      start_host "$name" "${spec#*=}"; started+=("$name")
    done
    for name in "${started[@]}"; do wait_booted "$name"; done
    log "hosts ready: ${*} (started: ${started[*]:-none})"
    ;;
  down)
    for name in "$@"; do remove_host "$name"; done
    ;;
  clean)
    if [ -n "${1:-}" ]; then  # only the hosts of one run; shared network and cgroups stay
      podman ps -aq --filter "label=$LABEL.run=$1" | xargs -r podman rm -f -t 5 >/dev/null
      exit 0
    fi
    podman ps -aq --filter "label=$LABEL" | xargs -r podman rm -f -t 5 >/dev/null
    # the cgroup parent podman made in every hierarchy (empty once its containers are gone)
    for d in /sys/fs/cgroup/*"$CGROUP_PARENT" /sys/fs/cgroup/unified"$CGROUP_PARENT"; do
      if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
    done
    if podman network exists "$NETWORK"; then podman network rm -f "$NETWORK" >/dev/null || true; fi
    ;;
  list) podman ps --filter "label=$LABEL" --format '{{.Names}}' ;;
  network) ensure_network ;;  # for hosts started elsewhere (kube.sh's node)
  *) die "usage: hosts.sh up|down|clean|list ..." ;;
esac
