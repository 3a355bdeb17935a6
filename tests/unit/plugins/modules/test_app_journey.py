from __future__ import annotations

import json

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import s3_presign as s3
from ansible_collections.onprem.wandb.plugins.modules import app_journey as mod

URL = "https://wandb.example.test"
S3 = "https://s3.example.test"
ARGS = {"url": URL, "payload_size": 2048, "ready_timeout": 0, "steps": [s for s in mod.STEPS if s != "websocket"]}
CORS = {"access-control-allow-origin": URL, "access-control-expose-headers": "ETag"}


def http(status, body=b"", headers=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return s3.HttpResult(status, "", dict(headers or {}), body, 0.001)


class FakeSite:
    """The stand-in app behind nginx and MinIO behind the S3 proxy; `faults[(method, path)]` replaces one answer."""

    def __init__(self, **faults):
        self.faults = {tuple(k.split(" ", 1)): v for k, v in faults.items()}
        self.objects, self.rows, self.calls = {}, {}, []
        self.ready_answers = []

    def __call__(self, method, url, headers=None, body=None, context=None, timeout=30, host_header=None):
        path = url.split("?")[0].replace(URL, "").replace(S3, "s3:")
        self.calls.append((method, path, dict(headers or {})))
        for (m, p), answer in self.faults.items():
            if m == method and path.startswith(p):
                if isinstance(answer, Exception):
                    raise answer
                return answer
        app = {"x-standin-version": "1.0.0"}
        if path == "/ready":
            if self.ready_answers:
                return self.ready_answers.pop(0)
            return http(200, {"status": "ready"}, app)
        if method == "POST" and path == "/api/standin/files":
            req = json.loads(body)
            self.rows["f1"] = {"id": "f1", "state": "pending", "sha256": req["sha256"]}
            return http(201, {"id": "f1", "key": "standin/f1/journey.bin",
                              "put_url": S3 + "/wandb/standin/f1/journey.bin?X-Amz-Signature=x"}, app)
        if method == "OPTIONS":
            return http(204, b"", {"access-control-allow-origin": headers["Origin"]})
        if method == "PUT" and path.startswith("s3:"):
            self.objects[path] = body
            return http(200, b"", dict(CORS, etag='"e1"'))
        if method == "POST" and path == "/api/standin/files/f1/complete":
            obj = self.objects.get("s3:/wandb/standin/f1/journey.bin")
            if obj is None:
                return http(409, {"error": "the object is not in the bucket"}, app)
            self.rows["f1"].update(state="complete", size=len(obj), etag="e1")
            return http(200, self.rows["f1"], app)
        if method == "GET" and path == "/api/standin/files/f1":
            return http(200, {"file": self.rows["f1"], "get_url": S3 + "/wandb/standin/f1/journey.bin?sig"}, app)
        if method == "GET" and path.startswith("s3:"):
            return http(200, self.objects[path], CORS)
        if method == "DELETE" and path == "/api/standin/files/f1":
            self.rows.pop("f1")
            self.objects.clear()
            return http(200, {"deleted": "f1"}, app)
        raise AssertionError((method, path))


@pytest.fixture()
def site(monkeypatch):
    def make(**faults):
        fake = FakeSite(**faults)
        monkeypatch.setattr(s3, "http_request", fake)
        monkeypatch.setattr(mod.time, "sleep", lambda s: None)
        return fake
    return make


def test_whole_journey(run_main, site):
    fake = site()
    result = run_main(mod.main, ARGS)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert [s["name"] for s in result["steps"]] == ARGS["steps"]
    assert all(s["ok"] and s["run"] for s in result["steps"])
    assert result["app_version"] == "1.0.0"
    assert result["file"]["id"] == "f1" and result["file"]["etag"] == "e1" and result["file"]["size"] == 2048
    assert fake.rows["f1"]["sha256"] == result["file"]["sha256"]  # the app got the client's digest
    assert all(h.get("Origin") == URL for _m, _p, h in fake.calls)  # every request carries the W&B origin
    assert "journey.bin" in result["steps"][1]["msg"] and "s3.example.test" in result["steps"][3]["msg"]


def test_cleanup_deletes_the_file(run_main, site):
    fake = site()
    result = run_main(mod.main, dict(ARGS, cleanup=True))
    assert not result.get("failed"), result
    assert fake.rows == {} and fake.objects == {}


def test_check_mode_is_read_only(run_main, site):
    fake = site()
    result = run_main(mod.main, ARGS, check_mode=True)
    assert not result.get("failed"), result
    assert [s["name"] for s in result["steps"]] == ["ready"]
    assert {m for m, _p, _h in fake.calls} == {"GET"}


def test_ready_waits_for_migrations(run_main, site, monkeypatch):
    fake = site()
    fake.ready_answers = [http(502, b"<html>bad gateway</html>"),
                          http(503, {"status": "not ready", "reason": "migrating: schema at version 2"})]
    result = run_main(mod.main, dict(ARGS, ready_timeout=60, steps=["ready"]))
    assert not result.get("failed"), result
    assert "after 3 attempt(s)" in result["steps"][0]["msg"]


def test_ready_gives_up_with_the_last_reason(run_main, site, monkeypatch):
    fake = site()
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(mod.time, "monotonic", lambda: next(clock))
    fake.ready_answers = [http(503, {"reason": "migrating: MySQL wandb-mysql:3306 does not answer"})] * 50
    result = run_main(mod.main, dict(ARGS, ready_timeout=20))
    assert result["failed"] is True and result["failed_step"] == "ready"
    assert "within 20 s" in result["msg"] and "MySQL wandb-mysql:3306 does not answer" in result["msg"]
    assert [s["run"] for s in result["steps"]] == [True] + [False] * 5
    assert all("not run: the ready step failed" in s["msg"] for s in result["steps"][1:])


@pytest.mark.parametrize("faults, step, needle", [
    ({"GET /ready": http(502, b"<html>")}, "ready", "proxy answered 502"),
    ({"GET /ready": ConnectionRefusedError("refused")}, "ready", "connection refused"),
    ({"POST /api/standin/files": http(404, b"not found")}, "presign", "not the testbed's stand-in"),
    ({"POST /api/standin/files": http(503, {"error": "not ready: migrating"}, {"x-standin-version": "1.0.0"})},
     "presign", "not ready: migrating"),
    ({"OPTIONS s3:": http(403, b"")}, "preflight", "MINIO_API_CORS_ALLOW_ORIGIN=" + URL),
    ({"PUT s3:": http(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")}, "put", "SignatureDoesNotMatch"),
    ({"PUT s3:": http(413, b"")}, "put", "client_max_body_size"),
    ({"PUT s3:": http(200, b"", {"access-control-allow-origin": URL, "etag": '"e1"'})}, "put", "does not expose ETag"),
    ({"POST /api/standin/files/f1/complete": http(409, {"error": "the object is 10 bytes"},
                                                  {"x-standin-version": "1.0.0"})}, "confirm", "the object is 10 bytes"),
    ({"GET s3:": http(200, b"truncated", CORS)}, "get", "differs from the upload"),
])
def test_failures_name_the_step_and_cause(run_main, site, faults, step, needle):
    site(**faults)
    result = run_main(mod.main, ARGS)
    assert result["failed"] is True, result
    assert result["failed_step"] == step
    assert needle in result["msg"], result["msg"]
    failed = [s for s in result["steps"] if not s["ok"]]
    assert failed[0]["name"] == step and failed[0]["run"]


def test_websocket_step_uses_the_probe(monkeypatch):
    calls = {}

    def fake_echo(host, port, path, origin=None, context=None, timeout=15, **kwargs):
        calls.update(host=host, port=port, path=path, origin=origin)
        return {"status": 101, "sent": "abc", "received": "abc", "headers": {}}

    monkeypatch.setattr(mod.ws, "echo", fake_echo)
    journey = mod.Journey(URL, None, object(), 5)
    journey.step_websocket("/api/standin/ws")
    assert calls == {"host": "wandb.example.test", "port": 443, "path": "/api/standin/ws", "origin": URL}
    assert journey.steps[0]["ok"] and journey.steps[0]["status"] == 101


@pytest.mark.parametrize("args, needle", [
    (dict(ARGS, url="https://wandb.example.test/app"), "without a path"),
    (dict(ARGS, url="wandb.example.test"), "url: "),
    (dict(ARGS, payload_size=0), "payload_size"),
    (dict(ARGS, ready_interval=0), "ready_interval"),
    (dict(ARGS, ready_path="ready"), "ready_path must start with '/'"),
    (dict(ARGS, ca_bundle="/nonexistent.pem"), "does not exist"),
])
def test_bad_input(run_main, site, args, needle):
    site()
    result = run_main(mod.main, args)
    assert result["failed"] is True and needle in result["msg"], result["msg"]
