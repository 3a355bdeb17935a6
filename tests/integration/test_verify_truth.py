"""verify tells the truth, and the converged site dry-runs.

On the site of inventories/local (conftest's local_site: converged by test_site_reliability, whose
dry run of the fresh hosts comes first, or here when this module runs alone): a dry run of the
converged site exits 0 with changed=0 and verify's lines; then each dependency is broken in turn behind the roles' backs
(wrong S3 secret, MinIO stopped, a MySQL parameter changed, an expired proxy certificate, the
app not answering) and verify must print FAIL on that line and fail the run. Each break is
undone before the next (and the last verify run passes again)."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ansible_env, recap

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "tests" / "testbed"
VENV_BIN = REPO / ".venv" / "bin"
LOCAL = REPO / "inventories" / "local"

CERT = "/etc/nginx/tls/onprem-wandb.crt"


def env():
    kubeconfig = Path(os.environ.get("ONPREM_WANDB_STATE", Path.home() / ".cache/onprem-wandb/state")) / "kube/kubeconfig"
    return ansible_env(ANSIBLE_CALLBACK_RESULT_FORMAT="json", ONPREM_WANDB_KUBECONFIG=str(kubeconfig))


def play(playbook: str, *args: str, timeout: int = 1800) -> tuple[int, str]:
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(LOCAL), playbook, *args], cwd=REPO, env=env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


def lines(text: str) -> dict[str, str]:
    """The verify summary: check name -> its word (PASS/FAIL/WARN/SKIP) and detail."""
    return {m.group(2): m.group(1) + " " + m.group(3)
            for m in re.finditer(r'"(PASS|FAIL|WARN|SKIP)  (\w+): (.*?)",?$', text, re.M)}


def sh(host: str, script: str) -> str:
    proc = subprocess.run(["podman", "exec", host, "bash", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{host}: {script}: {proc.stdout} {proc.stderr}"
    return proc.stdout


HEALTHY = """python3 - <<'PY'
import socket, ssl, time, urllib.request
tls = ssl.create_default_context(cafile="/etc/minio/certs/CAs/ca.crt")  # MinIO serves TLS (local CA)
url = "https://%s:9000/minio/health/cluster" % socket.gethostname()
for _ in range(120):
    try:
        if urllib.request.urlopen(url, timeout=2, context=tls).status == 200:
            break
    except OSError:
        pass
    time.sleep(1)
time.sleep(5)  # writes can lag the health answer right after a start
PY"""
EXPECTED = {"s3", "tls", "app", "wandb_verify", "mysql", "kubernetes"}


@pytest.fixture(scope="module")
def site(local_site):
    """The converged site of inventories/local: what test_site_reliability left, or converged here."""
    local_site.converge()
    return local_site


def test_dry_run_of_the_converged_site_changes_nothing_and_verifies(site):
    start = time.monotonic()
    rc, out = play("site.yml", "--check", "--diff")
    print(f"dry run of the converged site: {round(time.monotonic() - start, 1)} s")
    assert rc == 0, out[-6000:]
    assert all(c["changed"] == 0 for c in recap(out).values()), recap(out)
    found = lines(out)
    assert set(found) >= EXPECTED, found
    for name in ("s3", "tls", "mysql"):
        assert found[name].startswith("PASS"), found


def verify(*extra: str) -> tuple[int, dict[str, str], str]:
    rc, out = play("playbooks/verify.yml", *extra, timeout=600)
    return rc, lines(out), out


JOURNEY = {f"journey_{step}" for step in ("ready", "presign", "preflight", "put", "confirm", "get", "websocket",
                                          "mysql_row")}


def test_verify_passes_on_the_converged_site(site):
    """What `molecule -s site` verifies: every line PASS, the user's journey through the site included
    (wandb verify is a SKIP: the testbed runs the stand-in, which has no API key to give it)."""
    rc, found, out = verify()
    assert rc == 0, out[-4000:]
    assert set(found) >= EXPECTED | JOURNEY | {"redis"}, found
    not_passed = {name: word for name, word in found.items() if not word.startswith("PASS") and name != "wandb_verify"}
    assert not not_passed, not_passed
    assert found["wandb_verify"].startswith("SKIP"), found


def test_wrong_s3_secret_fails_s3(site):
    rc, found, out = verify("--tags", "verify_s3", "-e", "wandb_s3_secret_key=not-the-secret-1")
    assert rc != 0 and found["s3"].startswith("FAIL"), found
    assert "not-the-secret-1" not in out


def test_minio_stopped_fails_s3(site):
    for host in ("wandb-minio-1", "wandb-minio-2"):
        sh(host, "systemctl stop minio")
    try:
        rc, found, out = verify("--tags", "verify_s3,verify_mysql")
        assert rc != 0 and found["s3"].startswith("FAIL"), found
        assert found["mysql"].startswith("PASS"), found  # only the broken line fails
    finally:
        for host in ("wandb-minio-1", "wandb-minio-2"):
            sh(host, "systemctl start --no-block minio")
        sh("wandb-minio-1", HEALTHY)


def test_mysql_parameter_changed_behind_the_role_fails_mysql(site):
    sh("wandb-mysql", "mysql -e 'SET GLOBAL binlog_row_image = FULL'")
    try:
        rc, found, out = verify("--tags", "verify_mysql")
        assert rc != 0 and found["mysql"].startswith("FAIL"), found
        assert "binlog_row_image is FULL, W&B needs MINIMAL" in found["mysql"]
        assert found["s3"].startswith("SKIP"), found  # not selected by --tags: a SKIP, not a silent PASS
    finally:
        sh("wandb-mysql", "mysql -e 'SET GLOBAL binlog_row_image = MINIMAL'")


def test_wandb_user_without_require_ssl_fails_mysql(site):
    """wandb_db_tls: verify logs in over TLS and requires MySQL to refuse the same login in plain text."""
    rc, found, out = verify("--tags", "verify_mysql")
    assert rc == 0 and "plain-text login refused" in found["mysql"] and " TLSv1." in found["mysql"], found
    every_account = ("mysql -N -e \"SELECT CONCAT('ALTER USER ', QUOTE(User), '@', QUOTE(Host), ' REQUIRE {}; ') "
                     "FROM mysql.user WHERE User = 'wandb_local'\" | mysql")
    sh("wandb-mysql", every_account.format("NONE"))
    try:
        rc, found, out = verify("--tags", "verify_mysql")
        assert rc != 0 and found["mysql"].startswith("FAIL"), found
        assert "plain-text login as the W&B user was NOT refused" in found["mysql"], found
    finally:
        sh("wandb-mysql", every_account.format("SSL"))


def test_redis_stopped_fails_redis(site):
    sh("wandb-redis", "systemctl stop redis-server")
    try:
        rc, found, out = verify("--tags", "verify_redis")
        assert rc != 0 and found["redis"].startswith("FAIL"), found
        assert found["mysql"].startswith("SKIP"), found
    finally:
        sh("wandb-redis", "systemctl start redis-server")


def test_deployment_running_another_image_fails_kubernetes(site):
    # the inventory now pins another tag than the cluster runs (an upgrade not applied, or a
    # rollback behind the role's back): the kubernetes line names both images
    rc, found, out = verify("--tags", "verify_kubernetes", "-e", "kubernetes_image_tag=9.9.9")
    assert rc != 0 and found["kubernetes"].startswith("FAIL"), found
    assert "wandb-standin:1.0.0" in found["kubernetes"] and "wandb-standin:9.9.9" in found["kubernetes"], found


def expired_cert() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    ca_dir = LOCAL / "local-ca"
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    key_pem = sh("wandb-proxy", f"cat {CERT.replace('.crt', '.key')}").encode()
    key = serialization.load_pem_private_key(key_pem, password=None)
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wandb.onprem.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30)).not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("wandb.onprem.test"),
                                                        x509.DNSName("s3.onprem.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_expired_proxy_certificate_fails_tls(site, tmp_path):
    original = sh("wandb-proxy", f"cat {CERT}")
    (tmp_path / "expired.crt").write_bytes(expired_cert())
    subprocess.run(["podman", "cp", str(tmp_path / "expired.crt"), f"wandb-proxy:{CERT}"], check=True)
    sh("wandb-proxy", "nginx -s reload && sleep 1")
    try:
        rc, found, out = verify("--tags", "verify_https,verify_s3")
        assert rc != 0 and found["tls"].startswith("FAIL"), found
        assert found["s3"].startswith("FAIL"), found  # the S3 endpoint uses the same certificate
    finally:
        (tmp_path / "orig.crt").write_text(original)
        subprocess.run(["podman", "cp", str(tmp_path / "orig.crt"), f"wandb-proxy:{CERT}"], check=True)
        sh("wandb-proxy", "nginx -s reload && sleep 1")


# the app's lines only, and a short wait for /ready (the default is the app's whole startup budget)
APP_CHECKS = ("--tags", "verify_https,verify_journey,verify_kubernetes", "-e", "verify_app_ready_timeout=20")


def test_app_not_answering_fails_app_where_required(site):
    # the local API server has no nodes (no pod answers): with verify_require_app the app and
    # the kubernetes lines fail the run; without it they only warn
    rc, found, out = verify(*APP_CHECKS, "-e", "verify_require_app=true")
    scaled = found["app"].startswith("PASS")
    if scaled:  # a real node runs the app: stop it answering behind the role's back
        kubectl("scale", "deployment/wandb", "--replicas=0")
        kubectl("wait", "--for=delete", "pod", "-l", "app.kubernetes.io/name=wandb", "--timeout=120s")
    try:
        rc, found, out = verify(*APP_CHECKS, "-e", "verify_require_app=true")
        assert rc != 0 and found["app"].startswith("FAIL"), found
        assert found["journey_ready"].startswith("FAIL"), found  # the journey cannot start: its first step fails
        if scaled:  # 0 replicas wanted is not "all wanted pods ready"
            assert found["kubernetes"].startswith("FAIL") and "scaled to 0" in found["kubernetes"], found
        if not scaled:  # the Deployment wants a pod that is not ready
            assert found["kubernetes"].startswith("FAIL") and "pods ready" in found["kubernetes"], found
        rc, found, out = verify(*APP_CHECKS, "-e", "verify_require_app=false")  # a survey's text answer: a string
        assert rc == 0 and found["app"].startswith("WARN"), found
        skipped = {n: w for n, w in found.items() if n in JOURNEY and not w.startswith("SKIP")}
        assert not skipped, skipped  # an optional app that does not answer: its journey is skipped, saying why
    finally:
        if scaled:
            kubectl("scale", "deployment/wandb", "--replicas=1")
            kubectl("rollout", "status", "deployment/wandb", "--timeout=300s")


def kubectl(*args: str) -> str:
    path = subprocess.run([str(TESTBED / "build-binaries.sh"), "path", "kubectl"], check=True, capture_output=True,
                          text=True).stdout.strip()
    return subprocess.run([path, "--kubeconfig", env()["ONPREM_WANDB_KUBECONFIG"], "-n", "wandb", *args], check=True,
                          capture_output=True, text=True, timeout=400).stdout


def test_limit_that_leaves_the_client_out_fails_its_lines(site):
    rc, found, out = verify("--limit", "mysql:kube_access")
    assert rc != 0, out[-3000:]
    for name in ("s3", "tls", "app"):
        assert found[name].startswith("FAIL") and "not run" in found[name], found
    assert found["wandb_verify"].startswith("SKIP"), found
