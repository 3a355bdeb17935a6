from __future__ import annotations

import urllib.parse

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_urls as u

HOSTILE = ["plain", "p@ss", "a:b", "sl/ash", "hash#frag", "per%cent", "%40already-encoded", "que?ry&x=y",
           "it's \"quoted\"", "sp ace s", "all @:/#%?&=+ $!*'(),;[]", "ünïcødé€"]


@pytest.mark.parametrize("password", HOSTILE)
@pytest.mark.parametrize("user", ["wandb", "us@er:x", ""])
def test_redis_url_round_trips_hostile_credentials(user, password):
    url = u.redis_url("redis1.example.com", password, user=user)
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "redis"
    assert parts.hostname == "redis1.example.com" and parts.port == 6379 and parts.path == ""
    assert urllib.parse.unquote(parts.username) == user
    assert urllib.parse.unquote(parts.password) == password
    userinfo = url[len("redis://"):url.rindex("@")]
    assert set(userinfo) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%:")
    assert userinfo.count(":") == 1
    query = urllib.parse.parse_qs(parts.query)
    assert query == {"tls": ["true"], "caCertPath": ["/etc/ssl/certs/redis_ca.pem"], "ttlInSeconds": ["604800"]}


@pytest.mark.parametrize("kwargs, expected", [
    ({}, "redis://wandb:pw@r:6379?tls=true&caCertPath=/etc/ssl/certs/redis_ca.pem&ttlInSeconds=604800"),
    ({"port": "6380", "ttl_seconds": 60}, "redis://wandb:pw@r:6380?tls=true&caCertPath=/etc/ssl/certs/redis_ca.pem&ttlInSeconds=60"),
    ({"ca_cert_path": "/etc/wandb/redis ca.pem"}, "redis://wandb:pw@r:6379?tls=true&caCertPath=/etc/wandb/redis%20ca.pem&ttlInSeconds=604800"),
    ({"ca_cert_path": "", "ttl_seconds": 0}, "redis://wandb:pw@r:6379?tls=true"),
    ({"tls": False}, "redis://wandb:pw@r:6379?ttlInSeconds=604800"),
    ({"tls": "false", "ttl_seconds": None}, "redis://wandb:pw@r:6379"),
    ({"tls": "yes", "ca_cert_path": None}, "redis://wandb:pw@r:6379?tls=true&ttlInSeconds=604800"),
    ({"user": ""}, "redis://:pw@r:6379?tls=true&caCertPath=/etc/ssl/certs/redis_ca.pem&ttlInSeconds=604800"),
])
def test_redis_url_shapes(kwargs, expected):
    kwargs.setdefault("user", "wandb")
    assert u.redis_url("r", "pw", **kwargs) == expected


def test_redis_url_brackets_ipv6():
    assert u.redis_url("fd00::5", "pw", user="u", tls=False, ttl_seconds=0) == "redis://u:pw@[fd00::5]:6379"


@pytest.mark.parametrize("args, kwargs, match", [
    (("", "pw"), {}, "host must not be empty"),
    (("r", ""), {}, "password must not be empty"),
    (("r", None), {}, "password is required"),
    (("r/x", "pw"), {}, "bare host name"),
    (("u@r", "pw"), {}, "bare host name"),
    (("r", "pw"), {"port": 0}, "between 1 and 65535"),
    (("r", "pw"), {"port": "x"}, "port must be an integer"),
    (("r", "pw"), {"user": 5}, "user must be a string"),
    (("r", "pw"), {"tls": "maybe"}, "tls must be a boolean"),
    (("r", "pw"), {"ca_cert_path": "redis_ca.pem"}, "absolute path"),
    (("r", "pw"), {"tls": False, "ca_cert_path": "/ca.pem"}, "needs tls=true"),
    (("r", "pw"), {"ttl_seconds": -1}, "must not be negative"),
    (("r", "pw"), {"ttl_seconds": "week"}, "ttl_seconds must be an integer"),
])
def test_redis_url_rejects_bad_input(args, kwargs, match):
    with pytest.raises(u.WandbUrlError, match=match):
        u.redis_url(*args, **kwargs)
