#!/usr/bin/env bash
# ansible-test sanity on the collection, from a temporary ansible_collections/onprem/wandb
# layout (ansible-test insists on it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

venv=${ONPREM_WANDB_SANITY_VENV:-$REPO_ROOT/.venv}

# ansible-test bootstraps pip in its per-test venvs with a get-pip script from a CDN this
# machine cannot reach. Stand in for it: the same job (install pip into the running
# interpreter) done with pip's own wheel from PyPI.
pip_version=$(grep -oE "pip='[0-9.]+'" "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1 | grep -oE '[0-9.]+[0-9]')
gp_dir="$HOME/.ansible/test/cache"; gp="$gp_dir/get_pip_${pip_version//./_}.py"
if ! ls "$gp_dir"/pip-"$pip_version"-*.whl >/dev/null 2>&1 || ! grep -q 'onprem.wandb stand-in' "$gp" 2>/dev/null; then
  mkdir -p "$gp_dir"
  "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$gp_dir" "pip==$pip_version" \
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
work=$(mktemp -d /tmp/onprem-wandb-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/onprem/wandb"
mkdir -p "$dest"
# only what the collection ships (git's view: no venv, caches or build output)
# (files deleted in the work tree but still in the index are left out; any other copy error stops)
git -C "$REPO_ROOT" ls-files -co --exclude-standard -z | grep -zv '^\.ansible/' \
  | (cd "$REPO_ROOT" && while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done) \
  | (cd "$REPO_ROOT" && xargs -0 -r cp -P --parents -t "$dest") \
  || { echo "sanity: copying the collection's files to $dest failed (see above)" >&2; exit 1; }
cd "$dest"
git init -q . && git add -A >/dev/null 2>&1   # ansible-test lists files through git
skips=()  # none: every sanity test runs
PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --python 3.11 --color no "${skips[@]}" "$@"
