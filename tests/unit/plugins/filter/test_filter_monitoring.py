"""onprem.wandb.minio_prometheus_token: the JWT that MinIO verifies on its metrics endpoints."""

import base64
import hashlib
import hmac
import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.monitoring import FilterModule

token = FilterModule().filters()["minio_prometheus_token"]


def _decode(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.parametrize("access,secret,exp", [
    ("prometheus", "s3cret-key", 4102444800),
    ("metrics@site", "p@ss:w/rd #1 50%", "2000000000"),
])
def test_claims_header_and_signature(access, secret, exp):
    out = token(access, secret, exp)
    head, body, sig = out.split(".")
    assert _decode(head) == {"alg": "HS512", "typ": "JWT"}
    assert _decode(body) == {"exp": int(exp), "iss": "prometheus", "sub": access}
    want = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha512).digest()
    assert base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)) == want
    assert "=" not in out


def test_same_inputs_same_token_other_secret_other_token():
    assert token("a-user", "12345678", 10) == token("a-user", "12345678", 10)
    assert token("a-user", "12345678", 10) != token("a-user", "12345679", 10)


@pytest.mark.parametrize("args,msg", [
    (("", "12345678", 1), "access key"),
    (("u", "short", 1), "at least 8"),
    (("u", "12345678", "soon"), "Unix seconds"),
    (("u", "12345678", 0), "positive"),
])
def test_bad_input_is_refused(args, msg):
    with pytest.raises(AnsibleFilterError, match=msg):
        token(*args)
