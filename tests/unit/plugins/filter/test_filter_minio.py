"""onprem.wandb.minio_ellipsis and minio_policy_key: MINIO_VOLUMES names and the policy comparison
of the minio role. The expected strings of the compress / do-not-compress / white-space cases and
of test_policy_keys are what the role's former Jinja templates (templates/ellipsis.jinja,
templates/policy-key.jinja, called through lookup('template')) rendered for the same input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.minio import FilterModule

REPO = Path(__file__).resolve().parents[4]

FILTERS = FilterModule().filters()
ellipsis = FILTERS["minio_ellipsis"]
policy_key = FILTERS["minio_policy_key"]


def test_filter_names():
    assert sorted(FILTERS) == ["minio_ellipsis", "minio_policy_key"]


@pytest.mark.parametrize("names, out", [
    # what the role's inventories and scenarios give it (hosts, then minio_drives)
    (["minio-1", "minio-2", "minio-3", "minio-4"], "minio-{1...4}"),
    (["wandb-minio-1", "wandb-minio-2"], "wandb-minio-{1...2}"),
    (["/srv/minio/disk1", "/srv/minio/disk2"], "/srv/minio/disk{1...2}"),
    (["/mnt/disk1", "/mnt/disk2"], "/mnt/disk{1...2}"),
    (["/data"], "/data"),
    (["minio-1"], "minio-1"),
    # addresses, text after the counter, counters across a power of ten
    (["10.0.0.11", "10.0.0.12", "10.0.0.13"], "10.0.0.{11...13}"),
    (["/mnt/disk1/minio", "/mnt/disk2/minio", "/mnt/disk3/minio"], "/mnt/disk{1...3}/minio"),
    (["host1.example.com", "host2.example.com"], "host{1...2}.example.com"),
    (["m8", "m9", "m10", "m11"], "m{8...11}"),
    (["minio-%d.lan" % i for i in range(1, 11)], "minio-{1...10}.lan"),
    (["a1b2", "a1b3"], "a1b{2...3}"),
    # leading zeros stay in the prefix
    (["minio-01", "minio-02"], "minio-0{1...2}"),
])
def test_names_that_compress(names, out):
    assert ellipsis(names) == out


@pytest.mark.parametrize("names", [
    [],
    ["alpha", "beta", "gamma", "delta"],     # no counter
    ["minio-09", "minio-10"],                # the prefix changes ("minio-0" vs "minio-")
    ["m0", "m1", "m2"], ["m00", "m01"],      # a counter of 0 is not one
    ["m1", "m3"], ["m1", "m2", "m3", "m5"],  # a gap
    ["m2", "m1"],                            # counts down
    ["m1", "m1"],                            # twice
    ["a1", "b2"], ["m1x", "m2y"],            # other text around the counter
    ["m{1}", "m{2}"], ["m{1...2}", "m{3...4}"],  # braces of their own
    ["m1", "m2", "nonum"], ["nonum", "m1", "m2"],
    ["m1 ", "m2"],
])
def test_names_that_do_not_compress_give_an_empty_string(names):
    assert ellipsis(names) == ""


@pytest.mark.parametrize("names, out", [
    ([" m1 "], "m1"),
    ([" m1", " m2"], "m{1...2}"),
    (["{x}"], "{x}"),  # one name is taken as it is
])
def test_single_names_white_space_and_iterables(names, out):
    assert ellipsis(names) == out


def test_any_iterable_of_names():
    assert ellipsis(n for n in ["d1", "d2"]) == "d{1...2}"
    assert ellipsis(("m1", "m2")) == "m{1...2}"


@pytest.mark.parametrize("value", ["minio-1", {"a": 1}, 5, None])
def test_ellipsis_wants_a_list(value):
    with pytest.raises(AnsibleFilterError, match="onprem.wandb.minio_ellipsis"):
        ellipsis(value)


def _role_policy(bucket="wandb"):
    """The W&B policy of roles/minio/vars/main.yml, with its bucket filled in."""
    text = (REPO / "roles" / "minio" / "vars" / "main.yml").read_text(encoding="utf-8")
    policy = yaml.safe_load(text.replace("{{ minio_bucket }}", bucket))["_minio_wandb_policy"]
    return policy["Statement"]


ROLE_KEY = (
    "Allow|s3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:ListMultipartUploadParts,s3:PutObject"
    "|arn:aws:s3:::wandb/*|{}\n"
    "Allow|s3:GetBucketLocation,s3:ListBucket,s3:ListBucketMultipartUploads|arn:aws:s3:::wandb|{}")


def test_the_role_policy_key():
    assert policy_key(_role_policy()) == ROLE_KEY


def test_the_key_ignores_the_order_of_statements_actions_and_resources():
    shuffled = [{"Effect": s["Effect"], "Action": list(reversed(s["Action"])), "Resource": list(reversed(s["Resource"]))}
                for s in reversed(_role_policy())]
    assert policy_key(shuffled) == ROLE_KEY


@pytest.mark.parametrize("statements, out", [
    ([], ""),
    ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}], "Allow|s3:GetObject|arn:aws:s3:::b/*|{}"),
    # sorted without regard to case; values equal but for case keep their order
    ([{"Effect": "Allow", "Action": ["s3:PutObject", "s3:getObject", "s3:GetObject"], "Resource": ["B", "a"]}],
     "Allow|s3:getObject,s3:GetObject,s3:PutObject|a,B|{}"),
    ([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:getobject"], "Resource": ["x"]}], "Allow|s3:GetObject,s3:getobject|x|{}"),
    # nested lists flatten; null, 'None' and 'null' drop out (Ansible's flatten)
    ([{"Effect": "Deny", "Action": [["s3:A", ["s3:B"]], None, "None", "null"], "Resource": ["x"],
       "Condition": {"StringEquals": {"aws:sourceVpc": "vpc-1"}, "Bool": {"x": "true"}}}],
     'Deny|s3:A,s3:B|x|{"Bool": {"x": "true"}, "StringEquals": {"aws:sourceVpc": "vpc-1"}}'),
    ([{"Effect": "Allow", "Action": ["s3:A"], "Resource": ["x"], "Condition": None}], "Allow|s3:A|x|null"),
    ([{"Effect": "Allow", "Action": ["s3:A"], "Resource": ["x"], "Condition": {}}], "Allow|s3:A|x|{}"),
    ([{"Effect": "Allow", "Action": [], "Resource": []}], "Allow|||{}"),
    # lines sorted without regard to case, too
    ([{"Effect": "allow", "Action": ["s3:A"], "Resource": ["x"]}, {"Effect": "Allow", "Action": ["s3:A"], "Resource": ["x"]},
      {"Effect": "Allow", "Action": ["s3:A"], "Resource": ["W"]}],
     "Allow|s3:A|W|{}\nallow|s3:A|x|{}\nAllow|s3:A|x|{}"),
    ([{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::wandb", "arn:aws:s3:::wandb/*"],
       "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}],
     'Allow|s3:*|arn:aws:s3:::wandb,arn:aws:s3:::wandb/*|{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}'),
    ([{"Effect": "Allow", "Action": ["s3:\u00dc", "s3:Z"], "Resource": ["x"], "Condition": {"k": "\u00fcn\u00ef"}}],
     'Allow|s3:Z,s3:\u00dc|x|{"k": "\\u00fcn\\u00ef"}'),
])
def test_policy_keys(statements, out):
    assert policy_key(statements) == out


def test_null_statements_count_as_none():
    assert policy_key(None) == ""


def test_a_changed_policy_has_another_key():
    changed = _role_policy()
    changed[1] = dict(changed[1], Action=changed[1]["Action"] + ["s3:PutObjectAcl"])
    assert policy_key(changed) != ROLE_KEY
    assert policy_key(_role_policy("other")) != ROLE_KEY


@pytest.mark.parametrize("statements, match", [
    ([{"Action": ["s3:A"], "Resource": ["x"]}], "statement 0 has no Effect"),
    ([{"Effect": "Allow", "Resource": ["x"]}], "statement 0 has no Action"),
    ([{"Effect": "Allow", "Action": ["a"], "Resource": ["x"]}, {"Effect": "Deny", "NotAction": ["a"], "NotResource": ["x"]}],
     "statement 1 has no Action/Resource"),
    (["Allow"], "statement 0 is not a dict"),
    ({"Effect": "Allow"}, "expects a list of policy statements"),
    ([{"Effect": "Allow", "Action": ["a", 1], "Resource": ["x"]}], "statement 0"),
])
def test_policy_key_errors_name_the_statement(statements, match):
    with pytest.raises(AnsibleFilterError, match="onprem.wandb.minio_policy_key: " + match):
        policy_key(statements)
