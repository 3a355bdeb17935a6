"""The site job the way AWX runs it, on a controller that is neither root nor a managed host.

The controller is a podman container `ssh-controller` whose /etc/os-release says CentOS Stream 9
(the OS of the AWX execution environment, not one the collection manages). In it an unprivileged
user without sudo, with its own ANSIBLE_HOME, syncs a clean project checkout (the tracked files,
no .venv, no .ansible link) the way an AWX project update does (`ansible-galaxy collection
install -r collections/requirements.yml`), then runs the `site` job template through
ansible-runner: the template's extra vars, the survey answers as strings (AWX sends text), the
credentials' injected variables (inventories/local's secrets, removed from the inventory), the
Machine credential as `-u` + an ssh-agent key, become from the template. The managed hosts are
fresh `ssh-*` testbed hosts (the inventories/local topology, renamed) beside the testbed's
Kubernetes node, reached over SSH. The job runs twice: the second run changes nothing.

Needs the local kube-apiserver (tests/testbed/kube.sh): run under the testbed lock.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "tests" / "testbed"
VENV = REPO / ".venv"
LOCAL = REPO / "inventories" / "local"
CONTROLLER = "ssh-controller"
USER = "awxjob"
HOME = f"/home/{USER}"
RUN = "ssh-awx-runner"
sys.path.insert(0, str(TESTBED))
from conftest import load_ansible_yaml, recap, unsafe_yaml  # noqa: E402
from inventory_hosts import specs  # noqa: E402

HOSTS = [s.split("=")[0] for s in specs(str(LOCAL))]

CENTOS_OS_RELEASE = """NAME="CentOS Stream"
VERSION="9"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="9"
PLATFORM_ID="platform:el9"
PRETTY_NAME="CentOS Stream 9"
"""


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


NAMESPACE, NODE_PORT = "wandb-awx", "32081"  # beside another site on the testbed's node, not on top of it


def rename(text: str) -> str:
    """inventories/local's host names -> this test's (wandb-mysql -> ssh-mysql, ...), and its own NodePort."""
    for name in sorted(HOSTS, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "ssh-" + name.removeprefix("wandb-"), text)
    return text.replace("32080", NODE_PORT)


def ctl(*cmd: str, user: str = USER, stdin: bytes | None = None, timeout: int = 600, check: bool = True):
    # the execution environment's PATH: ansible-runner starts ansible-playbook from it
    path = f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return subprocess.run(["podman", "exec", "-i", "--user", user, "--workdir", HOME if user == USER else "/",
                           "-e", f"HOME={HOME}" if user == USER else "HOME=/root", "-e", path, CONTROLLER, *cmd],
                          input=stdin, capture_output=True, timeout=timeout, check=check)


def put(files: dict[str, bytes | Path], dest: str) -> None:
    """Copy files (relative name -> content or path) into the controller under dest, owned by the job user."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, src in files.items():
            data = src.read_bytes() if isinstance(src, Path) else src
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), (0o755 if isinstance(src, Path) and src.stat().st_mode & 0o111 else 0o600)
            tar.addfile(info, io.BytesIO(data))
    ctl("mkdir", "-p", dest)
    ctl("tar", "-x", "-C", dest, stdin=buf.getvalue())


@pytest.fixture(scope="module")
def site_hosts():
    host_specs = [rename(s) for s in specs(str(LOCAL))]
    env = {"ONPREM_WANDB_RUN": RUN}
    run_env = dict(os.environ, **env)
    subprocess.run([str(TESTBED / "hosts.sh"), "up", *host_specs], check=True, env=run_env, timeout=600)
    subprocess.run([str(TESTBED / "kube.sh"), "start"], check=True, timeout=600)
    subprocess.run([str(TESTBED / "kube.sh"), "reset", NAMESPACE], check=True, timeout=300)  # no app of an earlier run
    yield [s.split("=")[0] for s in host_specs], run_env
    subprocess.run([str(TESTBED / "hosts.sh"), "clean", RUN], check=False, env=run_env, timeout=300)


@pytest.fixture(scope="module")
def controller(site_hosts, tmp_path_factory):
    """The CentOS-looking controller container with the unprivileged job user and its inputs."""
    _hosts, run_env = site_hosts
    tmp = tmp_path_factory.mktemp("awx")
    (tmp / "os-release").write_text(CENTOS_OS_RELEASE)
    image = sh(str(TESTBED / "images.sh"), "tag", "bookworm").stdout.strip()
    python_home = Path((VENV / "bin" / "python3").resolve()).parents[1]  # the venv's base interpreter
    subprocess.run(["podman", "rm", "-f", CONTROLLER], capture_output=True, check=False)
    sh("podman", "run", "-d", "--name", CONTROLLER, "--network", "host", "--label", "onprem-wandb.testbed=1",
       "--label", f"onprem-wandb.testbed.run={RUN}", "-v", f"{VENV}:{VENV}:ro", "-v", f"{python_home}:{python_home}:ro",
       "-v", f"{tmp / 'os-release'}:/usr/lib/os-release:ro", "--entrypoint", "sleep", image, "infinity")
    try:
        # a user with no sudo and no group that has it; / and the interpreter readable
        ctl("sh", "-c", f"useradd --create-home {USER} && chmod 0711 /root && rm -f /etc/sudoers.d/*", user="root")
        assert ctl("sudo", "-n", "true", check=False).returncode != 0, "the job user must not have sudo"
        # 1. a clean project checkout: the tracked files of this repository
        tracked = sh("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
        put({f: REPO / f for f in tracked if f and (REPO / f).is_file() and not (REPO / f).is_symlink()}, f"{HOME}/project")
        # 2. what the testbed gives a controller: SSH material, the kubeconfig, the MinIO binaries
        export = tmp / "ssh"
        sh(str(TESTBED / "hosts.sh"), "ssh-export", str(export), env=run_env)
        put({p.relative_to(export).as_posix(): p for p in export.rglob("*") if p.is_file()}, f"{HOME}/ssh")
        ctl("sh", "-c", f"sed -i 's|{export}|{HOME}/ssh|g' {HOME}/ssh/config && chmod 0600 {HOME}/ssh/id_ed25519")
        kubeconfig = sh(str(TESTBED / "kube.sh"), "env").stdout.strip().split("=", 1)[1]
        binaries = {name: Path(sh(str(TESTBED / "build-binaries.sh"), "path", name).stdout.strip()) for name in ("minio", "mc")}
        # what an AWX Kubernetes credential holds: a kubeconfig with the CA and client certificate inline
        # (the testbed's own refers to files under root's home, which the job user cannot read)
        kubectl = sh(str(TESTBED / "build-binaries.sh"), "path", "kubectl").stdout.strip()
        flat = sh(kubectl, "--kubeconfig", kubeconfig, "config", "view", "--raw", "--flatten").stdout
        put({"kubeconfig": flat.encode(), **binaries}, f"{HOME}/inputs")
        yield tmp
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", CONTROLLER], capture_output=True, check=False)


def awx_job(controller_tmp: Path) -> dict:
    """private_data_dir contents for the `site` job template, assembled from awx/*.yml like AWX does."""
    templates = load_ansible_yaml(REPO / "awx" / "job_templates.yml")
    template = next(t for t in templates["awx_job_templates"] if t["playbook"] == "site.yml")
    extra_vars = dict(templates["awx_kubernetes_extra_vars"])  # template extra_vars (a Jinja reference there)
    site = yaml.safe_load((LOCAL / "group_vars" / "all" / "main.yml").read_text())
    kube = yaml.safe_load((LOCAL / "group_vars" / "kube_access.yml").read_text())
    answers = {"wandb_fqdn": site["wandb_fqdn"], "wandb_region": site["wandb_region"], "wandb_bucket": site["wandb_bucket"],
               "kubernetes_image_tag": str(kube.get("kubernetes_image_tag", "0.78.2")),
               "wandb_sizing_profile": site["wandb_sizing_profile"], "wandb_sizing_environment": site["wandb_sizing_environment"]}
    assert set(answers) == set(template["survey"]), "the survey changed: update the answers"
    # booleans arrive as text from a survey or an extra-vars form: "false", "true"
    proxy = yaml.safe_load((LOCAL / "group_vars" / "proxy.yml").read_text())
    flags = {"preflight_sizing_strict": site["preflight_sizing_strict"], "verify_require_app": site["verify_require_app"],
             "nginx_s3_enabled": proxy["nginx_s3_enabled"]}
    assert False in flags.values() and True in flags.values(), flags  # both spellings are exercised
    answers |= {k: str(v).lower() for k, v in flags.items()}
    answers["kubernetes_namespace"] = NAMESPACE
    # credentials' injected variables: every inventories/local secret is one
    injected: set[str] = set()
    for ctype in load_ansible_yaml(REPO / "awx" / "credential_types.yml")["awx_credential_types"]:
        injected |= set(ctype.get("injectors", {}).get("extra_vars", {}))
    secrets = load_ansible_yaml(LOCAL / "group_vars" / "all" / "secrets.yml")
    credentials = {k: v for k, v in secrets.items() if k in injected}
    assert credentials, "no inventories/local secret is injected by an AWX credential type"
    return {"extravars": {**extra_vars, **answers, **credentials,
                          "minio_binary_src": f"{HOME}/inputs/minio", "minio_mc_binary_src": f"{HOME}/inputs/mc"},
            "envvars": {"K8S_AUTH_KUBECONFIG": f"{HOME}/inputs/kubeconfig", "ONPREM_WANDB_SSH_CONFIG": f"{HOME}/ssh/config",
                        "ANSIBLE_HOME": f"{HOME}/.ansible", "ANSIBLE_NOCOLOR": "1",
                        "ANSIBLE_COLLECTIONS_PATH": f"{HOME}/awx_cache/requirements_collections:"
                                                    f"{next(VENV.glob('lib/python3*/site-packages'))}"},
            "cmdline": "-u deploy --become",
            # secrets no credential type injects stay in the inventory (a site keeps them in a vault file)
            "inventory_secrets": {k: v for k, v in secrets.items() if k not in injected},
            "unsafe": set(answers) | set(credentials)}


def test_site_job_through_ansible_runner_as_awx_runs_it(controller):
    job = awx_job(controller)
    # project sync: the collections of collections/requirements.yml (onprem.wandb from the project itself)
    sync = ctl("sh", "-c", f"cd {HOME}/project && ANSIBLE_HOME={HOME}/.ansible {VENV}/bin/ansible-galaxy collection install"
               f" --offline -r collections/requirements.yml -p {HOME}/awx_cache/requirements_collections", check=False)
    out = (sync.stdout + sync.stderr).decode()
    assert sync.returncode == 0, out
    # the AWX inventory: inventories/local of the checkout, hosts renamed, secrets only from credentials
    inv = {}
    for path in LOCAL.rglob("*.yml"):
        rel = path.relative_to(LOCAL).as_posix()
        if rel != "group_vars/all/secrets.yml":
            inv[f"inventory/{rel}"] = rename(path.read_text()).encode()
    inventory_secrets = job.pop("inventory_secrets")
    inv["inventory/group_vars/all/secrets.yml"] = unsafe_yaml(inventory_secrets, set(inventory_secrets)).encode()
    # AWX writes env/extravars with survey answers and credentials' values marked !unsafe (only the
    # template's own extra_vars may hold Jinja): a password with {# reaches the play verbatim
    extravars, unsafe = job.pop("extravars"), job.pop("unsafe")
    env = {f"env/{k}": (json.dumps(v) if k != "cmdline" else v).encode() for k, v in job.items()}
    env["env/extravars"] = unsafe_yaml(extravars, unsafe).encode()
    put({**inv, **env, "env/ssh_key": Path(controller / "ssh" / "id_ed25519")}, f"{HOME}/job")
    ctl("sh", "-c", f"ln -sfn {HOME}/project {HOME}/job/project && rm -rf {HOME}/.ssh")
    for attempt in ("converge", "rerun"):
        run = ctl(str(VENV / "bin" / "ansible-runner"), "run", f"{HOME}/job", "-p", "site.yml", "--ident", attempt,
                  timeout=1800, check=False)
        stdout = ctl("cat", f"{HOME}/job/artifacts/{attempt}/stdout", check=False).stdout.decode()
        assert run.returncode == 0, f"{attempt}: rc={run.returncode}\n{stdout[-6000:]}\n{run.stderr.decode()[-2000:]}"
        status = ctl("cat", f"{HOME}/job/artifacts/{attempt}/status").stdout.decode().strip()
        assert status == "successful", stdout[-4000:]
        counters = recap(stdout)
        assert set(counters) >= {"ssh-mysql", "ssh-proxy", "localhost"}, counters
        assert "PLAY [Preflight every host" in stdout and "PLAY [Verify the site" in stdout
        if attempt == "rerun":
            assert all(c["changed"] == 0 for c in counters.values()), counters
    # the job reached the hosts as deploy over SSH and became root there; the controller stayed unprivileged
    assert ctl("id", "-u").stdout.decode().strip() != "0"
    sshd = subprocess.run(["podman", "exec", "ssh-mysql", "journalctl", "-q", "-u", "ssh", "--no-pager"],
                          capture_output=True, text=True, check=False).stdout
    assert "Accepted publickey for deploy" in sshd, sshd[-2000:]
    # the site's local CA was made by the job user, beside the job's inventory
    assert ctl("test", "-f", f"{HOME}/job/inventory/local-ca/ca.crt", check=False).returncode == 0
