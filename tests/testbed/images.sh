#!/usr/bin/env bash
# Build (once, cached by recipe hash) the systemd base images for testbed hosts:
#   localhost/onprem-wandb/bookworm:<hash>   Debian 12, most hosts
#   localhost/onprem-wandb/trixie:<hash>     Debian 13 (current stable), the redis/nginx/minio scenarios
#   localhost/onprem-wandb/sid:<hash>        Debian sid, MySQL hosts (Oracle MySQL 9.x)
# All are shaped like a site's hosts: sshd (host keys made at first boot, so every host has its
# own) and a non-root user `deploy` with passwordless sudo. hosts.sh gives `deploy` the testbed's
# key and writes the hosts' public keys into a known_hosts file (no trust on first use).
# Other images may extend these (`FROM $(images.sh tag bookworm)`).
# Usage: images.sh [bookworm|trixie|sid|all]   prints nothing but logs; `images.sh tag NAME` prints the tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

MIRROR=${ONPREM_WANDB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,iputils-ping,procps,ca-certificates,curl,gnupg,less,xz-utils,openssh-server,sudo
SSH_USER=deploy

recipe_hash() {  # the tag changes whenever this script, the package list or the suite changes
  { cat "$here/images.sh"; echo "$1 $PACKAGES $SSH_USER"; } | sha256sum | cut -c1-12
}
image_tag() { echo "localhost/onprem-wandb/$1:$(recipe_hash "$1")"; }

build() {
  local suite=$1 tag; tag=$(image_tag "$suite")
  if podman image exists "$tag"; then log "image $tag: cached"; return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is missing: run 'make deps' (apt-get install debootstrap)."
  check_disk /var/tmp 3
  local root; root=$(mktemp -d /var/tmp/onprem-wandb-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  log "image $tag: debootstrap $suite from $MIRROR (a few minutes)"
  local keyring=()
  case "$suite" in sid|trixie) keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg) ;; esac
  if ! debootstrap --variant=minbase --include="$PACKAGES" "${keyring[@]}" "$suite" "$root" "$MIRROR" >"$CACHE/debootstrap-$suite.log" 2>&1; then
    tail -15 "$CACHE/debootstrap-$suite.log" >&2
    die "debootstrap of $suite failed (log $CACHE/debootstrap-$suite.log): check that $MIRROR is reachable or set ONPREM_WANDB_DEBIAN_MIRROR."
  fi
  # A container boots straight to systemd: no consoles, no udev, no time sync fights.
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
              systemd-timesyncd.service systemd-logind.service systemd-remount-fs.service sys-kernel-config.mount \
              sys-kernel-debug.mount sys-kernel-tracing.mount systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  : >"$root/etc/machine-id"
  # sshd: no host keys in the image (each host makes its own before sshd first starts); key logins only
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$root/etc/systemd/system/ssh.service.d/onprem-wandb-hostkeys.conf"
  printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\nUseDNS no\n' \
    >"$root/etc/ssh/sshd_config.d/onprem-wandb.conf"
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf /lib/systemd/system/ssh.service "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
  # the operator's account on a site: non-root, passwordless sudo
  chroot "$root" useradd --create-home --shell /bin/bash "$SSH_USER"
  printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$SSH_USER" >"$root/etc/sudoers.d/onprem-wandb-$SSH_USER"
  chmod 0440 "$root/etc/sudoers.d/onprem-wandb-$SSH_USER"
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99onprem-wandb-valid-until"
  echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/99onprem-wandb-norecommends"
  printf 'deb %s %s main\n' "$MIRROR" "$suite" >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import -q --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
      --change 'ENV container=podman' - "$tag" >/dev/null
  log "image $tag: built"
}

case "${1:-all}" in
  tag) image_tag "${2:?suite}" ;;
  user) echo "$SSH_USER" ;;
  bookworm|trixie|sid) build "$1" ;;
  all) build bookworm; build trixie; build sid ;;
  *) die "unknown image '$1' (bookworm|trixie|sid|all|tag SUITE)" ;;
esac
