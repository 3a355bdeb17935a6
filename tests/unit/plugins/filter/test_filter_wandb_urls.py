from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.wandb_urls import FilterModule

FILTERS = FilterModule().filters()


def test_filter_names():
    assert sorted(FILTERS) == ["bucket_url", "mysql_url", "parse_bucket_url", "redis_url", "url_origin"]


def test_filters_compose():
    bucket = FILTERS["bucket_url"]("https://s3.example.com:9000", "wandb", "s/e+c@r:t#", "wandb")
    assert bucket == "s3://wandb:s%2Fe%2Bc%40r%3At%23@s3.example.com:9000/wandb?tls=true"
    assert FILTERS["parse_bucket_url"](bucket)["secret_key"] == "s/e+c@r:t#"
    assert FILTERS["mysql_url"]("db", "wandb_local", "p@ss w:rd/#", database="wandb_local", port=3306) == \
        "mysql://wandb_local:p%40ss%20w%3Ard%2F%23@db:3306/wandb_local"
    assert FILTERS["url_origin"]("https://W.example.com/x") == "https://w.example.com"
    redis = FILTERS["redis_url"]({"host": "redis1", "user": "wandb", "password": "p@ss w:rd/#", "port": 6380})
    assert redis == "redis://wandb:p%40ss%20w%3Ard%2F%23@redis1:6380?tls=true&caCertPath=/etc/ssl/certs/redis_ca.pem&ttlInSeconds=604800"


@pytest.mark.parametrize("name, args, match", [
    ("mysql_url", ("db", "u", ""), "onprem.wandb.mysql_url: password must not be empty"),
    ("bucket_url", ("s3.example.com", "k", "s", "b"), "onprem.wandb.bucket_url: endpoint must look like"),
    ("parse_bucket_url", ("s3://nohost",), "onprem.wandb.parse_bucket_url: BUCKET must carry credentials"),
    ("url_origin", ("nope",), "onprem.wandb.url_origin"),
    ("mysql_url", ("db",), "onprem.wandb.mysql_url: wrong arguments"),
    ("redis_url", ("r", ""), "onprem.wandb.redis_url: password must not be empty"),
    ("redis_url", ({"host": "r"},), "onprem.wandb.redis_url: wrong arguments"),
])
def test_filter_errors_name_the_filter(name, args, match):
    with pytest.raises(AnsibleFilterError, match=match):
        FILTERS[name](*args)
