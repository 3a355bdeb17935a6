"""onprem.wandb.preflight_inputs (the action plugin) with a real Templar and the collection's own rule sets.

Inventory values are what Ansible hands a task in 2.19: strings trusted as templates; a value the
operator marked ``!unsafe`` is a plain (untrusted) string and is never rendered.
"""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.onprem.wandb.plugins.action.preflight_inputs import ActionModule

SECRET = "W&B:p@ss/w%rd#1 'x\"\\$y"
GOOD = {
    "wandb_fqdn": "wandb.corp.test", "wandb_url": "https://{{ wandb_fqdn }}", "wandb_region": "us-east-1",
    "wandb_bucket": "wandb", "wandb_db_host": "db1.corp.test",
    "wandb_s3_endpoint": "https://s3.corp.test", "wandb_s3_access_key": "wandb-app",
    "wandb_db_password": "{{ vault_wandb_db_password }}", "wandb_license": "{{ vault_wandb_license }}",
    "wandb_s3_secret_key": "{{ vault_wandb_s3_secret_key }}",
    "vault_wandb_db_password": SECRET, "vault_wandb_license": "lic-0123456789abcdef",
    "vault_wandb_s3_secret_key": "s3/secret+key:2026",
}


def run(overrides=None, drop=(), unsafe=(), rule_sets=("preflight",), groups=("kube_access",), **args):
    """The plugin's result for an inventory of GOOD + overrides; names in ``unsafe`` are !unsafe values."""
    values = {k: v for k, v in {**GOOD, **(overrides or {})}.items() if k not in drop}
    task_vars = {k: (v if k in unsafe or not isinstance(v, str) else trust_as_template(v)) for k, v in values.items()}
    task_vars.update(group_names=list(groups), inventory_hostname="ctl", groups={"all": ["ctl"], "kube_access": ["ctl"]},
                     hostvars={"ctl": dict(task_vars)})
    task = mock.MagicMock(args={"rule_sets": list(rule_sets), **args}, async_val=0, check_mode=False)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/tmp/unused"
    loader = DataLoader()
    action = ActionModule(task, connection, mock.MagicMock(), loader, Templar(loader=loader), None)
    return action.run(task_vars=task_vars)


def problems_of(result, name):
    return [p for p in result["problems"] if p.split(":", 1)[0].split(" (")[0] == name]


def test_a_good_site_has_no_problem_and_every_rule_was_checked():
    result = run()
    assert result["problems"] == [] and result["changed"] is False
    assert result["checked"] >= len(GOOD) - 3  # the vault_ keys have no rule of their own


def test_a_missing_vault_key_is_named_once_with_where_to_set_it():
    result = run(drop=("vault_wandb_license",))
    lines = [p for p in result["problems"] if "vault_wandb_license" in p]
    assert len(lines) == 1, result["problems"]
    assert lines[0].startswith("wandb_license:") and "refers to vault_wandb_license, which is not set" in lines[0]
    assert "vault.yml.example" in lines[0] and "!unsafe" not in lines[0]


def test_a_pasted_secret_with_a_comment_start_is_told_to_be_unsafe_and_not_shown():
    pasted = "k{#8%x:Q@/p{{ w"
    result = run({"vault_wandb_db_password": pasted})
    (line,) = [p for p in result["problems"] if "wandb_db_password" in p]
    assert line.startswith("vault_wandb_db_password (through wandb_db_password)")
    assert "vault_wandb_db_password: !unsafe" in line and pasted not in line


def test_the_same_value_marked_unsafe_passes():
    assert run({"vault_wandb_db_password": "k{#8%x:Q@/p{{ w"}, unsafe=("vault_wandb_db_password",))["problems"] == []


@pytest.mark.parametrize("expression, shown", [
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ wandb_fqdn | no_such_filter }}", "No filter named 'no_such_filter'"),
])
def test_a_failing_expression_is_reported_as_written_not_as_a_value_to_mark_unsafe(expression, shown):
    result = run({"wandb_bucket": expression})
    (line,) = problems_of(result, "wandb_bucket")
    assert "could not be evaluated" in line and shown in line and "correct the expression" in line
    assert "!unsafe" not in line


def test_a_failing_expression_in_a_secret_shows_only_the_kind_of_error_and_both_fixes():
    result = run({"vault_wandb_s3_secret_key": "abc{{ 1 / 0 }}def"})
    (line,) = [p for p in result["problems"] if "wandb_s3_secret_key" in p]
    assert "could not be evaluated" in line and "division" not in line and "abc" not in line
    assert "correct the expression" in line
    # written in the variable itself (no vault indirection): the {{ may be part of the secret
    (line,) = problems_of(run({"wandb_db_password": "abc{{ 1 / 0 }}def"}), "wandb_db_password")
    assert "correct the expression" in line and "wandb_db_password: !unsafe '...'" in line and "abc" not in line


def test_braces_around_an_unknown_name_in_a_secret_name_it_and_offer_unsafe():
    result = run({"wandb_db_password": "ab{{cd}}ef"})
    (line,) = problems_of(result, "wandb_db_password")
    assert "refers to cd, which is not set" in line and "wandb_db_password: !unsafe" in line


@pytest.mark.parametrize("text, expected", [("false", False), ("True", True), ("no", False), ("1", True)])
def test_string_booleans_from_extra_vars_and_surveys_are_accepted(text, expected):
    assert run({"preflight_sizing_strict": text})["problems"] == []


def test_a_word_that_is_no_boolean_is_named_with_the_fix():
    (line,) = problems_of(run({"preflight_sizing_strict": "maybe"}), "preflight_sizing_strict")
    assert "not a boolean" in line and "use true or false" in line


def test_the_vault_examples_placeholder_is_named_by_its_vault_key():
    result = run({"vault_wandb_license": "paste the W&B license here"})
    (line,) = [p for p in result["problems"] if "license" in p]
    assert line.startswith("vault_wandb_license (through wandb_license)")


def test_no_problem_line_ever_shows_a_secret():
    broken = run({"vault_wandb_db_password": SECRET + "{#", "wandb_bucket": "B!"})
    assert len(broken["problems"]) == 2 and not any(SECRET in p for p in broken["problems"])


def test_a_rule_set_for_groups_the_host_is_not_in_is_not_applied():
    # the mysql role's rules apply to the mysql group only: a bad mysql_port on a kube_access host is not its problem
    assert run({"mysql_port": "not-a-port"}, rule_sets=("preflight", "mysql"))["problems"] == []
    (line,) = problems_of(run({"mysql_port": "not-a-port"}, rule_sets=("preflight", "mysql"), groups=("mysql",)),
                          "mysql_port")
    assert "not an integer" in line


@pytest.mark.parametrize("pasted", ["a{#b#}c", "abc{#"])
def test_a_secret_whose_comment_would_vanish_silently_is_refused(pasted):
    # Jinja renders these without an error ("ac", "abc"): the server would get another password
    result = run({"vault_wandb_db_password": pasted})
    (line,) = [p for p in result["problems"] if "wandb_db_password" in p]
    assert line.startswith("vault_wandb_db_password (through wandb_db_password)") and "dropped" in line
    assert "!unsafe" in line and pasted not in line
    assert run({"vault_wandb_db_password": pasted}, unsafe=("vault_wandb_db_password",))["problems"] == []
