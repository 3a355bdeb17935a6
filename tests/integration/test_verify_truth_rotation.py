"""playbooks/rotate_credentials.yml on the converged inventories/local site (real MySQL, MinIO, the
one-node Kubernetes with the app stand-in): the W&B database password, W&B's S3 key pair, MinIO's
root password and the license rotate in one run. The new values carry {# {{ {% and are passed the
way a vault passes them (!unsafe). Afterwards, checked from outside the playbook: each new
credential works where it is used, each previous one is refused, W&B rolled out exactly once and
every verify line passes (the app stand-in's /ready pings MySQL and the bucket with what it got).

The site no longer matches the inventory afterwards: local_site.converged is set False. The file
name sorts right after test_verify_truth.py, so a whole-directory run keeps that order too.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time

import pytest
from conftest import load_ansible_yaml, recap, unsafe_yaml
from test_verify_truth import EXPECTED, JOURNEY, LOCAL, kubectl, lines, play

OLD = load_ansible_yaml(LOCAL / "group_vars" / "all" / "secrets.yml")
NEW = {
    "wandb_db_password": "r0tated w&b p@ss:w/rd#2%'{#n{{",
    "wandb_s3_access_key": "wandb-app-r2",
    "wandb_s3_secret_key": "r0tated/secret+key:{%2027",
    "minio_root_password": "r0tated root p@ss/{{word#",
    "wandb_license": "testbed-license-rotated",
}
ROTATE = ["wandb_db_password", "wandb_s3_access_key", "wandb_s3_secret_key", "minio_root_password", "wandb_license"]


@pytest.fixture(scope="module")
def rotated(local_site, tmp_path_factory):
    local_site.converge()
    before = json.loads(kubectl("get", "deployment/wandb", "-o", "json"))["metadata"]["generation"]
    extra = {**NEW, **{f"{k}_previous": OLD[k] for k in NEW if k != "wandb_license"}}
    path = tmp_path_factory.mktemp("rotate") / "rotate.yml"
    path.write_text(unsafe_yaml(extra, set(extra)) + f"rotate: {json.dumps(ROTATE)}\n")
    local_site.converged = False  # from here on the site holds other credentials than the inventory
    start = time.monotonic()
    rc, out = play("playbooks/rotate_credentials.yml", "-e", f"@{path}")
    seconds = round(time.monotonic() - start, 1)
    print(f"rotation of {', '.join(ROTATE)}: {seconds} s")
    assert rc == 0, out[-8000:]
    after = json.loads(kubectl("get", "deployment/wandb", "-o", "json"))["metadata"]["generation"]
    return out, before, after


def mysql_login(password: str) -> subprocess.CompletedProcess:
    """A TCP login as W&B's user from the MySQL host itself."""
    return subprocess.run(["podman", "exec", "-e", f"MYSQL_PWD={password}", "wandb-mysql", "mysql", "-h", "wandb-mysql",
                           "-u", "wandb_local", "-N", "-e", "SELECT 1"], capture_output=True, text=True, check=False)


def mc_ls(access_key: str, secret_key: str) -> str:
    """`mc ls` of W&B's bucket with these credentials (given on stdin, as the role gives them); ends in rc=N."""
    script = ("d=$(mktemp -d) && trap 'rm -rf $d' EXIT && "
              "export SSL_CERT_FILE=/etc/minio/certs/CAs/ca.crt && "  # MinIO serves TLS (local CA)
              "MC_CONFIG_DIR=$d /usr/local/bin/mc alias set --api S3v4 t https://wandb-minio-1:9000 >/dev/null && "
              "MC_CONFIG_DIR=$d /usr/local/bin/mc ls t/wandb 2>&1; echo rc=$?")
    proc = subprocess.run(["podman", "exec", "-i", "wandb-minio-1", "bash", "-c", script],
                          input=f"{access_key}\n{secret_key}\n", capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def test_the_rotation_runs_clean_and_verifies_everything_on_the_new_credentials(rotated):
    out, _before, _after = rotated
    assert all(c["failed"] == 0 for c in recap(out).values()), recap(out)
    found = lines(out)
    assert set(found) >= EXPECTED | JOURNEY | {"redis"}, found
    not_passed = {n: w for n, w in found.items() if not w.startswith("PASS") and n != "wandb_verify"}
    assert not not_passed, not_passed
    for secret in list(NEW.values())[:4] + [OLD[k] for k in ("wandb_db_password", "wandb_s3_secret_key",
                                                             "minio_root_password")]:
        assert secret not in out, "a secret reached the log"


def test_w_and_b_rolled_out_exactly_once(rotated):
    out, before, after = rotated
    assert after - before == 1, f"generation {before} -> {after}"
    assert re.search(r"rolled out 1 time\(s\)", out), out[-3000:]


def test_the_new_database_password_logs_in_and_the_previous_is_refused(rotated):
    new = mysql_login(NEW["wandb_db_password"])
    assert new.returncode == 0 and new.stdout.split() == ["1"], new.stdout + new.stderr
    old = mysql_login(OLD["wandb_db_password"])
    assert old.returncode != 0 and "Access denied" in old.stderr, old.stdout + old.stderr


def test_the_new_key_pair_reads_the_bucket_and_the_previous_user_is_gone(rotated):
    assert "rc=0" in mc_ls(NEW["wandb_s3_access_key"], NEW["wandb_s3_secret_key"])
    old = mc_ls(OLD["wandb_s3_access_key"], OLD["wandb_s3_secret_key"])
    assert "rc=0" not in old and re.search(r"InvalidAccessKeyId|does not exist|Access Key Id", old), old


def test_the_new_minio_root_logs_in_and_the_previous_is_refused(rotated):
    assert "rc=0" in mc_ls(OLD["minio_root_user"], NEW["minio_root_password"])
    old = mc_ls(OLD["minio_root_user"], OLD["minio_root_password"])
    assert "rc=0" not in old and re.search(r"SignatureDoesNotMatch|signature|InvalidAccessKeyId", old, re.I), old


def test_w_and_b_runs_with_the_new_license_and_key_pair(rotated):
    secret = json.loads(kubectl("get", "secret/wandb-secrets", "-o", "json"))["data"]
    assert base64.b64decode(secret["LICENSE"]).decode() == NEW["wandb_license"]
    bucket = base64.b64decode(secret["BUCKET"]).decode() if "BUCKET" in secret else ""
    assert NEW["wandb_s3_access_key"] in bucket and OLD["wandb_s3_access_key"] + ":" not in bucket


@pytest.mark.parametrize("extra, named", [
    ({"rotate": ["wandb_db_password"]}, "wandb_db_password_previous"),
    ({"rotate": ["wandb_s3_access_key"], "wandb_s3_access_key_previous": "wandb-app"}, "wandb_s3_access_key_previous"),
    ({"rotate": ["mysql_root_password"], "mysql_root_password_previous": "x"}, "mysql_root_auth: password"),
    ({"rotate": ["wandb_redis_passwd"]}, "Set rotate to a list of"),
])
def test_a_rotation_without_what_it_needs_stops_before_any_host(extra, named, tmp_path):
    """Checked on the controller only: no host of the inventory is contacted (they need not even be up)."""
    path = tmp_path / "extra.yml"
    path.write_text(unsafe_yaml({k: v for k, v in extra.items() if k != "rotate"}, set(extra))
                    + f"rotate: {json.dumps(extra['rotate'])}\n")
    rc, out = play("playbooks/rotate_credentials.yml", "-e", f"@{path}", timeout=300)
    assert rc != 0 and named in out, out[-3000:]
    assert set(recap(out)) == {"localhost"}, recap(out)
