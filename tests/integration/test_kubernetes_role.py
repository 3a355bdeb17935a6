"""The kubernetes role against the testbed's real Kubernetes (tests/testbed/kube.sh: one node).

These tests check the objects as the API server stores them, with replicas 0 and no wait
(wandb/local cannot be pulled here); pods that really run, and the rollout wait with its
diagnosis, are the tests marked "real pods" below (the node's smoke image
localhost/onprem-wandb/node-testapp, loaded by kube.sh start).

Every run is a real ansible-playbook run of onprem.wandb.kubernetes on this controller
(connection local); objects are read back from the API server with the Python client,
so the server's schema validation and defaulting are part of what is checked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from conftest import ansible_env, recap

kubernetes = pytest.importorskip("kubernetes")

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "kubernetes"
PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: onprem.wandb.kubernetes
"""

# Secrets chosen to break naive URL building: every character that means something in a URL.
DB_PASSWORD = "p@ss:w/rd#%?&+ =ü'\"\\;x"
S3_ACCESS_KEY = "wandb-app-AKIA7Q"
S3_SECRET_KEY = "s3cr/et+Key=@:#?%zz"
LICENSE = "lic-" + "Zq9" * 20
OIDC_SECRET = "oidc-Secret-7f3e-xyz"
REDIS_URL = "redis://:r3d1s-Pw-9ab@redis.test:6379/0"
EXTRA_SECRET = "gorilla-Signing-K3y-123"


def base_vars(kubeconfig: str, namespace: str, **overrides) -> dict:
    values = {
        "ansible_python_interpreter": sys.executable,
        "kubernetes_kubeconfig": kubeconfig,
        "kubernetes_namespace": namespace,
        "wandb_fqdn": "wandb.itest.example",
        "wandb_region": "eu-west-3",
        "wandb_db_host": "mysql-primary.itest.example",
        "wandb_db_user": "wandb_local",
        "wandb_db_password": DB_PASSWORD,
        "wandb_s3_endpoint": "https://minio.itest.example:9000",
        "wandb_s3_access_key": S3_ACCESS_KEY,
        "wandb_s3_secret_key": S3_SECRET_KEY,
        "wandb_bucket": "wandb-itest",
        "wandb_license": LICENSE,
        "kubernetes_oidc_client_secret": OIDC_SECRET,
        "kubernetes_redis_url": REDIS_URL,
        "kubernetes_extra_secret_env": {"GORILLA_SESSION_SIGNING_KEY": EXTRA_SECRET},
        "kubernetes_extra_env": {"GORILLA_RATE_LIMITS_ENABLED": "true", "OIDC_ISSUER": "https://idp.itest.example"},
        "kubernetes_ca_certs": [],
        "kubernetes_sizing_environment": "test",
        # objects only: no pod of an image that cannot be pulled holds the node's CPU
        "kubernetes_replicas": 0,
        "kubernetes_wait": False,
    }
    values.update(overrides)
    return values


def run_role(tmp_path: Path, values: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    run_dir = tmp_path / f"run-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir()
    (run_dir / "play.yml").write_text(PLAYBOOK)
    (run_dir / "vars.json").write_text(json.dumps(values))
    env = ansible_env()
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", f"@{run_dir / 'vars.json'}", *args, str(run_dir / "play.yml")]
    proc = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        pytest.fail(f"ansible-playbook failed (rc={proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return proc


def changed_tasks(proc: subprocess.CompletedProcess) -> list[str]:
    """Names of the tasks that reported 'changed' (default callback output)."""
    out, current = [], None
    for line in proc.stdout.splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:") and current:
            out.append(current)
    return out


class Kube:
    def __init__(self, kubeconfig: str):
        api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.api = api
        self.core = kubernetes.client.CoreV1Api(api)
        self.apps = kubernetes.client.AppsV1Api(api)
        self.net = kubernetes.client.NetworkingV1Api(api)
        self.rbac = kubernetes.client.RbacAuthorizationV1Api(api)

    def objects(self, ns: str, name: str = "wandb") -> dict:
        return {
            "namespace": self.core.read_namespace(ns),
            "secret": self.core.read_namespaced_secret(f"{name}-secrets", ns),
            "configmap": self.core.read_namespaced_config_map(f"{name}-ca-certs", ns),
            "deployment": self.apps.read_namespaced_deployment(name, ns),
            "service": self.core.read_namespaced_service(name, ns),
            "ingress": self.net.read_namespaced_ingress(name, ns),
        }

    def namespace_exists(self, ns: str) -> bool:
        try:
            self.core.read_namespace(ns)
            return True
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return False
            raise


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory) -> str:
    """A real self-signed CA certificate (public data only) for the CA ConfigMap."""
    work = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=onprem-wandb itest CA", "-keyout", str(work / "ca.key"), "-out", str(work / "ca.crt")],
                   check=True, capture_output=True)
    return (work / "ca.crt").read_text()


@pytest.fixture(scope="module")
def kube(kube_api) -> Kube:
    client = Kube(kube_api)
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
            "spec": {"controller": "k8s.io/ingress-nginx"}}
    try:
        client.net.create_ingress_class(body)
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
    return client


def fresh_ns(prefix: str = "itest-wandb") -> str:
    # Namespaces are not deleted here: kube.sh stop removes the whole cluster at the end.
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def applied(kube, kube_api, ca_pem, tmp_path_factory):
    """One namespace, applied once (cold) and once more (warm)."""
    tmp = tmp_path_factory.mktemp("kube-role")
    ns = fresh_ns()
    values = base_vars(kube_api, ns, kubernetes_ca_certs=[ca_pem])
    first = run_role(tmp, values)
    second = run_role(tmp, values)
    return {"ns": ns, "values": values, "first": first, "second": second, "tmp": tmp}


def secret_values(obj) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in obj.data.items()}


def test_first_run_creates_every_object(applied):
    counts = recap(applied["first"].stdout)["localhost"]
    assert counts["failed"] == 0
    # Namespace, Secret, ConfigMap, Deployment, Service, Ingress
    assert counts["changed"] == 6, changed_tasks(applied["first"])


def test_objects_match_the_contract_server_side(applied, kube, ca_pem):
    ns = applied["ns"]
    objs = kube.objects(ns)
    data = secret_values(objs["secret"])
    assert sorted(data) == ["BUCKET", "GORILLA_SESSION_SIGNING_KEY", "LICENSE", "MYSQL", "OIDC_SECRET", "REDIS"]
    assert data["LICENSE"] == LICENSE and data["OIDC_SECRET"] == OIDC_SECRET and data["REDIS"] == REDIS_URL
    assert data["BUCKET"] == (f"s3://{quote(S3_ACCESS_KEY, safe='')}:{quote(S3_SECRET_KEY, safe='')}"
                              "@minio.itest.example:9000/wandb-itest?tls=true")
    assert objs["secret"].type == "Opaque"

    dep = objs["deployment"]
    pod = dep.spec.template.spec
    (ctr,) = pod.containers
    assert ctr.image == "docker.io/wandb/local:0.78.2"
    plain = {e.name: e.value for e in ctr.env if e.value_from is None}
    refs = {e.name: e.value_from.secret_key_ref for e in ctr.env if e.value_from is not None}
    assert plain == {"HOST": "https://wandb.itest.example", "BUCKET_QUEUE": "internal://",
                     "AWS_REGION": "eu-west-3", "GORILLA_RATE_LIMITS_ENABLED": "true",
                     "OIDC_ISSUER": "https://idp.itest.example"}
    assert sorted(refs) == sorted(data)
    assert all(r.name == "wandb-secrets" and r.key == n for n, r in refs.items())
    assert [(p.name, p.container_port) for p in ctr.ports] == [("http", 8080), ("metrics", 8181)]
    assert ctr.liveness_probe.http_get.path == "/healthz"
    assert ctr.readiness_probe.http_get.path == "/ready"
    assert ctr.startup_probe.http_get.path == "/ready"
    assert ctr.startup_probe.period_seconds * ctr.startup_probe.failure_threshold >= 600
    assert ctr.resources.requests == {"cpu": "2", "memory": "8Gi"}
    assert ctr.resources.limits == {"cpu": "4", "memory": "16Gi"}
    assert pod.security_context.run_as_user == 999 and pod.security_context.run_as_group == 0
    assert pod.security_context.fs_group == 0 and pod.security_context.run_as_non_root is True
    assert ctr.security_context.allow_privilege_escalation is False
    assert pod.node_selector == {"kubernetes.io/arch": "amd64"}
    assert dep.spec.strategy.type == "RollingUpdate"
    assert dep.spec.strategy.rolling_update.max_unavailable == 0
    (mount,) = ctr.volume_mounts
    assert mount.mount_path == "/usr/local/share/ca-certificates" and mount.read_only
    assert pod.volumes[0].config_map.name == "wandb-ca-certs"
    assert objs["configmap"].data == {"onprem-wandb-ca-0.crt": ca_pem.strip() + "\n"}

    # nothing secret anywhere in the Deployment as stored (spec, annotations, managedFields)
    dumped = json.dumps(kube.api.sanitize_for_serialization(dep))
    for value in (DB_PASSWORD, quote(DB_PASSWORD, safe=""), S3_SECRET_KEY, LICENSE, OIDC_SECRET, REDIS_URL,
                  EXTRA_SECRET, data["MYSQL"], data["BUCKET"]):
        assert value not in dumped

    svc = objs["service"]
    assert svc.spec.type == "ClusterIP"
    assert {(p.name, p.port, p.target_port) for p in svc.spec.ports} == {("http", 8080, "http"),
                                                                         ("metrics", 8181, "metrics")}
    assert svc.spec.selector == dep.spec.selector.match_labels

    ing = objs["ingress"]
    assert ing.spec.ingress_class_name == "nginx"
    assert ing.spec.tls[0].secret_name == "wandb-tls" and ing.spec.tls[0].hosts == ["wandb.itest.example"]
    rule = ing.spec.rules[0]
    assert rule.host == "wandb.itest.example"
    assert rule.http.paths[0].backend.service.name == "wandb"
    notes = ing.metadata.annotations
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 600


def test_second_run_changes_nothing(applied):
    assert recap(applied["second"].stdout)["localhost"]["changed"] == 0, changed_tasks(applied["second"])


def _versions(objs: dict) -> dict:
    return {k: (o.metadata.resource_version, getattr(o.metadata, "generation", None)) for k, o in objs.items()}


@pytest.mark.parametrize("change", [
    {"kubernetes_image_tag": "0.78.3"},
    {"kubernetes_extra_env": {"GORILLA_RATE_LIMITS_ENABLED": "false", "OIDC_ISSUER": "https://idp.itest.example"}},
], ids=["image-tag", "one-env-value"])
def test_one_change_updates_only_the_deployment(applied, kube, change):
    ns = applied["ns"]
    before = _versions(kube.objects(ns))
    proc = run_role(applied["tmp"], {**applied["values"], **change})
    after_objs = kube.objects(ns)
    after = _versions(after_objs)
    assert recap(proc.stdout)["localhost"]["changed"] == 1, changed_tasks(proc)
    assert list(changed_tasks(proc)) == [t for t in changed_tasks(proc) if "Deployment" in t]
    assert after["deployment"][1] == before["deployment"][1] + 1  # generation bumped once
    for kind in ("namespace", "secret", "configmap", "service", "ingress"):
        assert after[kind] == before[kind], kind
    ctr = after_objs["deployment"].spec.template.spec.containers[0]
    if "kubernetes_image_tag" in change:
        assert ctr.image.endswith(":0.78.3")
    else:
        assert {e.name: e.value for e in ctr.env}["GORILLA_RATE_LIMITS_ENABLED"] == "false"
    # and back: converges again to the original with exactly one change
    assert recap(run_role(applied["tmp"], applied["values"]).stdout)["localhost"]["changed"] == 1


GO_PROBE = """\
package main

import (
\t"bufio"
\t"encoding/json"
\t"net/url"
\t"os"
\t"strings"

\t"github.com/go-sql-driver/mysql"
)

// Parse W&B's MYSQL the way a Go service does (net/url), hand it to the MySQL driver
// as a DSN and parse that back: what comes out is what the client would authenticate with.
func main() {
\tline, _ := bufio.NewReader(os.Stdin).ReadString('\\n')
\tu, err := url.Parse(strings.TrimSpace(line))
\tif err != nil {
\t\tjson.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
\t\treturn
\t}
\tpw, _ := u.User.Password()
\tc := mysql.NewConfig()
\tc.User, c.Passwd, c.Net, c.Addr, c.DBName = u.User.Username(), pw, "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
\tback, err := mysql.ParseDSN(c.FormatDSN())
\tif err != nil {
\t\tjson.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
\t\treturn
\t}
\tjson.NewEncoder(os.Stdout).Encode(map[string]string{"scheme": u.Scheme, "user": back.User, "password": back.Passwd,
\t\t"addr": back.Addr, "db": back.DBName})
}
"""


def go_mysql_parse(tmp_path: Path, value: str) -> dict | None:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        return None
    work = tmp_path / "goprobe"
    work.mkdir(exist_ok=True)
    version = re.search(r"GO_MYSQL_DRIVER_VERSION:-(v[0-9.]+)", (REPO / "tests" / "testbed" / "versions.env").read_text()).group(1)
    (work / "go.mod").write_text(f"module probe\n\ngo 1.24\n\nrequire github.com/go-sql-driver/mysql {version}\n")
    (work / "main.go").write_text(GO_PROBE)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off")
    proc = subprocess.run([go, "run", "."], check=False, cwd=work, input=value + "\n", env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0 and "cannot find module" in proc.stderr + proc.stdout:
        return None  # the driver is not in the offline module cache here
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_mysql_url_round_trips_a_hostile_password(applied, kube, tmp_path):
    mysql = secret_values(kube.objects(applied["ns"])["secret"])["MYSQL"]
    parts = urlsplit(mysql)
    # strict RFC 3986 userinfo: nothing but unreserved characters and %XX escapes
    userinfo = parts.netloc.rsplit("@", 1)[0]
    assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+:(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+", userinfo), userinfo
    assert parts.scheme == "mysql"
    assert unquote(parts.username) == "wandb_local"
    assert unquote(parts.password) == DB_PASSWORD
    assert (parts.hostname, parts.port, parts.path) == ("mysql-primary.itest.example", 3306, "/wandb_local")
    parsed = go_mysql_parse(tmp_path, mysql)
    if parsed is None:
        pytest.skip("Go or github.com/go-sql-driver/mysql is not available offline; Python checks passed")
    assert parsed == {"scheme": "mysql", "user": "wandb_local", "password": DB_PASSWORD,
                      "addr": "mysql-primary.itest.example:3306", "db": "wandb_local"}


class VersionLyingProxy:
    """Loopback HTTP front for the real API server that answers only GET /version itself
    (as Kubernetes v1.28.9); every other request goes to the real server with the admin cert."""

    def __init__(self, kubeconfig: str, git_version: str = "v1.28.9"):
        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        cluster = cfg["clusters"][0]["cluster"]
        user = cfg["users"][0]["user"]
        self.upstream = cluster["server"].rstrip("/")
        ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        ctx.load_cert_chain(user["client-certificate"], user["client-key"])
        major, minor = git_version.lstrip("v").split(".")[:2]
        fake = json.dumps({"major": major, "minor": minor, "gitVersion": git_version, "platform": "linux/amd64"})
        upstream = self.upstream

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                if self.command == "GET" and self.path.split("?")[0] == "/version":
                    body = fake.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                req = urllib.request.Request(upstream + self.path, data=data, method=self.command)
                for key in ("Content-Type", "Accept"):
                    if self.headers.get(key):
                        req.add_header(key, self.headers[key])
                try:
                    resp = urllib.request.urlopen(req, context=ctx, timeout=30)
                except urllib.error.HTTPError as err:
                    resp = err
                body = resp.read()
                self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> str:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "liar", "cluster": {"server": self.url}}],
            "users": [{"name": "anon", "user": {}}],
            "contexts": [{"name": "liar", "context": {"cluster": "liar", "user": "anon"}}],
            "current-context": "liar"}))
        return str(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_cluster_older_than_1_29_is_refused_before_any_change(kube, kube_api, ca_pem, tmp_path):
    proxy = VersionLyingProxy(kube_api)
    try:
        # the proxy itself is transparent for everything but /version
        with urllib.request.urlopen(proxy.url + "/api/v1/namespaces/default", timeout=10) as resp:
            assert json.load(resp)["metadata"]["name"] == "default"
        ns = fresh_ns("itest-old")
        proc = run_role(tmp_path, base_vars(proxy.kubeconfig(tmp_path / "liar.kubeconfig"), ns,
                                            kubernetes_ca_certs=[ca_pem]), check=False)
    finally:
        proxy.close()
    assert proc.returncode != 0
    assert "runs Kubernetes v1.28.9; W&B Server needs >= 1.29" in proc.stdout, proc.stdout[-3000:]
    assert recap(proc.stdout)["localhost"]["changed"] == 0
    assert not kube.namespace_exists(ns)


def test_vvv_diff_output_contains_no_secret(kube, kube_api, ca_pem, tmp_path):
    ns = fresh_ns("itest-vvv")
    values = base_vars(kube_api, ns, kubernetes_ca_certs=[ca_pem])
    first = run_role(tmp_path, values, "-vvv", "--diff")
    changed = run_role(tmp_path, {**values, "wandb_db_password": DB_PASSWORD + "2"}, "-vvv", "--diff")
    assert recap(first.stdout)["localhost"]["changed"] == 6 and recap(changed.stdout)["localhost"]["changed"] == 2  # Secret + its checksum on the pods
    data = secret_values(kube.objects(ns)["secret"])
    output = f"{first.stdout}\n{first.stderr}\n{changed.stdout}\n{changed.stderr}"
    assert "\"kind\": \"Deployment\"" in output and "<localhost> EXEC" in output  # really verbose
    for secret in (DB_PASSWORD, DB_PASSWORD + "2", S3_SECRET_KEY, LICENSE, OIDC_SECRET, REDIS_URL, EXTRA_SECRET,
                   data["MYSQL"], data["BUCKET"]):
        forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]}
        for form in forms:
            assert form not in output, f"a form of a secret leaked: {form[:4]}..."


def test_missing_ingress_class_is_refused(kube, kube_api, ca_pem, tmp_path):
    ns = fresh_ns("itest-noclass")
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[ca_pem],
                                        kubernetes_ingress_class="traefik-missing"), check=False)
    assert proc.returncode != 0
    assert "IngressClass 'traefik-missing' does not exist" in proc.stdout
    assert "nginx" in proc.stdout.split("IngressClass 'traefik-missing' does not exist", 1)[1][:400]
    assert not kube.namespace_exists(ns)


def test_unreadable_ingress_class_only_warns(kube, kube_api, ca_pem, tmp_path):
    """A namespace-scoped deployer (ServiceAccount token, no cluster-wide reads) still deploys."""
    ns = fresh_ns("itest-rbac")
    kube.core.create_namespace({"metadata": {"name": ns}})
    kube.core.create_namespaced_service_account(ns, {"metadata": {"name": "deployer"}})
    kube.rbac.create_namespaced_role(ns, {
        "metadata": {"name": "deployer"},
        "rules": [{"apiGroups": ["", "apps", "networking.k8s.io"], "resources": ["*"], "verbs": ["*"]}]})
    kube.rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})
    token = kube.core.create_namespaced_service_account_token(
        "deployer", ns, {"spec": {"expirationSeconds": 3600}}).status.token
    admin = yaml.safe_load(Path(kube_api).read_text())
    limited = tmp_path / "deployer.kubeconfig"
    limited.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": admin["clusters"],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [{"name": "deployer", "context": {"cluster": admin["clusters"][0]["name"], "user": "deployer"}}],
        "current-context": "deployer"}))
    limited.chmod(0o600)
    proc = run_role(tmp_path, base_vars(str(limited), ns, kubernetes_ca_certs=[ca_pem],
                                        kubernetes_create_namespace=False), "-vvv")
    assert "WARNING: could not read IngressClass 'nginx'" in proc.stdout
    assert recap(proc.stdout)["localhost"]["changed"] == 5
    assert kube.apps.read_namespaced_deployment("wandb", ns).spec.template.spec.containers[0].image
    assert token not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"kubernetes_startup_failure_threshold": 30}, "at least 600 s"),
    ({"kubernetes_openshift": True, "kubernetes_run_as_user": 1000}, "kubernetes_run_as_user must be >= 100000"),
    ({"kubernetes_extra_env": {"HOST": "https://evil.example"}}, "reused: ['HOST']"),
    ({"wandb_db_password": ""}, "wandb_db_password"),
    ({"wandb_fqdn": "", "wandb_url": "http://wandb.itest.example"}, "must be\nhttps://FQDN"),
    ({"kubernetes_ca_certs": ["not a certificate"]}, "list of PEM certificates"),
    ({"kubernetes_service_type": "ClusterIP", "kubernetes_service_node_port": 30080}, "kubernetes_service_node_port"),
], ids=["startup-too-short", "openshift-uid", "env-override", "no-db-password", "http-url", "bad-ca", "nodeport"])
def test_bad_input_stops_before_any_change(kube, kube_api, tmp_path, overrides, expected):
    ns = fresh_ns("itest-bad")
    proc = run_role(tmp_path, base_vars(kube_api, ns, **overrides), check=False)
    assert proc.returncode != 0
    flat = re.sub(r"\s+", " ", proc.stdout)
    assert re.sub(r"\s+", " ", expected) in flat, proc.stdout[-3000:]
    assert not kube.namespace_exists(ns)


def test_openshift_mode_nodeport_and_no_ca(kube, kube_api, tmp_path):
    ns = fresh_ns("itest-ocp")
    values = base_vars(kube_api, ns, kubernetes_ca_certs=[], kubernetes_openshift=True,
                       kubernetes_service_type="NodePort", kubernetes_service_node_port=30999,
                       kubernetes_image_registry="registry.airgap.example:5000",
                       kubernetes_image_pull_secrets=["airgap-pull"], kubernetes_ingress_tls_secret="")
    run_role(tmp_path, values)
    dep = kube.apps.read_namespaced_deployment("wandb", ns)
    pod = dep.spec.template.spec
    assert pod.security_context.run_as_user == 100000 and pod.security_context.run_as_group == 0
    assert pod.containers[0].image == "registry.airgap.example:5000/wandb/local:0.78.2"
    assert [s.name for s in pod.image_pull_secrets] == ["airgap-pull"]
    assert not pod.volumes and not pod.containers[0].volume_mounts
    svc = kube.core.read_namespaced_service("wandb", ns)
    assert svc.spec.type == "NodePort"
    assert [p.node_port for p in svc.spec.ports if p.name == "http"] == [30999]
    assert kube.net.read_namespaced_ingress("wandb", ns).spec.tls is None
    with pytest.raises(kubernetes.client.ApiException):
        kube.core.read_namespaced_config_map("wandb-ca-certs", ns)
    assert recap(run_role(tmp_path, values).stdout)["localhost"]["changed"] == 0


def test_check_mode_on_a_new_namespace_reports_without_creating(kube, kube_api, ca_pem, tmp_path):
    ns = fresh_ns("itest-check")
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[ca_pem]), "--check", "--diff")
    assert recap(proc.stdout)["localhost"]["changed"] == 1  # the Namespace; its objects are skipped with a note
    assert f"check mode: namespace {ns} does not exist yet" in proc.stdout
    assert not kube.namespace_exists(ns)


def test_check_mode_on_an_applied_namespace_predicts_the_change(applied, kube):
    before = _versions(kube.objects(applied["ns"]))
    proc = run_role(applied["tmp"], {**applied["values"], "kubernetes_image_tag": "0.79.0"}, "--check", "--diff")
    assert recap(proc.stdout)["localhost"]["changed"] == 1, changed_tasks(proc)
    assert "0.79.0" in proc.stdout  # the Deployment's diff
    assert _versions(kube.objects(applied["ns"])) == before


def test_rollout_wait_stops_early_on_an_image_that_cannot_be_pulled(kube, kube_api, tmp_path):
    ns = fresh_ns("itest-wait")
    start = time.monotonic()
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[], kubernetes_replicas=1, kubernetes_wait=True,
                                        kubernetes_wait_give_up_after=5,
                                        kubernetes_image_registry="localhost", kubernetes_image_repository="onprem-wandb/node-testapp",
                                        kubernetes_image_tag="0.0.0-absent",
                                        kubernetes_resources={"requests": {"cpu": "10m", "memory": "16Mi"}}), check=False)
    assert proc.returncode != 0
    assert time.monotonic() - start < 240  # not the 1020 s timeout: stuck pulls stop the wait
    flat = re.sub(r"\s+", " ", proc.stdout)
    assert f"Deployment {ns}/wandb (image localhost/onprem-wandb/node-testapp:0.0.0-absent) is not available" in flat
    assert re.search(r"container wandb (ErrImagePull|ImagePullBackOff)", flat), flat[-2000:]
    assert "kubernetes_image_pull_secrets" in flat and "air-gapped" in flat


# --- real pods on the testbed's node -------------------------------------------------------

TESTAPP = {"kubernetes_image_registry": "localhost", "kubernetes_image_repository": "onprem-wandb/node-testapp",
           "kubernetes_image_tag": "1.0.0", "kubernetes_replicas": 1, "kubernetes_wait": True,
           "kubernetes_wait_give_up_after": 10,
           "kubernetes_resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}}}


def test_real_pods_the_deployment_starts_with_secret_refs_ca_mount_and_uid_999(kube, kube_api, ca_pem, tmp_path):
    ns = fresh_ns("itest-run")
    start = time.monotonic()
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[ca_pem], **TESTAPP))
    took = time.monotonic() - start
    pods = kube.core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/instance=wandb").items
    assert len(pods) == 1 and pods[0].status.container_statuses[0].ready, proc.stdout[-3000:]
    # the testapp exits unless every env of W&B's contract arrived and the CA file is a PEM
    log = kube.core.read_namespaced_pod_log(pods[0].metadata.name, ns)
    assert "1 CA certificate(s) mounted, uid 999 gid 0" in log, log
    ready = [c.last_transition_time for c in pods[0].status.conditions if c.type == "Ready"][0]
    print(f"role run with wait: {took:.1f} s; pod Ready {(ready - pods[0].metadata.creation_timestamp).total_seconds():.0f} s after creation")
    assert "Wait for the rollout" in proc.stdout


def test_real_pods_crashloop_is_explained_with_redacted_logs(kube, kube_api, tmp_path):
    ns = fresh_ns("itest-crash")
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[], kubernetes_extra_env={"TESTAPP_FAIL": "1"},
                                        **TESTAPP), check=False)
    flat = re.sub(r"\s+", " ", proc.stdout)
    assert proc.returncode != 0
    assert re.search(r"container wandb (CrashLoopBackOff|Error)", flat), flat[-3000:]
    assert "cannot reach the database at MYSQL=mysql://********@mysql-primary.itest.example:3306/wandb_local" in flat
    for secret in (DB_PASSWORD, quote(DB_PASSWORD, safe=""), LICENSE, S3_SECRET_KEY):
        assert secret not in proc.stdout


def test_real_pods_pending_is_explained(kube, kube_api, tmp_path):
    ns = fresh_ns("itest-pending")
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[],
                                        **{**TESTAPP, "kubernetes_resources": {"requests": {"cpu": "64"}}}), check=False)
    flat = re.sub(r"\s+", " ", proc.stdout)
    assert proc.returncode != 0
    assert "Pending, not scheduled: 0/1 nodes are available: 1 Insufficient cpu" in flat, flat[-3000:]
    assert "kubernetes_resources" in flat and "taints" in flat


def test_real_pods_failing_probe_is_named_with_its_answer(kube, kube_api, tmp_path):
    ns = fresh_ns("itest-probe")
    proc = run_role(tmp_path, base_vars(kube_api, ns, kubernetes_ca_certs=[], kubernetes_extra_env={"TESTAPP_NOT_READY": "1"},
                                        kubernetes_wait_timeout=25, **TESTAPP), check=False)
    flat = re.sub(r"\s+", " ", proc.stdout)
    assert proc.returncode != 0
    assert "running but not ready: Startup probe failed: HTTP probe failed with statuscode: 503" in flat, flat[-3000:]
    assert "not done after 25 s (timeout)" in flat
    assert "listening on :8080" in flat  # the app's last log lines


def test_argument_specs_cover_every_default():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(specs) == set(defaults)
    for name, spec in specs.items():
        assert spec.get("type") and spec.get("description"), name
        if "default" in spec:
            assert spec["default"] == defaults[name], name
        else:
            assert "{{" in str(defaults[name]), f"{name}: only templated defaults may be left out of the spec"
