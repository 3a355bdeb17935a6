#!/usr/bin/env bash
# shellcheck disable=SC2317  # the check functions run through step()
# The `artifact` stage: check the collection as Galaxy / Automation Hub and its users get it.
# Builds the tarball, installs it into a fresh ansible_collections/ tree (not the checkout) and
# runs on that copy: galaxy-importer (Galaxy and Automation Hub settings), ansible-test sanity,
# ansible-lint --profile production, antsibull-docs lint-collection-docs --plugin-docs,
# ansible-doc of every role, module and filter, and --syntax-check of every shipped playbook.
# The importer and antsibull run from their own venv (.venv-artifact, pinned in
# tests/testbed/artifact-requirements.txt): their dependencies must not move the main toolchain.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT" || exit 1
V="$REPO_ROOT/.venv/bin"
A="$REPO_ROOT/.venv-artifact"
stamp="$A/.requirements.sha256"
want=$(sha256sum "$here/artifact-requirements.txt" | cut -d' ' -f1)
if [ ! -x "$A/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "artifact: installing galaxy-importer and antsibull into .venv-artifact"
  rm -rf "$A"
  if ! { python3 -m venv "$A" && "$A/bin/pip" install -q --upgrade pip >/dev/null \
         && "$A/bin/pip" install -q -r "$here/artifact-requirements.txt"; }; then
    die "pip install of the artifact tools failed: check that PyPI is reachable."
  fi
  echo "$want" >"$stamp"
fi

work=$(mktemp -d /tmp/onprem-wandb-artifact.XXXXXX)
trap 'rm -rf "$work"' EXIT
empty_cfg="$work/ansible.cfg"; printf '[defaults]\n' >"$empty_cfg"
"$V/ansible-galaxy" collection build --force --output-path "$work/build" "$REPO_ROOT" >/dev/null || die "ansible-galaxy collection build failed"
tarball=$(ls "$work"/build/onprem-wandb-*.tar.gz)
ANSIBLE_CONFIG=$empty_cfg ANSIBLE_COLLECTIONS_PATH="$work/collections" "$V/ansible-galaxy" collection install --force --no-deps -p "$work/collections" "$tarball" >/dev/null \
  || die "ansible-galaxy collection install of $tarball failed"
installed="$work/collections/ansible_collections/onprem/wandb"
log "artifact: $(basename "$tarball"), $(tar -tzf "$tarball" | wc -l) files, installed at $installed"

rc=0
step() { local name=$1; shift; printf -- '--- artifact: %s\n' "$name"; if "$@"; then echo "--- $name: ok"; else echo "--- $name: FAILED"; rc=1; fi; }

importer() {  # galaxy-importer as Galaxy runs it, then with Automation Hub's settings
  local cfg out
  for profile in galaxy hub; do
    cfg="$work/importer-$profile.cfg"
    {
      echo "[galaxy-importer]"
      echo "RUN_ANSIBLE_TEST = False"
      # ansible-lint runs on the installed copy in its own step below (with the production profile)
      echo "RUN_ANSIBLE_LINT = False"
      echo "LOG_LEVEL_MAIN = INFO"
      if [ "$profile" = hub ]; then echo "REQUIRE_V1_OR_GREATER = True"; echo "CHECK_CHANGELOG = True"; fi
    } >"$cfg"
    mkdir -p "$work/importer-$profile"
    out=$(cd "$work/importer-$profile" && PATH="$A/bin:$PATH" GALAXY_IMPORTER_CONFIG=$cfg "$A/bin/python" -m galaxy_importer.main "$tarball" 2>&1)
    # the one accepted warning: the sanity ignore file (validate-modules' GPLv3 header check
    # does not apply to an MIT collection; tests/sanity/ignore-2.19.txt says so per line)
    if printf '%s\n' "$out" | grep -E '^(ERROR|WARNING)|Traceback|import failed' | grep -qv 'Ignore files skip ansible-test sanity tests'; then
      printf '%s\n' "$out" | grep -E '^(ERROR|WARNING)|Traceback|import failed' | head -30
      echo "galaxy-importer ($profile settings) reported the problems above"; return 1
    fi
    echo "galaxy-importer ($profile settings): no errors or warnings"
  done
}

sanity() {  # ansible-test on the installed copy (it ships its own ignore file)
  ansible_test_get_pip "$REPO_ROOT/.venv"
  (cd "$installed" && git init -q . && git add -A >/dev/null 2>&1 \
    && PATH="$V:$PATH" "$V/ansible-test" sanity --python 3.11 --color no)
}

lint() {  # ansible-lint as a user would run it on the installed collection: no .yamllint of ours
  (cd "$installed" && PATH="$V:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG=$empty_cfg \
    "$V/ansible-lint" --profile production --offline -q)
}

docs_lint() {
  # the dependency collections come from the main toolchain's `ansible` bundle
  local deps
  deps=$("$V/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[0]))')
  PATH="$A/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections:$deps" ANSIBLE_CONFIG=$empty_cfg \
    "$A/bin/antsibull-docs" lint-collection-docs --plugin-docs "$installed"
}

ansible_doc() {
  local env=(env ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$empty_cfg") n failed=0
  for n in "$installed"/roles/*/; do
    n=$(basename "$n")
    "${env[@]}" "$V/ansible-doc" -t role "onprem.wandb.$n" >/dev/null || { echo "ansible-doc role $n failed"; failed=1; }
  done
  for n in "$installed"/plugins/modules/*.py; do
    n=$(basename "$n" .py); [ "$n" != __init__ ] || continue
    "${env[@]}" "$V/ansible-doc" -t module "onprem.wandb.$n" >/dev/null || { echo "ansible-doc module $n failed"; failed=1; }
  done
  for n in "$installed"/plugins/filter/*.yml; do
    n=$(basename "$n" .yml)
    "${env[@]}" "$V/ansible-doc" -t filter "onprem.wandb.$n" >/dev/null || { echo "ansible-doc filter $n failed"; failed=1; }
  done
  return "$failed"
}

syntax() {  # every shipped playbook, by its collection name, against the shipped example inventory
  local pb name failed=0
  for pb in "$installed"/playbooks/*.yml; do
    name=$(basename "$pb" .yml)
    ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG=$empty_cfg \
      "$V/ansible-playbook" --syntax-check -i "$installed/inventories/onprem" "onprem.wandb.$name" >/dev/null \
      || { echo "syntax-check failed: onprem.wandb.$name"; failed=1; }
  done
  return "$failed"
}

[ -f "$installed/MANIFEST.json" ] || die "the installed collection is missing at $installed"
step galaxy-importer importer
[ -f "$installed/MANIFEST.json" ] || die "the installed collection went missing at $installed (after galaxy-importer)"
step sanity sanity
step ansible-lint lint
step antsibull-docs docs_lint
step ansible-doc ansible_doc
step syntax-check syntax
exit $rc
