#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: signed_url_check
short_description: Prove that an S3-compatible store works for W&B through pre-signed URLs
version_added: "1.0.0"
description:
  - Exercises an S3-compatible object store (MinIO, StorageGRID, ...) the way W&B's browsers and
    SDK clients use it - through SigV4 pre-signed URLs, across origins.
  - Signs pre-signed C(PUT), C(GET), C(HEAD) and C(DELETE) URLs (path-style, C(UNSIGNED-PAYLOAD))
    with a built-in, standard-library SigV4 implementation; botocore is B(not) needed.
  - Sends the browser preflight (C(OPTIONS) with C(Origin) and C(Access-Control-Request-Method)
    C(PUT) and C(GET)) for every origin in O(origins) and checks C(Access-Control-Allow-Origin).
  - PUTs a random payload through the PUT URL, GETs it back and compares SHA-256, HEADs it and
    compares the length; on the real cross-origin C(PUT) and C(GET) it checks that the answer carries
    C(Access-Control-Allow-Origin) and exposes C(ETag) (C(Access-Control-Expose-Headers)), which
    W&B's browser uploads read.
  - Checks that a URL signed with a time in the past is refused (C(403 AccessDenied Request has expired)).
  - Deletes the test object again (O(cleanup)).
  - On failure the module fails with a message that names the likely cause and the fix
    (SignatureDoesNotMatch - Host rewritten by a proxy or wrong secret -, CORS origin not allowed,
    missing C(ETag) exposure, 403 policy, TLS verification, 413 body limit, connection refused, DNS).
  - The check writes one temporary object and deletes it, so it reports C(changed=false).
    With O(cleanup=false) the object stays behind for inspection (still C(changed=false)).
author:
  - onprem.wandb maintainers (@onprem-wandb)
options:
  endpoint:
    description:
      - S3 endpoint exactly as W&B and browsers reach it, C(scheme://host[:port]).
      - Mutually exclusive with O(bucket_url); requires O(bucket), O(access_key) and O(secret_key).
    type: str
  bucket:
    description: Bucket W&B uses.
    type: str
  access_key:
    description: Access key (ID) of W&B's store user; not secret, it appears in messages.
    type: str
  secret_key:
    description: Secret key of W&B's store user.
    type: str
  bucket_url:
    description:
      - The exact C(BUCKET) string given to W&B, C(s3://KEY:SECRET@HOST[:PORT]/BUCKET[?tls=true]),
        credentials percent-encoded (see the P(onprem.wandb.bucket_url#filter) filter).
      - Mutually exclusive with O(endpoint), O(bucket), O(access_key) and O(secret_key).
    type: str
  region:
    description:
      - Region to sign for; must equal the store's region and W&B's C(AWS_REGION).
      - Defaults to C(region=) of O(bucket_url) when it has one, else C(us-east-1).
    type: str
  origins:
    description:
      - Browser origins (C(https://wandb.example.com)) that must be allowed by the store's CORS.
      - Empty skips the CORS checks.
    type: list
    elements: str
    default: []
  validate_certs:
    description: Verify the store's TLS certificate.
    type: bool
    default: true
  ca_bundle:
    description: PEM file with the CA(s) that sign the store's certificate (on the host running the module).
    type: path
  payload_size:
    description: Size in bytes of the random test object (1 B to 1 GiB).
    type: int
    default: 1048576
  key_prefix:
    description: Prefix of the temporary object key.
    type: str
    default: .onprem-wandb-check/
  cleanup:
    description: Delete the temporary object at the end.
    type: bool
    default: true
  expires:
    description: Lifetime in seconds of the pre-signed URLs the check uses.
    type: int
    default: 300
  check_expired:
    description: Check that an expired URL is refused.
    type: bool
    default: true
  timeout:
    description: Timeout in seconds of each HTTP request.
    type: float
    default: 30
notes:
  - Runs on any host with Python 3 standard library; no botocore or boto3.
  - Path-style addressing (C(HOST/BUCKET/KEY)), as used with on-premises stores.
  - "Check mode: signs the URLs and runs the preflight only (no object is written)."
  - Community MinIO has no bucket CORS API; its CORS is global (C(MINIO_API_CORS_ALLOW_ORIGIN)).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: signs URLs and sends the CORS preflight; nothing is written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Check W&B's bucket through the endpoint browsers use
  onprem.wandb.signed_url_check:
    endpoint: https://s3.wandb.example.com
    bucket: wandb
    access_key: "{{ wandb_s3_access_key }}"
    secret_key: "{{ wandb_s3_secret_key }}"
    region: us-east-1
    origins: ["https://wandb.example.com"]
    ca_bundle: /etc/ssl/certs/site-ca.pem
  no_log: true

- name: Check the exact BUCKET string given to W&B, with a 64 MiB object
  onprem.wandb.signed_url_check:
    bucket_url: "{{ wandb_bucket_env }}"
    origins: "{{ wandb_cors_origins }}"
    payload_size: "{{ 64 * 1024 * 1024 }}"
  register: s3_check
  no_log: true

- name: Show the per-step timings
  ansible.builtin.debug:
    var: s3_check.steps
"""

RETURN = r"""
endpoint:
  description: Endpoint the check talked to.
  returned: always
  type: str
  sample: https://s3.wandb.example.com
bucket:
  description: Bucket checked.
  returned: always
  type: str
  sample: wandb
key:
  description: Key of the temporary object.
  returned: always
  type: str
  sample: .onprem-wandb-check/4f1c0e.bin
steps:
  description:
    - One entry per step (C(sign), C(preflight PUT <origin>), C(preflight GET <origin>), C(put),
      C(get), C(head), C(expired), C(delete)), in order.
    - Each has C(ok), C(status) (HTTP status or null), C(latency_ms), C(msg) and, for transfers,
      C(bytes) and C(bytes_per_s).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: put, ok: true, status: 200, latency_ms: 21.4, bytes: 1048576, bytes_per_s: 48999812.0, msg: stored}
failed_step:
  description: Name of the first failing step.
  returned: failure
  type: str
  sample: preflight PUT https://wandb.example.com
"""

import binascii
import datetime
import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.wandb.plugins.module_utils import s3_presign as s3
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_urls

MAX_PAYLOAD = 1024 * 1024 * 1024
DEFAULT_REGION = "us-east-1"


def argument_spec():
    return dict(
        endpoint=dict(type="str"),
        bucket=dict(type="str"),
        access_key=dict(type="str", no_log=False),
        secret_key=dict(type="str", no_log=True),
        bucket_url=dict(type="str", no_log=True),
        region=dict(type="str"),
        origins=dict(type="list", elements="str", default=[]),
        validate_certs=dict(type="bool", default=True),
        ca_bundle=dict(type="path"),
        payload_size=dict(type="int", default=1048576),
        key_prefix=dict(type="str", default=".onprem-wandb-check/", no_log=False),
        cleanup=dict(type="bool", default=True),
        expires=dict(type="int", default=300),
        check_expired=dict(type="bool", default=True),
        timeout=dict(type="float", default=30),
    )


class CheckFailed(Exception):
    def __init__(self, step, msg):
        Exception.__init__(self, msg)
        self.step = step
        self.msg = msg


def resolve_target(params):
    """endpoint, bucket, access_key, secret_key, region from either input form."""
    if params.get("bucket_url"):
        parsed = wandb_urls.parse_bucket_url(params["bucket_url"])
        if parsed["prefix"]:
            raise wandb_urls.WandbUrlError("BUCKET must name only the bucket (got path %r after it)" % parsed["prefix"])
        region = params.get("region") or parsed["region"] or DEFAULT_REGION
        return parsed["endpoint"], parsed["bucket"], parsed["access_key"], parsed["secret_key"], region
    scheme, _host, _port, netloc = wandb_urls.split_endpoint(params["endpoint"])
    return ("%s://%s" % (scheme, netloc), params["bucket"], params["access_key"], params["secret_key"],
            params.get("region") or DEFAULT_REGION)


def validate(params):
    """Messages for option values argument_spec cannot reject."""
    errors = []
    if not 1 <= params["payload_size"] <= MAX_PAYLOAD:
        errors.append("payload_size must be between 1 and %d bytes, got %d" % (MAX_PAYLOAD, params["payload_size"]))
    if not 1 <= params["expires"] <= s3.MAX_EXPIRES:
        errors.append("expires must be between 1 and %d seconds, got %d" % (s3.MAX_EXPIRES, params["expires"]))
    if params["timeout"] <= 0:
        errors.append("timeout must be positive")
    for origin in params["origins"]:
        try:
            if wandb_urls.url_origin(origin) != origin.rstrip("/"):
                errors.append("origin %r must be scheme://host[:port] only, e.g. %s"
                              % (origin, wandb_urls.url_origin(origin)))
        except wandb_urls.WandbUrlError as exc:
            errors.append("origin %r: %s" % (origin, exc))
    if params["ca_bundle"] and not os.path.isfile(params["ca_bundle"]):
        errors.append("ca_bundle %s does not exist on this host" % params["ca_bundle"])
    return errors


def _exposes(headers_value, name):
    return name.lower() in [h.strip().lower() for h in (headers_value or "").split(",")] or \
        (headers_value or "").strip() == "*"


def _allow_origin_ok(value, origin):
    return value is not None and value.strip() in (origin, "*")


class SignedUrlCheck:
    """Runs the steps in order; each appends to ``steps`` and raises CheckFailed on a failure."""

    def __init__(self, endpoint, bucket, access_key, secret_key, region, origins, context, timeout,
                 expires, now=None):
        self.endpoint = endpoint
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.origins = [o.rstrip("/") for o in origins]
        self.context = context
        self.timeout = timeout
        self.expires = expires
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.host = endpoint.split("://", 1)[1]
        self.steps = []
        self.urls = {}
        self.written = False

    # -- plumbing
    def sign(self, method, key, when=None, expires=None, signing_host=None):
        return s3.presign_url(method, self.endpoint, self.bucket, key, self.access_key, self.secret_key,
                              self.region, expires or self.expires, when or self.now(), signing_host)

    def record(self, name, ok, status=None, result=None, msg="", nbytes=None):
        step = {"name": name, "ok": ok, "status": status,
                "latency_ms": result.latency_ms if result is not None else None, "msg": msg}
        if nbytes is not None:
            step["bytes"] = nbytes
            seconds = result.seconds if result is not None else 0
            step["bytes_per_s"] = round(nbytes / seconds, 1) if seconds > 0 else None
        self.steps.append(step)
        return step

    def send(self, name, method, url, headers=None, body=None):
        try:
            return s3.http_request(method, url, headers=headers, body=body, context=self.context,
                                   timeout=self.timeout)
        except (OSError, s3.http.client.HTTPException) as exc:
            msg = "%s: %s" % (name, s3.classify_exception(exc, self.endpoint))
            self.record(name, False, msg=msg)
            raise CheckFailed(name, msg)

    def fail_http(self, name, result, nbytes=None):
        code, message, server_region = s3.s3_error(result.body, ("Code", "Message", "Region"))
        msg = "%s: %s" % (name, s3.classify_response(name, result.status, code, message, self.host, self.region,
                                                     server_region))
        if code == "SignatureDoesNotMatch" and server_region in (None, self.region):
            msg = "%s: %s" % (name, self.diagnose_signature(result.status, code, message))
        self.record(name, False, result.status, result, msg, nbytes)
        raise CheckFailed(name, msg)

    def diagnose_signature(self, status, code, message):
        """Tell a Host rewrite from a wrong secret: re-sign a GET of a missing key for the Host
        values proxies commonly forward; any answer but SignatureDoesNotMatch (NoSuchKey, or
        AccessDenied from a tight policy) means the store sees that Host."""
        detail = " (HTTP %s %s%s)" % (status, code, ": " + message if message else "")
        hostname, _sep, port = self.host.rpartition(":") if self.host.count(":") == 1 else (self.host, "", "")
        candidates = []
        if port:
            candidates.append(hostname)  # nginx `proxy_set_header Host $host` drops the port
        else:
            default = "443" if self.endpoint.startswith("https") else "80"
            candidates.append("%s:%s" % (self.host, default))
        candidates += ["localhost:%s" % port if port else "localhost", "127.0.0.1:%s" % port if port else "127.0.0.1"]
        for candidate in candidates:
            if candidate == self.host:
                continue
            url = s3.presign_url("GET", self.endpoint, self.bucket, ".onprem-wandb-host-probe", self.access_key,
                                 self.secret_key, self.region, 60, self.now(), signing_host=candidate)
            try:
                result = s3.http_request("GET", url, context=self.context, timeout=self.timeout)
            except (OSError, s3.http.client.HTTPException):
                break
            if s3.s3_error(result.body)[0] != "SignatureDoesNotMatch" and result.status < 500:
                return ("SignatureDoesNotMatch%s: the store sees the Host header %r, but clients sign for %r - "
                        "a proxy rewrites Host. Fix: %s." % (detail, candidate, self.host, s3.HOST_FIX))
        return ("SignatureDoesNotMatch%s: the store rejects the signature for Host %r. Most likely the "
                "secret key is wrong (check the secret of access key %r, BUCKET s3://KEY:SECRET@... with "
                "the secret percent-encoded); otherwise a proxy rewrites the Host header to a name this "
                "check could not guess (%s)." % (detail, self.host, self.access_key, s3.HOST_FIX))

    # -- steps
    def step_sign(self, key):
        start = datetime.datetime.now()
        for method in ("PUT", "GET", "HEAD", "DELETE"):
            self.urls[method] = self.sign(method, key)
        elapsed = (datetime.datetime.now() - start).total_seconds()
        self.steps.append({"name": "sign", "ok": True, "status": None, "latency_ms": round(elapsed * 1000, 1),
                           "msg": "signed PUT, GET, HEAD, DELETE for %s/%s/%s (region %s, expires %ss)"
                                  % (self.endpoint, self.bucket, key, self.region, self.expires)})

    def step_preflight(self, origin, method):
        name = "preflight %s %s" % (method, origin)
        headers = {"Origin": origin, "Access-Control-Request-Method": method,
                   "Access-Control-Request-Headers": "content-type"}
        result = self.send(name, "OPTIONS", self.urls[method], headers=headers)
        allow = result.header("access-control-allow-origin")
        methods = result.header("access-control-allow-methods")
        if result.status >= 400 and result.status != 403:
            self.fail_http(name, result)
        if not _allow_origin_ok(allow, origin) or result.status == 403:
            msg = ("%s: CORS origin not allowed - the store answered the preflight from %s with HTTP %s and "
                   "Access-Control-Allow-Origin=%r. Allow the W&B origin: community MinIO has no bucket CORS "
                   "API, set MINIO_API_CORS_ALLOW_ORIGIN=%s (comma-separated list) in MinIO's environment; "
                   "other stores: a bucket CORS rule allowing GET, PUT, HEAD from it with any header and "
                   "ETag exposed." % (name, origin, result.status, allow, origin))
            self.record(name, False, result.status, result, msg)
            raise CheckFailed(name, msg)
        if methods and method not in [m.strip().upper() for m in methods.split(",")] and methods.strip() != "*":
            msg = ("%s: CORS does not allow %s (Access-Control-Allow-Methods=%r): allow GET, PUT and HEAD "
                   "for the W&B origin." % (name, method, methods))
            self.record(name, False, result.status, result, msg)
            raise CheckFailed(name, msg)
        self.record(name, True, result.status, result, "origin allowed")

    def check_cors_answer(self, name, result, nbytes=None):
        """A real cross-origin answer must name the origin and expose ETag to the browser."""
        if not self.origins:
            return ""
        origin = self.origins[0]
        allow = result.header("access-control-allow-origin")
        expose = result.header("access-control-expose-headers")
        if not _allow_origin_ok(allow, origin):
            msg = ("%s: CORS origin not allowed - the %s answer carries Access-Control-Allow-Origin=%r for "
                   "Origin %s, so browsers discard it. Set MINIO_API_CORS_ALLOW_ORIGIN=%s (MinIO) or a bucket "
                   "CORS rule for it." % (name, name.upper(), allow, origin, origin))
            self.record(name, False, result.status, result, msg, nbytes)
            raise CheckFailed(name, msg)
        if not _exposes(expose, "etag"):
            msg = ("%s: ETag is not readable by browsers - Access-Control-Expose-Headers=%r does not list ETag. "
                   "W&B's browser uploads read the ETag: expose it in the store's CORS configuration "
                   "(ExposeHeader ETag)." % (name, expose))
            self.record(name, False, result.status, result, msg, nbytes)
            raise CheckFailed(name, msg)
        return ", CORS ok for %s (ETag exposed)" % origin

    def _origin_header(self):
        return {"Origin": self.origins[0]} if self.origins else {}

    def step_put(self, payload):
        headers = {"Content-Type": "application/octet-stream"}
        headers.update(self._origin_header())
        result = self.send("put", "PUT", self.urls["PUT"], headers=headers, body=payload)
        if result.status != 200:
            self.fail_http("put", result, len(payload))
        self.written = True
        cors = self.check_cors_answer("put", result, len(payload))
        self.record("put", True, result.status, result, "stored, ETag %s%s" % (result.header("etag"), cors),
                    len(payload))

    def step_get(self, digest, size):
        result = self.send("get", "GET", self.urls["GET"], headers=self._origin_header())
        if result.status != 200:
            self.fail_http("get", result, size)
        got = hashlib.sha256(result.body).hexdigest()
        if got != digest:
            msg = ("get: the object read back differs from what was written (%d bytes, sha256 %s, expected %d "
                   "bytes, sha256 %s): a proxy or the store altered or truncated it" % (len(result.body), got, size, digest))
            self.record("get", False, result.status, result, msg, len(result.body))
            raise CheckFailed("get", msg)
        cors = self.check_cors_answer("get", result, size)
        self.record("get", True, result.status, result, "sha256 matches%s" % cors, size)

    def step_head(self, size):
        result = self.send("head", "HEAD", self.urls["HEAD"], headers=self._origin_header())
        if result.status != 200:
            self.fail_http("head", result)
        length = result.header("content-length")
        if length is None or int(length) != size:
            msg = "head: Content-Length is %r, expected %d" % (length, size)
            self.record("head", False, result.status, result, msg)
            raise CheckFailed("head", msg)
        self.record("head", True, result.status, result, "Content-Length %d" % size)

    def step_expired(self, key):
        past = self.now() - datetime.timedelta(hours=1)
        url = self.sign("GET", key, when=past, expires=1)
        result = self.send("expired", "GET", url)
        code, message = s3.s3_error(result.body)
        if result.status == 403 and code == "AccessDenied" and "expired" in (message or "").lower():
            self.record("expired", True, result.status, result, "refused: %s" % message)
            return
        if result.status < 300:
            msg = ("expired: the store accepted a URL that expired an hour ago (HTTP %s): it does not enforce "
                   "X-Amz-Expires, or its clock is far behind this host's - run NTP on both." % result.status)
            self.record("expired", False, result.status, result, msg)
            raise CheckFailed("expired", msg)
        self.fail_http("expired", result)

    def step_delete(self):
        result = self.send("delete", "DELETE", self.urls["DELETE"])
        if result.status not in (200, 204):
            self.fail_http("delete", result)
        self.record("delete", True, result.status, result, "temporary object removed")


def run(module, params):
    endpoint, bucket, access_key, secret_key, region = resolve_target(params)
    module.no_log_values.add(secret_key)  # decoded from bucket_url: mask it like the option itself
    context = s3.ssl_context(params["validate_certs"], params["ca_bundle"]) if endpoint.startswith("https") else None
    check = SignedUrlCheck(endpoint, bucket, access_key, secret_key, region, params["origins"], context,
                           params["timeout"], params["expires"])
    key = "%s%s.bin" % (params["key_prefix"], binascii.hexlify(os.urandom(8)).decode("ascii"))
    result = dict(changed=False, endpoint=endpoint, bucket=bucket, key=key, steps=check.steps)
    try:
        check.step_sign(key)
        for origin in check.origins:
            for method in ("PUT", "GET"):
                check.step_preflight(origin, method)
        if not module.check_mode:
            payload = os.urandom(params["payload_size"])
            digest = hashlib.sha256(payload).hexdigest()
            check.step_put(payload)
            del payload
            check.step_get(digest, params["payload_size"])
            check.step_head(params["payload_size"])
            if params["check_expired"]:
                check.step_expired(key)
    except CheckFailed as exc:
        result["failed_step"] = exc.step
        result["msg"] = exc.msg
    finally:
        if check.written and params["cleanup"]:
            try:
                check.step_delete()
            except CheckFailed as exc:
                if "failed_step" not in result:
                    result["failed_step"] = exc.step
                    result["msg"] = exc.msg
    if "failed_step" in result:
        return False, result
    result["msg"] = "%s/%s works for W&B: %s" % (
        endpoint, bucket, ", ".join(s["name"] for s in check.steps))
    if module.check_mode:
        result["msg"] += " (check mode: sign and preflight only)"
    return True, result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("bucket_url", "endpoint"), ("bucket_url", "bucket"),
                            ("bucket_url", "access_key"), ("bucket_url", "secret_key")],
        required_one_of=[("bucket_url", "endpoint")],
        required_by={"endpoint": ("bucket", "access_key", "secret_key")},
        supports_check_mode=True,
    )
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    try:
        ok, result = run(module, params)
    except (wandb_urls.WandbUrlError, ValueError) as exc:
        option = "bucket_url" if params.get("bucket_url") else "endpoint"
        module.fail_json(msg="%s: %s" % (option, exc))
        return
    if ok:
        module.exit_json(**result)
    module.fail_json(**result)


if __name__ == "__main__":
    main()
