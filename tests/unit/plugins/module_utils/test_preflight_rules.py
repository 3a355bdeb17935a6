"""The preflight rules engine: one value against one rule, every input class, never a raise."""

from __future__ import annotations

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import preflight_rules as pr


@pytest.mark.parametrize("value,expected", [
    (True, True), (False, False), ("true", True), ("false", False), ("True", True), ("FALSE", False),
    ("yes", True), ("no", False), ("on", True), ("off", False), ("1", True), ("0", False), (1, True), (0, False),
    (" false ", False),
])
def test_to_bool_accepts_what_surveys_and_extra_vars_send(value, expected):
    assert pr.to_bool(value) == (True, expected)


@pytest.mark.parametrize("value", ["maybe", "", 2, None, [], "tru"])
def test_to_bool_refuses_other_values(value):
    assert pr.to_bool(value) == (False, None)


@pytest.mark.parametrize("value,kind,expected", [
    (8, "int", 8), ("8", "int", 8), (" 30 ", "int", 30), (3.0, "int", 3), ("0.5", "float", 0.5), (1, "float", 1.0),
])
def test_to_number_accepts_strings(value, kind, expected):
    assert pr.to_number(value, kind) == (True, expected)


@pytest.mark.parametrize("value,kind", [("eight", "int"), ("1.5", "int"), (True, "int"), (None, "float"), ([], "int")])
def test_to_number_refuses_non_numbers(value, kind):
    assert pr.to_number(value, kind) == (False, None)


def one(name, value, rule, **kw):
    problems = pr.check_value(name, value, rule, **kw)
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith((name + ": ", name + "[")) and line.endswith(")") and " (" in line, line
    return line


@pytest.mark.parametrize("value,rule,words", [
    (pr.MISSING, {"required": True}, ["is not set"]),
    ("", {"required": True, "type": "str"}, ["is empty"]),
    ("maybe", {"type": "bool"}, ["not a boolean", "true or false"]),
    ("eight", {"type": "int"}, ["not an integer"]),
    ([1], {"type": "str"}, ["not a string"]),
    (12345678, {"type": "str", "secret": True}, ["is a number", "quote"]),
    ("a,b", {"type": "list", "elements": "str"}, ["is a string, not a list"]),
    ("x", {"type": "dict"}, ["not a mapping"]),
    (70000, {"type": "int", "min": 1, "max": 65535}, ["out of range", "1 to 65535"]),
    ("70000", {"type": "int", "min": 1, "max": 65535}, ["out of range"]),
    (-1, {"type": "int", "min": 0}, [">= 0"]),
    (0.95, {"type": "float", "min": 0.05, "max": 0.9}, ["out of range"]),
    ("Wandb_Bucket", {"type": "str", "match": "^[a-z0-9.-]+$", "hint": "a bucket name"}, ["not a bucket name"]),
    ("repo", {"type": "str", "choices": ["packages", "local"]}, ["not one of packages, local"]),
    ("ab", {"type": "str", "min_length": 3}, ["shorter than 3"]),
    ("relative/dir", {"type": "path", "absolute": True}, ["not an absolute path"]),
    ("change me: MySQL password of wandb_local", {"type": "str", "secret": True}, ["'change me' placeholder"]),
    ("paste the W&B license here", {"type": "str"}, ["'paste ... here' placeholder"]),
    ("db1.wandb.example.internal", {"type": "str"}, ["example.internal"]),
    ("sha256:" + "0" * 64, {"type": "str"}, ["all-zero checksum"]),
    (["/mnt/a", "rel"], {"type": "list", "elements": "str", "match": "^/", "hint": "an absolute path"}, ["[1]"]),
    ([], {"type": "list", "required": True}, ["is empty"]),
    (["a"], {"type": "list", "min_items": 2}, ["fewer than 2"]),
])
def test_each_bad_value_is_one_named_problem(value, rule, words):
    line = one("some_var", value, rule)
    for word in words:
        assert word in line


@pytest.mark.parametrize("value,rule", [
    ("false", {"type": "bool"}), ("1", {"type": "bool"}), ("3306", {"type": "int", "min": 1, "max": 65535}),
    (0, {"type": "int", "min": 30000, "max": 32767, "also_allowed": [0]}),
    ("w&b p@ss:w/rd#1%' {#x", {"type": "str", "secret": True, "required": True}),
    (pr.MISSING, {"type": "str"}), ("", {"type": "str"}),
    (["https://wandb.corp.example.com"], {"type": "list", "elements": "str", "match": "^https://"}),
    ("wandb.example.internal", {"type": "str", "placeholder": False}),
])
def test_good_values_pass(value, rule):
    assert pr.check_value("v", value, rule) == []


def test_secrets_are_never_shown():
    secret = "s3cr3t-value-not-to-show"
    for rule in ({"type": "int", "secret": True}, {"type": "str", "secret": True, "match": "^x", "hint": "x"},
                 {"type": "str", "secret": True, "choices": ["a"]}):
        for line in pr.check_value("pw", secret, rule):
            assert secret not in line


def test_file_rule_asks_the_controller():
    assert pr.check_value("f", "/nope", {"type": "str", "file": True}, is_file=lambda p: False)
    assert pr.check_value("f", "/yes", {"type": "str", "file": True}, is_file=lambda p: True) == []


def test_relations():
    values = {"root": "admin", "region": "us-east-1"}

    def lookup(name):
        return values.get(name, pr.MISSING)
    assert "equals root" in pr.check_relations("key", "ADMIN", {"differs_from": "root"}, lookup)[0]
    assert pr.check_relations("key", "wandb", {"differs_from": "root"}, lookup) == []
    assert "but region is" in pr.check_relations("r", "eu-west-1", {"equals": "region"}, lookup)[0]
    assert pr.check_relations("r", "us-east-1", {"equals": "region"}, lookup) == []
    assert pr.check_relations("r", "x", {"equals": "unset"}, lookup) == []


def test_conditions_read_booleans_like_bool():
    values = {"enabled": "false", "mode": "url"}

    def lookup(name):
        return values.get(name, pr.MISSING)
    assert not pr.condition_holds([{"var": "enabled", "bool": True}], lookup)
    assert pr.condition_holds([{"var": "enabled", "bool": False}], lookup)
    assert pr.condition_holds([{"var": "mode", "in": ["url"]}], lookup)
    assert not pr.condition_holds([{"var": "mode", "in": ["file"]}], lookup)
    assert not pr.condition_holds([{"var": "unset", "in": ["x"]}], lookup)
    assert pr.condition_holds(None, lookup)


@pytest.mark.parametrize("raw,names", [
    ("{{ vault_wandb_license }}", ["vault_wandb_license"]),
    ("{{ wandb_db_password | default('') }}", ["wandb_db_password"]),
    ("https://{{ wandb_fqdn }}", ["wandb_fqdn"]),
    ("plain", []), (5, []),
])
def test_references(raw, names):
    assert pr.references(raw) == names


def test_undefined_and_template_errors_name_the_culprit():
    assert pr.undefined_name("'vault_wandb_license' is undefined") == "vault_wandb_license"
    line = pr.explain_undefined("wandb_license", "vault_wandb_license")
    assert line.startswith("wandb_license: refers to vault_wandb_license") and "vault" in line
    assert pr.explain_undefined("x", None) == pr.explain_undefined("x", "x")
    line = pr.explain_template_error("wandb_db_password", "vault_wandb_db_password")
    assert line.startswith("vault_wandb_db_password (through wandb_db_password)") and "!unsafe" in line


def test_argument_specs_become_type_rules():
    rules = pr.rules_from_argument_specs({"a": {"type": "bool"}, "b": {"choices": ["x"], "no_log": True},
                                          "c": {"type": "list", "elements": "str"}})
    assert rules == {"a": {"type": "bool"}, "b": {"type": "str", "choices": ["x"], "secret": True},
                     "c": {"type": "list", "elements": "str"}}
    merged = pr.merge_rules(rules, [{"var": "a", "required": True}, {"var": "d", "type": "int", "min": 1}])
    assert merged["a"] == {"type": "bool", "required": True, "explicit": True}
    assert merged["d"]["explicit"] and "explicit" not in merged["c"]
    # a rule for a knob that defaults to another variable: checked only where the inventory sets it
    only_set = pr.merge_rules(rules, [{"var": "e", "choices": ["x"], "only_when_set": True}])
    assert only_set["e"] == {"choices": ["x"], "explicit": False}


def test_layout_problems():
    assert pr.layout_problems({"mysql": ["a"], "minio": ["b", "c"], "proxy": ["d"]}, {"b": 2, "c": 2},
                              {"wandb_region": "us-east-1"}) == []
    lines = pr.layout_problems({"mysql": [], "minio": ["b", "c"], "proxy": ["d"]}, {"b": 2, "c": 1},
                               {"wandb_region": "us-east-1", "minio_region on b": "eu-west-1"})
    assert [line.split(":")[0] for line in lines] == ["inventory groups mysql", "minio_drives", "minio_drives", "wandb_region"]
    assert "needs at least 4" in pr.layout_problems({"mysql": ["a"], "minio": ["b", "c"], "proxy": ["d"]},
                                                    {"b": 1, "c": 1}, {})[0]
