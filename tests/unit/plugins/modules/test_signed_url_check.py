from __future__ import annotations

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import s3_presign as s3
from ansible_collections.onprem.wandb.plugins.modules import signed_url_check as mod

ORIGIN = "https://wandb.example.test"
ARGS = {"endpoint": "http://s3.example.test:9000", "bucket": "wandb", "access_key": "AKID",
        "secret_key": "s3cr3t-value", "origins": [ORIGIN], "payload_size": 1024}
CORS = {"access-control-allow-origin": ORIGIN, "access-control-expose-headers": "Date, ETag, x-amz-request-id"}


class FakeStore:
    """Answers like MinIO with global CORS; `faults` change single answers."""

    def __init__(self, **faults):
        self.faults = faults
        self.objects = {}
        self.calls = []

    def __call__(self, method, url, headers=None, body=None, context=None, timeout=30, host_header=None):
        self.calls.append((method, url.split("?")[0]))
        headers = headers or {}
        fault = self.faults.get(method)
        if isinstance(fault, Exception):
            raise fault
        if fault is not None:
            return fault
        if method == "OPTIONS":
            return s3.HttpResult(204, "No Content", {"access-control-allow-origin": headers["Origin"],
                                                     "access-control-allow-methods": "GET, PUT, HEAD"}, b"", 0.001)
        cors = CORS if "Origin" in headers else {}
        path = url.split("?")[0]
        if "X-Amz-Date=2" in url and "X-Amz-Expires=1&" in url:
            return s3.HttpResult(403, "Forbidden", {}, b"<Error><Code>AccessDenied</Code><Message>Request has "
                                 b"expired</Message></Error>", 0.001)
        if method == "PUT":
            self.objects[path] = body
            return s3.HttpResult(200, "OK", dict(cors, etag='"abc"'), b"", 0.01)
        if method == "GET":
            return s3.HttpResult(200, "OK", dict(cors), self.objects[path], 0.01)
        if method == "HEAD":
            return s3.HttpResult(200, "OK", dict(cors, **{"content-length": str(len(self.objects[path]))}), b"", 0.001)
        if method == "DELETE":
            self.objects.pop(path, None)
            return s3.HttpResult(204, "No Content", {}, b"", 0.001)
        raise AssertionError(method)


@pytest.fixture()
def store(monkeypatch):
    def make(**faults):
        fake = FakeStore(**faults)
        monkeypatch.setattr(s3, "http_request", fake)
        return fake
    return make


def test_happy_path(run_main, store):
    fake = store()
    result = run_main(mod.main, ARGS)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert [s["name"] for s in result["steps"]] == [
        "sign", "preflight PUT " + ORIGIN, "preflight GET " + ORIGIN, "put", "get", "head", "expired", "delete"]
    assert fake.objects == {}
    put = result["steps"][3]
    assert put["bytes"] == 1024 and put["bytes_per_s"] == pytest.approx(102400.0)


def test_check_mode_writes_nothing(run_main, store):
    fake = store()
    result = run_main(mod.main, ARGS, check_mode=True)
    assert not result.get("failed"), result
    assert {call[0] for call in fake.calls} == {"OPTIONS"}
    assert "check mode" in result["msg"]


def test_bucket_url_form_and_secret_masked(run_main, store):
    store()
    args = {"bucket_url": "s3://AKID:s%2Fecret%40value@s3.example.test:9000/wandb?region=eu-west-1",
            "origins": [], "payload_size": 10}
    result = run_main(mod.main, args)
    assert not result.get("failed"), result
    assert result["endpoint"] == "http://s3.example.test:9000" and result["bucket"] == "wandb"
    assert "region eu-west-1" in result["steps"][0]["msg"]


@pytest.mark.parametrize("args, match", [
    (dict(ARGS, payload_size=0), "payload_size must be between 1"),
    (dict(ARGS, expires=700000), "expires must be between 1 and 604800"),
    (dict(ARGS, origins=["https://wandb.example.test/path"]), "must be scheme://host\\[:port\\] only"),
    (dict(ARGS, origins=["wandb.example.test"]), "origin 'wandb.example.test'"),
    (dict(ARGS, ca_bundle="/nonexistent/ca.pem"), "ca_bundle /nonexistent/ca.pem does not exist"),
    (dict(ARGS, endpoint="s3.example.test:9000"), "endpoint: endpoint must look like"),
    ({"bucket_url": "s3://k:s@h/wandb/prefix"}, "bucket_url: BUCKET must name only the bucket"),
    ({"bucket_url": "https://k:s@h/wandb"}, "bucket_url: BUCKET must start with s3://"),
    (dict(ARGS, bucket_url="s3://k:s@h/b"), "mutually exclusive"),
    ({"endpoint": "http://h"}, "missing parameter"),
    ({}, "one of the following is required"),
])
def test_bad_input(run_main, store, args, match):
    import re

    store()
    result = run_main(mod.main, args)
    assert result["failed"] is True
    assert re.search(match, result["msg"]), result["msg"]


def http(status, body=b"", headers=None):
    return s3.HttpResult(status, "", headers or {}, body, 0.001)


@pytest.mark.parametrize("faults, step, needle", [
    ({"OPTIONS": http(204)}, "preflight PUT " + ORIGIN, "MINIO_API_CORS_ALLOW_ORIGIN=" + ORIGIN),
    ({"OPTIONS": http(403, b"<Error><Code>AccessForbidden</Code></Error>")}, "preflight PUT " + ORIGIN,
     "CORS origin not allowed"),
    ({"OPTIONS": http(204, headers={"access-control-allow-origin": ORIGIN, "access-control-allow-methods": "GET"})},
     "preflight PUT " + ORIGIN, "CORS does not allow PUT"),
    ({"PUT": http(413, b"<html>413</html>")}, "put", "proxy body limit"),
    ({"PUT": http(200, headers={"access-control-allow-origin": ORIGIN, "etag": '"x"'})}, "put",
     "ETag is not readable"),
    ({"PUT": http(403, b"<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>")}, "put",
     "MinIO policy"),
    ({"PUT": ConnectionRefusedError(111, "refused")}, "put", "connection refused by s3.example.test:9000"),
    ({"GET": http(200, b"other bytes", CORS)}, "get", "differs from what was written"),
    ({"HEAD": http(200, headers={"content-length": "3"})}, "head", "Content-Length is '3', expected 1024"),
])
def test_failures_name_cause_and_fix(run_main, store, faults, step, needle):
    fake = store(**faults)
    result = run_main(mod.main, ARGS)
    assert result["failed"] is True
    assert result["failed_step"] == step
    assert needle in result["msg"]
    failing = [s for s in result["steps"] if not s["ok"]]
    assert failing and failing[0]["name"] == step
    if any(call[0] == "PUT" for call in fake.calls) and step not in ("put",):
        assert result["steps"][-1]["name"] == "delete"  # cleanup ran although a later step failed


def test_expired_url_accepted_is_a_failure(run_main, store, monkeypatch):
    fake = store()
    original = fake.__call__

    def accepting(method, url, **kwargs):
        if "X-Amz-Expires=1&" in url:
            return http(200, b"data")
        return original(method, url, **kwargs)

    monkeypatch.setattr(s3, "http_request", accepting)
    result = run_main(mod.main, ARGS)
    assert result["failed_step"] == "expired"
    assert "accepted a URL that expired an hour ago" in result["msg"]


def test_signature_mismatch_diagnoses_host_rewrite(run_main, monkeypatch):
    """The store validates signatures for Host 's3.example.test' (port dropped by a proxy)."""
    seen_host = "s3.example.test"

    def store(method, url, headers=None, body=None, **kwargs):
        import urllib.parse

        from ansible_collections.onprem.wandb.plugins.module_utils.s3_presign import presign_components
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        when = s3.datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expected = presign_components(method, seen_host, urllib.parse.unquote(parts.path), "AKID", "s3cr3t-value",
                                      "us-east-1", int(query["X-Amz-Expires"]), when)[3]
        if expected != query["X-Amz-Signature"]:
            return http(403, b"<Error><Code>SignatureDoesNotMatch</Code><Region>us-east-1</Region></Error>")
        return http(403, b"<Error><Code>AccessDenied</Code></Error>")  # a tight policy still proves the Host

    monkeypatch.setattr(s3, "http_request", store)
    result = run_main(mod.main, dict(ARGS, origins=[]))
    assert result["failed_step"] == "put"
    assert "the store sees the Host header 's3.example.test', but clients sign for 's3.example.test:9000'" \
        in result["msg"]


def test_signature_mismatch_without_host_candidate_blames_secret(run_main, store):
    store(PUT=http(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"),
          GET=http(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"))
    result = run_main(mod.main, dict(ARGS, origins=[]))
    assert "secret key is wrong" in result["msg"] and "access key 'AKID'" in result["msg"]
