#!/usr/bin/env python
"""Artifact transfers through the nginx S3 endpoint against MinIO's own TLS endpoint, one run.

Needs the running demo (`make demo`: inventories/local, MinIO with minio_tls_local_ca, nginx
verifying it). From the client host (wandb-client, which trusts the site CA) it PUTs and GETs
objects with pre-signed URLs (W&B's key pair, SigV4 signed here for each endpoint's host) with
curl, over HTTP/1.1 and HTTP/2, with 1 and 8 clients at once:

  proxy   https://s3.onprem.test/<bucket>/...        (nginx TLS -> MinIO TLS, what W&B users get)
  direct  https://wandb-minio-N:9000/<bucket>/...    (MinIO's TLS endpoint; clients spread over nodes)

Each row prints both throughputs, the ratio direct time / proxy time (1.0 = the proxy costs
nothing, higher is better), the protocol curl actually spoke, and the CPU seconds nginx used per
GiB moved (nginx.service's cgroup on the proxy host). Not a test: it reports numbers.

  .venv/bin/python benchmarks/s3_transfer.py [--sizes 1,64,1024] [--clients 1,8] [--protocols 1.1,2]
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "inventories" / "local"
CLIENT, PROXY = "wandb-client", "wandb-proxy"
GIB = 1 << 30


def presigner():
    spec = importlib.util.spec_from_file_location("s3_presign", REPO / "plugins" / "module_utils" / "s3_presign.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.presign_url


def inventory_vars() -> dict:
    """The local inventory's W&B values (secrets.yml tags them !unsafe: plain strings here)."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    values = {}
    for name in ("all/main.yml", "all/secrets.yml"):
        values.update(yaml.load((LOCAL / "group_vars" / name).read_text(), Loader=Loader) or {})  # noqa: S506
    hosts = yaml.safe_load((LOCAL / "hosts.yml").read_text())
    values["minio_hosts"] = list(hosts["all"]["children"]["testbed"]["children"]["minio"]["hosts"])
    return values


def sh(host: str, script: str, timeout: int = 3600) -> str:
    proc = subprocess.run(["podman", "exec", host, "bash", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        sys.exit(f"{host}: {script[:200]}...\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def nginx_cpu_seconds() -> float:
    out = sh(PROXY, "systemctl show -p CPUUsageNSec --value nginx.service").strip()
    if out.isdigit():
        return int(out) / 1e9
    # no cgroup accounting: the nginx processes' own user+system ticks
    ticks = sh(PROXY, "for p in $(pgrep -x nginx); do awk '{print $14+$15}' /proc/$p/stat; done")
    return sum(int(t) for t in ticks.split()) / 100.0


def run_row(urls: list[str], op: str, size_mib: int, proto: str) -> tuple[float, set[str], list[str]]:
    """All clients at once from the client host; (wall seconds, protocols spoken, failures)."""
    flag = "--http1.1" if proto == "1.1" else "--http2"
    src = (f"-T /tmp/bench-{size_mib}M " if op == "PUT" else "") + "-o /dev/null"
    lines = [f"curl -sS {flag} {src} -w '%{{http_code}} %{{http_version}}\\n' {shlex.quote(u)} > /tmp/bench-out-{i} &"
             for i, u in enumerate(urls)]
    script = "t0=$(date +%s.%N)\n" + "\n".join(lines) + "\nwait\nt1=$(date +%s.%N)\n" \
        + "cat /tmp/bench-out-*; rm -f /tmp/bench-out-*; echo \"wall $t0 $t1\"\n"
    out = sh(CLIENT, script).split("\n")
    wall = next(line for line in out if line.startswith("wall ")).split()
    answers = [line.split() for line in out if line and not line.startswith("wall ")]
    failures = [a[0] for a in answers if a[0] != "200"]
    return float(wall[2]) - float(wall[1]), {a[1] for a in answers if len(a) > 1}, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,64,1024", help="object sizes in MiB (default 1,64,1024)")
    ap.add_argument("--clients", default="1,8", help="concurrent clients (default 1,8)")
    ap.add_argument("--protocols", default="1.1,2", help="HTTP versions (default 1.1,2)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    clients = [int(c) for c in args.clients.split(",")]
    protos = args.protocols.split(",")
    v = inventory_vars()
    presign = presigner()
    s3_fqdn = v["wandb_s3_endpoint"].split("://", 1)[1].rstrip("/")
    key_pair = (v["wandb_s3_access_key"], v["wandb_s3_secret_key"])

    def endpoint(path: str, i: int) -> str:
        if path == "proxy":
            return f"https://{s3_fqdn}"
        return f"https://{v['minio_hosts'][i % len(v['minio_hosts'])]}:9000"

    for size in sizes:  # one source file per size on the client (random bytes: no compression helps)
        sh(CLIENT, f"[ -s /tmp/bench-{size}M ] || dd if=/dev/urandom of=/tmp/bench-{size}M bs=1M count={size} status=none")

    print(f"from {CLIENT}: proxy https://{s3_fqdn} vs direct MinIO TLS {', '.join(v['minio_hosts'])}:9000;"
          " ratio = direct time / proxy time")
    header = ("size", "proto", "clients", "op", "direct MiB/s", "proxy MiB/s", "ratio", "nginx CPU s/GiB", "spoken")
    print("%-7s %-5s %-7s %-4s %12s %12s %6s %15s  %s" % header)
    for size in sizes:
        for proto in protos:
            for n in clients:
                for op in ("PUT", "GET"):
                    times, spoken, bad, cpu = {}, set(), [], 0.0
                    for path in ("direct", "proxy"):
                        urls = [presign(op, endpoint(path, i), v["wandb_bucket"], f"onprem-bench/{size}M-{i}",
                                        *key_pair, region=v.get("wandb_region", "us-east-1"), expires=3600)
                                for i in range(n)]
                        cpu0 = nginx_cpu_seconds() if path == "proxy" else 0.0
                        times[path], protocols, failures = run_row(urls, op, size, proto)
                        if path == "proxy":
                            cpu = nginx_cpu_seconds() - cpu0
                        spoken |= {f"{path}:{p}" for p in protocols}
                        bad += [f"{path}:{code}" for code in failures]
                    mib = size * n
                    print("%-7s %-5s %-7d %-4s %12.1f %12.1f %6.2f %15.2f  %s%s" % (
                        f"{size}M", proto, n, op, mib / times["direct"], mib / times["proxy"],
                        times["direct"] / times["proxy"], cpu / (mib * (1 << 20) / GIB),
                        " ".join(sorted(spoken)), ("  FAILED " + " ".join(bad)) if bad else ""), flush=True)
    sh(CLIENT, "rm -f /tmp/bench-*M")


if __name__ == "__main__":
    main()
