#!/usr/bin/env python
"""Wall time of onprem.wandb.signed_url_check against a real MinIO on loopback.

Starts a MinIO from the testbed cache (tests/integration/conftest.py's MinioServer, global CORS
for the origin), then runs `ansible localhost -m onprem.wandb.signed_url_check` for each payload
size, REPEAT times, and prints the median wall time of the whole ansible run, plus the module's
own per-step latencies and PUT/GET throughput from its `steps`.

  .venv/bin/python benchmarks/signed_url_check.py [--sizes 1,64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import MinioServer  # noqa: E402

ORIGIN = "https://wandb.example.test"


def run(server: MinioServer, size: int) -> tuple[float, dict]:
    args = {"endpoint": server.endpoint, "bucket": "wandb", "access_key": server.access_key,
            "secret_key": server.secret_key, "origins": [ORIGIN], "payload_size": size}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_HOME=str(REPO / ".ansible"),
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    start = time.monotonic()
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-m", "onprem.wandb.signed_url_check", "-a", json.dumps(args)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    lines = proc.stdout.splitlines()
    doc = json.loads("\n".join(lines[lines.index("{"):len(lines) - lines[::-1].index("}")]))
    result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    if result.get("failed"):
        raise SystemExit("check failed: %s" % result.get("msg"))
    return wall, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,64", help="payload sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-minio-") as work:
        server = MinioServer(Path(work), env={"MINIO_API_CORS_ALLOW_ORIGIN": ORIGIN})
        try:
            server.client().create_bucket(Bucket="wandb")
            for mib in (int(x) for x in opts.sizes.split(",")):
                walls, results = [], []
                for _attempt in range(opts.repeat):
                    wall, result = run(server, mib * 1024 * 1024)
                    walls.append(wall)
                    results.append(result)
                last = results[-1]
                module_ms = sum(s["latency_ms"] or 0 for s in last["steps"])
                put = next(s for s in last["steps"] if s["name"] == "put")
                get = next(s for s in last["steps"] if s["name"] == "get")
                print(f"{mib:>3} MiB: ansible wall median {statistics.median(walls):.2f} s "
                      f"(runs: {', '.join(f'{w:.2f}' for w in walls)}); module HTTP steps {module_ms:.0f} ms; "
                      f"PUT {put['latency_ms']:.0f} ms {put['bytes_per_s'] / 1e6:.0f} MB/s, "
                      f"GET {get['latency_ms']:.0f} ms {get['bytes_per_s'] / 1e6:.0f} MB/s")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
