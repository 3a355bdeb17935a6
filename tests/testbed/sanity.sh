#!/usr/bin/env bash
# ansible-test sanity on the collection, from a temporary ansible_collections/onprem/wandb
# layout (ansible-test insists on it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

venv=${ONPREM_WANDB_SANITY_VENV:-$REPO_ROOT/.venv}

ansible_test_get_pip "$venv"
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
