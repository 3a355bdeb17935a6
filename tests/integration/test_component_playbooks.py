"""Each per-component playbook converges fresh hosts on its own (its own ansible-playbook run, no
facts left by an earlier play): preflight, nginx_tls, mysql, minio, redis, nginx, kubernetes, verify, on the
inventories/local topology renamed to `ssh-pc-*` hosts, over SSH + sudo.
A second run of each changes nothing.

Needs the local kube-apiserver (tests/testbed/kube.sh): run under the testbed lock.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ansible_env, recap

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "tests" / "testbed"
VENV_BIN = REPO / ".venv" / "bin"
LOCAL = REPO / "inventories" / "local"
RUN = "ssh-component-playbooks"
sys.path.insert(0, str(TESTBED))
from inventory_hosts import specs  # noqa: E402

HOSTS = [s.split("=")[0] for s in specs(str(LOCAL))]

PLAYBOOKS = ["preflight", "nginx_tls", "mysql", "minio", "redis", "nginx", "kubernetes", "verify"]


def rename(text: str) -> str:
    """inventories/local's host names -> this test's (wandb-mysql -> ssh-pc-mysql, ...)."""
    for name in sorted(HOSTS, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "ssh-pc-" + name.removeprefix("wandb-"), text)
    return text


def env() -> dict[str, str]:
    return ansible_env(ONPREM_WANDB_RUN=RUN)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    inv = tmp_path_factory.mktemp("components") / "site"
    shutil.copytree(LOCAL, inv, ignore=shutil.ignore_patterns("local-ca"))
    for path in inv.rglob("*.yml"):
        path.write_text(rename(path.read_text()))
    host_specs = [rename(s) for s in specs(str(LOCAL))]
    subprocess.run([str(TESTBED / "hosts.sh"), "up", *host_specs], check=True, env=env(), timeout=600)
    subprocess.run([str(TESTBED / "kube.sh"), "start"], check=True, timeout=600)
    subprocess.run([str(TESTBED / "kube.sh"), "reset"], check=True, timeout=300)  # no app of an earlier site
    yield inv
    subprocess.run([str(TESTBED / "hosts.sh"), "clean", RUN], check=False, env=env(), timeout=300)


def playbook(inventory: Path, name: str, log: Path) -> tuple[int, str]:
    with log.open("w") as out:
        proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), f"playbooks/{name}.yml"],
                              cwd=REPO, env=env(), stdout=out, stderr=subprocess.STDOUT, timeout=1200, check=False)
    return proc.returncode, log.read_text()


def test_each_component_playbook_converges_fresh_hosts_on_its_own(inventory, tmp_path):
    for name in PLAYBOOKS:
        rc, text = playbook(inventory, name, tmp_path / f"{name}.log")
        assert rc == 0, f"playbooks/{name}.yml on fresh hosts failed:\n{text[-5000:]}"
        assert recap(text), text[-2000:]
    for name in PLAYBOOKS:
        rc, text = playbook(inventory, name, tmp_path / f"{name}-again.log")
        assert rc == 0, f"playbooks/{name}.yml, second run:\n{text[-5000:]}"
        changed = {h: c["changed"] for h, c in recap(text).items() if c["changed"]}
        assert not changed, f"playbooks/{name}.yml changed on its second run: {changed}"
