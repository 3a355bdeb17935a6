#!/usr/bin/env bash
# `make demo`: bring up the testbed hosts named in inventories/local and the local
# Kubernetes API, run the same site.yml users run, and leave everything up to explore.
# A second run reuses the running hosts and changes nothing. `make clean-testbed` removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"
V="$REPO_ROOT/.venv/bin"
export PATH="$V:$PATH" ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg" ANSIBLE_HOME="$REPO_ROOT/.ansible" ONPREM_WANDB_TESTBED="$here"
# the hosts are reached over SSH (inventories/local group_vars/testbed.yml) with this ssh_config
export ONPREM_WANDB_SSH_CONFIG="$STATE/ssh/config"
INVENTORY=${INVENTORY:-inventories/local}

# hosts (and their image and DNS aliases) come from the inventory: one home for the topology
mapfile -t specs < <("$REPO_ROOT/.venv/bin/python" "$here/inventory_hosts.py" "$INVENTORY")
[ ${#specs[@]} -gt 0 ] || die "no hosts in group testbed of $INVENTORY"
"$here/hosts.sh" ensure "${specs[@]}"
"$here/kube.sh" start
export ONPREM_WANDB_KUBECONFIG="$STATE/kube/kubeconfig"

start=$(date +%s)
"$V/ansible-playbook" -i "$INVENTORY" site.yml "$@"
log "site.yml finished in $(( $(date +%s) - start )) s"
cat <<MSG

The testbed stays up for exploration:
  ssh -F $ONPREM_WANDB_SSH_CONFIG wandb-proxy            # a host, as Ansible reaches it (also: wandb-mysql, wandb-minio-1, wandb-minio-2); sudo -i for root
  podman exec wandb-client curl -sI https://wandb.onprem.test/  # a client: through nginx, verified by the local CA
  KUBECONFIG=$ONPREM_WANDB_KUBECONFIG $("$here/build-binaries.sh" path kubectl) -n wandb get all,ingress,secret
  the site CA for your clients: $INVENTORY/local-ca/ca.crt
Remove it all with: make clean-testbed
MSG
