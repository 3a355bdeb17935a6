#!/usr/bin/env bash
# The testbed's one-node Kubernetes: a privileged systemd podman host `wandb-kube` on the
# testbed network running etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd + runc + CNI bridge, kubelet and kube-proxy (tests/testbed/node/). The API is
# published to the machine at https://127.0.0.1:16443; NodePorts answer at wandb-kube:<port>
# from the other testbed hosts.
#   kube.sh start              build what is missing, start the node, wait until the API answers and the node is Ready
#                              (a running, Ready node is kept; leftovers of a crashed one are removed first)
#   kube.sh reset [NS...]      delete what a site deployed: namespace wandb, or the ones given
#   kube.sh stop               remove everything: the host, its pods' cgroups, its state
#   kube.sh status             exit 0 when the API answers and the node is Ready
#   kube.sh env                print KUBECONFIG=... for eval
#   kube.sh load-image ARCHIVE import a docker/OCI image archive into the node's containerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

KDIR="$STATE/kube"
BIN="$CACHE/kubernetes-$KUBERNETES_VERSION"
API_PORT=${ONPREM_WANDB_KUBE_PORT:-16443}
NODE=${ONPREM_WANDB_KUBE_NODE:-wandb-kube}
NETWORK=${ONPREM_WANDB_NETWORK:-onprem-wandb}
CGROUP_PARENT=/onprem-wandb-testbed
KUBECONFIG_FILE="$KDIR/kubeconfig"
NODE_IDS="$STATE/kube-node.ids"  # container ids of the nodes started here, for cgroup cleanup after a crash

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

api_ready() {
  [ -f "$KDIR/pki/admin.crt" ] || return 1
  curl -fsS --max-time 2 --cacert "$KDIR/pki/ca.crt" --cert "$KDIR/pki/admin.crt" --key "$KDIR/pki/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}
node_ready() {
  [ "$(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
node_running() { [ "$(podman inspect -f '{{.State.Running}}' "$NODE" 2>/dev/null)" = true ]; }

gen_certs() {
  local p="$KDIR/pki"; mkdir -p "$p"
  [ -f "$p/admin.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=onprem-wandb-testbed-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$p/apiserver.key" -out "$p/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:%s,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' "$NODE" >"$p/san.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
    -extfile "$p/san.ext" -out "$p/apiserver.crt" 2>/dev/null
  # one system:masters identity for the operator and for the node's own components (a lab, not a hardened cluster)
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=onprem-wandb-admin" -keyout "$p/admin.key" -out "$p/admin.csr" 2>/dev/null
  openssl x509 -req -in "$p/admin.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 -out "$p/admin.crt" 2>/dev/null
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  # read by the node's components (they run as root in the node; the directory is only ours)
  chmod 700 "$p"; chmod 644 "$p"/*.key
}

# write_kubeconfig FILE SERVER PKI-DIR
write_kubeconfig() {
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: onprem-wandb-testbed
  cluster:
    server: $2
    certificate-authority: $3/ca.crt
users:
- name: onprem-wandb-admin
  user:
    client-certificate: $3/admin.crt
    client-key: $3/admin.key
contexts:
- name: onprem-wandb-testbed
  context: {cluster: onprem-wandb-testbed, user: onprem-wandb-admin}
current-context: onprem-wandb-testbed
KC
  chmod 600 "$1"
}

# load ARCHIVE: import into the node's containerd (the image's name comes from the archive)
load() {
  local archive=$1
  [ -f "$archive" ] || die "no image archive at '$archive'."
  node_running || die "the node $NODE is not running: run 'kube.sh start' first."
  # archives are cached by content hash: one already imported into this node is skipped
  if podman exec "$NODE" grep -qxF "$archive" /run/onprem-wandb/loaded 2>/dev/null; then return 0; fi
  podman exec -i "$NODE" onprem-wandb-node import <"$archive" >/dev/null \
    || die "importing $archive into the node's containerd failed (see above): is it a docker or OCI archive?"
  podman exec "$NODE" sh -c 'mkdir -p /run/onprem-wandb && printf "%s\n" "$1" >>/run/onprem-wandb/loaded' sh "$archive"
}

# the images pods of the testbed run: the node's smoke image and, when the stand-in exists, its versions
load_testbed_images() {
  local a v
  for v in 1.0.0 1.1.0; do a=$("$here/node/build.sh" testapp "$v"); load "$a"; done
  if [ -x "$here/standin.sh" ]; then
    for v in ${ONPREM_WANDB_STANDIN_VERSIONS:-1.0.0 1.1.0}; do
      a=$("$here/standin.sh" build "$v") || die "building the stand-in $v failed (see above)."
      load "$a"
    done
  fi
}

start() {
  command -v podman >/dev/null || die "podman is missing: run 'make deps'."
  "$here/build-binaries.sh" kubernetes
  if node_running && api_ready && node_ready; then
    load_testbed_images
    log "Kubernetes $KUBERNETES_VERSION already running: node $NODE Ready, API https://127.0.0.1:$API_PORT (KUBECONFIG=$KUBECONFIG_FILE)"
    return 0
  fi
  stop  # whatever a crashed or half-started node left behind
  local image pause t0; t0=$(date +%s)
  image=$("$here/node/build.sh" node-image)
  pause=$("$here/node/build.sh" pause)
  mkdir -p "$KDIR/containerd"; gen_certs
  write_kubeconfig "$KUBECONFIG_FILE" "https://127.0.0.1:$API_PORT" "$KDIR/pki"
  write_kubeconfig "$KDIR/pki/node.kubeconfig" https://127.0.0.1:6443 /etc/kubernetes/pki
  chmod 644 "$KDIR/pki/node.kubeconfig"
  "$here/hosts.sh" network
  # --ulimit: the sandbox has no CAP_SYS_RESOURCE, so the limits must be given (nofile <= 20000).
  # /var/lib/containerd from the state dir: overlay snapshots cannot live on the host's overlay.
  podman run -d --name "$NODE" --hostname "$NODE" --network "$NETWORK" \
    --label onprem-wandb.testbed=1 --label onprem-wandb.testbed.run=kube --label onprem-wandb.kube=1 \
    --privileged --systemd=always --cgroup-parent="$CGROUP_PARENT" --tmpfs /tmp:rw,exec --stop-timeout 10 \
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
    -p "127.0.0.1:$API_PORT:6443" \
    -v "$BIN:/opt/kubernetes/bin:ro" -v "$KDIR/pki:/etc/kubernetes/pki:ro" -v "$KDIR/containerd:/var/lib/containerd" \
    "$image" >/dev/null || die "podman run $NODE failed (see above)."
  podman inspect -f '{{.Id}}' "$NODE" >>"$NODE_IDS"
  local state=""
  for _ in $(seq 1 120); do
    state=$(podman exec "$NODE" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
  done
  case "$state" in running|degraded) ;; *) podman logs --tail 30 "$NODE" >&2 || true; die "the node $NODE did not boot (state '$state')." ;; esac
  podman exec "$NODE" onprem-wandb-node start || fail_start "the node's services did not start"
  load "$pause"
  load_testbed_images
  podman exec "$NODE" onprem-wandb-node start-kubelet || fail_start "kubelet did not start"
  for _ in $(seq 1 240); do
    if api_ready && node_ready; then
      seed
      log "Kubernetes $KUBERNETES_VERSION: node $NODE Ready in $(( $(date +%s) - t0 )) s, API https://127.0.0.1:$API_PORT (KUBECONFIG=$KUBECONFIG_FILE)"
      return 0
    fi
    node_running || break
    sleep 0.5
  done
  fail_start "the API did not answer or the node did not become Ready within 120 s"
}

fail_start() {
  podman exec "$NODE" sh -c 'for u in kube-etcd kube-apiserver kube-containerd kubelet kube-proxy; do echo "--- $u"; journalctl -u $u --no-pager -n 8; done' >&2 2>/dev/null || true
  stop
  die "$1 (journals above). Check that port $API_PORT is free (ONPREM_WANDB_KUBE_PORT) and 'podman logs $NODE'."
}

seed() {  # what a real cluster with ingress-nginx has: the IngressClass "nginx"
  printf '%s\n' '{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}}' \
    | kubectl apply -f - >/dev/null || die "cannot create the IngressClass nginx (see above)."
}

# Pod cgroups land where podman's mounts put them: under the node's own cgroup in most
# hierarchies, but at the machine's top level in name=systemd, hugetlb, perf_event and net_cls,net_prio. Remove them once their
# processes are gone (they are, with the node's PID namespace).
clean_cgroups() {
  local d id
  local h
  # name=systemd, and the hierarchies podman mounts with the machine's root (hugetlb,
  # perf_event, net_cls,net_prio)
  for h in systemd hugetlb perf_event net_cls,net_prio; do for d in "/sys/fs/cgroup/$h/kubepods" "/sys/fs/cgroup/$h/kubepods.slice" "/sys/fs/cgroup/$h/k8s.io"; do
    if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done; done
  # the node's own cgroups, left when runc could not remove a non-empty tree (only nodes this
  # script started, and only once they are gone)
  [ -f "$NODE_IDS" ] || return 0
  while read -r id; do
    [ -n "$id" ] || continue
    podman container exists "$id" 2>/dev/null && continue
    for d in /sys/fs/cgroup/*"$CGROUP_PARENT/libpod-$id"; do
      if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
    done
  done <"$NODE_IDS"
  : >"$NODE_IDS"
}

stop() {
  if podman container exists "$NODE" 2>/dev/null; then
    podman inspect -f '{{.Id}}' "$NODE" >>"$NODE_IDS" 2>/dev/null || true
    if node_running; then timeout 60 podman exec "$NODE" onprem-wandb-node stop >/dev/null 2>&1 || true; fi
    podman rm -f -t 10 "$NODE" >/dev/null 2>&1 || true
  fi
  clean_cgroups
  rm -rf "$KDIR/containerd" "$KDIR/etcd"
}

# Fresh testbed hosts (a new, empty MySQL) under an app that migrated the old one would serve
# "table doesn't exist": tests that start fresh hosts remove what the collection deployed first.
reset() {  # reset [NAMESPACE...]: the given namespaces (default: wandb, the local inventory's)
  api_ready || return 0
  local ns
  for ns in "${@:-wandb}"; do
    case "$ns" in default|kube-*) die "kube.sh reset: $ns is not a site's namespace";; esac
    kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null \
      || die "cannot delete namespace $ns (kubectl get ns $ns -o yaml)"
  done
}

# One start/reset/stop at a time: make test runs the Molecule scenarios beside the integration
# tests, and both may start the node. flock -o: the lock is not inherited by what start leaves
# running (podman's conmon would hold it for the node's life).
case "${1:-}" in
  start|reset|stop)
    if [ -z "${ONPREM_WANDB_KUBE_LOCKED:-}" ]; then
      mkdir -p "$STATE"
      ONPREM_WANDB_KUBE_LOCKED=1 exec flock -o "$STATE/kube.lock" "$0" "$@"
    fi ;;
esac

case "${1:-}" in
  start) start ;;
  reset) shift; reset "$@" ;;
  stop) stop; rm -rf "$KDIR" ;;
  status) api_ready && node_ready ;;
  env) echo "KUBECONFIG=$KUBECONFIG_FILE" ;;
  load-image) [ -n "${2:-}" ] || die "usage: kube.sh load-image ARCHIVE"; load "$2" ;;
  *) die "usage: kube.sh start|reset|stop|status|env|load-image ARCHIVE" ;;
esac
