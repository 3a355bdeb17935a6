# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""AWS Signature Version 4 query-string signing (pre-signed URLs), a small HTTP client
and the error classification that ``signed_url_check`` reports.

Stdlib only (hmac, hashlib, http.client, ssl) so the check runs on hosts without
botocore. The signing follows AWS's published "Authenticating Requests: Using Query
Parameters (AWS Signature Version 4)" algorithm for S3 with ``UNSIGNED-PAYLOAD`` and
path-style addressing (``https://HOST/BUCKET/KEY``), which is what S3-compatible
on-premises stores (MinIO) and W&B's clients use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import hmac
import http.client
import socket
import ssl
import time
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 604800  # SigV4 pre-signed URLs live at most 7 days


def _uri_encode(value, keep_slash=False):
    """RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay literal."""
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, datestamp, region, service="s3"):
    """The derived SigV4 signing key: HMAC chain over date, region, service, aws4_request."""
    k_date = _hmac(("AWS4" + secret_key).encode("utf-8"), datestamp)
    k_region = hmac.new(k_date, region.encode("utf-8"), hashlib.sha256).digest()
    k_service = hmac.new(k_region, service.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(k_service, b"aws4_request", hashlib.sha256).digest()


def canonical_query(params):
    """Sorted, encoded ``k=v&...`` string (sorting happens on the encoded names)."""
    pairs = sorted((_uri_encode(str(k)), _uri_encode(str(v))) for k, v in params.items())
    return "&".join("%s=%s" % kv for kv in pairs)


def presign_components(method, host, path, access_key, secret_key, region, expires, when,
                       extra_query=None, service="s3"):
    """Return (query_string, canonical_request, string_to_sign, signature).

    ``host`` is exactly the ``Host`` header value clients will send (port included when it
    is not the scheme's default); ``path`` is the unencoded absolute path (``/bucket/key``).
    ``when`` is a timezone-aware or naive-UTC ``datetime``."""
    if not 1 <= int(expires) <= MAX_EXPIRES:
        raise ValueError("expires must be between 1 and %d seconds, got %r" % (MAX_EXPIRES, expires))
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    datestamp = when.strftime("%Y%m%d")
    scope = "%s/%s/%s/aws4_request" % (datestamp, region, service)
    params = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": "%s/%s" % (access_key, scope),
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(int(expires)),
        "X-Amz-SignedHeaders": "host",
    }
    params.update(extra_query or {})
    query = canonical_query(params)
    canonical_request = "\n".join([
        method.upper(),
        _uri_encode(path, keep_slash=True),
        query,
        "host:%s\n" % host.strip(),
        "host",
        UNSIGNED_PAYLOAD,
    ])
    string_to_sign = "\n".join([
        ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    signature = hmac.new(signing_key(secret_key, datestamp, region, service),
                         string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return query, canonical_request, string_to_sign, signature


def presign_url(method, endpoint, bucket, key, access_key, secret_key, region="us-east-1",
                expires=300, when=None, signing_host=None):
    """A path-style pre-signed URL ``endpoint/bucket/key?X-Amz-...`` for ``method``.

    ``signing_host`` overrides the host that goes into the signature (diagnostics only)."""
    parts = urlsplit(endpoint)
    host = signing_host or parts.netloc
    path = "/%s/%s" % (bucket, key) if key else "/%s" % bucket
    when = when or datetime.datetime.now(datetime.timezone.utc)
    query, _cr, _sts, signature = presign_components(
        method, host, path, access_key, secret_key, region, expires, when)
    return "%s://%s%s?%s&X-Amz-Signature=%s" % (
        parts.scheme, parts.netloc, _uri_encode(path, keep_slash=True), query, signature)


def ssl_context(validate_certs=True, ca_bundle=None):
    """Client TLS context: system trust store, or ``ca_bundle``, or no verification."""
    if not validate_certs:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


class HttpResult:
    """One HTTP exchange: status, lower-cased headers, body, wall time."""

    def __init__(self, status, reason, headers, body, seconds):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.seconds = seconds

    @property
    def latency_ms(self):
        return round(self.seconds * 1000.0, 1)

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)


def http_request(method, url, headers=None, body=None, context=None, timeout=30, host_header=None):
    """Send one request with http.client (no redirects, no proxies from the environment).

    Raises OSError subclasses (ssl.SSLError, ConnectionRefusedError, socket.gaierror,
    socket.timeout) for transport failures; HTTP error statuses are returned."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    send_headers = {"Host": host_header or parts.netloc, "User-Agent": "onprem.wandb-signed_url_check"}
    send_headers.update(headers or {})
    if body is not None:
        send_headers["Content-Length"] = str(len(body))
    start = time.monotonic()
    try:
        conn.request(method, target, body=body, headers=send_headers)
        resp = conn.getresponse()
        data = resp.read() if method != "HEAD" else b""
        seconds = time.monotonic() - start
        hdrs = {}
        for name, value in resp.getheaders():
            key = name.lower()
            hdrs[key] = "%s, %s" % (hdrs[key], value) if key in hdrs else value
        return HttpResult(resp.status, resp.reason, hdrs, data, seconds)
    finally:
        conn.close()


def s3_error(body, fields=("Code", "Message")):
    """Values of ``fields`` (default Code, Message) from an S3 XML error body; None when absent."""
    if not body:
        return tuple(None for _f in fields)
    try:
        text = body[:8192].decode("utf-8", "replace")
    except AttributeError:
        text = str(body)

    def tag(name):
        start = text.find("<%s>" % name)
        end = text.find("</%s>" % name)
        if start == -1 or end == -1:
            return None
        return text[start + len(name) + 2:end].strip()

    return tuple(tag(f) for f in fields)


# --- classification -------------------------------------------------------------------

HOST_FIX = ("sign with the endpoint exactly as W&B and browsers reach it, and make every proxy "
            "in between pass the Host header unchanged (nginx: proxy_set_header Host $http_host; "
            "note that $host drops the port)")


def classify_exception(exc, endpoint):
    """Operator-facing cause and fix for a transport failure."""
    parts = urlsplit(endpoint)
    where = "%s:%s" % (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    text = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("TLS verification failed for %s (%s): the certificate is self-signed or signed by a CA "
                "this host does not trust, or its name does not match. Pass ca_bundle=<PEM of your CA> "
                "(or install the CA in the system trust store); W&B does not support self-signed "
                "certificates, browsers and SDK clients must trust it too." % (where, text))
    if isinstance(exc, ssl.SSLError):
        return ("TLS handshake with %s failed (%s): is the endpoint really https (BUCKET ?tls=true) and "
                "is the port the TLS port?" % (where, text))
    if isinstance(exc, ConnectionRefusedError):
        return ("connection refused by %s: nothing listens there. Check the endpoint host and port "
                "and that the object store (or its proxy) is running and reachable from here." % where)
    if isinstance(exc, socket.gaierror):
        return ("DNS lookup of %s failed (%s): make the name resolvable from this host (DNS or "
                "/etc/hosts) or use an address W&B and browsers can resolve." % (parts.hostname, text))
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ("no answer from %s within the timeout: check firewalls between this host and the "
                "endpoint, or raise timeout for slow links." % where)
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return ("%s closed the connection (%s): a proxy body limit or a plain-HTTP/TLS mismatch "
                "(BUCKET ?tls=true vs the port) are the usual causes." % (where, text))
    return "request to %s failed: %s" % (where, text)


def classify_response(step, status, code, message, host, region, server_region=None):
    """Operator-facing cause and fix for an unexpected HTTP answer of ``step``.

    ``server_region`` is the ``<Region>`` of the store's error body when it sent one."""
    code = code or ""
    message = message or ""
    detail = " (HTTP %s%s%s)" % (status, " " + code if code else "", ": " + message if message else "")
    if status == 413 or code == "EntityTooLarge":
        return ("the request body was refused as too large%s: a proxy body limit in front of the store "
                "(nginx: client_max_body_size 0; ingress: proxy-body-size \"0\"). W&B uploads large "
                "files through pre-signed PUT URLs." % detail)
    if server_region and region and server_region != region:
        return ("region mismatch%s: the URL was signed for region %r but the store's region is %r; sign for "
                "%r and set W&B's AWS_REGION to it (or change MINIO_SITE_REGION)."
                % (detail, region, server_region, server_region))
    if code == "SignatureDoesNotMatch":
        return ("SignatureDoesNotMatch%s: the server computed a different signature. Either the secret key "
                "is wrong, or the Host the server sees differs from %r, which the URL was signed for "
                "(%s)." % (detail, host, HOST_FIX))
    if code == "InvalidAccessKeyId":
        return ("the access key is unknown to the store%s: create the W&B user in MinIO or fix the "
                "access key (BUCKET s3://KEY:SECRET@...)." % detail)
    if code in ("RequestTimeTooSkewed",) or "not valid yet" in message.lower() or (
            code == "AccessDenied" and "expired" in message.lower() and step != "expired"):
        return ("the clocks of this host and the store disagree%s: pre-signed URLs are time-bound. "
                "Run NTP (chrony/systemd-timesyncd) on every host." % detail)
    if code == "NoSuchBucket":
        return ("the bucket does not exist%s: create it (minio role) or fix the bucket name." % detail)
    if "region" in code.lower() or "region" in message.lower():
        return ("region mismatch%s: the URL was signed for region %r; it must equal the store's region "
                "(MINIO_SITE_REGION) and W&B's AWS_REGION." % (detail, region))
    if status == 403:
        return ("access denied%s: the access key lacks permission on this bucket/prefix. Give W&B's "
                "user s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket on the bucket "
                "(MinIO policy)." % detail)
    if status in (301, 302, 307, 308):
        return ("the endpoint redirects%s: use the final URL (scheme, host, port) as the endpoint; "
                "pre-signed URLs do not survive redirects to another host." % detail)
    if status in (502, 503, 504):
        return ("a proxy could not reach the store%s: check the upstream of your load balancer." % detail)
    return "unexpected answer to %s%s." % (step, detail)
