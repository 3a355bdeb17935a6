"""onprem.wandb.signed_url_check against a real MinIO (global CORS for ORIGIN), run through
`ansible` / `ansible-playbook` as operators run it. Faults are real: a wrong origin, a wrong
secret, a region MinIO does not have, a loopback HTTP proxy that rewrites Host (like nginx's
`proxy_set_header Host $host`), strips the ETag exposure, or enforces a body limit (413), and a
port nothing listens on."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ansible_env as common_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / ".venv" / "bin" / "ansible"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
ORIGIN = "https://wandb.example.test"
BUCKET = "wandb"
MODULE = "onprem.wandb.signed_url_check"


def ansible_env():
    return common_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                      ANSIBLE_PYTHON_INTERPRETER=sys.executable)


def json_out(stdout: str) -> dict:
    """The json callback's document (other enabled callbacks may print around it)."""
    lines = stdout.splitlines()
    start = lines.index("{")
    end = len(lines) - 1 - lines[::-1].index("}")
    return json.loads("\n".join(lines[start:end + 1]))


def run_adhoc(module: str, args: dict, check: bool = False) -> dict:
    """`ansible localhost -m MODULE -a JSON` and the module's result."""
    cmd = [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local", "-m", module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    try:
        out = json_out(proc.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from ansible (rc {proc.returncode}): {proc.stdout}\n{proc.stderr}") from None
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def run_playbook(playbook: str, tmp_path: Path, extra_vars: dict) -> dict:
    path = tmp_path / "play.yml"
    path.write_text(playbook)
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(path), "-e", json.dumps(extra_vars)], cwd=REPO,
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout, proc.stderr
    return json_out(proc.stdout)


@pytest.fixture(scope="module")
def minio(minio_factory):
    server = minio_factory(env={"MINIO_API_CORS_ALLOW_ORIGIN": ORIGIN})
    server.client().create_bucket(Bucket=BUCKET)
    return server


def base_args(server, **extra) -> dict:
    args = {"endpoint": server.endpoint, "bucket": BUCKET, "access_key": server.access_key,
            "secret_key": server.secret_key, "origins": [ORIGIN], "payload_size": 65536}
    args.update(extra)
    return args


def objects(server) -> list[str]:
    resp = server.client().list_objects_v2(Bucket=BUCKET)
    return [o["Key"] for o in resp.get("Contents", [])]


def step(result: dict, name: str) -> dict:
    return next(s for s in result["steps"] if s["name"] == name)


# --- a loopback HTTP proxy with the faults operators meet ------------------------------

class FaultyProxy:
    """Forwards to MinIO; optionally rewrites Host, strips headers, or limits the body size."""

    def __init__(self, upstream: str, host_rewrite=None, strip_headers=(), max_body=None, tls=None):
        parts = urllib.parse.urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if proxy.max_body is not None and length > proxy.max_body:
                    body = b"<html><head><title>413 Request Entity Too Large</title></head></html>"
                    self.send_response(413)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    return
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                host = self.headers["Host"]
                if proxy.host_rewrite == "drop_port":
                    host = host.rsplit(":", 1)[0]
                elif proxy.host_rewrite == "upstream":
                    host = parts.netloc
                headers["Host"] = host
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                conn.request(self.command, self.path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                self.send_response(resp.status, resp.reason)
                for name, value in resp.getheaders():
                    if name.lower() in ("content-length", "connection", "transfer-encoding"):
                        continue
                    if name.lower() in proxy.strip_headers:
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", resp.getheader("Content-Length") or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                conn.close()

            do_GET = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = do_POST = handle_any

        self.host_rewrite = host_rewrite
        self.strip_headers = tuple(h.lower() for h in strip_headers)
        self.max_body = max_body
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:  # (certfile, keyfile): terminate TLS like nginx in front of MinIO
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.endpoint = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def proxy_factory():
    proxies = []

    def make(upstream, **kwargs):
        proxy = FaultyProxy(upstream, **kwargs)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


# --- tests -------------------------------------------------------------------------------

def test_happy_path_every_step_and_nothing_left_behind(minio):
    result = run_adhoc(MODULE, base_args(minio))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    names = [s["name"] for s in result["steps"]]
    assert names == ["sign", f"preflight PUT {ORIGIN}", f"preflight GET {ORIGIN}", "put", "get", "head",
                     "expired", "delete"]
    assert all(s["ok"] for s in result["steps"])
    put, get = step(result, "put"), step(result, "get")
    assert put["status"] == 200 and put["bytes"] == 65536 and put["bytes_per_s"] > 0
    assert "ETag exposed" in put["msg"] and "sha256 matches" in get["msg"]
    assert step(result, "head")["msg"] == "Content-Length 65536"
    expired = step(result, "expired")
    assert expired["status"] == 403 and "Request has expired" in expired["msg"]
    assert step(result, "delete")["status"] == 204
    assert not [k for k in objects(minio) if k.startswith(".onprem-wandb-check/")]


def test_check_mode_signs_and_preflights_only(minio):
    result = run_adhoc(MODULE, base_args(minio), check=True)
    assert not result.get("failed"), result.get("msg")
    assert [s["name"] for s in result["steps"]] == ["sign", f"preflight PUT {ORIGIN}", f"preflight GET {ORIGIN}"]
    assert "check mode" in result["msg"]
    assert not [k for k in objects(minio) if k.startswith(".onprem-wandb-check/")]


def test_wrong_origin_names_minio_cors_variable(minio):
    result = run_adhoc(MODULE, base_args(minio, origins=["https://other.example.test"]))
    assert result["failed"] is True
    assert result["failed_step"] == "preflight PUT https://other.example.test"
    assert "CORS origin not allowed" in result["msg"]
    assert "MINIO_API_CORS_ALLOW_ORIGIN=https://other.example.test" in result["msg"]


def test_wrong_secret_blames_the_secret(minio):
    result = run_adhoc(MODULE, base_args(minio, secret_key="not-the-right-secret-0123"))
    assert result["failed"] is True and result["failed_step"] == "put"
    assert "SignatureDoesNotMatch" in result["msg"]
    assert "secret key is wrong" in result["msg"]
    assert step(result, "put")["status"] == 403


def test_host_rewriting_proxy_is_named(minio, proxy_factory):
    proxy = proxy_factory(minio.endpoint, host_rewrite="drop_port")
    result = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint, origins=[]))
    assert result["failed"] is True and result["failed_step"] == "put"
    assert "SignatureDoesNotMatch" in result["msg"]
    assert "the store sees the Host header '127.0.0.1'" in result["msg"]
    assert f"clients sign for '{proxy.endpoint.split('://')[1]}'" in result["msg"]
    assert "proxy_set_header Host $http_host" in result["msg"]


def test_proxy_that_sends_upstream_host_is_flagged(minio, proxy_factory):
    proxy = proxy_factory(minio.endpoint, host_rewrite="upstream")
    result = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint, origins=[]))
    assert result["failed"] is True
    assert "SignatureDoesNotMatch" in result["msg"] and "proxy rewrites the Host header" in result["msg"]


def test_missing_etag_exposure(minio, proxy_factory):
    proxy = proxy_factory(minio.endpoint, strip_headers=["Access-Control-Expose-Headers"])
    result = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint))
    assert result["failed"] is True and result["failed_step"] == "put"
    assert "ETag is not readable by browsers" in result["msg"]
    # the object that was written is still removed
    assert step(result, "delete")["ok"] is True


def test_body_limit_413(minio, proxy_factory):
    proxy = proxy_factory(minio.endpoint, max_body=1024 * 1024)
    result = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint, origins=[], payload_size=2 * 1024 * 1024))
    assert result["failed"] is True and result["failed_step"] == "put"
    assert step(result, "put")["status"] == 413
    assert "proxy body limit" in result["msg"] and "client_max_body_size 0" in result["msg"]


def test_region_mismatch(minio):
    result = run_adhoc(MODULE, base_args(minio, region="eu-west-1", origins=[]))
    assert result["failed"] is True
    assert "region mismatch" in result["msg"] and "'us-east-1'" in result["msg"]


def test_connection_refused(minio):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_adhoc(MODULE, base_args(minio, endpoint=f"http://127.0.0.1:{port}"))
    assert result["failed"] is True and result["failed_step"] == f"preflight PUT {ORIGIN}"
    assert f"connection refused by 127.0.0.1:{port}" in result["msg"]


def test_unknown_bucket(minio):
    result = run_adhoc(MODULE, base_args(minio, bucket="no-such-bucket", origins=[]))
    assert result["failed"] is True and "the bucket does not exist" in result["msg"]


def test_playbook_builds_bucket_url_with_filter_and_checks_it(minio, tmp_path):
    playbook = """
- name: BUCKET string from the filter, checked by the module
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Build BUCKET
      ansible.builtin.set_fact:
        bucket_env: "{{ endpoint | onprem.wandb.bucket_url(access_key, secret_key, 'wandb') }}"
      no_log: true
    - name: Check it
      onprem.wandb.signed_url_check:
        bucket_url: "{{ bucket_env }}"
        origins: ["%s"]
        payload_size: 4096
      register: check
    - name: Show
      ansible.builtin.debug:
        msg: "{{ check.steps | map(attribute='name') | list }}"
""" % ORIGIN
    out = run_playbook(playbook, tmp_path, {"endpoint": minio.endpoint, "access_key": minio.access_key,
                                            "secret_key": minio.secret_key})
    stats = out["stats"]["localhost"]
    assert stats["failures"] == 0 and stats["changed"] == 0, out
    check = out["plays"][0]["tasks"][1]["hosts"]["localhost"]
    assert check["endpoint"] == minio.endpoint and check["bucket"] == BUCKET
    assert [s["name"] for s in check["steps"]][-1] == "delete"
    assert minio.secret_key not in json.dumps(out)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (what W&B does not support without a trusted CA)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_untrusted_certificate_then_trusted_with_ca_bundle(minio, proxy_factory, self_signed):
    proxy = proxy_factory(minio.endpoint, tls=tuple(str(p) for p in self_signed))
    assert proxy.endpoint.startswith("https://")
    result = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint))
    assert result["failed"] is True and result["failed_step"] == f"preflight PUT {ORIGIN}"
    assert "TLS verification failed" in result["msg"] and "ca_bundle" in result["msg"]
    trusted = run_adhoc(MODULE, base_args(minio, endpoint=proxy.endpoint, ca_bundle=str(self_signed[0])))
    assert not trusted.get("failed"), trusted.get("msg")
    assert step(trusted, "get")["ok"] and step(trusted, "delete")["ok"]


HOSTILE_SECRET = "s/e+c@r:e#t %?&='x\"y"


@pytest.fixture(scope="module")
def minio_users(minio, tmp_path_factory):
    """Two MinIO users made with `mc`: one with a hostile secret and read-write on the bucket, one whose
    policy lacks s3:DeleteObject (least privilege gone wrong)."""
    from conftest import binary

    mc = str(binary("mc"))
    cfg = str(tmp_path_factory.mktemp("mc"))

    def run_mc(*args):
        subprocess.run([mc, "--config-dir", cfg, *args], check=True, capture_output=True, timeout=60)

    run_mc("alias", "set", "t", minio.endpoint, minio.access_key, minio.secret_key)
    run_mc("admin", "user", "add", "t", "wandb-hostile", HOSTILE_SECRET)
    run_mc("admin", "policy", "attach", "t", "readwrite", "--user", "wandb-hostile")
    policy = tmp_path_factory.mktemp("policy") / "nodelete.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}))
    run_mc("admin", "policy", "create", "t", "wandb-nodelete", str(policy))
    run_mc("admin", "user", "add", "t", "wandb-nodelete", "nodelete-secret-123")
    run_mc("admin", "policy", "attach", "t", "wandb-nodelete", "--user", "wandb-nodelete")
    return {"hostile": ("wandb-hostile", HOSTILE_SECRET), "nodelete": ("wandb-nodelete", "nodelete-secret-123")}


def test_hostile_secret_through_the_bucket_filter(minio, minio_users, tmp_path):
    """BUCKET built by the filter from a secret full of URL metacharacters works end to end."""
    key, secret = minio_users["hostile"]
    playbook = """
- name: Hostile secret
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Check BUCKET built by the filter
      onprem.wandb.signed_url_check:
        bucket_url: "{{ endpoint | onprem.wandb.bucket_url(access_key, secret_key, 'wandb') }}"
        origins: ["%s"]
        payload_size: 2048
      register: check
""" % ORIGIN
    out = run_playbook(playbook, tmp_path, {"endpoint": minio.endpoint, "access_key": key, "secret_key": secret})
    result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert not result.get("failed"), result.get("msg")
    assert all(s["ok"] for s in result["steps"]) and result["steps"][-1]["name"] == "delete"


def test_policy_without_delete_is_named(minio, minio_users):
    key, secret = minio_users["nodelete"]
    result = run_adhoc(MODULE, base_args(minio, access_key=key, secret_key=secret, origins=[], key_prefix="nodelete/"))
    assert result["failed"] is True and result["failed_step"] == "delete"
    assert step(result, "delete")["status"] == 403
    assert "access denied" in result["msg"] and "s3:DeleteObject" in result["msg"]
    assert step(result, "expired")["ok"] is True  # everything before the delete worked
