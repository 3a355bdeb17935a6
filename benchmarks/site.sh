#!/usr/bin/env bash
# Benchmark what users run every day (not a test: it reports numbers, asserts only changed=0).
#   benchmarks/site.sh          warm: re-run site.yml on the running local testbed (make demo first)
#   benchmarks/site.sh --cold   cold: make clean-testbed, then time `make demo`, then the warm re-run
# Prints wall times, the PLAY RECAP and profile_tasks' ten slowest tasks. The hosts are reached
# over SSH as a sudo user, the way a site runs (inventories/local, tests/testbed/hosts.sh).
set -euo pipefail
# not an inventory script: answer Ansible's --list/--host with "no hosts" (see tests/testbed/lib.sh)
case "${1:-}" in --list|--host) echo '{}'; exit 0 ;; esac
cd "$(dirname "$0")/.."
V=.venv/bin
export PATH="$PWD/$V:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_HOME="$PWD/.ansible" ONPREM_WANDB_TESTBED="$PWD/tests/testbed"
export ONPREM_WANDB_SSH_CONFIG
ONPREM_WANDB_SSH_CONFIG=$(tests/testbed/hosts.sh ssh-config)   # the site is reached over SSH + sudo, as users run it
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
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "warm site.yml re-run (SSH as deploy + sudo, ControlPersist, pipelining): %.1f s\n", b - a}'
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
# a play that ran no task (no host in its group) has no clock of its own: it took 0 s
for i, (name, begin) in enumerate(rows):
    end = next((b for _, b in rows[i + 1:] if b is not None), last)
    print(f"  {end - begin if begin is not None else 0.0:6.1f} s  {name}")
PY
echo "slowest tasks (profile_tasks):"
awk '/TASKS RECAP/{f=1; next} f && / -+ [0-9.]+s$/' "$out/warm.log" | head -10
# The floor: what one task step costs here with nothing to do (ping, become, same transport and
# forks), once on one host and once on every managed host at the same time, times the task steps
# of the busiest host of the re-run (a linear play waits for its slowest host at every task).
cat >"$out/floor.yml" <<'YML'
- name: Task-step floor
  hosts: testbed
  gather_facts: false
  become: true
  tasks:
YML
for _ in $(seq 20); do printf '    - ansible.builtin.ping:\n' >>"$out/floor.yml"; done
floor() {  # floor LIMIT: seconds per task step (the first task opens the SSH connections: not counted)
  "$V/ansible-playbook" -i inventories/local "$out/floor.yml" --limit "$1" >"$out/floor.log" 2>&1 || { tail -20 "$out/floor.log"; exit 1; }
  "$V/python" - "$out/floor.log" <<'PY'
import re, sys
clock = [int(h) * 3600 + int(m) * 60 + float(s)
         for h, m, s in re.findall(r"\) +(\d+):(\d\d):(\d\d\.\d+) \*+\s*$", open(sys.argv[1]).read(), re.M)]
print(f"{(clock[-1] - clock[1]) / (len(clock) - 2):.2f}")
PY
}
one=$(floor wandb-mysql)
all=$(floor testbed)
read -r steps skipped host < <(grep -E '^\S+\s+: ok=' "$out/warm.log" | grep -v '^localhost' \
        | awk '{split($3, o, "="); split($7, s, "="); if (o[2] + 0 > max) {max = o[2] + 0; h = $1; sk = s[2]}} END {print max, sk, h}')
"$V/python" - "$one" "$all" "$steps" "$skipped" "$host" <<'PY'
import sys
one, every, steps, skipped, host = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"floor: a no-op task step (ping with become) takes {one:.2f} s on one host, {every:.2f} s on every managed "
      f"host at once; the busiest host ({host}) ran {steps} tasks (and skipped {skipped}): "
      f"{steps * one:.0f}-{steps * every:.0f} s of the re-run is that floor")
PY
cp "$out/warm.log" "${BENCH_LOG:-/tmp/onprem-wandb-site-warm.log}"
echo "full log: ${BENCH_LOG:-/tmp/onprem-wandb-site-warm.log}"
rm -rf "$out"
