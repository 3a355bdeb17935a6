from __future__ import annotations

import urllib.parse

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_urls as u

HOSTILE = [
    "plain",
    "p@ss",
    "a:b",
    "sl/ash",
    "hash#frag",
    "per%cent",
    "%40already-encoded",
    "que?ry&x=y",
    "it's \"quoted\"",
    "sp ace s",
    "all @:/#%?&=+ $!*'(),;[]",
    "ünïcødé€",
]


@pytest.mark.parametrize("password", HOSTILE)
@pytest.mark.parametrize("user", ["wandb_local", "us@er:x"])
def test_mysql_url_round_trips_hostile_credentials(user, password):
    url = u.mysql_url("db1.example.com", user, password, "wandb_local", 3306)
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "mysql"
    assert parts.hostname == "db1.example.com" and parts.port == 3306 and parts.path == "/wandb_local"
    assert urllib.parse.unquote(parts.username) == user
    assert urllib.parse.unquote(parts.password) == password
    # only RFC 3986 unreserved characters are left literal inside the credentials
    userinfo = url[len("mysql://"):url.rindex("@")]
    assert set(userinfo) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%:")
    assert userinfo.count(":") == 1


@pytest.mark.parametrize("host, port, expected", [
    ("db", 3306, "mysql://u:p@db:3306/wandb_local"),
    ("10.0.0.5", "3307", "mysql://u:p@10.0.0.5:3307/wandb_local"),
    ("fd00::5", 3306, "mysql://u:p@[fd00::5]:3306/wandb_local"),
])
def test_mysql_url_hosts(host, port, expected):
    assert u.mysql_url(host, "u", "p", port=port) == expected


def test_mysql_url_tls_adds_the_go_driver_parameter():
    assert u.mysql_url("db", "u", "p", tls=True) == "mysql://u:p@db:3306/wandb_local?tls=true"
    assert u.mysql_url("db", "u", "p", tls=False) == "mysql://u:p@db:3306/wandb_local"


@pytest.mark.parametrize("kwargs, match", [
    (dict(host="db", user="u", password=""), "password must not be empty"),
    (dict(host="db", user="u", password=None), "password is required"),
    (dict(host="db", user="", password="p"), "user must not be empty"),
    (dict(host="db/x", user="u", password="p"), "bare host name"),
    (dict(host="db", user="u", password="p", port=0), "between 1 and 65535"),
    (dict(host="db", user="u", password="p", port="x"), "port must be an integer"),
    (dict(host="db", user="u", password=["p"]), "password must be a string"),
    (dict(host="db", user="u", password="p", tls="yes"), "tls must be true or false"),
])
def test_mysql_url_rejects(kwargs, match):
    with pytest.raises(u.WandbUrlError, match=match):
        u.mysql_url(**kwargs)


@pytest.mark.parametrize("secret", HOSTILE)
@pytest.mark.parametrize("endpoint, host, tls", [
    ("https://s3.example.com", "s3.example.com", True),
    ("https://s3.example.com:443", "s3.example.com", True),
    ("https://s3.example.com:9000", "s3.example.com:9000", True),
    ("http://minio-1:9000", "minio-1:9000", False),
])
def test_bucket_url_round_trips(secret, endpoint, host, tls):
    url = u.bucket_url(endpoint, "AK+/=", secret, "wandb")
    assert url.startswith("s3://AK%2B%2F%3D:")
    assert url.endswith("@%s/wandb%s" % (host, "?tls=true" if tls else ""))
    parsed = u.parse_bucket_url(url)
    assert parsed["access_key"] == "AK+/=" and parsed["secret_key"] == secret
    assert parsed["host"] == host and parsed["bucket"] == "wandb" and parsed["tls"] is tls
    assert parsed["endpoint"] == ("https://" if tls else "http://") + host


@pytest.mark.parametrize("args, match", [
    (("s3.example.com", "k", "s", "b"), "endpoint must look like"),
    (("ftp://s3.example.com", "k", "s", "b"), "endpoint must look like"),
    (("https://k:s@s3.example.com", "k", "s", "b"), "must not carry credentials"),
    (("https://s3.example.com/wandb", "k", "s", "b"), "without a path"),
    (("https://s3.example.com", "k", "s", "a/b"), "bucket must be a bucket name"),
    (("https://s3.example.com", "k", "", "b"), "secret_key must not be empty"),
    (("https://s3.example.com:99999", "k", "s", "b"), "invalid port"),
])
def test_bucket_url_rejects(args, match):
    with pytest.raises(u.WandbUrlError, match=match):
        u.bucket_url(*args)


def test_bucket_url_tls_contradiction():
    with pytest.raises(u.WandbUrlError, match="contradicts"):
        u.bucket_url("http://minio:9000", "k", "s", "b", tls=True)
    assert u.bucket_url("https://minio:9000", "k", "s", "b", tls=True).endswith("?tls=true")


def test_parse_bucket_url_extras():
    parsed = u.parse_bucket_url("s3://k:s@minio:9000/wandb/some/prefix?tls=1&region=eu-west-1")
    assert parsed["prefix"] == "some/prefix" and parsed["region"] == "eu-west-1" and parsed["tls"] is True
    assert parsed["port"] == 9000 and parsed["hostname"] == "minio"
    assert u.parse_bucket_url("s3://k:s@minio/wandb")["port"] == 80


@pytest.mark.parametrize("value, match", [
    ("https://k:s@h/b", "must start with s3://"),
    ("s3://h/b", "must carry credentials"),
    ("s3://ks@h/b", "must be KEY:SECRET"),
    ("s3://k:@h/b", "one of them is empty"),
    ("s3://k:s@h", "no bucket name"),
    ("s3://k:s@/b", "no host"),
    ("s3://k:p@ss@h/b", None),  # rsplit on the last @: host h, secret 'p@ss' (lenient, like Go)
    ("s3://k:s@h:99999/b", "invalid"),
])
def test_parse_bucket_url_rejects(value, match):
    if match is None:
        assert u.parse_bucket_url(value)["secret_key"] == "p@ss"
        return
    with pytest.raises(u.WandbUrlError, match=match):
        u.parse_bucket_url(value)


@pytest.mark.parametrize("url, origin", [
    ("https://wandb.example.com", "https://wandb.example.com"),
    ("https://WandB.Example.com:443/home?x=1", "https://wandb.example.com"),
    ("http://wandb.example.com:80/", "http://wandb.example.com"),
    ("https://wandb.example.com:8443/", "https://wandb.example.com:8443"),
    ("https://[fd00::1]:8443/x", "https://[fd00::1]:8443"),
])
def test_url_origin(url, origin):
    assert u.url_origin(url) == origin


@pytest.mark.parametrize("url", ["wandb.example.com", "ftp://x", "", None])
def test_url_origin_rejects(url):
    with pytest.raises(u.WandbUrlError):
        u.url_origin(url)
