"""onprem.wandb.sizing_check run for real: on this machine through `ansible`, and on a testbed
host (a bookworm container with nothing but Debian's python3) through the podman connection,
so the module proves it needs only the standard library on the target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ansible_env, podman_hosts

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / ".venv" / "bin" / "ansible"
HOST = "modules-sizing"
MODULE = "onprem.wandb.sizing_check"


def adhoc(target: str, args: dict, connection: str, interpreter: str, check: bool = False) -> dict:
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
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


def os_view() -> dict:
    """This machine as the OS's own tools report it (nproc, df, free): not the module's code."""
    def run(*argv: str) -> str:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return {"cpu_cores": int(run("nproc")),
            "disk_total_bytes": int(run("df", "-B1", "--output=size", "/").split()[-1]),
            "memory_bytes": int(next(ln for ln in run("free", "-b").splitlines() if ln.startswith("Mem:")).split()[1])}


def test_local_measurements_match_the_os():
    result = local({"node_role": "mysql", "environment": "test", "strict": False})
    assert not result.get("failed"), result.get("msg")
    facts, expected = result["facts"], os_view()
    assert facts["cpu_cores"] == expected["cpu_cores"]
    assert facts["disk_total_bytes"] == expected["disk_total_bytes"]
    assert facts["memory_bytes"] == expected["memory_bytes"]
    assert result["requirement"]["cpu_cores"] == 2 and result["changed"] is False


# (row, dimension, fact, unit of the table): the first dimension this host falls short on,
# from the largest rows down; every host falls short of an unreachable disk-write minimum.
GIB, GB = 1024 ** 3, 10 ** 9
ROWS = [("models_and_weave", "production", "kubernetes_worker"), ("weave", "production", "kubernetes_worker"),
        ("models", "production", "mysql")]


def test_local_strict_fails_on_the_dimension_this_host_falls_short_on():
    host = os_view()
    for profile, env, role in ROWS:
        args = {"node_role": role, "profile": profile, "environment": env}
        req = local(dict(args, strict=False))["requirement"]
        short = [(dim, text) for dim, have, need, text in [
            ("cpu_cores", host["cpu_cores"], req["cpu_cores"], f"CPU: {host['cpu_cores']} cores < {req['cpu_cores']} required"),
            ("memory_gb", host["memory_bytes"] / GIB, req["memory_gb"] * 0.95, "memory: "),
            ("disk_gb", host["disk_total_bytes"] / GB, req["disk_gb"] * 0.95, "disk: "),
        ] if have < need]
        if short:
            break
    else:  # a host bigger than every row: ask for a disk write speed no disk has
        args = {"node_role": "mysql", "environment": "test", "probe_disk": True, "probe_size_mb": 4,
                "data_path": "/tmp", "min_disk_write_mb_s": 10 ** 9}
        short = [("disk write", "disk write: ")]
    result = local(args)
    assert result["failed"] is True, result
    for _dim, text in short:
        assert text in result["msg"], (text, result["msg"])
    assert len(result["shortfalls"]) >= len(short)
    assert len(result["shortfalls"]) == sum(1 for c in result["checks"].values() if not c["ok"]) + \
        (1 if "min_disk_write_mb_s" in args else 0)


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
