"""What a host that is not part of the site can do to it: nothing it should.

The site of inventories/local (conftest's `site`: converged by the modules before, or here when
run alone) gets a neighbour on the same network, `wandb-outsider`, that the inventory does not
know. From there every attempt below must be refused, and each refusal is paired with the same
attempt done right (TLS on, the W&B bucket, TLS 1.2) succeeding, so that a refusal proves the
guard and not a broken client. Last, every file that holds a secret on the site's hosts and the
controller has the owner and mode docs/security.md lists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import LOCAL, REPO, TESTBED, ansible_env, load_ansible_yaml, recap, sh

OUTSIDER = "wandb-outsider"
CA = "/usr/local/share/ca-certificates/onprem-wandb-site.crt"
SECRETS = load_ansible_yaml(LOCAL / "group_vars" / "all" / "secrets.yml")
MAIN = load_ansible_yaml(LOCAL / "group_vars" / "all" / "main.yml")
KUBECONFIG = str(Path(os.environ.get("ONPREM_WANDB_STATE", Path.home() / ".cache/onprem-wandb/state")) / "kube" / "kubeconfig")


@pytest.fixture(scope="module")
def site(local_site):
    local_site.converge()
    return local_site


@pytest.fixture(scope="module")
def outsider(site):
    """The neighbour: on the testbed network, trusting the site's CA (as a curious user would), with a MySQL client."""
    subprocess.run([str(TESTBED / "hosts.sh"), "up", f"{OUTSIDER}=bookworm"], check=True, capture_output=True, timeout=300)
    try:
        subprocess.run(["podman", "cp", str(LOCAL / "local-ca" / "ca.crt"), f"{OUTSIDER}:{CA}"], check=True)
        sh(OUTSIDER, "update-ca-certificates >/dev/null 2>&1 && apt-get update -q >/dev/null && "
                     "DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                     "--no-install-recommends python3-pymysql python3-cryptography curl >/dev/null")
        yield OUTSIDER
    finally:
        subprocess.run([str(TESTBED / "hosts.sh"), "down", OUTSIDER], check=False, capture_output=True, timeout=120)


def run(script: str) -> subprocess.CompletedProcess:
    """A script on the outsider; its result, whatever the exit status."""
    return subprocess.run(["podman", "exec", OUTSIDER, "bash", "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)


MYSQL_LOGIN = """python3 - <<'PY'
import json, ssl, sys, pymysql
args = json.loads(sys.argv[1] if len(sys.argv) > 1 else %s)
tls = {"ca": "%s", "check_hostname": True} if args.pop("tls") else None
try:
    try:  # PyMySQL >= 1.1 would try TLS unasked: plain text must be asked for
        conn = pymysql.connect(ssl=tls, ssl_disabled=tls is None, connect_timeout=10, **args)
    except TypeError:  # older PyMySQL has no ssl_disabled and never uses TLS unasked
        conn = pymysql.connect(ssl=tls, connect_timeout=10, **args)
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
    print(json.dumps({"ok": dict(cur.fetchall())}))
except pymysql.err.MySQLError as exc:
    print(json.dumps({"error": exc.args[0], "msg": str(exc)}))
PY"""


def mysql_login(tls: bool, client: str = OUTSIDER, ca: str = CA) -> dict:
    """W&B's user logs in to wandb-mysql from ``client`` (with TLS verified against ``ca``, or in plain text)."""
    args = {"host": "wandb-mysql", "port": 3306, "user": MAIN["wandb_db_user"], "password": SECRETS["wandb_db_password"],
            "database": MAIN["wandb_db_name"], "tls": tls}
    proc = subprocess.run(["podman", "exec", client, "bash", "-c", MYSQL_LOGIN % (repr(json.dumps(args)), ca)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_mysql_has_no_account_for_the_outsider(outsider):
    """wandb_app_sources: W&B's user (and the replication user) exist for the app's node and the MySQL hosts
    only: MySQL turns the outsider away before any password (1130), with or without TLS."""
    for tls in (True, False):
        got = mysql_login(tls=tls)
        assert got.get("error") == 1130 and OUTSIDER in got["msg"], (tls, got)


def test_mysql_refuses_the_wandb_user_without_tls(outsider):
    """From a host W&B's user may log in from (the MySQL host's own address): TLS yes, plain text no."""
    right = mysql_login(tls=True, client="wandb-mysql", ca="/etc/onprem-wandb/mysql-tls/ca.crt")
    assert "ok" in right, right  # the same user and password over verified TLS get in
    assert right["ok"]["Ssl_version"] in ("TLSv1.2", "TLSv1.3"), right
    plain = mysql_login(tls=False, client="wandb-mysql")
    assert plain.get("error") == 1045, plain  # REQUIRE SSL: access denied without TLS


# Every TLS port of the site: (name, host to connect to, port, SNI/name to verify, STARTTLS protocol)
TLS_PORTS = [
    ("nginx-wandb", "wandb.onprem.test", 443, "wandb.onprem.test", None),
    ("nginx-s3", "s3.onprem.test", 443, "s3.onprem.test", None),
    ("minio-1-api", "wandb-minio-1", 9000, "wandb-minio-1", None),
    ("minio-2-api", "wandb-minio-2", 9000, "wandb-minio-2", None),
    ("minio-1-console", "wandb-minio-1", 9001, "wandb-minio-1", None),
    ("redis", "wandb-redis", 6379, "wandb-redis", None),
    ("mysql", "wandb-mysql", 3306, "wandb-mysql", "mysql"),
]
# What no port may accept: TLS 1.0 and 1.1 (any cipher), and TLS 1.2 without forward secrecy or AEAD.
OLD = ["-tls1 -cipher DEFAULT@SECLEVEL=0", "-tls1_1 -cipher DEFAULT@SECLEVEL=0",
       "-tls1_2 -cipher AES128-SHA:AES256-SHA:AES128-SHA256:AES256-GCM-SHA384:DES-CBC3-SHA:ECDHE-RSA-AES128-SHA:"
       "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384@SECLEVEL=0"]


def handshake(host: str, port: int, name: str, starttls: str | None, options: str) -> subprocess.CompletedProcess:
    starttls_arg = f"-starttls {starttls}" if starttls else ""
    return run(f"timeout 15 openssl s_client -connect {host}:{port} -servername {name} -verify_hostname {name} "
               f"-verify_return_error -CAfile {CA} {starttls_arg} {options} </dev/null")


def test_the_outsiders_openssl_speaks_what_the_site_must_refuse(outsider):
    """Control: the client can make every refused handshake against a server that allows it."""
    sh(OUTSIDER, "cd /tmp && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -subj /CN=lo "
                 "-days 1 2>/dev/null && (setsid openssl s_server -accept 4433 -cert c.pem -key k.pem -min_protocol TLSv1 "
                 "-cipher ALL@SECLEVEL=0 -www >/tmp/s_server.log 2>&1 < /dev/null & echo $! > s_server.pid) && "
                 "for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/4433) 2>/dev/null && break; sleep 0.1; done")
    try:
        for option in OLD:
            proc = run(f"timeout 10 openssl s_client -connect 127.0.0.1:4433 {option} </dev/null")
            assert "Cipher is (NONE)" not in proc.stdout and proc.returncode == 0, (option, proc.stdout[-800:], proc.stderr)
    finally:
        run("kill $(cat /tmp/s_server.pid)")


@pytest.fixture
def mysql_greets_the_outsider(outsider):
    """MySQL answers a host without any account with an error before TLS can start (see the test above): a
    throw-away account for the outsider's address (no privileges, REQUIRE SSL) lets it reach the handshake."""
    me = sh(OUTSIDER, "hostname -I").split()[0]
    sh("wandb-mysql", f"mysql -e \"CREATE USER 'tls_probe'@'{me}' IDENTIFIED BY '{uuid.uuid4().hex}' REQUIRE SSL\"")
    yield
    sh("wandb-mysql", f"mysql -e \"DROP USER 'tls_probe'@'{me}'\"")


@pytest.mark.parametrize("name, host, port, sni, starttls", TLS_PORTS, ids=[p[0] for p in TLS_PORTS])
def test_tls_port_refuses_old_versions_and_weak_ciphers(outsider, request, name, host, port, sni, starttls):
    if starttls == "mysql":
        request.getfixturevalue("mysql_greets_the_outsider")
    good = handshake(host, port, sni, starttls, "-tls1_2")
    assert good.returncode == 0 and "Verify return code: 0 (ok)" in good.stdout, (good.stdout[-1500:], good.stderr)
    for option in OLD:
        proc = handshake(host, port, sni, starttls, option)
        assert proc.returncode != 0 or "Cipher is (NONE)" in proc.stdout, (option, proc.stdout[-1500:])


def presign(endpoint: str, method: str, bucket: str | None, key: str | None = None, root: bool = False) -> str:
    """A pre-signed URL made with W&B's key, or MinIO's root (on the controller: a signature is just arithmetic)."""
    import boto3
    from botocore.config import Config

    who = ((SECRETS["minio_root_user"], SECRETS["minio_root_password"]) if root
           else (SECRETS["wandb_s3_access_key"], SECRETS["wandb_s3_secret_key"]))
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=MAIN["wandb_region"],
                      aws_access_key_id=who[0], aws_secret_access_key=who[1],
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    if method in ("CREATE", "DROP"):
        return s3.generate_presigned_url("create_bucket" if method == "CREATE" else "delete_bucket",
                                         Params={"Bucket": bucket}, ExpiresIn=300)
    if bucket is None:
        return s3.generate_presigned_url("list_buckets", ExpiresIn=300)
    if key is None:
        return s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket}, ExpiresIn=300)
    operation = {"PUT": "put_object", "GET": "get_object", "DELETE": "delete_object"}[method]
    return s3.generate_presigned_url(operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)


@pytest.fixture(scope="module")
def other_bucket(outsider):
    """A bucket beside W&B's (made with MinIO's root), so that refusals are about the key, not a missing bucket."""
    code, body = curl("PUT", presign("https://wandb-minio-1:9000", "CREATE", OTHER, root=True), data=False)
    assert code == 200 or "BucketAlreadyOwnedByYou" in body, body
    yield OTHER
    curl("DELETE", presign("https://wandb-minio-1:9000", "DROP", OTHER, root=True))


OTHER = "wandb-other"


def curl(method: str, url: str, data: bool = True) -> tuple[int, str]:
    proc = run(f"curl -sS -o /tmp/body -w '%{{http_code}}' -X {method} "
               f"{'--data-binary probe ' if method == 'PUT' and data else ''}{shlex.quote(url)}; echo; cat /tmp/body")
    assert proc.returncode == 0, proc.stderr
    code, _sep, body = proc.stdout.partition("\n")
    return int(code), body


@pytest.mark.parametrize("endpoint", ["https://wandb-minio-1:9000", MAIN["wandb_s3_endpoint"]], ids=["minio", "proxy"])
def test_wandb_key_reaches_only_its_bucket(outsider, other_bucket, endpoint):
    key = f"outsider-probe/{uuid.uuid4().hex}"
    code, body = curl("PUT", presign(endpoint, "PUT", MAIN["wandb_bucket"], key))
    assert code == 200, body  # control: the key works in W&B's bucket
    try:
        code, body = curl("GET", presign(endpoint, "GET", None))  # MinIO lists only the buckets the key may use
        assert (code == 200 and f"<Name>{MAIN['wandb_bucket']}</Name>" in body and other_bucket not in body
                or code == 403), (code, body[:600])
        for what, method, url in [
            ("list another bucket", "GET", presign(endpoint, "GET", other_bucket)),
            ("write another bucket", "PUT", presign(endpoint, "PUT", other_bucket, key)),
            ("read MinIO's own bucket", "GET", presign(endpoint, "GET", ".minio.sys", "config/config.json")),
        ]:
            code, body = curl(method, url)
            # AccessDenied from the key's policy (AllAccessDisabled: MinIO's own .minio.sys, for every key)
            assert code == 403 and ("<Code>AccessDenied</Code>" in body or "<Code>AllAccessDisabled</Code>" in body), (
                what, code, body[:400])
    finally:
        curl("DELETE", presign(endpoint, "DELETE", MAIN["wandb_bucket"], key))


def test_minio_admin_api_is_not_published_through_the_proxy(outsider):
    code, body = curl("GET", f"{MAIN['wandb_s3_endpoint']}/minio/health/live")
    assert code == 200, body  # control: the proxy does pass MinIO's own paths
    code, body = curl("GET", f"{MAIN['wandb_s3_endpoint']}/minio/admin/v3/info")
    assert code == 403 and "nginx" in body and "<Error>" not in body, (code, body[:300])  # nginx's answer, not MinIO's


def test_spoofed_forwarded_headers_do_not_reach_the_app(outsider):
    me = sh(OUTSIDER, "hostname -I").split()[0]
    proc = run("curl -sS -H 'X-Forwarded-Proto: http' -H 'X-Forwarded-Host: evil.example.test' "
               "-H 'X-Forwarded-Port: 8080' -H 'X-Forwarded-For: 192.0.2.66' "
               f"https://{MAIN['wandb_fqdn']}/api/standin/headers")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    headers = seen["headers"]
    assert seen["host"] == MAIN["wandb_fqdn"], seen
    assert headers["X-Forwarded-Proto"] == "https", headers
    assert headers["X-Forwarded-Host"] == MAIN["wandb_fqdn"], headers
    assert headers["X-Forwarded-Port"] == "443", headers
    assert headers["X-Forwarded-For"] == me, headers


# With wandb_firewall every data store admits only its peers (the firewall role's nftables tables):
# the outsider's TCP connections are reset, the site keeps working, and turning it off removes them.
FIREWALLED = [("mysql", "wandb-mysql", 3306), ("minio-1-api", "wandb-minio-1", 9000),
              ("minio-2-api", "wandb-minio-2", 9000), ("minio-1-console", "wandb-minio-1", 9001),
              ("redis", "wandb-redis", 6379)]
FIREWALL_TAGS = "mysql_firewall,minio_firewall,redis_firewall"


def tcp(host: str, port: int) -> str:
    """open, refused (a reset: the firewall's answer) or timeout, as the outsider sees the port."""
    proc = run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>&1 && echo open")
    if "open" in proc.stdout:
        return "open"
    return "refused" if "refused" in proc.stdout.lower() + proc.stderr.lower() else "timeout"


def site_play(*args: str, playbook: str = "site.yml") -> tuple[int, str]:
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(LOCAL), playbook, *args],
                          cwd=REPO, env=ansible_env(ONPREM_WANDB_KUBECONFIG=KUBECONFIG), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1200, check=False)
    return proc.returncode, proc.stdout


@pytest.fixture(scope="module")
def firewall(outsider):
    for _name, host, port in FIREWALLED:
        assert tcp(host, port) == "open", (host, port)  # control: reachable before the rules
    rc, out = site_play("--tags", FIREWALL_TAGS, "-e", "wandb_firewall=true")
    assert rc == 0, out[-4000:]
    yield out
    site_play("--tags", FIREWALL_TAGS, "-e", "wandb_firewall=false")  # a no-op after the last test


def test_firewall_resets_the_outsiders_connections(firewall):
    refused = {name: tcp(host, port) for name, host, port in FIREWALLED}
    assert set(refused.values()) == {"refused"}, refused
    assert tcp(MAIN["wandb_fqdn"], 443) == "open"  # the edge stays open to everyone


def test_the_site_works_behind_its_firewall(firewall):
    rc, out = site_play(playbook="playbooks/verify.yml")
    assert rc == 0, out[-4000:]
    lines = {m.group(2): m.group(1) for m in re.finditer(r'"(PASS|FAIL|WARN|SKIP)  (\w+): ', out)}
    assert {"mysql", "s3", "redis", "app", "journey_mysql_row"} <= set(lines), lines
    assert all(lines[name] == "PASS" for name in ("mysql", "s3", "redis", "app", "journey_mysql_row")), lines


def test_firewall_rerun_changes_nothing(firewall):
    rc, out = site_play("--tags", FIREWALL_TAGS, "-e", "wandb_firewall=true")
    assert rc == 0, out[-4000:]
    assert all(c["changed"] == 0 for c in recap(out).values()), recap(out)


def test_firewall_off_removes_the_rules(firewall):
    rc, out = site_play("--tags", FIREWALL_TAGS, "-e", "wandb_firewall=false")
    assert rc == 0, out[-4000:]
    opened = {name: tcp(host, port) for name, host, port in FIREWALLED}
    assert set(opened.values()) == {"open"}, opened
    for host in {entry[1] for entry in FIREWALLED}:
        assert "onprem_wandb" not in sh(host, "nft list tables"), host


# Every file that holds a secret: host ("controller" = this machine), path, owner:group, mode (docs/security.md).
SECRET_FILES = [
    ("wandb-mysql", "/etc/onprem-wandb/mysql-backup.cnf", "root:root", "600"),
    ("wandb-mysql", "/etc/onprem-wandb/mysql-tls/server.key", "root:mysql", "640"),
    ("wandb-minio-1", "/etc/default/minio", "root:root", "600"),
    ("wandb-minio-1", "/etc/minio/certs/private.key", "minio:minio", "600"),
    ("wandb-minio-2", "/etc/default/minio", "root:root", "600"),
    ("wandb-minio-2", "/etc/minio/certs/private.key", "minio:minio", "600"),
    ("wandb-redis", "/etc/redis/redis.conf", "root:redis", "640"),
    ("wandb-redis", "/etc/redis/tls/redis.key", "root:redis", "640"),
    ("wandb-proxy", "/etc/nginx/tls/onprem-wandb.key", "root:root", "600"),
    ("controller", str(LOCAL / "local-ca" / "ca.key"), None, "600"),
    ("controller", str(LOCAL / "local-ca" / "wandb-mysql.key"), None, "600"),
    ("controller", KUBECONFIG, None, "600"),
]


@pytest.mark.parametrize("host, path, owner, mode", SECRET_FILES, ids=[f"{entry[0]}:{entry[1]}" for entry in SECRET_FILES])
def test_secret_file_has_its_owner_and_mode(site, host, path, owner, mode):
    if host == "controller":
        got_mode = oct(Path(path).stat().st_mode & 0o777)[2:]
        assert got_mode == mode, (path, got_mode)
        return
    got = sh(host, f"stat -c '%U:%G %a' {shlex.quote(path)}").split()
    assert got == [owner, mode], (host, path, got)
