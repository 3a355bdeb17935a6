"""The site playbook on the real testbed: bad inventories stop in preflight with every problem
listed and nothing changed; a dry run of fresh hosts runs preflight and exits 0; a run interrupted
half-way converges on the next run; a -vvv log of the whole run holds no secret; a further run
changes nothing; image upgrades roll without a failed request and a bad tag fails with the
diagnosis. test_verify_truth then works on the site this leaves (conftest's local_site)."""

from __future__ import annotations

import base64
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from conftest import ansible_env, load_ansible_yaml, recap, unsafe_yaml

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "tests" / "testbed"
VENV_BIN = REPO / ".venv" / "bin"
LOCAL = REPO / "inventories" / "local"

IGNORED_PREFIXES = ("/root/.ansible", "/tmp", "/run", "/var/log", "/var/tmp", "/var/lib/systemd", "/var/cache",
                    "/etc/machine-id", "/var/lib/dbus", "/root", "/etc/.pwd.lock",
                    "/home/deploy", "/var/lib/sudo")  # the SSH user's ~/.ansible, sudo's timestamps


def site(inventory: Path, *args: str, log: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    with log.open("w") as out:
        return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", *args], cwd=REPO,
                              env=ansible_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)


def host_changes(name: str) -> set[str]:
    diff = subprocess.run(["podman", "diff", name], capture_output=True, text=True, check=True)  # "C /etc" lines
    paths = {line.split(maxsplit=1)[1] for line in diff.stdout.splitlines() if " " in line}
    return {p for p in paths if not p.startswith(IGNORED_PREFIXES)}


def controller_state(inventory: Path) -> dict[str, str]:
    """The controller's side of a site: every file under the inventory (a local CA would land here)."""
    import hashlib

    return {str(p.relative_to(inventory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(inventory.rglob("*")) if p.is_file()}


def cluster_state() -> str:
    """Every object of the local cluster with its resourceVersion (a change bumps it)."""
    kubeconfig = subprocess.run([str(TESTBED / "kube.sh"), "env"], check=True, capture_output=True,
                                text=True).stdout.strip().split("=", 1)[1]
    kubectl = subprocess.run([str(TESTBED / "build-binaries.sh"), "path", "kubectl"], check=True, capture_output=True,
                             text=True).stdout.strip()
    return subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "namespaces,all,secrets,configmaps,ingresses",
                           "-A", "-o", "custom-columns=K:.kind,NS:.metadata.namespace,N:.metadata.name,"
                           "V:.metadata.resourceVersion", "--no-headers"],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def testbed(local_site):
    """inventories/local's fresh hosts (shared with test_verify_truth, which runs on what this leaves)."""
    return local_site.names


@pytest.fixture()
def bad_inventory(tmp_path):
    inv = tmp_path / "bad"
    shutil.copytree(LOCAL, inv, ignore=shutil.ignore_patterns("local-ca"))
    secrets = inv / "group_vars" / "all" / "secrets.yml"
    data = load_ansible_yaml(secrets)
    del data["wandb_license"]                                  # a missing secret
    secrets.write_text(unsafe_yaml(data, set(data)))           # the others stay !unsafe
    minio = inv / "group_vars" / "minio.yml"
    data = yaml.safe_load(minio.read_text())
    data["minio_region"] = "eu-west-1"                         # region differs from wandb_region
    minio.write_text(yaml.safe_dump(data))
    hosts = inv / "hosts.yml"
    data = yaml.safe_load(hosts.read_text())
    data["all"]["children"]["testbed"]["children"]["minio"]["hosts"]["wandb-minio-2"] = {"minio_drives": ["/srv/minio/disk1"]}
    hosts.write_text(yaml.safe_dump(data))                    # 3 drives in all, unequal
    proxy = inv / "group_vars" / "proxy.yml"
    data = yaml.safe_load(proxy.read_text())
    data["nginx_tls_mode"] = "files"                           # FQDN without a certificate
    proxy.write_text(yaml.safe_dump(data))
    return inv


def test_bad_inventory_fails_in_preflight_listing_everything_and_changes_nothing(testbed, bad_inventory, tmp_path):
    before = {h: host_changes(h) for h in testbed}
    controller, cluster = controller_state(bad_inventory), cluster_state()
    log = tmp_path / "bad.log"
    result = site(bad_inventory, log=log, timeout=600)
    text = log.read_text()
    assert result.returncode != 0, text[-3000:]
    assert "Preflight found" in text and "nothing was changed on any host" in text
    assert "wandb_license: is not set" in text
    assert "distributed MinIO needs at least 4" in text
    assert "same number of drives" in text
    assert "eu-west-1" in text and "AWS_REGION" in text
    assert "nginx_tls_cert_src: is empty" in text
    assert "PLAY [MySQL" not in text, "a play after preflight started"
    # every host, the controller (localhost: kube_access) included
    assert all(c.get("changed", 0) == 0 for c in recap(text).values()), recap(text)
    for host in testbed:
        assert host_changes(host) == before[host], f"{host} changed: {host_changes(host) - before[host]}"
    after = controller_state(bad_inventory)
    assert after == controller, f"the controller's inventory changed: {sorted(set(after.items()) ^ set(controller.items()))}"
    assert cluster_state() == cluster, "the cluster changed on a bad inventory"


def secrets_of(inventory: Path) -> list[str]:
    data = load_ansible_yaml(inventory / "group_vars" / "all" / "secrets.yml")
    values = [str(v) for v in data.values() if len(str(v)) >= 8 and v != "wandb-app"]
    forms = []
    for v in values:
        forms += [v, urllib.parse.quote(v, safe=""), base64.b64encode(v.encode()).decode()]
    return forms


VERIFY_LINES = {"s3", "tls", "app", "wandb_verify", "mysql", "kubernetes"}


def test_dry_run_of_fresh_hosts_runs_preflight_and_exits_0(testbed, tmp_path):
    """--check --diff before anything was installed: preflight runs fully, the later plays report
    what they would change and skip what needs packages that are not there yet, verify reports."""
    before = {h: host_changes(h) for h in testbed}
    log = tmp_path / "dry-fresh.log"
    start = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(LOCAL), "site.yml", "--check", "--diff"],
                                cwd=REPO, env=ansible_env(ANSIBLE_CALLBACK_RESULT_FORMAT="json"), stdout=out,
                                stderr=subprocess.STDOUT, timeout=1200, check=False)
    print(f"dry run of fresh hosts: {time.monotonic() - start:.1f} s")
    text = log.read_text()
    assert result.returncode == 0, text[-6000:]
    assert "PLAY [Preflight" in text and "Preflight found" not in text
    # nothing fails before verify; verify's checks fail against hosts with nothing installed yet
    # (their rescues record the FAIL lines) and a dry run reports them without failing
    before_verify = text.split("PLAY [Verify", 1)[0]
    assert not re.search(r"^fatal:", before_verify, re.M), before_verify[-6000:]
    assert all(c["failed"] == 0 for c in recap(text).values()), recap(text)
    assert "this dry run of the host stops here" in text  # the hosts without their packages say why
    found = set(re.findall(r'"(?:PASS|FAIL|WARN|SKIP)  (\w+): ', text))
    assert found >= VERIFY_LINES, found
    for host in testbed:
        assert host_changes(host) == before[host], f"{host} changed in a dry run: {host_changes(host) - before[host]}"


def test_interrupted_run_converges_then_nothing_changes_and_no_secret_leaks(testbed, local_site, tmp_path):
    # 1. interrupt a run half-way (inside the MinIO play, after MySQL changed its host)
    log1 = tmp_path / "interrupted.log"
    with log1.open("w") as out:
        proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "-i", str(LOCAL), "site.yml"], cwd=REPO, env=ansible_env(),
                                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and proc.poll() is None and "PLAY [Distributed MinIO" not in log1.read_text():
            time.sleep(1)
        assert proc.poll() is None, f"the run ended before the MinIO play: {log1.read_text()[-3000:]}"
        time.sleep(8)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode != 0
    # 2. the next run converges, and its -vvv log holds no secret in any form
    log2 = tmp_path / "converge.log"
    result = site(LOCAL, "-vvv", log=log2)
    text = log2.read_text()
    assert result.returncode == 0, text[-5000:]
    assert "PLAY RECAP" in text
    leaked = [s for s in secrets_of(LOCAL) if s in text]
    assert not leaked, f"{len(leaked)} secret form(s) appear in the -vvv log"
    # 3. and a further run changes nothing
    log3 = tmp_path / "rerun.log"
    result = site(LOCAL, log=log3)
    text = log3.read_text()
    assert result.returncode == 0, text[-5000:]
    counters = recap(text)
    assert counters and all(c["changed"] == 0 for c in counters.values()), counters
    # each role's own checks ran in the site preflight, before the first play that changes a host
    # (the role plays check again with what they work out themselves)
    preflight_part = text.split("PLAY [", 2)[1]
    for role, check in [("mysql", "Check the W&B database password"), ("minio", "Check the root credentials"),
                        ("nginx", "Check the proxy inputs"), ("kubernetes", "Check the role's inputs")]:
        assert f"TASK [onprem.wandb.{role} : {check}]" in preflight_part, f"{role}: '{check}' did not run in the site preflight"
    local_site.converged = True


# --- upgrades on the converged site: the stand-in's two versions on the testbed's node --------

class RequestLoop:
    """curl https://wandb.onprem.test/ready from the client host, 2 per second, until stopped."""

    def __init__(self, limit_s: int = 600):
        subprocess.run(["podman", "exec", "wandb-client", "rm", "-f", "/tmp/stop-loop"], check=True)
        # one line per request: the status, and for any other than 200 what answered (for the failure message)
        script = (f"end=$((SECONDS+{limit_s})); while [ $SECONDS -lt $end ] && [ ! -e /tmp/stop-loop ]; do "
                  "code=$(curl -s -o /tmp/loop-body -w '%{http_code}' --max-time 5 https://wandb.onprem.test/ready); "
                  "if [ \"$code\" = 200 ]; then echo 200; else echo \"$code $(date +%T) $(head -c 300 /tmp/loop-body 2>/dev/null | tr -s '\\n\\t ' ' ')\"; fi; "
                  "sleep 0.5; done")
        self.proc = subprocess.Popen(["podman", "exec", "wandb-client", "bash", "-c", script],
                                     stdout=subprocess.PIPE, text=True)

    def stop(self) -> list[str]:
        subprocess.run(["podman", "exec", "wandb-client", "touch", "/tmp/stop-loop"], check=True)
        out, _err = self.proc.communicate(timeout=30)
        self.lines = out.splitlines()
        return [line.split(" ", 1)[0] for line in self.lines]

    def failures(self) -> list[str]:
        return [line for line in self.lines if line != "200"][:10]


def kubernetes_only(tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    log = tmp_path / f"{name}.log"
    result = site(LOCAL, "--tags", "kubernetes", *extra, log=log, timeout=900)
    return result.returncode, log.read_text()


def deployed_image() -> str:
    kubectl = subprocess.run([str(TESTBED / "build-binaries.sh"), "path", "kubectl"], check=True, capture_output=True,
                             text=True).stdout.strip()
    kubeconfig = subprocess.run([str(TESTBED / "kube.sh"), "env"], check=True, capture_output=True, text=True).stdout.strip()
    return subprocess.run([kubectl, "--kubeconfig", kubeconfig.split("=", 1)[1], "-n", "wandb", "get", "deploy", "wandb",
                           "-o", "jsonpath={.spec.template.spec.containers[0].image}"],
                          check=True, capture_output=True, text=True).stdout


def wait_for_terminating_pods_gone(timeout_s: int = 180) -> float:
    """Seconds until no pod of the namespace is terminating (an old ReplicaSet's pods drain after the rollout)."""
    kubectl = subprocess.run([str(TESTBED / "build-binaries.sh"), "path", "kubectl"], check=True, capture_output=True,
                             text=True).stdout.strip()
    kubeconfig = subprocess.run([str(TESTBED / "kube.sh"), "env"], check=True, capture_output=True, text=True).stdout.strip()
    start = time.monotonic()
    while True:
        out = subprocess.run([kubectl, "--kubeconfig", kubeconfig.split("=", 1)[1], "-n", "wandb", "get", "pods",
                              "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.deletionTimestamp}{'\\n'}{end}"],
                             check=True, capture_output=True, text=True).stdout
        terminating = [line for line in out.splitlines() if not line.endswith("=")]
        if not terminating:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout_s, f"pods still terminating after {timeout_s} s: {terminating}"
        time.sleep(1)


def test_image_upgrade_rolls_without_a_failed_request(testbed, local_site, tmp_path):
    local_site.converge()
    assert deployed_image().endswith(":1.0.0")
    local_site.converged = False  # another tag than the inventory's until the bad-tag test puts it back
    loop = RequestLoop()
    time.sleep(3)
    start = time.monotonic()
    rc, text = kubernetes_only(tmp_path, "upgrade", "-e", "kubernetes_image_tag=1.1.0")
    took = time.monotonic() - start
    # the loop goes on until the old pod has drained and is gone: its last seconds count too
    drained = wait_for_terminating_pods_gone()
    time.sleep(3)
    codes = loop.stop()
    print(f"old pod gone {drained:.0f} s after the run")
    failed = [c for c in codes if c != "200"]
    print(f"rollout 1.0.0 -> 1.1.0: run {took:.0f} s, {len(codes)} requests through nginx, {len(failed)} failed {failed[:10]}")
    assert rc == 0, text[-5000:]
    assert deployed_image().endswith(":1.1.0")
    assert len(codes) >= 2 * took * 0.5, f"the loop ran too few requests: {len(codes)} in {took:.0f} s"
    assert not failed, f"{len(failed)} of {len(codes)} requests failed during the rollout: {loop.failures()}"


def test_bad_tag_fails_with_the_diagnosis_while_the_old_pods_keep_serving(testbed, local_site, tmp_path):
    wait_for_terminating_pods_gone()  # what an earlier rollout left draining is not this test's
    loop = RequestLoop()
    time.sleep(2)
    rc, text = kubernetes_only(tmp_path, "badtag", "-e", "kubernetes_image_tag=0.0.0-absent")
    codes = loop.stop()
    failed = [c for c in codes if c != "200"]
    print(f"bad tag: {len(codes)} requests through nginx, {len(failed)} failed")
    flat = re.sub(r"\s+", " ", text)
    assert rc != 0
    assert re.search(r"container wandb (ErrImagePull|ImagePullBackOff)", flat), flat[-4000:]
    assert "localhost/onprem-wandb/wandb-standin:0.0.0-absent" in flat and "kubernetes_image_tag" in flat
    assert codes and not failed, f"{len(failed)} of {len(codes)} requests failed while the bad tag was tried: {loop.failures()}"
    # the inventory's tag again: the stuck ReplicaSet is replaced, the site converges
    rc, text = kubernetes_only(tmp_path, "back")
    assert rc == 0, text[-5000:]
    assert deployed_image().endswith(":1.0.0")
    local_site.converged = True
