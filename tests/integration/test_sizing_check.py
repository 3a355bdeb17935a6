"""onprem.wandb.sizing_check run for real: on this machine through `ansible`, and on a testbed
host (a bookworm container with nothing but Debian's python3) through the podman connection,
so the module proves it needs only the standard library on the target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import podman_hosts

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / ".venv" / "bin" / "ansible"
HOST = "modules-sizing"
MODULE = "onprem.wandb.sizing_check"


def adhoc(target: str, args: dict, connection: str, interpreter: str, check: bool = False) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_HOME=str(REPO / ".ansible"),
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_PYTHON_INTERPRETER=interpreter,
               # opt-in: the testbed's nsenter connection (docs/test-matrix.md)
               ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"))
    cmd = [str(ANSIBLE), "all", "-i", f"{target},", "-c", connection, "-m", MODULE, "-a", json.dumps(args)]
    proc = subprocess.run(cmd + (["--check"] if check else []), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    lines = proc.stdout.splitlines()
    assert "{" in lines, proc.stdout + proc.stderr
    start, end = lines.index("{"), len(lines) - 1 - lines[::-1].index("}")
    return json.loads("\n".join(lines[start:end + 1]))["plays"][0]["tasks"][0]["hosts"][target]


def local(args: dict, check: bool = False) -> dict:
    return adhoc("localhost", args, "local", sys.executable, check)


def test_local_measurements_match_the_os():
    result = local({"node_role": "mysql", "environment": "test", "strict": False})
    assert not result.get("failed"), result.get("msg")
    facts = result["facts"]
    assert facts["cpu_cores"] == len(os.sched_getaffinity(0))
    st = os.statvfs("/")
    assert facts["disk_total_bytes"] == st.f_blocks * st.f_frsize
    with open("/proc/meminfo") as fh:
        mem_kib = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    assert facts["memory_bytes"] == mem_kib * 1024
    assert result["requirement"]["cpu_cores"] == 2 and result["changed"] is False


def test_local_strict_production_fails_listing_every_shortfall():
    """This 2-core machine is far below a production Models+Weave worker (16 cores, 128 GB)."""
    cores = len(os.sched_getaffinity(0))
    if cores >= 16:
        pytest.skip("machine is big enough for a production worker")
    result = local({"node_role": "kubernetes_worker", "profile": "models_and_weave", "environment": "production"})
    assert result["failed"] is True
    assert f"CPU: {cores} cores < 16 required" in result["msg"]
    assert len(result["shortfalls"]) == sum(1 for c in result["checks"].values() if not c["ok"]) >= 1


def test_local_probe_is_bounded_and_leaves_nothing(tmp_path):
    result = local({"node_role": "mysql", "environment": "test", "strict": False, "data_path": str(tmp_path),
                    "probe_disk": True, "probe_size_mb": 8, "probe_timeout": 5})
    probe = result["disk_probe"]
    assert probe["bytes"] <= 8 * 1024 * 1024 and probe["seconds"] <= 5.5 and probe["mb_per_s"] > 0
    assert list(tmp_path.iterdir()) == []
    checked = local({"node_role": "mysql", "strict": False, "data_path": str(tmp_path), "probe_disk": True},
                    check=True)
    assert "disk_probe" not in checked


@pytest.fixture(scope="module")
def testbed_host():
    with podman_hosts(f"{HOST}=bookworm"):
        yield HOST


def test_on_a_stdlib_only_testbed_host(testbed_host):
    probe = subprocess.run(["podman", "exec", testbed_host, "python3", "-c", "import botocore"],
                           capture_output=True, check=False)
    assert probe.returncode != 0, "the testbed host is expected to lack botocore"
    result = adhoc(testbed_host, {"node_role": "mysql", "environment": "test", "strict": False,
                                  "data_path": "/var/lib/mysql", "probe_disk": True, "probe_size_mb": 4},
                   "testbed_podman", "/usr/bin/python3")
    assert not result.get("failed"), result.get("msg")
    assert result["facts"]["measured_path"] == "/var/lib"  # /var/lib/mysql does not exist yet
    assert result["facts"]["architecture"] == "x86_64" and result["checks"]["architecture"]["ok"]
    assert result["disk_probe"]["complete"] is True
