"""Platform claims: a host whose OS a role of its groups does not cover is refused in preflight.

Two podman hosts (prefix plat-): plat-el9 is a bookworm container whose /etc/os-release and
/etc/redhat-release say RHEL 9 (so its facts say RedHat 9), plat-deb is plain bookworm. The real
preflight (playbooks/preflight.yml) runs on a small site twice:

- plat-el9 in groups mysql, minio and proxy: refused with exactly one line, naming the host, the OS
  and the nginx role (nginx has only Debian-family vars and apt tasks); mysql and minio, which have
  EL vars, do not complain. Fails on the code before: one OS list for every managed host let RHEL 9
  through, and the run went on to change MySQL and MinIO before the nginx play failed.
- the same host in mysql and minio only, plat-deb the proxy: passes (so the refusal is the platform
  rule, not some other input).

Neither host changes (`podman diff`). The roles' host-dependent checks and the DNS check are off:
they are covered by test_preflight_corpus.py, and this file stays small.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import ansible_env, host_changes, podman_hosts, sh

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
EL9, DEB = "plat-el9", "plat-deb"
FQDN = "plat-wandb.onprem.test"
RHEL_OS_RELEASE = ('NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\n'
                   'VERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n')

pytestmark = pytest.mark.skipif(not (VENV_BIN / "ansible-playbook").exists(), reason="make deps first")


def inventory(root: Path, name: str, groups: dict[str, list[str]]) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("minio", "mc"):
        (bin_dir / tool).write_text("#!/bin/sh\n")  # preflight only asks that the files exist
    site = {
        "ansible_connection": "testbed_podman", "ansible_user": "root",
        "wandb_fqdn": FQDN, "wandb_region": "us-east-1", "wandb_db_password": "plat-db-password-1",
        "wandb_license": "plat-license-not-valid", "wandb_s3_access_key": "wandb-app",
        "wandb_s3_secret_key": "plat-s3-secret-1", "wandb_db_host": groups["mysql"][0],
        "wandb_s3_endpoint": f"http://{groups['minio'][0]}:9000",
        "wandb_sizing_environment": "test", "preflight_sizing_strict": False,
        "preflight_mysql_data_path": "/tmp", "preflight_worker_data_path": "/tmp",
        # the roles' own host checks and DNS are test_preflight_corpus.py's: this test is the OS rule
        "preflight_role_checks": False, "preflight_check_dns": False,
        "mysql_install": "repo",
        "minio_root_user": "plat-root", "minio_root_password": "plat-root-password",
        "minio_drives": ["/srv/d1", "/srv/d2", "/srv/d3", "/srv/d4"], "minio_binary_source": "file",
        "minio_binary_src": str(bin_dir / "minio"), "minio_mc_binary_src": str(bin_dir / "mc"),
        "nginx_tls_mode": "local_ca", "nginx_local_ca_dir": str(root / "local-ca"),
        "nginx_upstreams": ["127.0.0.1:32080"],
    }
    data = {"all": {"vars": site, "children": {g: {"hosts": {h: {} for h in hosts}} for g, hosts in groups.items()}}}
    path = root / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_preflight(inv: Path) -> tuple[int, str]:
    env = ansible_env(ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"))  # opt-in: testbed_podman
    out = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inv), "playbooks/preflight.yml"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return out.returncode, out.stdout + out.stderr


def problems(text: str) -> list[str]:
    """The "- " lines right after "Preflight found" (the report's problem list)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "Preflight found" in line:
            found = []
            for follow in lines[index + 1:]:
                if not follow.startswith("- "):
                    break
                found.append(follow[2:].rstrip('",'))
            return found
    return []


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    root = tmp_path_factory.mktemp("plat")
    with podman_hosts(f"{EL9}=bookworm", f"{DEB}=bookworm"):
        sh(EL9, f"rm -f /etc/os-release /etc/debian_version; printf '%s' '{RHEL_OS_RELEASE}' > /etc/os-release; "
                "echo 'Red Hat Enterprise Linux release 9.4 (Plow)' > /etc/redhat-release")
        time.sleep(1)
        yield root, {h: host_changes(h) for h in (EL9, DEB)}


def test_rhel9_proxy_is_refused_naming_host_and_role_and_nothing_changes(hosts):
    root, before = hosts
    rc, text = run_preflight(inventory(root, "el9-proxy", {"mysql": [EL9], "minio": [EL9], "proxy": [EL9],
                                                           "clients": [DEB]}))
    found = problems(text)
    assert rc != 0, text[-4000:]
    # the input checks passed: the refusal comes from the host checks, after the facts were read
    assert "none was contacted" not in text, found or text[-4000:]
    assert len(found) == 1, found or text[-4000:]
    line = found[0]
    assert line.startswith(f"{EL9}: RedHat 9 is not supported by role nginx, which runs on group proxy ("), line
    assert "Debian 12, 13" in line and "take it out of group proxy" in line, line
    # mysql and minio cover EL 9: no line for them
    assert not re.search(r"role (mysql|minio|verify)\b", "\n".join(found)), found
    assert {h: host_changes(h) for h in (EL9, DEB)} == before


def test_the_same_rhel9_host_passes_for_mysql_and_minio(hosts):
    root, before = hosts
    rc, text = run_preflight(inventory(root, "el9-db", {"mysql": [EL9], "minio": [EL9], "proxy": [DEB],
                                                        "clients": [DEB]}))
    assert rc == 0, "\n".join(problems(text)) or text[-4000:]
    assert "Preflight passed on 2 host(s)" in text or "failed=0" in text, text[-2000:]
    # the facts really said RHEL (the fixture is in effect)
    assert "Red Hat" in sh(EL9, "cat /etc/redhat-release")
    assert {h: host_changes(h) for h in (EL9, DEB)} == before
