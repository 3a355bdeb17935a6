#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: app_journey
short_description: Walk a W&B user's journey through the proxy, the app and the object store
version_added: "1.0.0"
description:
  - Runs on a client host (a machine that sees the site as users do) and walks the path a file
    takes through a W&B site, through the TLS proxy with the W&B origin, step by step.
  - C(ready) - waits for the app's readiness URL (O(ready_path)) to answer 200 through the proxy, retrying
    until O(ready_timeout) (the startup probe budget - the app runs database migrations before it is ready).
  - C(presign) - asks the app for a pre-signed C(PUT) URL for a new file; the URL must point at the public
    S3 host (signed for the host browsers use, not an internal one).
  - C(preflight) - sends the browser's CORS preflight for that C(PUT) with the W&B origin.
  - C(put) - uploads a random payload through the pre-signed URL (through the S3 proxy), checks that the
    answer allows the origin and exposes C(ETag).
  - C(confirm) - tells the app the upload is complete; the app reads the object back from the store
    (size, ETag) and records the file's metadata row in its database.
  - C(get) - asks the app for a pre-signed C(GET) URL and downloads the file; its SHA-256 must equal the upload's.
  - C(websocket) - opens a websocket through the proxy (C(Upgrade)), sends a frame and reads the echo.
  - The app API used is the one of the testbed's stand-in for wandb/local (a test fixture,
    C(/api/standin/...)); against a real wandb/local only C(ready) applies (set O(steps)).
  - The journey leaves one file behind (object and row) unless O(cleanup) is set, so that a later task
    can check the row in the database; C(DELETE /api/standin/files/ID) removes it. Like
    P(onprem.wandb.signed_url_check#module), it is a check and reports C(changed=false).
author:
  - onprem.wandb maintainers (@onprem-wandb)
options:
  url:
    description: The W&B URL users open, C(https://HOST[:PORT]) (C(HOST) of the app).
    type: str
    required: true
  origin:
    description: Browser origin sent with every request; defaults to the origin of O(url).
    type: str
  ca_bundle:
    description: PEM file with the CA(s) that sign the proxy's certificates, on the host running the module.
    type: path
  validate_certs:
    description: Verify TLS certificates (W&B does not support self-signed certificates).
    type: bool
    default: true
  ready_path:
    description: Readiness path of the app.
    type: str
    default: /ready
  ready_timeout:
    description:
      - Seconds to wait for O(ready_path) to answer 200; 0 asks once.
      - Use the startup probe budget (period x failure threshold) of the Deployment.
    type: int
    default: 600
  ready_interval:
    description: Seconds between readiness attempts.
    type: int
    default: 5
  payload_size:
    description: Size in bytes of the random file uploaded (1 B to 1 GiB).
    type: int
    default: 1048576
  steps:
    description: Steps to run, in journey order; the others are not run.
    type: list
    elements: str
    choices: [ready, presign, preflight, put, confirm, get, websocket]
    default: [ready, presign, preflight, put, confirm, get, websocket]
  websocket_path:
    description: Path of the app's websocket echo.
    type: str
    default: /api/standin/ws
  cleanup:
    description: Delete the file (object and metadata row) through the app at the end.
    type: bool
    default: false
  timeout:
    description: Timeout in seconds of each request.
    type: float
    default: 30
notes:
  - Standard library only (no requests, no websocket package).
  - "Check mode: only the read-only steps run (C(ready), C(websocket)); nothing is uploaded."
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: runs C(ready) and C(websocket) only.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Walk the journey from a user's machine, waiting up to 15 minutes for migrations
  onprem.wandb.app_journey:
    url: https://wandb.example.com
    ca_bundle: /etc/ssl/certs/ca-certificates.crt
    ready_timeout: 900
  register: journey

- name: Show each step
  ansible.builtin.debug:
    msg: "{{ journey.steps | map(attribute='msg') | list }}"

- name: Only wait for a real wandb/local to be ready
  onprem.wandb.app_journey:
    url: https://wandb.example.com
    steps: [ready]
"""

RETURN = r"""
steps:
  description:
    - One entry per step run, in order, each with C(name), C(ok), C(status) (HTTP status or null),
      C(seconds) and C(msg) (what happened, or the cause and the fix).
    - Steps after a failed one are returned with C(ok=false), C(run=false) and a message naming the failed step.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: ready, ok: true, status: 200, seconds: 12.1, run: true, msg: "ready after 3 attempts (12.1 s), app 1.0.0"}
failed_step:
  description: Name of the first failing step.
  returned: failure
  type: str
  sample: put
file:
  description: The file the journey created (C(id), C(key), C(size), C(sha256), C(etag)); empty before C(presign).
  returned: always
  type: dict
  sample: {id: 3f2a..., key: standin/3f2a.../journey.bin, size: 1048576, sha256: 9b1c..., etag: 5d41...}
app_version:
  description: Version the app reported (C(X-Standin-Version) of the stand-in), or null.
  returned: always
  type: str
  sample: 1.0.0
"""

import hashlib
import json
import os
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.wandb.plugins.module_utils import s3_presign as s3
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_urls
from ansible_collections.onprem.wandb.plugins.module_utils import websocket_probe as ws

STEPS = ["ready", "presign", "preflight", "put", "confirm", "get", "websocket"]
READ_ONLY = ("ready", "websocket")
MAX_PAYLOAD = 1024 * 1024 * 1024
PROXY_FIX = ("the proxy cannot reach the app: check nginx_upstreams (the Service's NodePort or the "
             "Ingress), the Service's selector and that the pods are Ready (kubectl get pods)")


def argument_spec():
    return dict(
        url=dict(type="str", required=True),
        origin=dict(type="str"),
        ca_bundle=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        ready_path=dict(type="str", default="/ready"),
        ready_timeout=dict(type="int", default=600),
        ready_interval=dict(type="int", default=5),
        payload_size=dict(type="int", default=1048576),
        steps=dict(type="list", elements="str", choices=STEPS, default=list(STEPS)),
        websocket_path=dict(type="str", default="/api/standin/ws"),
        cleanup=dict(type="bool", default=False),
        timeout=dict(type="float", default=30),
    )


def validate(params):
    errors = []
    try:
        if wandb_urls.url_origin(params["url"]) != params["url"].rstrip("/"):
            errors.append("url must be scheme://host[:port] without a path, e.g. %s" % wandb_urls.url_origin(params["url"]))
    except wandb_urls.WandbUrlError as exc:
        errors.append("url: %s" % exc)
    if params["origin"]:
        try:
            wandb_urls.url_origin(params["origin"])
        except wandb_urls.WandbUrlError as exc:
            errors.append("origin: %s" % exc)
    if not 1 <= params["payload_size"] <= MAX_PAYLOAD:
        errors.append("payload_size must be between 1 and %d bytes, got %d" % (MAX_PAYLOAD, params["payload_size"]))
    if params["ready_timeout"] < 0 or params["ready_interval"] < 1:
        errors.append("ready_timeout must be >= 0 and ready_interval >= 1 seconds")
    if params["timeout"] <= 0:
        errors.append("timeout must be positive")
    for name in ("ready_path", "websocket_path"):
        if not params[name].startswith("/"):
            errors.append("%s must start with '/', got %r" % (name, params[name]))
    if params["ca_bundle"] and not os.path.isfile(params["ca_bundle"]):
        errors.append("ca_bundle %s does not exist on this host" % params["ca_bundle"])
    return errors


class StepFailed(Exception):
    def __init__(self, step, msg, status=None):
        Exception.__init__(self, msg)
        self.step = step
        self.msg = msg
        self.status = status


def _json(result):
    try:
        return json.loads(result.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None


def _app_error(result):
    body = _json(result)
    if isinstance(body, dict):
        return body.get("reason") or body.get("error") or ""
    return (result.body or b"")[:200].decode("utf-8", "replace").strip()


class Journey:
    """Runs the steps; each appends to ``steps`` or raises StepFailed."""

    def __init__(self, url, origin, context, timeout, sleep=time.sleep, clock=time.monotonic):
        self.url = url.rstrip("/")
        self.origin = (origin or wandb_urls.url_origin(url)).rstrip("/")
        self.context = context
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.steps = []
        self.file = {}
        self.payload = None
        self.put_url = None
        self.app_version = None

    def record(self, name, ok, msg, status=None, seconds=None):
        self.steps.append({"name": name, "ok": ok, "run": True, "status": status,
                           "seconds": round(seconds, 3) if seconds is not None else None, "msg": msg})

    def send(self, step, method, url, headers=None, body=None, what=None):
        send = {"Origin": self.origin}
        send.update(headers or {})
        try:
            result = s3.http_request(method, url, headers=send, body=body, context=self.context, timeout=self.timeout)
        except (OSError, s3.http.client.HTTPException) as exc:
            raise StepFailed(step, "%s: %s" % (what or step, s3.classify_exception(exc, url)))
        version = result.header("x-standin-version")
        if version:
            self.app_version = version
        return result

    def app(self, step, method, path, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        return self.send(step, method, self.url + path, headers=headers, body=data, what="the app (%s %s)" % (method, path))

    def app_failed(self, step, result, doing):
        status = result.status
        if status in (502, 503, 504) and not _json(result):
            raise StepFailed(step, "%s: the proxy answered %d - %s" % (doing, status, PROXY_FIX), status)
        if status == 404 and not result.header("x-standin-version"):
            raise StepFailed(step, "%s: HTTP 404 without the stand-in's header - the app behind the proxy is not the "
                             "testbed's stand-in for wandb/local (the journey's file API is the stand-in's)" % doing, status)
        raise StepFailed(step, "%s: the app answered HTTP %d: %s" % (doing, status, _app_error(result)), status)

    # -- steps
    def step_ready(self, path, budget, interval):
        start = self.clock()
        attempts = 0
        last = ""
        status = None
        while True:
            attempts += 1
            try:
                result = s3.http_request("GET", self.url + path, headers={"Origin": self.origin},
                                         context=self.context, timeout=self.timeout)
                status = result.status
                if result.header("x-standin-version"):
                    self.app_version = result.header("x-standin-version")
                if status == 200:
                    elapsed = self.clock() - start
                    self.record("ready", True, "%s%s answered 200 after %d attempt(s) in %.1f s%s" % (
                        self.url, path, attempts, elapsed,
                        ", app version %s" % self.app_version if self.app_version else ""), status, elapsed)
                    return
                if status in (502, 504) or (status == 503 and not _json(result)):
                    last = "the proxy answered %d (%s)" % (status, PROXY_FIX)
                else:
                    reason = _app_error(result)
                    last = "the app answered %d%s" % (status, ": " + reason if reason else "")
            except (OSError, s3.http.client.HTTPException) as exc:
                status = None
                last = s3.classify_exception(exc, self.url)
            elapsed = self.clock() - start
            if elapsed + interval > budget:
                raise StepFailed("ready", "%s%s did not answer 200 within %d s (%d attempt(s)); last: %s. If the app "
                                 "is still migrating, raise the startup budget (kubernetes_startup_failure_threshold) and "
                                 "verify_app_ready_timeout; otherwise see kubectl logs of the pod" % (
                                     self.url, path, budget, attempts, last), status)
            self.sleep(interval)

    def step_presign(self, payload_size):
        self.payload = os.urandom(payload_size)
        digest = hashlib.sha256(self.payload).hexdigest()
        start = self.clock()
        result = self.app("presign", "POST", "/api/standin/files", {"name": "journey.bin", "sha256": digest})
        if result.status != 201:
            self.app_failed("presign", result, "asking the app for a pre-signed PUT")
        body = _json(result) or {}
        self.put_url = body.get("put_url")
        self.file.update(id=body.get("id"), key=body.get("key"), size=payload_size, sha256=digest)
        if not self.put_url or not self.file["id"]:
            raise StepFailed("presign", "the app's answer has no put_url/id: %r" % body, result.status)
        host = urlsplit(self.put_url).netloc
        self.record("presign", True, "the app signed a PUT for %s (file %s)" % (
            self.put_url.split("?", 1)[0], self.file["id"]), result.status, self.clock() - start)
        return host

    def step_preflight(self):
        headers = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
        result = self.send("preflight", "OPTIONS", self.put_url, headers=headers, what="CORS preflight to the S3 proxy")
        allow = result.header("access-control-allow-origin")
        if result.status >= 400 or (allow or "").strip() not in (self.origin, "*"):
            raise StepFailed("preflight", (
                "the S3 endpoint answered the preflight from %s with HTTP %d and Access-Control-Allow-Origin=%r: allow "
                "the W&B origin (community MinIO: MINIO_API_CORS_ALLOW_ORIGIN=%s; the nginx S3 proxy must pass OPTIONS "
                "through)" % (self.origin, result.status, allow, self.origin)), result.status)
        self.record("preflight", True, "OPTIONS %s allowed for %s" % (self.put_url.split("?", 1)[0], self.origin),
                    result.status, result.seconds)

    def step_put(self):
        result = self.send("put", "PUT", self.put_url, headers={"Content-Type": "application/octet-stream"},
                           body=self.payload, what="PUT through the S3 proxy")
        host = urlsplit(self.put_url).netloc
        if result.status != 200:
            code, message, region = s3.s3_error(result.body, ("Code", "Message", "Region"))
            raise StepFailed("put", "PUT of %d bytes to %s: %s" % (
                len(self.payload), host, s3.classify_response("put", result.status, code, message, host, None, region)),
                result.status)
        etag = (result.header("etag") or "").strip('"')
        allow = result.header("access-control-allow-origin")
        expose = [h.strip().lower() for h in (result.header("access-control-expose-headers") or "").split(",")]
        if (allow or "").strip() not in (self.origin, "*"):
            raise StepFailed("put", "the PUT answer allows origin %r, not %s: browsers discard it (CORS)" % (allow, self.origin),
                             result.status)
        if "etag" not in expose and "*" not in expose:
            raise StepFailed("put", "the PUT answer does not expose ETag (Access-Control-Expose-Headers=%r): W&B's "
                             "browser uploads read it; expose ETag in the store's CORS" % result.header(
                                 "access-control-expose-headers"), result.status)
        self.file["etag"] = etag
        seconds = result.seconds
        rate = " (%.1f MB/s)" % (len(self.payload) / seconds / 1e6) if seconds > 0 else ""
        self.record("put", True, "%d bytes stored through %s, ETag %s%s, CORS ok" % (
            len(self.payload), host, etag, rate), result.status, seconds)

    def step_confirm(self):
        start = self.clock()
        result = self.app("confirm", "POST", "/api/standin/files/%s/complete" % self.file["id"], {"size": self.file["size"]})
        if result.status != 200:
            self.app_failed("confirm", result, "the app confirming the upload")
        row = _json(result) or {}
        if row.get("state") != "complete" or row.get("size") != self.file["size"] or row.get("etag") != self.file.get("etag"):
            raise StepFailed("confirm", "the app recorded state=%r size=%r etag=%r, the client uploaded %d bytes with ETag %s" % (
                row.get("state"), row.get("size"), row.get("etag"), self.file["size"], self.file.get("etag")), result.status)
        self.record("confirm", True, "the app found the object (%d bytes, ETag %s) and recorded file %s" % (
            row["size"], row["etag"], self.file["id"]), result.status, self.clock() - start)

    def step_get(self):
        start = self.clock()
        result = self.app("get", "GET", "/api/standin/files/%s" % self.file["id"])
        if result.status != 200:
            self.app_failed("get", result, "asking the app for a pre-signed GET")
        get_url = (_json(result) or {}).get("get_url")
        if not get_url:
            raise StepFailed("get", "the app's answer has no get_url (file not complete?)", result.status)
        result = self.send("get", "GET", get_url, what="GET through the S3 proxy")
        host = urlsplit(get_url).netloc
        if result.status != 200:
            code, message, region = s3.s3_error(result.body, ("Code", "Message", "Region"))
            raise StepFailed("get", "GET from %s: %s" % (
                host, s3.classify_response("get", result.status, code, message, host, None, region)), result.status)
        digest = hashlib.sha256(result.body).hexdigest()
        if digest != self.file["sha256"]:
            raise StepFailed("get", "the file read back (%d bytes, sha256 %s) differs from the upload (%d bytes, sha256 %s): "
                             "a proxy or the store altered or truncated it" % (
                                 len(result.body), digest[:16], self.file["size"], self.file["sha256"][:16]), result.status)
        self.record("get", True, "pre-signed GET through %s returned the same %d bytes (sha256 %s...)" % (
            host, len(result.body), digest[:16]), result.status, self.clock() - start)

    def step_websocket(self, path, connect=None):
        parts = urlsplit(self.url)
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        start = self.clock()
        kwargs = {"connect": connect} if connect else {}
        try:
            answer = ws.echo(parts.hostname, port, path, origin=self.origin, context=self.context if tls else None,
                             timeout=self.timeout, **kwargs)
        except ws.WebsocketError as exc:
            raise StepFailed("websocket", "websocket %s://%s%s: %s" % ("wss" if tls else "ws", parts.netloc, path, exc))
        except OSError as exc:
            raise StepFailed("websocket", "websocket: %s" % s3.classify_exception(exc, self.url))
        self.record("websocket", True, "upgraded through the proxy (101) and echoed %d bytes" % len(answer["sent"]),
                    answer["status"], self.clock() - start)

    def delete(self):
        result = self.app("cleanup", "DELETE", "/api/standin/files/%s" % self.file["id"])
        if result.status != 200:
            self.app_failed("cleanup", result, "deleting the journey's file")


def run(params, check_mode, context, journey=None):
    journey = journey or Journey(params["url"], params["origin"], context, params["timeout"])
    wanted = [s for s in STEPS if s in params["steps"] and (not check_mode or s in READ_ONLY)]
    result = {"changed": False, "steps": journey.steps, "file": journey.file}
    failed = None
    for name in wanted:
        if failed:
            journey.steps.append({"name": name, "ok": False, "run": False, "status": None, "seconds": None,
                                  "msg": "not run: the %s step failed" % failed})
            continue
        try:
            if name == "ready":
                journey.step_ready(params["ready_path"], params["ready_timeout"], params["ready_interval"])
            elif name == "presign":
                journey.step_presign(params["payload_size"])
            elif name == "websocket":
                journey.step_websocket(params["websocket_path"])
            else:
                if not journey.put_url:
                    raise StepFailed(name, "needs the presign step")
                getattr(journey, "step_" + name)()
        except StepFailed as exc:
            failed = exc.step
            journey.steps.append({"name": name, "ok": False, "run": True, "status": exc.status, "seconds": None,
                                  "msg": exc.msg})
    if params["cleanup"] and journey.file.get("id"):
        try:
            journey.delete()
        except StepFailed as exc:
            journey.steps.append({"name": "cleanup", "ok": False, "run": True, "status": exc.status, "seconds": None,
                                  "msg": exc.msg})
            failed = failed or "cleanup"
    journey.payload = None
    result["app_version"] = journey.app_version
    if failed:
        result["failed_step"] = failed
        result["msg"] = next(s["msg"] for s in journey.steps if not s["ok"])
        return False, result
    result["msg"] = "journey ok: %s%s" % (", ".join(wanted), " (check mode: read-only steps)" if check_mode else "")
    return True, result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    context = s3.ssl_context(params["validate_certs"], params["ca_bundle"]) if params["url"].startswith("https") else None
    ok, result = run(params, module.check_mode, context)
    if ok:
        module.exit_json(**result)
    module.fail_json(**result)


if __name__ == "__main__":
    main()
