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

# ansible-test bootstraps pip in its per-test venvs with a get-pip script from a CDN this
# machine cannot reach. Stand in for it: the same job (install pip into the running
# interpreter) done with pip's own wheel from PyPI.
# ansible_test_get_pip VENV: before any ansible-test sanity run with VENV's ansible-test (make
# sanity, the artifact and min-versions stages).
ansible_test_get_pip() {
  local pip_version gp_dir gp
  pip_version=$(grep -oE "pip='[0-9.]+'" "$("$1/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1 | grep -oE '[0-9.]+[0-9]')
  gp_dir="$HOME/.ansible/test/cache"; gp="$gp_dir/get_pip_${pip_version//./_}.py"
  if ! ls "$gp_dir"/pip-"$pip_version"-*.whl >/dev/null 2>&1 || ! grep -q 'onprem.wandb stand-in' "$gp" 2>/dev/null; then
    mkdir -p "$gp_dir"
    "$1/bin/pip" download -q --no-deps --only-binary=:all: -d "$gp_dir" "pip==$pip_version" \
      || die "cannot download pip $pip_version from PyPI for ansible-test's sanity venvs."
    cat >"$gp" <<'PY'
"""onprem.wandb stand-in for get-pip.py: install pip from the wheel next to this file."""
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, sorted(glob.glob(os.path.join(here, "pip-*.whl")))[-1])
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--no-index", "--find-links", here, *args]))
PY
  fi
}
