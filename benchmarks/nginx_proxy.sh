#!/usr/bin/env bash
# Throughput and latency through the nginx proxy vs. directly to the backend, same run (not a
# test: it reports numbers). Needs `wrk` (Debian package) on the controller and the hosts of the
# nginx Molecule scenario (`.venv/bin/molecule converge -s nginx`), or any proxy/backend pair.
#   benchmarks/nginx_proxy.sh [PROXY_HOST] [BACKEND_HOST] [FQDN] [SECONDS] [CONNECTIONS]
# defaults: nginx-proxy nginx-backend wandb.nginx.test 10 16. Only testbed container addresses
# are load-tested (their addresses come from podman).
set -euo pipefail
proxy=${1:-nginx-proxy} backend=${2:-nginx-backend} fqdn=${3:-wandb.nginx.test}
secs=${4:-10} conns=${5:-16} threads=2
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
addr() { podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
proxy_ip=$(addr "$proxy") backend_ip=$(addr "$backend")
if [ -z "$proxy_ip" ] || [ -z "$backend_ip" ]; then echo "hosts $proxy/$backend are not running" >&2; exit 1; fi

bench() {  # bench LABEL URL -> "LABEL rps p50_ms p99_ms"
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "Host: $fqdn" "$2")
  awk -v label="$1" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx|Socket errors/ { errs = errs " " $0 }
    END { printf "%-8s %10.1f %10.2f %10.2f%s\n", label, rps, p50, p99, (errs ? "  !" errs : "") }' <<<"$out"
}

echo "wrk ${secs}s, $threads threads, $conns connections, GET / (JSON echo of the headers)"
printf "%-8s %10s %10s %10s\n" path req/s p50_ms p99_ms
direct=$(bench direct "http://$backend_ip:8080/")
proxied=$(bench proxy "https://$proxy_ip/")
echo "$direct"; echo "$proxied"
awk -v d="$direct" -v p="$proxied" 'BEGIN {
  split(d, a, " "); split(p, b, " ");
  printf "ratio proxy/direct: throughput %.2f, p50 latency %.2f, p99 latency %.2f\n", b[2] / a[2], b[3] / a[3], b[4] / a[4] }'
