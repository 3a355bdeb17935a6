#!/usr/bin/env bash
# shellcheck disable=SC2317  # the check functions run through step()
# The `min-versions` stage: prove the floors we declare. Installs the oldest supported
# ansible-core with the matching `ansible` bundle (tests/testbed/min-versions.txt) into
# .venv-min, checks that the bundle's collection versions are exactly the floors declared in
# galaxy.yml and both requirements files, then runs the unit tests, ansible-test sanity,
# --syntax-check of every shipped playbook and the smoke Molecule scenario with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"
venv="$REPO_ROOT/.venv-min"; stamp="$venv/.requirements.sha256"
want=$(cat "$here/min-versions.txt" "$REPO_ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "min-versions: installing $(grep -v '^#' "$here/min-versions.txt" | xargs) and the test tools into .venv-min"
  rm -rf "$venv"; python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  # the test tools of requirements-dev.txt, with the floor ansible/ansible-core instead of the pins
  grep -vE '^(ansible|ansible-core)==' "$REPO_ROOT/requirements-dev.txt" >"$venv/tools.txt"
  "$venv/bin/pip" install -q -r "$venv/tools.txt" -r "$here/min-versions.txt" \
    || die "pip install of the minimum versions failed: check that PyPI is reachable."
  echo "$want" >"$stamp"
fi
V="$venv/bin"
export PATH="$V:$PATH" ANSIBLE_HOME="$REPO_ROOT/.ansible"
core=$("$V/python" -c 'import ansible.release as r; print(r.__version__)')
log "min-versions: ansible-core $core"

rc=0
step() { local name=$1; shift; printf -- '--- min-versions: %s\n' "$name"; if "$@"; then echo "--- $name: ok"; else echo "--- $name: FAILED"; rc=1; fi; }

floors() {  # the floors we declare must be exactly what the oldest supported bundle carries
  "$V/python" - "$core" <<'PY'
import json, subprocess, sys
from pathlib import Path
import yaml
core = sys.argv[1]
runtime = yaml.safe_load(Path("meta/runtime.yml").read_text())
want_core = runtime["requires_ansible"].split(",")[0].lstrip(">=")
problems = []
if want_core != core:
    problems.append(f"meta/runtime.yml requires_ansible floor {want_core} != tested minimum ansible-core {core}")
out = subprocess.run([sys.executable.replace("python", "ansible-galaxy"), "collection", "list", "--format", "json"],
                     check=True, capture_output=True, text=True).stdout
bundle = {}
for path, cols in json.loads(out).items():
    if "site-packages" in path:
        bundle.update({k: v["version"] for k, v in cols.items()})
declared = {
    "galaxy.yml": yaml.safe_load(Path("galaxy.yml").read_text())["dependencies"],
    "requirements.yml": {c["name"]: c["version"] for c in yaml.safe_load(Path("requirements.yml").read_text())["collections"]},
    # (the project-sync entry for the checkout itself, type dir, has no version)
    "collections/requirements.yml": {c["name"]: c["version"] for c in yaml.safe_load(Path("collections/requirements.yml").read_text())["collections"] if c.get("type") != "dir"},
}
for where, deps in declared.items():
    for name, spec in deps.items():
        floor = ceiling = None
        for part in (p.strip() for p in spec.split(",")):
            if part.startswith(">="):
                floor = part[2:]
            elif part.startswith("<"):
                ceiling = part[1:]
        if name not in bundle:
            problems.append(f"{where}: {name} is not in the minimum bundle")
            continue
        if floor != bundle[name]:
            problems.append(f"{where}: {name} floor {floor} != {bundle[name]} in the minimum bundle")
        if not ceiling or ceiling.split(".")[0] != str(int(bundle[name].split(".")[0]) + 1) or ceiling.split(".")[1:] != ["0", "0"]:
            problems.append(f"{where}: {name} needs an upper bound below the next major (<{int(bundle[name].split('.')[0]) + 1}.0.0), has {spec}")
for p in problems:
    print("FLOOR:", p)
print(f"checked {sum(len(d) for d in declared.values())} declared ranges against the minimum bundle")
sys.exit(1 if problems else 0)
PY
}

syntax() {
  local pb failed=0
  for pb in site.yml playbooks/*.yml; do
    "$V/ansible-playbook" --syntax-check -i inventories/onprem "$pb" >/dev/null || { echo "syntax-check failed: $pb"; failed=1; }
  done
  return "$failed"
}

step floors floors
step unit "$V/pytest" -q -p no:cacheprovider tests/unit
step sanity env ONPREM_WANDB_SANITY_VENV="$venv" "$here/sanity.sh"
step syntax-check syntax
step molecule:smoke "$V/molecule" test -s smoke
exit $rc
