#!/usr/bin/env bash
# Testbed hosts: podman containers with systemd as PID 1 on the network "onprem-wandb"
# (name resolution between hosts through the dnsname plugin).
#   hosts.sh up NAME=IMAGE[,ALIAS...] ...     IMAGE is bookworm, trixie or sid; ALIASes are extra DNS
#                                             names on the network; replaces leftovers
#   hosts.sh ensure NAME=IMAGE[,ALIAS...] ... like up, but keeps hosts already running from
#                                             the current image (a second `make demo` changes nothing)
#   hosts.sh down NAME [NAME ...]             stop and remove these hosts
#   hosts.sh clean [RUN]                      remove every testbed host (or those of one run), network, cgroups
#   hosts.sh list                             names of running testbed hosts
#   hosts.sh network                          create the testbed network if missing
#   hosts.sh ssh-config                       path of the ssh_config that reaches the hosts
#   hosts.sh ssh-export DIR [OWNER]           a self-contained copy of the SSH material in DIR (for
#                                             another controller user: key, known_hosts, config)
#
# The hosts are reached the way a site's are: SSH as the non-root user of the images (`deploy`,
# passwordless sudo). The testbed keeps in $STATE/ssh:
#   id_ed25519[.pub]   the testbed's keypair (made once); its public key is deploy's authorized key
#   known_hosts        every host's public keys, read from the host itself (no trust on first use)
#   hosts.d/NAME.conf  `Host NAME` -> its address on the podman network (the controller cannot
#                      resolve container names; inventory_hostname stays the container name)
#   config             the ssh_config Ansible uses (-F, set by inventories/local group testbed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

NETWORK=${ONPREM_WANDB_NETWORK:-onprem-wandb}
LABEL=onprem-wandb.testbed
CGROUP_PARENT=/onprem-wandb-testbed

command -v podman >/dev/null || die "podman is missing: run 'make deps'."

SSH_DIR=$STATE/ssh
SSH_USER=$("$here/images.sh" user)   # the images' sudo user

# write_ssh_config DIR: DIR/config reaching the hosts of DIR/hosts.d with DIR's key and known_hosts
write_ssh_config() {
  local dir=$1
  cat >"$dir/config.new" <<CONF
# Written by tests/testbed/hosts.sh: how the controller reaches the testbed hosts (ssh -F $dir/config NAME).
Include $dir/hosts.d/*.conf
Host *
  User $SSH_USER
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 3
CONF
  mv -f "$dir/config.new" "$dir/config"
}

# Serialise changes to $SSH_DIR (several testbed runs may start hosts at once).
ssh_locked() {
  local fd rc=0
  mkdir -p "$SSH_DIR/hosts.d" "$SSH_DIR/known_hosts.d"
  exec {fd}>"$SSH_DIR/.lock"
  flock "$fd"
  "$@" || rc=$?
  exec {fd}>&-
  return $rc
}

ssh_keypair() {
  [ -f "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C onprem-wandb-testbed -f "$SSH_DIR/id_ed25519"
  [ -f "$SSH_DIR/config" ] || write_ssh_config "$SSH_DIR"
}

# rebuild known_hosts from the per-host files (one writer at a time: under ssh_locked)
ssh_known_hosts() {
  find "$SSH_DIR/known_hosts.d" -type f -exec cat {} + >"$SSH_DIR/known_hosts.new" 2>/dev/null || true
  mv -f "$SSH_DIR/known_hosts.new" "$SSH_DIR/known_hosts"
}

# ssh_host NAME: give deploy the testbed key, record the host's keys and address
ssh_host() {
  local name=$1 ip keys
  podman exec -i "$name" sh -c "umask 077 && mkdir -p /home/$SSH_USER/.ssh && cat >/home/$SSH_USER/.ssh/authorized_keys && chown -R $SSH_USER: /home/$SSH_USER/.ssh" \
    <"$SSH_DIR/id_ed25519.pub" || die "cannot install the testbed key for $SSH_USER on $name"
  for _ in $(seq 1 60); do
    podman exec "$name" systemctl is-active -q ssh 2>/dev/null && break
    sleep 0.5
  done
  keys=$(podman exec "$name" sh -c 'cat /etc/ssh/ssh_host_*_key.pub') \
    || die "sshd on $name has no host keys (systemctl status ssh on $name): is the image current (images.sh)?"
  ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name")
  [ -n "$ip" ] || die "host $name has no address on $NETWORK"
  awk -v n="$name" '{print n, $1, $2}' <<<"$keys" >"$SSH_DIR/known_hosts.d/$name"
  printf 'Host %s\n  HostName %s\n  HostKeyAlias %s\n' "$name" "$ip" "$name" >"$SSH_DIR/hosts.d/$name.conf"
}

ssh_forget() {  # ssh_forget NAME...: drop the hosts' records
  local name
  for name in "$@"; do rm -f "$SSH_DIR/hosts.d/$name.conf" "$SSH_DIR/known_hosts.d/$name"; done
  ssh_known_hosts
}

ssh_copy() { cp "$SSH_DIR/id_ed25519" "$SSH_DIR/known_hosts" "$1/" && cp "$SSH_DIR"/hosts.d/*.conf "$1/hosts.d/"; }

ssh_ready() {  # ssh_ready NAME...: key, records, known_hosts for these hosts
  local name
  ssh_keypair
  for name in "$@"; do ssh_host "$name"; done
  ssh_known_hosts
}

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
  local name=$1 ip
  # close SSH connections to it (ControlPersist masters), so a host made again under this name,
  # perhaps at the same address, is never reached through a stale master
  ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name" 2>/dev/null || true)
  podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
  if [ -n "$ip" ]; then
    ss -Htnp dst "$ip" dport = :22 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | xargs -r kill 2>/dev/null || true
  fi
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
  case "$suite" in sid|trixie)
    # systemd >= 256 (trixie 257, sid newer) runs only on cgroup2, and this host is hybrid (v1
    # controllers plus an empty unified tree). In a private cgroup namespace the container can
    # mount cgroup2 itself; the mount's root is then exactly its own unified cgroup.
    extra=(--cgroupns=private)
    init=(/bin/sh -c 'umount -R /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup && exec /sbin/init')
  esac
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
    names=(); for spec in "$@"; do names+=("${spec%%=*}"); done
    ssh_locked ssh_ready "${names[@]}"
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
    names=(); for spec in "$@"; do names+=("${spec%%=*}"); done
    ssh_locked ssh_ready "${names[@]}"
    log "hosts ready: ${*} (started: ${started[*]:-none})"
    ;;
  down)
    for name in "$@"; do remove_host "$name"; done
    ssh_locked ssh_forget "$@"
    ;;
  clean)
    if [ -n "${1:-}" ]; then  # only the hosts of one run; shared network and cgroups stay
      mapfile -t names < <(podman ps -a --filter "label=$LABEL.run=$1" --format '{{.Names}}')
      for name in "${names[@]}"; do remove_host "$name"; done
      ssh_locked ssh_forget "${names[@]}"
      exit 0
    fi
    mapfile -t names < <(podman ps -a --filter "label=$LABEL" --format '{{.Names}}')
    for name in "${names[@]}"; do remove_host "$name"; done
    ssh_locked ssh_forget "${names[@]}"
    # the cgroup parent podman made in every hierarchy (empty once its containers are gone)
    for d in /sys/fs/cgroup/*"$CGROUP_PARENT" /sys/fs/cgroup/unified"$CGROUP_PARENT"; do
      if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
    done
    if podman network exists "$NETWORK"; then podman network rm -f "$NETWORK" >/dev/null || true; fi
    ;;
  list) podman ps --filter "label=$LABEL" --format '{{.Names}}' ;;
  network) ensure_network ;;  # for hosts started elsewhere (kube.sh's node)
  ssh-config) echo "$SSH_DIR/config" ;;
  ssh-export)
    dest=${1:?usage: hosts.sh ssh-export DIR [OWNER]}; owner=${2:-}
    mkdir -p "$dest/hosts.d"
    ssh_locked ssh_copy "$dest" || die "no testbed SSH material to export: start hosts first"
    chmod 0600 "$dest/id_ed25519"
    write_ssh_config "$dest"
    if [ -n "$owner" ]; then chown -R "$owner" "$dest"; fi
    echo "$dest/config"
    ;;
  *) die "usage: hosts.sh up|ensure|down|clean|list|network|ssh-config|ssh-export ..." ;;
esac
