"""Fixtures that start real servers from the testbed's cached binaries.

`minio_server` starts a MinIO built by tests/testbed/build-binaries.sh on a free loopback
port (single drive, in a temporary directory); `minio_factory` starts one with extra
environment (e.g. MINIO_API_CORS_ALLOW_ORIGIN). `kube_api` starts (or reuses) the local
kube-apiserver of tests/testbed/kube.sh and yields its kubeconfig path. `podman_hosts`
starts podman hosts with tests/testbed/hosts.sh for the length of a `with` block.
`local_site` is the site of inventories/local on fresh hosts beside the testbed's node, shared by
the test modules that run the whole site (test_site_reliability converges it, test_verify_truth
breaks and checks it, each converging it itself when run alone). `ansible_env` and `recap` are
the one way tests run Ansible and read its PLAY RECAP. ONPREM_WANDB_LOCAL_SITE=reuse runs those
modules on the running, converged `make demo` instead (nothing fresh, nothing removed; the tests
that need fresh hosts then fail).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "tests" / "testbed"
VENV_BIN = REPO / ".venv" / "bin"
LOCAL = REPO / "inventories" / "local"
MINIO_ROOT_USER = "onprem-wandb-root"
MINIO_ROOT_PASSWORD = "onprem-wandb-root-secret"


def binary(name: str) -> Path:
    """Path of a testbed binary (minio, mc, kubectl, kube-apiserver); builds it when missing."""
    target = "kube-apiserver" if name in ("kubectl", "kube-apiserver") else name
    subprocess.run([str(TESTBED / "build-binaries.sh"), target], check=True)  # no-op when cached
    path = subprocess.run([str(TESTBED / "build-binaries.sh"), "path", name], check=True,
                          capture_output=True, text=True).stdout.strip()
    return Path(path)


@contextlib.contextmanager
def podman_hosts(*specs: str):
    """Podman hosts (NAME=IMAGE specs of tests/testbed/hosts.sh) for the block; yields their names."""
    if not shutil.which("podman"):
        pytest.skip("podman missing (make deps)")
    names = [spec.split("=")[0] for spec in specs]
    subprocess.run([str(TESTBED / "hosts.sh"), "up", *specs], check=True, capture_output=True, timeout=300)
    try:
        yield names
    finally:
        subprocess.run([str(TESTBED / "hosts.sh"), "down", *names], check=False, capture_output=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MinioServer:
    def __init__(self, workdir: Path, env: dict[str, str] | None = None, region: str = "us-east-1"):
        self.port = free_port()
        self.console_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.region = region
        self.access_key = MINIO_ROOT_USER
        self.secret_key = MINIO_ROOT_PASSWORD
        data = workdir / f"minio-{self.port}"
        data.mkdir(parents=True)
        full_env = dict(os.environ, MINIO_ROOT_USER=MINIO_ROOT_USER, MINIO_ROOT_PASSWORD=MINIO_ROOT_PASSWORD,
                        MINIO_SITE_REGION=region, MINIO_BROWSER="off", **(env or {}))
        self.log = open(workdir / f"minio-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(binary("minio")), "server", str(data), "--address", f"127.0.0.1:{self.port}",
             "--console-address", f"127.0.0.1:{self.console_port}", "--quiet"],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/minio/health/live", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"MinIO did not answer on {self.endpoint} within 30 s; log: {self.log.name}")

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def minio_factory(tmp_path_factory):
    servers: list[MinioServer] = []

    def start(env: dict[str, str] | None = None, region: str = "us-east-1") -> MinioServer:
        server = MinioServer(tmp_path_factory.mktemp("minio"), env=env, region=region)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def minio_server(minio_factory):
    return minio_factory()


@pytest.fixture(scope="session")
def kube_api():
    was_up = subprocess.run([str(TESTBED / "kube.sh"), "status"], check=False).returncode == 0
    subprocess.run([str(TESTBED / "kube.sh"), "start"], check=True)
    env_line = subprocess.run([str(TESTBED / "kube.sh"), "env"], check=True, capture_output=True,
                              text=True).stdout.strip()
    yield env_line.split("=", 1)[1]
    if not was_up and os.environ.get("ONPREM_WANDB_KEEP_KUBE") != "1":
        subprocess.run([str(TESTBED / "kube.sh"), "stop"], check=True)


# what a read-only run may still leave on a testbed host (Ansible's temp files, logs, caches)
IGNORED_PREFIXES = ("/root/.ansible", "/tmp", "/run", "/var/log", "/var/tmp", "/var/lib/systemd", "/var/cache",
                    "/etc/machine-id", "/var/lib/dbus", "/root/.cache", "/etc/.pwd.lock")


def sh(host: str, script: str) -> str:
    """Run a bash script on a testbed host as root; its stdout (fails the test on a non-zero exit)."""
    out = subprocess.run(["podman", "exec", host, "bash", "-c", script], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"{host}: {script!r}: {out.stdout}{out.stderr}"
    return out.stdout


def host_changes(name: str) -> set[str]:
    """Paths `podman diff` reports changed on a host, without what IGNORED_PREFIXES allows."""
    diff = subprocess.run(["podman", "diff", name], capture_output=True, text=True, check=True)
    paths = {line.split(maxsplit=1)[1] for line in diff.stdout.splitlines() if " " in line}
    return {p for p in paths if not p.startswith(IGNORED_PREFIXES)}


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment a test runs ansible-playbook with: this checkout's venv, config and collection."""
    return dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                ANSIBLE_HOME=str(REPO / ".ansible"), ONPREM_WANDB_TESTBED=str(TESTBED), ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_NOCOLOR="1", **extra)


class AnsibleYamlLoader(yaml.SafeLoader):
    """YAML as Ansible reads our inventories and awx/*.yml: `!unsafe` keeps its text (never templated)."""


AnsibleYamlLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_ansible_yaml(path: Path):
    return yaml.load(path.read_text(), Loader=AnsibleYamlLoader)  # noqa: S506 - a SafeLoader subclass


def unsafe_yaml(values: dict, unsafe: set[str]) -> str:
    """A vars file: the strings of the keys in ``unsafe`` marked !unsafe (as AWX writes survey answers and
    credentials' extra vars), the rest as JSON (which YAML reads)."""
    return "".join(f"{k}: {'!unsafe ' if k in unsafe and isinstance(v, str) else ''}{json.dumps(v)}\n"
                   for k, v in values.items())


def recap(text: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP of an ansible-playbook output: host -> {ok, changed, failed, ...}."""
    return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
            for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", text, re.M)}


class LocalSite:
    """inventories/local's hosts, fresh at the start of the session. `converged` is True while the
    hosts and the cluster hold what site.yml with the unchanged inventory makes (a test that moves
    the site away from it sets it False and back to True once it restored it)."""

    def __init__(self, names: list[str], converged: bool = False, keep: bool = False):
        self.names = names
        self.converged = converged
        self.keep = keep  # a developer's make demo: never removed
        self.up = True

    def down(self) -> None:
        """Remove the hosts (once). Another site with the same names and DNS aliases (wandb.onprem.test)
        on the testbed network, e.g. test_component_playbooks' or test_awx_runner's, would otherwise
        share the name with these hosts: DNS answers with both proxies."""
        if self.up and not self.keep:
            subprocess.run([str(TESTBED / "hosts.sh"), "down", *self.names], check=False)
        self.up = False

    def converge(self) -> None:
        """Run site.yml unless the site is known to be converged (a module run alone)."""
        if self.converged:
            return
        proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(LOCAL), "site.yml"], cwd=REPO,
                              env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=1800, check=False)
        assert proc.returncode == 0, proc.stdout[-5000:]
        self.converged = True


_LOCAL_SITE: dict[str, object] = {"last": None, "site": None}


def pytest_collection_modifyitems(session, config, items):
    """Remember the last test that uses local_site: its hosts go as soon as it ends."""
    users = [item.nodeid for item in items if "local_site" in getattr(item, "fixturenames", ())]
    _LOCAL_SITE["last"] = users[-1] if users else None


def pytest_runtest_teardown(item, nextitem):
    site = _LOCAL_SITE["site"]
    if site is not None and item.nodeid == _LOCAL_SITE["last"]:
        site.down()


@pytest.fixture(scope="session")
def local_site():
    import sys

    sys.path.insert(0, str(TESTBED))
    from inventory_hosts import specs

    host_specs = specs(str(LOCAL))
    names = [s.split("=")[0] for s in host_specs]
    if os.environ.get("ONPREM_WANDB_LOCAL_SITE") == "reuse":  # a developer's converged `make demo`: kept
        yield LocalSite(names, converged=True, keep=True)
        return
    subprocess.run([str(TESTBED / "hosts.sh"), "up", *host_specs], check=True)  # fresh hosts
    subprocess.run([str(TESTBED / "kube.sh"), "start"], check=True)
    subprocess.run([str(TESTBED / "kube.sh"), "reset"], check=True, timeout=300)  # no app of an earlier site
    site = LocalSite(names)
    _LOCAL_SITE["site"] = site
    yield site
    site.down()
    _LOCAL_SITE["site"] = None
