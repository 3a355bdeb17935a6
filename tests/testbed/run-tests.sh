#!/usr/bin/env bash
# `make test`: every quality gate and every real-server test, in order, each timed.
# All stages run even when one fails, so one run reports every problem; the exit status
# is non-zero when any stage failed. The testbed is removed at the end (and on ^C).
# STAGES="lint unit" make test   runs a subset.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT" || exit 1
V="$REPO_ROOT/.venv/bin"
export PATH="$V:$PATH" ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg" ANSIBLE_HOME="$REPO_ROOT/.ansible" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export ONPREM_WANDB_SSH_CONFIG="$STATE/ssh/config"   # how inventories/local reaches the hosts (hosts.sh)

# Remove what this run made (its hosts carry its run label; the API server only if it started
# it), so a run next to a developer's `make demo` or another run leaves theirs alone.
export ONPREM_WANDB_RUN="test-$$"
kube_was_up=false; "$here/kube.sh" status && kube_was_up=true
cleanup() {
  local p
  for p in ${testbed_pid:-} ${lane_pid:-}; do pkill -TERM -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  "$here/hosts.sh" clean "$ONPREM_WANDB_RUN" >/dev/null 2>&1 || true
  $kube_was_up || "$here/kube.sh" stop >/dev/null 2>&1 || true
}
trap 'cleanup; rm -rf "${reports:-/nonexistent}"' EXIT
trap 'exit 130' INT TERM

# The default run holds what has run green on this testbed as a whole (docs/test-matrix.md).
# The kubernetes and site scenarios and the integration tests of the opt-in list
# are written and ran in parts or on their own: SCENARIOS="..." / INTEGRATION=all runs them. The
# site scenario's steps (fresh inventories/local hosts, site.yml over SSH, a second run with
# changed=0, playbooks/verify.yml with the journey) run in test_site_reliability and
# test_verify_truth on the same hosts (conftest's local_site): one converge instead of two.
# smoke runs in the min-versions stage; ansible-test sanity runs on the artifact (artifact stage;
# `make sanity` runs it on the checkout).
SCENARIOS=${SCENARIOS:-mysql minio nginx redis ops monitoring}
INTEGRATION_DEFAULT="test_awx_ee.py test_awx_setup.py test_sizing_check.py test_testbed_connection.py
  test_mysql_bad_input.py test_minio_preflight.py test_signed_url_check.py test_platform_preflight.py
  test_preflight_corpus.py test_minio_readiness.py
  test_site_reliability.py test_verify_truth.py test_verify_truth_outsider.py test_verify_truth_rotation.py test_component_playbooks.py
  test_awx_runner.py"
INTEGRATION_OPT_IN="test_testbed.py test_kubernetes_role.py"
STAGES=${STAGES:-lint unit build artifact testbed integration molecule min-versions}
passed=0 failed=0 failures=()
declare -A took

record() {  # record NAME SECONDS RC
  took[$1]=$2
  if [ "$3" -eq 0 ]; then passed=$((passed + 1)); printf '===== %s: ok (%ss)\n' "$1" "$2"
  else failed=$((failed + 1)); failures+=("$1"); printf '===== %s: FAILED rc=%s (%ss)\n' "$1" "$3" "$2"; fi
}
stage() {  # stage NAME CMD...: run, time, record
  local name=$1 start rc; shift
  printf '\n===== %s =====\n' "$name"
  start=$(date +%s)
  "$@"; rc=$?
  record "$name" "$(( $(date +%s) - start ))" "$rc"
}

lint() {  # every linter runs, so one pass reports every finding
  local rc=0
  "$V/yamllint" -s . || rc=1
  "$V/ruff" check plugins tests benchmarks tools || rc=1
  "$V/ansible-lint" --profile production -q || rc=1
  return $rc
}
sanity() { "$here/sanity.sh"; }
# pytest stages report every skip (-rs); under CI=true a skip that tests/skip-allowlist.txt does
# not list fails the stage (a missing dependency must not pass as "ok").
reports=$(mktemp -d /tmp/onprem-wandb-reports.XXXXXX)
pytest_stage() {  # pytest_stage NAME ARGS...
  local name=$1 rc; shift
  "$V/pytest" -q -rs -p no:cacheprovider --junitxml="$reports/$name.xml" "$@"; rc=$?
  if [ "${CI:-}" = true ] && [ -f "$reports/$name.xml" ]; then
    "$V/python" "$here/skip_gate.py" "$reports/$name.xml" || { [ "$rc" -ne 0 ] || rc=1; }
  fi
  return "$rc"
}
unit() {  # Python unit tests, then the Go tests of the stand-in for wandb/local (a test fixture)
  local rc=0
  pytest_stage unit tests/unit || rc=1
  "$here/standin.sh" test || rc=1
  return $rc
}
build() { pytest_stage build tests/integration/test_collection_build.py; }
artifact() { "$here/artifact.sh"; }         # the tarball as Galaxy/Automation Hub and users get it
min-versions() { "$here/min-versions.sh"; }  # the floors we declare, installed and run
build_testbed() { "$here/images.sh" all && "$here/build-binaries.sh" all; }
# On a cold machine the testbed (debootstrap images, the Go builds) starts with the run, beside
# the quality gates; the testbed stage waits for it and shows its log.
testbed() {
  [ -n "${testbed_pid:-}" ] || { build_testbed; return; }
  local rc=0; wait "$testbed_pid" || rc=$?
  testbed_pid=""; cat "$reports/testbed.log"; return "$rc"
}
# The Molecule scenarios run beside the integration tests (LANES=1: after them). Their hosts,
# names and Kubernetes namespace are their own; hosts.sh and kube.sh take locks where they share
# the machine. The lane's log follows the integration stage's.
LANES=${LANES:-2}
molecule_lane() {  # molecule_lane RESULTS: each scenario in turn; "NAME SECONDS RC" per line to RESULTS
  local sc start rc
  for sc in $SCENARIOS; do
    [ -f "extensions/molecule/$sc/molecule.yml" ] || continue
    printf '\n===== molecule:%s =====\n' "$sc"
    start=$(date +%s)
    "$V/molecule" test -s "$sc"; rc=$?
    echo "molecule:$sc $(( $(date +%s) - start )) $rc" >>"$1"
  done
}
integration() {
  local t files=()
  if [ "${INTEGRATION:-}" = all ]; then
    pytest_stage integration tests/integration --ignore tests/integration/test_collection_build.py
  else
    for t in $INTEGRATION_DEFAULT; do files+=("tests/integration/$t"); done
    local opt
    # shellcheck disable=SC2086  # the list is split into words on purpose
    opt=$(printf '%s ' $INTEGRATION_OPT_IN)
    echo "integration: opt-in, not in this run (INTEGRATION=all): $opt"
    pytest_stage integration --durations=25 "${files[@]}"   # the slowest steps, for the time budget
  fi
}

"$here/deps.sh" || { echo "make test: deps failed"; exit 1; }
read -ra stage_list <<<"$STAGES"
has_stage() { [[ " ${stage_list[*]} " == *" $1 "* ]]; }
testbed_pid="" lane_pid="" lane_ran=""
if has_stage testbed && [ "${stage_list[0]}" != testbed ]; then
  echo "testbed: building beside the first stages (its log follows the testbed stage)"
  build_testbed >"$reports/testbed.log" 2>&1 &
  testbed_pid=$!
fi
for s in $STAGES; do
  case "$s" in
    integration)
      if [ "$LANES" != 1 ] && has_stage molecule; then
        echo "molecule: running beside the integration tests (LANES=1 runs them after); its log follows"
        molecule_lane "$reports/lane.txt" >"$reports/molecule.log" 2>&1 &
        lane_pid=$!
      fi
      stage integration integration
      if [ -n "$lane_pid" ]; then
        wait "$lane_pid"; lane_pid="" lane_ran=1; cat "$reports/molecule.log"
        while read -r name secs rc; do record "$name" "$secs" "$rc"; done <"$reports/lane.txt"
      fi ;;
    molecule)
      [ -z "$lane_ran" ] || continue
      for sc in $SCENARIOS; do
        [ -f "extensions/molecule/$sc/molecule.yml" ] || continue
        stage "molecule:$sc" "$V/molecule" test -s "$sc"
      done ;;
    *) stage "$s" "$s" ;;
  esac
done

printf '\n===== summary =====\n'
for k in "${!took[@]}"; do printf '%-22s %5ss\n' "$k" "${took[$k]}"; done | sort
[ ${#failures[@]} -eq 0 ] || printf 'failed stages: %s\n' "${failures[*]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
