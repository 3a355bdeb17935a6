"""onprem.wandb.cert_uncovered_names: which host names a certificate's DNS names leave out, with
RFC 6125 wildcards (one whole left-most label). The cases of test_role_inputs are what the nginx
role's former expression (a regex built from each "*." name) gave for the same input."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter import tls

FILTERS = tls.FilterModule().filters()
uncovered = FILTERS["cert_uncovered_names"]


def test_filter_names():
    assert sorted(FILTERS) == ["cert_uncovered_names"]


@pytest.mark.parametrize("name, pattern, covered", [
    ("wandb.example.com", "wandb.example.com", True),
    ("WandB.Example.COM", "wandb.example.com", True),
    ("wandb.example.com", "WANDB.EXAMPLE.COM", True),
    ("a.example.com", "*.example.com", True),
    ("A.Example.Com", "*.EXAMPLE.com", True),
    ("xn--bcher-kva.example.com", "*.example.com", True),
    ("example.com", "*.com", True),            # RFC 6125 leaves public suffixes to the client
    ("example.com", "*.example.com", False),   # the wildcard is one label, not none
    ("a.b.example.com", "*.example.com", False),  # nor two
    (".example.com", "*.example.com", False),  # nor an empty one
    ("wandb.example.com", "w*.example.com", False),   # partial-label wildcards are not wildcards
    ("wandb.example.com", "wandb.*.com", False),      # nor one in another label
    ("a.", "*.", False),
    ("a.*.example.com", "*.*.example.com", False),
    ("wandb.example.com", "", False),
    ("wandb.example.com", "*", False),
    ("wandb.example.com", "example.com", False),
    ("wandb.example.com.", "wandb.example.com", False),  # absolute names are not folded
])
def test_dns_name_matches(name, pattern, covered):
    assert tls.dns_name_matches(name, pattern) is covered


@pytest.mark.parametrize("names, dns, missing", [
    # the nginx scenario and the local inventory: the local CA's certificate names exactly these
    (["wandb.nginx.test", "s3.nginx.test"], ["wandb.nginx.test", "s3.nginx.test"], []),
    (["wandb.onprem.test", "s3.onprem.test"], ["wandb.onprem.test"], ["s3.onprem.test"]),
    (["wandb.onprem.test"], ["wandb.onprem.test"], []),
    # a certificate for another name (the scenario's wrong-name case)
    (["wandb.nginx.test"], ["wrong.nginx.test"], ["wandb.nginx.test"]),
    (["wandb.example.com"], [], ["wandb.example.com"]),
    (["WandB.Example.com"], ["wandb.example.com"], []),
    (["wandb.example.com", "s3.example.com"], ["*.example.com"], []),
    (["wandb.example.com", "s3.example.com"], ["wandb.example.com"], ["s3.example.com"]),
    (["example.com"], ["*.example.com"], ["example.com"]),
    (["a.b.example.com"], ["*.example.com"], ["a.b.example.com"]),
    (["a.b.example.com"], ["*.b.example.com"], []),
    (["wandb.example.com"], ["*.example.org", "wandb.example.org"], ["wandb.example.com"]),
    (["wandb.example.com"], ["w*.example.com"], ["wandb.example.com"]),
    (["wandb.example.com"], ["*wandb.example.com"], ["wandb.example.com"]),
    (["wandb.example.com"], ["*.com"], ["wandb.example.com"]),
    (["wandb-example.com"], ["*.example.com"], ["wandb-example.com"]),
    (["wandbxexample.com"], ["*.example.com"], ["wandbxexample.com"]),
    (["wandb.example.com", "s3.other.test"], ["*.example.com", "s3.other.test"], []),
    (["wandb.example.com"], ["*.example.com", "*.example.com"], []),
    (["wandb.EXAMPLE.com"], ["*.example.com"], []),
    (["wandb.example.com"], ["*.*.com"], ["wandb.example.com"]),
    (["w.a.example.com", "s3.example.com"], ["*.a.example.com"], ["s3.example.com"]),
])
def test_role_inputs(names, dns, missing):
    assert uncovered(names, dns) == missing


def test_uncovered_names_keep_their_order_in_lower_case():
    assert uncovered(["S3.Other.test", "wandb.example.com", "A.B.example.com"], ["*.EXAMPLE.com"]) == \
        ["s3.other.test", "a.b.example.com"]


@pytest.mark.parametrize("names, dns, match", [
    ("wandb.example.com", [], "the host names must be a list"),
    (["wandb.example.com"], "wandb.example.com", "the certificate's DNS names must be a list"),
    (["wandb.example.com"], None, "the certificate's DNS names must be a list"),
    ([None], [], "the host names must be strings"),
    (["wandb.example.com"], ["DNS:a", 1], "the certificate's DNS names must be strings"),
])
def test_errors_name_the_filter(names, dns, match):
    with pytest.raises(AnsibleFilterError, match="onprem.wandb.cert_uncovered_names: " + match):
        uncovered(names, dns)
