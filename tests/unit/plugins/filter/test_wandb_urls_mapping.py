"""The filters also take one dict, the way the roles call them."""

from urllib.parse import unquote, urlsplit

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.wandb_urls import FilterModule

FILTERS = FilterModule().filters()
HOSTILE = "w&b p@ss:w/rd#1%' x"


def test_mysql_url_from_a_dict_round_trips_a_hostile_password():
    url = FILTERS["mysql_url"]({"user": "wandb_local", "password": HOSTILE, "host": "db1", "port": 3307, "database": "wandb_local"})
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == ("mysql", "db1", 3307, "/wandb_local")
    assert unquote(parts.username) == "wandb_local" and unquote(parts.password) == HOSTILE


@pytest.mark.parametrize(("tls", "suffix"), [(True, "?tls=true"), (False, "")])
def test_bucket_url_from_a_dict_uses_host_and_tls(tls, suffix):
    url = FILTERS["bucket_url"]({"access_key": "wandb-app", "secret_key": HOSTILE, "host": "s3.example:9000", "bucket": "wandb", "tls": tls})
    assert url.endswith("@s3.example:9000/wandb" + suffix)
    assert unquote(urlsplit(url).password) == HOSTILE


def test_dict_and_positional_forms_agree():
    positional = FILTERS["mysql_url"]("db1", "u", HOSTILE)
    assert FILTERS["mysql_url"]({"host": "db1", "user": "u", "password": HOSTILE}) == positional


@pytest.mark.parametrize(("endpoint", "tail"), [
    ("https://s3.example:9000", "@s3.example:9000/wandb?tls=true"),
    ("http://s3.example:9000", "@s3.example:9000/wandb"),
    ("https://S3.Example:443/", "@s3.example/wandb?tls=true"),
    ("http://[fd00::5]:9000", "@[fd00::5]:9000/wandb"),
])
def test_bucket_url_from_a_dict_takes_the_endpoint(endpoint, tail):
    url = FILTERS["bucket_url"]({"access_key": "wandb-app", "secret_key": HOSTILE, "endpoint": endpoint, "bucket": "wandb"})
    assert url.endswith(tail)
    assert unquote(urlsplit(url).password) == HOSTILE


@pytest.mark.parametrize("endpoint", ["https://s3.example:9000", "http://s3.example", "https://s3.example:443/", "http://[fd00::5]:9000"])
def test_bucket_url_endpoint_host_and_positional_forms_agree(endpoint):
    # what the kubernetes role wrote before it passed the endpoint itself
    parts = urlsplit(endpoint)
    by_host = FILTERS["bucket_url"]({"access_key": "k", "secret_key": HOSTILE, "host": parts.netloc, "bucket": "wandb",
                                     "tls": parts.scheme == "https"})
    by_endpoint = FILTERS["bucket_url"]({"access_key": "k", "secret_key": HOSTILE, "endpoint": endpoint, "bucket": "wandb"})
    assert by_endpoint == by_host == FILTERS["bucket_url"](endpoint, "k", HOSTILE, "wandb")


@pytest.mark.parametrize(("extra", "match"), [
    ({"endpoint": "https://s3.example", "host": "s3.example"}, "onprem.wandb.bucket_url: give endpoint .* not both"),
    ({"endpoint": "https://s3.example/path"}, "onprem.wandb.bucket_url: endpoint must be scheme://HOST"),
    ({"endpoint": "s3.example:9000"}, "onprem.wandb.bucket_url: endpoint must look like"),
    ({"endpoint": "http://s3.example", "tls": True}, "onprem.wandb.bucket_url: tls=True contradicts"),
])
def test_bucket_url_from_a_dict_refuses(extra, match):
    with pytest.raises(AnsibleFilterError, match=match):
        FILTERS["bucket_url"](dict({"access_key": "k", "secret_key": "s", "bucket": "wandb"}, **extra))
