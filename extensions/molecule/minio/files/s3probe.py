#!/usr/bin/env python
"""Probe a MinIO/S3 endpoint the way W&B and browsers use it (Python stdlib only).

Reads a JSON job on stdin, prints a JSON report of what the server answered; the
verifier asserts on the report. SigV4 signing (pre-signed URLs and header auth) is
implemented here so the probe needs nothing but python3 on the testbed host.
"""

import datetime
import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _quote(value):
    return urllib.parse.quote(value, safe="-_.~")


def _sign_key(secret, date, region):
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical(method, path, query, headers, payload_hash):
    cquery = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
    names = sorted(headers)
    cheaders = "".join(f"{n}:{headers[n].strip()}\n" for n in names)
    cpath = "/".join(_quote(seg) for seg in path.split("/"))
    return "\n".join([method, cpath, cquery, cheaders, ";".join(names), payload_hash]), ";".join(names)


def _signature(creds, region, stamp, canonical):
    date = stamp[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    return scope, hmac.new(_sign_key(creds[1], date, region), to_sign.encode(), hashlib.sha256).hexdigest()


def presign(endpoint, region, creds, method, path, expires=600):
    """A pre-signed URL for METHOD on PATH (query-string auth, host the only signed header)."""
    url = urllib.parse.urlsplit(endpoint)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{creds[0]}/{stamp[:8]}/{region}/s3/aws4_request",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    canonical, _ignored = _canonical(method, path, query, {"host": url.netloc}, "UNSIGNED-PAYLOAD")
    _ignored, sig = _signature(creds, region, stamp, canonical)
    query["X-Amz-Signature"] = sig
    return f"{url.scheme}://{url.netloc}{urllib.parse.quote(path)}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"


def http(method, url, body=None, headers=None):
    """(status, headers, body) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def signed(endpoint, region, creds, method, path, query=None, body=b""):
    """A header-signed request (Authorization: AWS4-HMAC-SHA256 ...)."""
    url = urllib.parse.urlsplit(endpoint)
    query = query or {}
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": url.netloc, "x-amz-date": stamp, "x-amz-content-sha256": payload_hash}
    canonical, names = _canonical(method, path, query, headers, payload_hash)
    scope, sig = _signature(creds, region, stamp, canonical)
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={creds[0]}/{scope}, SignedHeaders={names}, Signature={sig}"
    del headers["host"]
    qs = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
    return http(method, f"{url.scheme}://{url.netloc}{urllib.parse.quote(path)}" + (f"?{qs}" if qs else ""),
                body or None, headers)


def _code(body):
    try:
        return ET.fromstring(body).findtext("Code") or ""
    except ET.ParseError:
        return ""


def _lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def put_get(job, report, prefix):
    ep, region, creds, bucket = job["endpoint"], job["region"], (job["access_key"], job["secret_key"]), job["bucket"]
    key = f"probe/{uuid.uuid4().hex}.bin"
    payload = uuid.uuid4().bytes * 4096  # 64 KiB, random
    status, headers, _ignored = http("PUT", presign(ep, region, creds, "PUT", f"/{bucket}/{key}"), payload)
    report[f"{prefix}put_status"] = status
    report[f"{prefix}put_key"] = key
    status, headers, body = http("GET", presign(ep, region, creds, "GET", f"/{bucket}/{key}"))
    report[f"{prefix}get_status"] = status
    report[f"{prefix}get_matches"] = body == payload
    status, headers, _ignored = http("HEAD", presign(ep, region, creds, "HEAD", f"/{bucket}/{key}"))
    report[f"{prefix}head_status"] = status
    report[f"{prefix}head_etag"] = _lower(headers).get("etag", "")
    report[f"{prefix}head_length"] = int(_lower(headers).get("content-length", "-1"))
    report[f"{prefix}md5"] = hashlib.md5(payload).hexdigest()  # noqa: S324 - S3 ETag of a single-part upload


def full(job, report):
    ep, region, bucket = job["endpoint"], job["region"], job["bucket"]
    wandb = (job["access_key"], job["secret_key"])
    root = (job["root_access_key"], job["root_secret_key"])

    report["health_status"] = http("GET", f"{ep}/minio/health/cluster")[0]

    status, _ignored, body = signed(ep, region, wandb, "GET", f"/{bucket}", {"location": ""})
    report["location_status"] = status
    report["location"] = ET.fromstring(body).text or "" if status == 200 else _code(body)

    for name, origin in (("cors_allowed", job["origin_allowed"]), ("cors_other", job["origin_other"])):
        status, headers, _ignored = http("OPTIONS", f"{ep}/{bucket}/probe/preflight.bin", headers={
            "Origin": origin, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type"})
        low = _lower(headers)
        report[f"{name}_status"] = status
        report[f"{name}_allow_origin"] = low.get("access-control-allow-origin", "")
        report[f"{name}_allow_methods"] = low.get("access-control-allow-methods", "")

    put_get(job, report, "")

    # a second bucket W&B must not see or touch
    other = job["other_bucket"]
    report["other_create_status"] = signed(ep, region, root, "PUT", f"/{other}")[0]
    status, _ignored, body = signed(ep, region, wandb, "GET", "/")
    names = [e.text for e in ET.fromstring(body).iter() if e.tag.rsplit("}", 1)[-1] == "Name"] if status == 200 else []
    report["list_buckets_status"] = status
    report["list_buckets_names"] = names
    status, _ignored, body = signed(ep, region, wandb, "GET", f"/{other}", {"list-type": "2"})
    report["other_list_status"], report["other_list_code"] = status, _code(body)
    status, _ignored, body = signed(ep, region, wandb, "PUT", f"/{other}/x.txt", body=b"x")
    report["other_put_status"], report["other_put_code"] = status, _code(body)

    # admin API: the W&B user is refused, root is not (so the refusal means something)
    report["admin_wandb_status"] = signed(ep, region, wandb, "GET", "/minio/admin/v3/info")[0]
    report["admin_root_status"] = signed(ep, region, root, "GET", "/minio/admin/v3/info")[0]


def main():
    job = json.load(sys.stdin)
    report = {}
    if job.get("mode") == "put_get":
        put_get(job, report, "")
    else:
        full(job, report)
    json.dump(report, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
