"""The minio role's preflight: bad input stops the run before any host changes.

Runs the real role with `--tags minio_preflight` against four inventory hosts that use
the local connection (preflight only reads variables and gathers minimal facts), and
checks the message names the variable to fix. A good inventory passes and yields the
expected MINIO_VOLUMES, so a failing case fails for the reason it claims.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ansible_env

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = """
- name: Run the minio role's preflight
  hosts: minio
  gather_facts: false
  roles:
    - role: onprem.wandb.minio
  post_tasks:
    - name: Show the volumes
      ansible.builtin.debug:
        var: _minio_volumes
      tags: [minio_preflight]
"""


def run(tmp_path: Path, overrides: dict, hosts: list[str] | None = None, host_vars: dict | None = None):
    hosts = hosts or ["minio-1", "minio-2", "minio-3", "minio-4"]
    (tmp_path / "minio").write_bytes(b"fake")
    (tmp_path / "mc").write_bytes(b"fake")
    group_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "wandb_fqdn": "wandb.example.test",
        "wandb_region": "eu-central-1",
        "wandb_s3_access_key": "wandb-app",
        "wandb_s3_secret_key": "wandb-app-secret",
        "minio_root_user": "onprem-root",
        "minio_root_password": "root-password",
        "minio_binary_src": str(tmp_path / "minio"),
        "minio_mc_binary_src": str(tmp_path / "mc"),
        "minio_drives": ["/srv/minio/disk1", "/srv/minio/disk2"],
    }
    group_vars.update(overrides)
    inventory = {"minio": {"hosts": {h: (host_vars or {}).get(h, {}) for h in hosts}, "vars": group_vars}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
         str(tmp_path / "play.yml"), "--tags", "minio_preflight"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc


def volumes(proc, host: str = "minio-1") -> str:
    result, _ignored = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{"):])  # profile_tasks trails
    last = result["plays"][0]["tasks"][-1]["hosts"][host]
    return last["_minio_volumes"]


def test_good_inventory_passes_with_ellipsis_volumes(tmp_path):
    proc = run(tmp_path, {})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert volumes(proc) == "http://minio-{1...4}:9000/srv/minio/disk{1...2}"


def test_names_without_a_sequence_get_explicit_endpoints(tmp_path):
    proc = run(tmp_path, {"minio_drives": ["/data"]}, hosts=["alpha", "beta", "gamma", "delta"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert volumes(proc, "alpha") == " ".join(f"http://{h}:9000/data" for h in ["alpha", "beta", "gamma", "delta"])


@pytest.mark.parametrize(("overrides", "hosts", "host_vars", "needle"), [
    pytest.param({"minio_drives": ["/d1"]}, ["minio-1", "minio-2", "minio-3"], None,
                 "needs at least 4 drives", id="fewer-than-4-drives"),
    pytest.param({}, None, {"minio-4": {"minio_drives": ["/d1", "/d2", "/d3"]}},
                 "same number of minio_drives", id="unequal-drives"),
    pytest.param({"minio_region": "us-west-2"}, None, None, "must equal wandb_region", id="region-mismatch"),
    pytest.param({"wandb_cors_origins": ["wandb.example.test"]}, None, None,
                 "Rejected origins: ['wandb.example.test']", id="origin-not-a-url"),
    pytest.param({"wandb_cors_origins": ["https://wandb.example.test/app"]}, None, None,
                 "Rejected origins", id="origin-with-path"),
    pytest.param({"minio_binary_source": "url", "minio_binary_url": "https://mirror.example.test/minio",
                  "minio_mc_binary_url": "https://mirror.example.test/mc",
                  "minio_mc_binary_checksum": "sha256:" + "0" * 64}, None, None,
                 "a download without a checksum is refused", id="url-without-checksum"),
    pytest.param({"minio_binary_source": "source", "minio_version": "RELEASE.2025-09-07T16-13-09Z"}, None, None,
                 "does not serve RELEASE.* tags", id="source-with-release-tag"),
    pytest.param({"wandb_s3_access_key": "onprem-root"}, None, None,
                 "W&B never gets root credentials", id="wandb-user-is-root"),
])
def test_bad_input_is_rejected_in_preflight(tmp_path, overrides, hosts, host_vars, needle):
    proc = run(tmp_path, overrides, hosts=hosts, host_vars=host_vars)
    assert proc.returncode != 0
    assert needle in proc.stdout, proc.stdout[-3000:]
