#!/usr/bin/env bash
# Benchmark what users run every day (not a test: it reports numbers, asserts only changed=0).
#   benchmarks/site.sh          warm: re-run site.yml on the running local testbed (make demo first)
#   benchmarks/site.sh --cold   cold: make clean-testbed, then time `make demo`, then the warm re-run
# Prints wall times, the PLAY RECAP and profile_tasks' ten slowest tasks.
set -euo pipefail
# not an inventory script: answer Ansible's --list/--host with "no hosts" (see tests/testbed/lib.sh)
case "${1:-}" in --list|--host) echo '{}'; exit 0 ;; esac
cd "$(dirname "$0")/.."
V=.venv/bin
export PATH="$PWD/$V:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_HOME="$PWD/.ansible" ONPREM_WANDB_TESTBED="$PWD/tests/testbed"
export ANSIBLE_NOCOLOR=1 ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=10
out=$(mktemp -d)

if [ "${1:-}" = --cold ]; then
  make clean-testbed >/dev/null
  start=$(date +%s.%N)
  make demo >"$out/cold.log" 2>&1 || { tail -40 "$out/cold.log"; echo "cold make demo failed (log $out/cold.log)"; exit 1; }
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "cold make demo: %.1f s\n", b - a}'
fi

tests/testbed/hosts.sh list | grep -q wandb-proxy || { echo "the local testbed is not up: run make demo first"; exit 1; }
export ONPREM_WANDB_KUBECONFIG
ONPREM_WANDB_KUBECONFIG=$(tests/testbed/kube.sh env | cut -d= -f2)
start=$(date +%s.%N)
"$V/ansible-playbook" -i inventories/local site.yml >"$out/warm.log" 2>&1 || { tail -40 "$out/warm.log"; exit 1; }
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "warm site.yml re-run: %.1f s\n", b - a}'
sed -n '/PLAY RECAP/,/^$/p' "$out/warm.log"
if grep -E '^\S+\s+: ok=' "$out/warm.log" | grep -vq 'changed=0 '; then
  echo "ERROR: the warm re-run changed something: its timings are not those of an idempotent run (see $out/warm.log)" >&2
  exit 1
fi
echo "time per play (from the elapsed clock profile_tasks prints before each task):"
"$V/python" - "$out/warm.log" <<'PY'
import re, sys
play, start, last, rows = None, None, 0.0, []
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^PLAY \[(.*)\] \*+\s*$", line)
    if m:
        if play is not None:
            rows.append((play, start))
        play, start = m.group(1), None
        continue
    m = re.search(r"\) +(\d+):(\d\d):(\d\d\.\d+) \*+\s*$", line)
    if m:
        last = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        if play is not None and start is None:
            start = last
rows.append((play, start))
ends = [r[1] for r in rows[1:]] + [last]
for (name, begin), end in zip(rows, ends):
    print(f"  {end - (begin or end):6.1f} s  {name}")
PY
echo "slowest tasks (profile_tasks):"
awk '/TASKS RECAP/{f=1; next} f && / -+ [0-9.]+s$/' "$out/warm.log" | head -10
cp "$out/warm.log" "${BENCH_LOG:-/tmp/onprem-wandb-site-warm.log}"
echo "full log: ${BENCH_LOG:-/tmp/onprem-wandb-site-warm.log}"
rm -rf "$out"
