"""playbooks/awx_setup.yml against a stand-in AWX API (no AWX is reachable here).

The stand-in keeps objects in memory and answers the REST calls the awx.awx modules make
(list with filters, create, patch, credential associations, survey_spec). It checks what our
playbook sends and how a second run behaves; it cannot prove AWX accepts every field.
"""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from conftest import ansible_env, recap

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "playbooks/awx_setup.yml"
BUILTIN_TYPES = ["Machine", "OpenShift or Kubernetes API Bearer Token", "Source Control", "Vault"]
SECRET_VALUES = {"license": "LICENSE-Zq8-secret-value", "root": "minio-root-pw-Xk2", "wandb": "wandb-secret-Pp9"}


class FakeController:
    """In-memory /api/v2/ with the behaviour the awx.awx modules rely on."""

    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {}   # kind -> {id: obj}
        self.links = {}     # (kind, id, sub) -> [ids]
        self.surveys = {}   # job template id -> spec
        self.next_id = 1
        self.writes = []    # (method, path) of every change
        self.create("organizations", {"name": "Default"})
        for name in BUILTIN_TYPES:
            self.create("credential_types", {"name": name, "kind": "ssh", "managed": True})
        self.writes.clear()

    def create(self, kind, data):
        obj = dict(data, id=self.next_id, type=kind.rstrip("s"), url=f"/api/v2/{kind}/{self.next_id}/",
                   related={"survey_spec": f"/api/v2/{kind}/{self.next_id}/survey_spec/"},
                   summary_fields={}, scm_revision="")
        self.objects.setdefault(kind, {})[self.next_id] = obj
        self.next_id += 1
        return obj

    def find(self, kind, name):
        return next((o for o in self.objects.get(kind, {}).values() if o.get("name") == name), None)

    def listing(self, kind, query):
        items = list(self.objects.get(kind, {}).values())
        ors = {k[4:]: v for k, v in query.items() if k.startswith("or__")}
        for key, value in query.items():
            if key in ("page_size", "page", "order_by") or key.startswith("or__"):
                continue
            if key.endswith("__in"):
                wanted = value.split(",")
                items = [o for o in items if str(o.get(key[:-4])) in wanted]
            else:
                items = [o for o in items if str(o.get(key)) == value]
        if ors:
            items = [o for o in items if any(str(o.get(k)) == v for k, v in ors.items())]
        return {"count": len(items), "next": None, "previous": None, "results": items}


def make_handler(ctl):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", "24.6.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def route(self):
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p][2:]  # drop api, v2
            return parts, dict(parse_qsl(url.query))

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):  # noqa: N802
            parts, query = self.route()
            with ctl.lock:
                if len(parts) == 1:
                    return self.reply(200, ctl.listing(parts[0], query))
                obj = ctl.objects.get(parts[0], {}).get(int(parts[1]))
                if obj is None:
                    return self.reply(404, {"detail": "Not found."})
                if len(parts) == 2:
                    return self.reply(200, obj)
                if parts[2] == "survey_spec":
                    return self.reply(200, ctl.surveys.get(obj["id"], {}))
                ids = ctl.links.get((parts[0], obj["id"], parts[2]), [])
                return self.reply(200, {"count": len(ids), "next": None, "results": [{"id": i} for i in ids]})

        def do_POST(self):  # noqa: N802
            parts = self.route()[0]
            data = self.body()
            with ctl.lock:
                ctl.writes.append(("POST", self.path))
                if len(parts) == 1:
                    if ctl.find(parts[0], data.get("name")):
                        return self.reply(400, {"__all__": ["already exists"]})
                    return self.reply(201, ctl.create(parts[0], data))
                oid = int(parts[1])
                if parts[2] == "survey_spec":
                    ctl.surveys[oid] = data
                    return self.reply(200, {})
                links = ctl.links.setdefault((parts[0], oid, parts[2]), [])
                if data.get("disassociate"):
                    links.remove(data["id"])
                elif data["id"] not in links:
                    links.append(data["id"])
                return self.reply(204)

        def do_PATCH(self):  # noqa: N802
            parts = self.route()[0]
            with ctl.lock:
                ctl.writes.append(("PATCH", self.path))
                obj = ctl.objects[parts[0]][int(parts[1])]
                obj.update(self.body())
                return self.reply(200, obj)

    return Handler


@pytest.fixture()
def controller():
    ctl = FakeController()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(ctl))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ctl.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield ctl
    server.shutdown()
    server.server_close()


def run_setup(ctl, tmp_path, *extra):
    inputs = {"awx_credential_inputs": {
        "onprem.wandb W&B license": {"wandb_license": SECRET_VALUES["license"]},
        "onprem.wandb MinIO": {"minio_root_user": "root", "minio_root_password": SECRET_VALUES["root"],
                               "wandb_s3_access_key": "wandb-app", "wandb_s3_secret_key": SECRET_VALUES["wandb"]},
    }}
    secrets = tmp_path / "awx-credentials.yml"
    secrets.write_text(yaml.safe_dump(inputs), encoding="utf-8")
    env = ansible_env(CONTROLLER_HOST=ctl.url, CONTROLLER_OAUTH_TOKEN="test-token", CONTROLLER_VERIFY_SSL="false")
    proc = subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), PLAYBOOK, "-e", f"@{secrets}",
         "-e", "awx_project_scm_url=https://git.corp.lan/onprem-wandb.git", "-e", "awx_ee_image=registry.corp.lan/ee:1", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    counters = recap(proc.stdout).get("localhost")
    assert proc.returncode == 0 and counters, proc.stdout[-4000:] + proc.stderr[-2000:]
    return counters["changed"], proc.stdout + proc.stderr


def load_data(name):
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    return yaml.load((REPO / "awx" / name).read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506


def test_creates_everything_once_then_changes_nothing(controller, tmp_path):
    changed, out = run_setup(controller, tmp_path, "-vvv")
    assert changed > 0
    ctl = controller
    for secret in SECRET_VALUES.values():
        assert secret not in out, "a credential secret reached the log of a -vvv run"

    # credential types: AWX templates arrive verbatim (not rendered by Ansible)
    for ctype in load_data("credential_types.yml")["awx_credential_types"]:
        stored = ctl.find("credential_types", ctype["name"])
        assert stored["inputs"] == ctype["inputs"] and stored["injectors"] == ctype["injectors"]
        assert all(v.startswith("{{ ") for v in stored["injectors"]["extra_vars"].values())

    # credentials: only those with inputs
    made = sorted(o["name"] for o in ctl.objects.get("credentials", {}).values())
    assert made == ["onprem.wandb MinIO", "onprem.wandb W&B license"]
    assert "Create these credentials in AWX" in out and "onprem.wandb MySQL" in out

    project = ctl.find("projects", "onprem.wandb")
    assert project["scm_url"] == "https://git.corp.lan/onprem-wandb.git"
    ee = ctl.find("execution_environments", "onprem.wandb EE")
    assert ee["image"] == "registry.corp.lan/ee:1"
    assert project["default_environment"] == ee["id"]
    source = ctl.find("inventory_sources", "onprem.wandb inventory from the project")
    assert source["source_project"] == project["id"] and source["source_path"] == "inventories/onprem/hosts.yml"

    jobs = load_data("job_templates.yml")
    present = {o["id"]: o["name"] for o in ctl.objects["credentials"].values()}
    for job in jobs["awx_job_templates"]:
        stored = ctl.find("job_templates", job["name"])
        assert stored["playbook"] == job["playbook"] and stored["survey_enabled"] is True
        assert stored["become_enabled"] is True, "the Machine credential's sudo is used: become on the job template"
        spec = ctl.surveys[stored["id"]]["spec"]
        assert [q["variable"] for q in spec] == job["survey"]
        if "onprem.wandb Kubernetes" in job["credentials"]:
            assert json.loads(stored["extra_vars"]) == {"kubernetes_kubeconfig": "", "kubernetes_context": ""}
        attached = {present[i] for i in ctl.links.get(("job_templates", stored["id"], "credentials"), [])}
        assert attached == set(job["credentials"]) & set(present.values())

    # a secret typed into the UI afterwards must survive the next run
    ctl.find("credentials", "onprem.wandb W&B license")["inputs"] = {"wandb_license": "typed-in-the-ui"}
    ctl.writes.clear()
    changed, out = run_setup(controller, tmp_path)
    assert changed == 0, out[-3000:]
    assert ctl.writes == [], f"a second run wrote to the controller: {ctl.writes}"
    assert ctl.find("credentials", "onprem.wandb W&B license")["inputs"] == {"wandb_license": "typed-in-the-ui"}
