from __future__ import annotations

import datetime
import http.client
import socket
import ssl
import urllib.parse

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import s3_presign as s3

# AWS's published example for query-string SigV4 (S3 developer guide, "Authenticating Requests:
# Using Query Parameters (AWS Signature Version 4)", GET examplebucket/test.txt).
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_WHEN = datetime.datetime(2013, 5, 24, 0, 0, 0)
AWS_CANONICAL = "\n".join([
    "GET",
    "/test.txt",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
    "host:examplebucket.s3.amazonaws.com",
    "",
    "host",
    "UNSIGNED-PAYLOAD",
])
AWS_STRING_TO_SIGN = ("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                      "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
AWS_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


def test_aws_published_query_string_vector():
    query, canonical, sts, signature = s3.presign_components(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", AWS_KEY, AWS_SECRET, "us-east-1", 86400, AWS_WHEN)
    assert canonical == AWS_CANONICAL
    assert sts == AWS_STRING_TO_SIGN
    assert signature == AWS_SIGNATURE
    assert query.startswith("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F")


def test_aware_and_naive_utc_sign_the_same():
    aware = AWS_WHEN.replace(tzinfo=datetime.UTC)
    assert s3.presign_components("GET", "h", "/b/k", "a", "s", "us-east-1", 60, aware)[3] == \
        s3.presign_components("GET", "h", "/b/k", "a", "s", "us-east-1", 60, AWS_WHEN)[3]


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_expires_bounds(expires):
    with pytest.raises(ValueError, match="expires"):
        s3.presign_components("GET", "h", "/b/k", "a", "s", "us-east-1", expires, AWS_WHEN)


@pytest.mark.parametrize("method", ["PUT", "GET", "HEAD", "DELETE"])
@pytest.mark.parametrize("key", ["plain.bin", "dir/sub/file name+x=y&z.bin", "ümlaut/€.txt"])
@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "https://s3.example.com", "https://s3.example.com:8443"])
def test_matches_botocore(method, key, endpoint):
    """Same URL as botocore's presigner for the same instant (path style, UNSIGNED-PAYLOAD)."""
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1", aws_access_key_id="AKID",
                          aws_secret_access_key="se/cr+et=", config=config)
    op = {"PUT": "put_object", "GET": "get_object", "HEAD": "head_object", "DELETE": "delete_object"}[method]
    theirs = client.generate_presigned_url(op, Params={"Bucket": "wandb", "Key": key}, ExpiresIn=300)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(theirs).query))
    when = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    ours = s3.presign_url(method, endpoint, "wandb", key, "AKID", "se/cr+et=", "eu-central-1", 300, when)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ours).query)) == query
    assert urllib.parse.urlsplit(ours).path == urllib.parse.urlsplit(theirs).path


def test_signing_host_changes_only_the_signature():
    a = s3.presign_url("GET", "http://127.0.0.1:9000", "b", "k", "a", "s", when=AWS_WHEN)
    b = s3.presign_url("GET", "http://127.0.0.1:9000", "b", "k", "a", "s", when=AWS_WHEN, signing_host="127.0.0.1")
    assert a.split("X-Amz-Signature=")[0] == b.split("X-Amz-Signature=")[0]
    assert a != b


ERROR_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has '
             b'expired</Message><Key>k</Key><Region>us-east-1</Region></Error>')


@pytest.mark.parametrize("body, fields, expected", [
    (ERROR_XML, ("Code", "Message"), ("AccessDenied", "Request has expired")),
    (ERROR_XML, ("Code", "Message", "Region"), ("AccessDenied", "Request has expired", "us-east-1")),
    (b"<html>413 Request Entity Too Large</html>", ("Code", "Message"), (None, None)),
    (b"", ("Code", "Message"), (None, None)),
    (None, ("Code",), (None,)),
])
def test_s3_error(body, fields, expected):
    assert s3.s3_error(body, fields) == expected


@pytest.mark.parametrize("status, code, message, server_region, needles", [
    (413, None, None, None, ["proxy body limit", "client_max_body_size 0"]),
    (400, "EntityTooLarge", "too big", None, ["proxy body limit"]),
    (403, "SignatureDoesNotMatch", "calc", "us-east-1", ["secret key is wrong", "Host", "$http_host"]),
    (403, "InvalidAccessKeyId", "", None, ["access key is unknown"]),
    (403, "RequestTimeTooSkewed", "", None, ["clocks", "NTP"]),
    (403, "AccessDenied", "Request is not valid yet", None, ["clocks"]),
    (403, "AccessDenied", "Request has expired", None, ["clocks"]),
    (404, "NoSuchBucket", "", None, ["bucket does not exist"]),
    (400, "MissingFields", "Missing fields in request.", "eu-west-1", ["region mismatch", "'eu-west-1'"]),
    (400, "AuthorizationQueryParametersError", "wrong region 'x'", None, ["region mismatch"]),
    (403, "AccessDenied", "Access Denied.", None, ["s3:PutObject", "MinIO policy"]),
    (307, None, None, None, ["redirects"]),
    (502, None, None, None, ["proxy could not reach"]),
    (418, "Teapot", "", None, ["unexpected answer to put"]),
])
def test_classify_response(status, code, message, server_region, needles):
    text = s3.classify_response("put", status, code, message, "s3.example.com", "us-east-1", server_region)
    for needle in needles:
        assert needle in text


def test_expired_on_the_expired_step_is_not_clock_skew():
    text = s3.classify_response("expired", 403, "AccessDenied", "Request has expired", "h", "us-east-1")
    assert "clocks" not in text


@pytest.mark.parametrize("exc, needles", [
    (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate"),
     ["TLS verification failed", "ca_bundle", "self-signed"]),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), ["TLS handshake", "tls=true"]),
    (ConnectionRefusedError(111, "Connection refused"), ["connection refused by s3.example.com:9000"]),
    (socket.gaierror(-2, "Name or service not known"), ["DNS lookup of s3.example.com failed"]),
    (TimeoutError("timed out"), ["no answer", "timeout"]),
    (http.client.RemoteDisconnected("closed"), ["closed the connection", "body limit"]),
    (OSError("weird"), ["request to s3.example.com:9000 failed: weird"]),
])
def test_classify_exception(exc, needles):
    text = s3.classify_exception(exc, "https://s3.example.com:9000")
    for needle in needles:
        assert needle in text


def test_ssl_context_modes(tmp_path):
    assert s3.ssl_context(False).verify_mode == ssl.CERT_NONE
    assert s3.ssl_context(True).verify_mode == ssl.CERT_REQUIRED
    with pytest.raises((ssl.SSLError, OSError)):
        bad = tmp_path / "ca.pem"
        bad.write_text("not a certificate")
        s3.ssl_context(True, str(bad))
