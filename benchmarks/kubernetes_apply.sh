#!/usr/bin/env bash
# Apply and re-apply times of roles/kubernetes against the local kube-apiserver, without waiting
# for the rollout (the bench pods ask for more CPU than the node has; not a test:
# it reports numbers and checks only that the re-apply changed nothing).
#   benchmarks/kubernetes_apply.sh [RUNS]   (default 3 fresh namespaces, each applied cold then warm)
# Starts tests/testbed/kube.sh if needed (ONPREM_WANDB_STATE / ONPREM_WANDB_KUBE_PORT pick a private one).
set -euo pipefail
case "${1:-}" in --list|--host) echo '{}'; exit 0 ;; esac
cd "$(dirname "$0")/.."
runs=${1:-3}
V=$PWD/.venv/bin
export ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_HOME="$PWD/.ansible" ANSIBLE_NOCOLOR=1
tests/testbed/kube.sh start >/dev/null 2>&1 || { echo "kube.sh start failed"; exit 1; }
kubeconfig=$(tests/testbed/kube.sh env | cut -d= -f2)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/play.yml" <<'YAML'
- hosts: localhost
  gather_facts: false
  roles:
    - role: onprem.wandb.kubernetes
YAML
kubectl=$(tests/testbed/build-binaries.sh path kubectl)
"$kubectl" --kubeconfig "$kubeconfig" apply -f - >/dev/null <<'JSON'
{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}}
JSON
run() {  # run LABEL NAMESPACE -> prints seconds, keeps the log
  local start end
  start=$(date +%s.%N)
  "$V/ansible-playbook" -i localhost, -c local "$out/play.yml" \
    -e ansible_python_interpreter="$V/python3" -e kubernetes_kubeconfig="$kubeconfig" -e kubernetes_namespace="$2" \
    -e wandb_fqdn=wandb.bench.example -e wandb_db_host=mysql.bench.example -e 'wandb_db_password=b3nch:p@ss/#' \
    -e wandb_s3_endpoint=https://s3.bench.example -e wandb_s3_access_key=bench -e 'wandb_s3_secret_key=s3/cr+t' \
    -e wandb_license=bench-license -e kubernetes_wait=false >"$out/$1.log" 2>&1 || { tail -30 "$out/$1.log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b - a}'
}
printf 'kube-apiserver: %s\n' "$("$kubectl" --kubeconfig "$kubeconfig" version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
printf '%-4s %-28s %10s %10s %s\n' run namespace apply_s reapply_s reapply_recap
for i in $(seq 1 "$runs"); do
  ns="bench-wandb-$(date +%s)-$i"
  cold=$(run "cold$i" "$ns") || exit 1
  warm=$(run "warm$i" "$ns") || exit 1
  recap=$(grep -E '^localhost +: ok=' "$out/warm$i.log" | sed 's/  */ /g')
  printf '%-4s %-28s %10s %10s %s\n' "$i" "$ns" "$cold" "$warm" "$recap"
  grep -Eq 'changed=0 ' <<<"$recap" || { echo "WARNING: the re-apply changed something"; exit 1; }
done
echo "(namespaces are left in place: without kube-controller-manager a deleted namespace never finishes terminating)"
