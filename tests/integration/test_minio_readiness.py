"""The minio role reports success only when the cluster accepts writes, and a configuration
change takes storage down no longer than it must.

Two bookworm hosts (vf-minio-1/2, two drives each: one distributed pool) run the real role.
A writer inside vf-minio-1 PUTs an object through mc every 0.2 s and logs each outcome; after
each change the role is re-run and the test measures the longest run of failed writes (the
outage, printed) and PUTs once right after the role returned, which must succeed.
- a CORS change is applied at run time (mc admin config set api): no restart, no failed write;
- a root credential change needs a restart (MINIO_ROOT_* are environment): the role waits
  until writes succeed again before it returns.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ansible_env, binary, podman_hosts

REPO = Path(__file__).resolve().parents[2]
HOSTS = ["vf-minio-1", "vf-minio-2"]
ROOT_USER = "vf-root"
PLAY = """
- name: MinIO
  hosts: minio
  gather_facts: false
  roles:
    - role: onprem.wandb.minio
"""
WRITER = r"""
export MC_CONFIG_DIR=/root/.vf-writer
printf '%s\n%s\n' "$1" "$2" | mc alias set w http://vf-minio-1:9000 >/dev/null 2>&1 || true
: > /tmp/writes.log
while :; do
  if echo probe | timeout 3 mc pipe -q w/wandb/vf-writer-probe >/dev/null 2>&1; then r=ok; else r=fail; fi
  echo "$(date +%s.%N) $r" >> /tmp/writes.log
  sleep 0.2
done
"""

PREFLIGHT = """python3 - "$1" <<'PY'
import sys, urllib.request
req = urllib.request.Request("http://vf-minio-1:9000/wandb/x", method="OPTIONS",
                             headers={"Origin": sys.argv[1], "Access-Control-Request-Method": "PUT"})
with urllib.request.urlopen(req, timeout=5) as resp:
    print(resp.headers.get("Access-Control-Allow-Origin", ""))
PY"""


def converge(tmp_path: Path, **overrides) -> subprocess.CompletedProcess:
    group_vars = {
        "ansible_connection": "testbed_podman",
        "wandb_fqdn": "wandb.vf.test",
        "wandb_bucket": "wandb",
        "wandb_s3_access_key": "vf-wandb",
        "wandb_s3_secret_key": "vf-wandb-secret",
        "wandb_cors_origins": ["https://wandb.vf.test"],
        "minio_root_user": ROOT_USER,
        "minio_root_password": "vf-root-password-1",
        "minio_drives": ["/srv/minio/disk1", "/srv/minio/disk2"],
        "minio_allow_root_drives": True,
        "minio_console_enabled": False,
        "minio_binary_source": "file",
        "minio_binary_src": str(binary("minio")),
        "minio_mc_binary_src": str(binary("mc")),
    }
    group_vars.update(overrides)
    inventory = {"minio": {"hosts": dict.fromkeys(HOSTS, {}), "vars": group_vars}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY)
    env = ansible_env(ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"))
    return subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                           str(tmp_path / "play.yml")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def sh(host: str, script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "exec", host, "bash", "-c", script, "_", *args], capture_output=True, text=True,
                          timeout=60, check=check)


def put_now(password: str) -> subprocess.CompletedProcess:
    """One PUT with the root credentials right after the role returned (a fresh mc config)."""
    return sh(HOSTS[1], 'export MC_CONFIG_DIR=$(mktemp -d); printf "%s\\n%s\\n" "$1" "$2" | '
              'mc alias set n http://vf-minio-2:9000 >/dev/null && echo x | mc pipe n/wandb/vf-after-role',
              ROOT_USER, password, check=False)


def outage(since: float) -> tuple[float, int]:
    """Longest stretch (s) of failed writes after `since`, and how many writes were logged."""
    log = sh(HOSTS[0], "cat /tmp/writes.log").stdout.split()
    rows = [(float(log[i]), log[i + 1]) for i in range(0, len(log) - 1, 2) if float(log[i]) >= since]
    longest, start = 0.0, None
    for stamp, result in rows:
        if result == "fail" and start is None:
            start = stamp
        elif result == "ok" and start is not None:
            longest, start = max(longest, stamp - start), None
    if start is not None:
        longest = max(longest, rows[-1][0] - start)
    return round(longest, 1), len(rows)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with podman_hosts(*(f"{h}=bookworm" for h in HOSTS)):
        tmp = tmp_path_factory.mktemp("minio-ready")
        proc = converge(tmp)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        # the W&B user writes, as W&B does (root's password changes in a test below)
        subprocess.run(["podman", "exec", "-d", HOSTS[0], "bash", "-c", WRITER, "_", "vf-wandb", "vf-wandb-secret"],
                       check=True)
        time.sleep(3)
        yield tmp


def test_cors_change_is_applied_without_an_outage(cluster):
    start = time.time()
    proc = converge(cluster, wandb_cors_origins=["https://wandb.vf.test", "https://other.vf.test"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert put_now("vf-root-password-1").returncode == 0
    time.sleep(2)
    seconds, writes = outage(start)
    print(f"MinIO write outage after a CORS change: {seconds} s ({writes} writes logged)")
    assert writes > 5, "the writer logged nothing: the measurement measured nothing"
    assert "RUNNING HANDLER [onprem.wandb.minio : Restart minio]" not in proc.stdout, "a CORS change restarted MinIO"
    assert seconds == 0.0
    # the new origin is live: a preflight from it is answered with it
    pre = sh(HOSTS[1], PREFLIGHT, "https://other.vf.test")
    assert pre.stdout.strip() == "https://other.vf.test", pre.stdout + pre.stderr
    # and a re-run changes nothing
    again = converge(cluster, wandb_cors_origins=["https://wandb.vf.test", "https://other.vf.test"])
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_root_credential_change_waits_until_writes_succeed(cluster):
    start = time.time()
    proc = converge(cluster, minio_root_password="vf-root-password-2",
                    wandb_cors_origins=["https://wandb.vf.test", "https://other.vf.test"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Restart minio" in proc.stdout, "a root credential change must restart MinIO"
    after = put_now("vf-root-password-2")
    assert after.returncode == 0, f"the role returned before MinIO accepted writes: {after.stdout} {after.stderr}"
    seconds, writes = outage(start)
    print(f"MinIO write outage after a root credential change (restart): {seconds} s ({writes} writes logged)")
    assert writes > 5
