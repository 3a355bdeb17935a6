#!/usr/bin/env bash
# A local Kubernetes API (etcd + kube-apiserver on loopback, no nodes) for the
# kubernetes role's tests and the demo.
#   kube.sh start    build if needed, generate certs, start, wait until /readyz answers
#   kube.sh stop     stop both processes and remove their state
#   kube.sh status   exit 0 when the API answers
#   kube.sh env      print KUBECONFIG=... for eval
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
. "$here/lib.sh"

KDIR="$STATE/kube"
BIN="$CACHE/kube-apiserver-$KUBERNETES_VERSION"
API_PORT=${ONPREM_WANDB_KUBE_PORT:-16443}
ETCD_PORT=${ONPREM_WANDB_ETCD_PORT:-12379}
KUBECONFIG_FILE="$KDIR/kubeconfig"

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

api_ready() {
  curl -fsS --max-time 2 --cacert "$KDIR/pki/ca.crt" --cert "$KDIR/pki/admin.crt" --key "$KDIR/pki/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}

gen_certs() {
  local p="$KDIR/pki"; mkdir -p "$p"
  [ -f "$p/admin.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=onprem-wandb-testbed-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$p/apiserver.key" -out "$p/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' >"$p/san.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
    -extfile "$p/san.ext" -out "$p/apiserver.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=onprem-wandb-admin" -keyout "$p/admin.key" -out "$p/admin.csr" 2>/dev/null
  openssl x509 -req -in "$p/admin.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 -out "$p/admin.crt" 2>/dev/null
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  chmod 600 "$p"/*.key
}

write_kubeconfig() {
  cat >"$KUBECONFIG_FILE" <<KC
apiVersion: v1
kind: Config
clusters:
- name: onprem-wandb-testbed
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $KDIR/pki/ca.crt
users:
- name: onprem-wandb-admin
  user:
    client-certificate: $KDIR/pki/admin.crt
    client-key: $KDIR/pki/admin.key
contexts:
- name: onprem-wandb-testbed
  context: {cluster: onprem-wandb-testbed, user: onprem-wandb-admin}
current-context: onprem-wandb-testbed
KC
  chmod 600 "$KUBECONFIG_FILE"
}

start() {
  command -v etcd >/dev/null || die "etcd is missing: run 'make deps' (apt-get install etcd-server)."
  [ -x "$BIN/kube-apiserver" ] || "$here/build-binaries.sh" kube-apiserver
  if pid_alive "$KDIR/apiserver.pid" && api_ready; then log "kube-apiserver already running on 127.0.0.1:$API_PORT"; return 0; fi
  stop
  mkdir -p "$KDIR"; gen_certs; write_kubeconfig
  etcd --name onprem-wandb --data-dir "$KDIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "onprem-wandb=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --unsafe-no-fsync >"$KDIR/etcd.log" 2>&1 &
  echo $! >"$KDIR/etcd.pid"
  "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$KDIR/pki/apiserver.crt" --tls-private-key-file "$KDIR/pki/apiserver.key" \
    --client-ca-file "$KDIR/pki/ca.crt" --service-account-key-file "$KDIR/pki/sa.pub" \
    --service-account-signing-key-file "$KDIR/pki/sa.key" --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.0.0.0/24 --authorization-mode RBAC --allow-privileged=true \
    --disable-admission-plugins ServiceAccount --cert-dir "$KDIR/pki" >"$KDIR/apiserver.log" 2>&1 &
  echo $! >"$KDIR/apiserver.pid"

  for _ in $(seq 1 120); do
    if api_ready; then
      seed
      log "kube-apiserver $KUBERNETES_VERSION ready on https://127.0.0.1:$API_PORT (KUBECONFIG=$KUBECONFIG_FILE)"
      return 0
    fi
    pid_alive "$KDIR/apiserver.pid" || break
    sleep 0.5
  done
  tail -n 20 "$KDIR/etcd.log" "$KDIR/apiserver.log" >&2 || true
  stop
  die "kube-apiserver did not become ready (logs above): check that ports $API_PORT and $ETCD_PORT are free (ONPREM_WANDB_KUBE_PORT / ONPREM_WANDB_ETCD_PORT)."
}

seed() {  # what a real cluster with ingress-nginx has: the IngressClass "nginx"
  printf '%s\n' '{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}}' \
    | "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" apply -f - >/dev/null || die "cannot create the IngressClass nginx (see above)."
}

stop() {
  local f
  for f in apiserver etcd; do
    if pid_alive "$KDIR/$f.pid"; then
      kill "$(cat "$KDIR/$f.pid")" 2>/dev/null || true
      for _ in $(seq 1 40); do pid_alive "$KDIR/$f.pid" || break; sleep 0.25; done
      if pid_alive "$KDIR/$f.pid"; then kill -9 "$(cat "$KDIR/$f.pid")" 2>/dev/null || true; fi
    fi
    rm -f "$KDIR/$f.pid"
  done
  # leftovers whose pid files are gone (an interrupted run, a concurrent stop)
  pkill -f -- "--data-dir $KDIR/etcd" 2>/dev/null || true
  pkill -f -- "^$BIN/kube-apiserver .*--secure-port $API_PORT" 2>/dev/null || true
  for _ in $(seq 1 40); do
    pgrep -f -- "--data-dir $KDIR/etcd|^$BIN/kube-apiserver .*--secure-port $API_PORT" >/dev/null || break
    sleep 0.25
  done
  rm -rf "$KDIR/etcd"
}

case "${1:-}" in
  start) start ;;
  stop) stop; rm -rf "$KDIR" ;;
  status) api_ready ;;
  env) echo "KUBECONFIG=$KUBECONFIG_FILE" ;;
  *) die "usage: kube.sh start|stop|status|env" ;;
esac
