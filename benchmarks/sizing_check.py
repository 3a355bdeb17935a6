#!/usr/bin/env python
"""Wall time of onprem.wandb.sizing_check on this machine: the whole `ansible localhost -m`
run (median of REPEAT), with and without the bounded disk probe, and the module's own
measurement + comparison in-process.

  .venv/bin/python benchmarks/sizing_check.py [--repeat 5]
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
sys.path.insert(0, str(REPO / ".ansible" / "collections"))


def adhoc(args: dict) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_HOME=str(REPO / ".ansible"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    start = time.monotonic()
    subprocess.run([str(REPO / ".venv" / "bin" / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                    "-m", "onprem.wandb.sizing_check", "-a", json.dumps(args)], cwd=REPO, env=env,
                   capture_output=True, check=True)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    from ansible_collections.onprem.wandb.plugins.module_utils import wandb_sizing as sizing
    from ansible_collections.onprem.wandb.plugins.modules import sizing_check as mod

    params = {"profile": "models", "environment": "test", "node_role": "mysql", "tolerance_percent": 5.0}
    start = time.perf_counter()
    for _call in range(1000):
        mod.evaluate(params, sizing.host_facts("/"))
    print(f"in-process measure+compare: {(time.perf_counter() - start) * 1000 / 1000:.3f} ms per call")
    base = {"node_role": "mysql", "environment": "test", "strict": False}
    walls = [adhoc(base) for _attempt in range(opts.repeat)]
    print(f"ansible localhost -m sizing_check: median {statistics.median(walls):.2f} s "
          f"(runs: {', '.join(f'{w:.2f}' for w in walls)})")
    with tempfile.TemporaryDirectory() as tmp:
        probe = dict(base, data_path=tmp, probe_disk=True, probe_size_mb=64, probe_timeout=10)
        walls = [adhoc(probe) for _attempt in range(opts.repeat)]
    print(f"... with a 64 MiB disk probe: median {statistics.median(walls):.2f} s "
          f"(runs: {', '.join(f'{w:.2f}' for w in walls)})")


if __name__ == "__main__":
    main()
