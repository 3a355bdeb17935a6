# Shared helpers for the testbed scripts (sourced, not executed).
# shellcheck shell=bash
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Ansible runs every executable file of a directory given as inventory with --list or
# --host; these scripts are not inventories, so they answer "no hosts" and do nothing.
case "${1:-}" in --list|--host) echo '{}'; exit 0 ;; esac

# shellcheck disable=SC2034  # used by the scripts that source this file
REPO_ROOT=$(cd "$TESTBED_DIR/../.." && pwd)
CACHE=${ONPREM_WANDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onprem-wandb}
STATE=${ONPREM_WANDB_STATE:-$CACHE/state}
mkdir -p "$CACHE" "$STATE"
# shellcheck source=tests/testbed/versions.env
. "$TESTBED_DIR/versions.env"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# check_disk DIR GIB: fail early with advice when DIR's filesystem has less than GIB free.
check_disk() {
  local dir=$1 need=$2 free
  mkdir -p "$dir"
  free=$(df -Pk "$dir" | awk 'NR==2 {print int($4/1048576)}')
  [ "$free" -ge "$need" ] || die "only ${free} GiB free on the filesystem of $dir, need ${need} GiB: free some space (e.g. 'make clean-cache' or 'podman system prune') and re-run."
}
