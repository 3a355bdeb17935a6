"""The filters also take one dict, the way the roles call them."""

from urllib.parse import unquote, urlsplit

import pytest
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
