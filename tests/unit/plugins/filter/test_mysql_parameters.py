from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.mysql_parameters import (
    mysql_live_mismatches,
    mysql_non_numeric,
    mysql_options_argv,
    wandb_mysql_parameter_conflicts,
    wandb_mysql_parameter_group,
)
from ansible_collections.onprem.wandb.plugins.filter.verify_checks import wandb_mysql_mismatches
from ansible_collections.onprem.wandb.plugins.module_utils.mysql_parameters import WANDB_MYSQL_PARAMETERS

# W&B's self-managed docs, written out here on purpose: the test fails if the module's values drift
WANDB = {"binlog_format": "ROW", "binlog_row_image": "MINIMAL", "innodb_online_alter_log_max_size": "268435456",
         "sync_binlog": "1", "innodb_flush_log_at_trx_commit": "1", "sort_buffer_size": "67108864",
         "max_prepared_stmt_count": "1048576"}


def test_no_operator_keys_gives_wandb_group_over_the_derived_tuning():
    derived = {"innodb_buffer_pool_size": 134217728, "port": 3306, "sync_binlog": 0}
    group = wandb_mysql_parameter_group({}, derived)
    assert group == dict(WANDB, innodb_buffer_pool_size="134217728", port="3306")
    assert wandb_mysql_parameter_group(None) == WANDB


@pytest.mark.parametrize("overrides, expected", [
    ({"max_allowed_packet": "64M"}, dict(WANDB, max_allowed_packet="64M")),
    ({"skip_name_resolve": True, "local_infile": False}, dict(WANDB, skip_name_resolve="ON", local_infile="OFF")),
    ({"sort_buffer_size": 33554432}, dict(WANDB, sort_buffer_size="33554432")),
    ({"port": 3307}, dict(WANDB, port="3307")),
])
def test_operator_keys_add_to_or_override_the_group(overrides, expected):
    assert wandb_mysql_parameter_group(overrides, {"port": 3306}) == dict(expected, port=expected.get("port", "3306"))


def test_dashed_spelling_replaces_the_same_option():
    group = wandb_mysql_parameter_group({"sort-buffer-size": "32M"})
    assert "sort_buffer_size" not in group
    assert group["sort-buffer-size"] == "32M"
    assert len(group) == len(WANDB)


@pytest.mark.parametrize("overrides", [
    {}, {"max_allowed_packet": "64M"}, {"sort_buffer_size": "32M"}, {"sort_buffer_size": 67108864},
    {"binlog_format": "row"}, {"sync_binlog": "1"}, {"innodb_online_alter_log_max_size": "256M"},
    {"sort-buffer-size": 33554432},
])
def test_values_meeting_wandb_are_no_conflict(overrides):
    assert wandb_mysql_parameter_conflicts(overrides) == []


@pytest.mark.parametrize("overrides, message", [
    ({"sync_binlog": 0}, "mysql_parameters.sync_binlog = 0 contradicts W&B's requirement (1): remove the key"),
    ({"binlog_format": "MIXED"}, "mysql_parameters.binlog_format = MIXED contradicts W&B's requirement (ROW)"),
    ({"sort_buffer_size": "2M"}, "mysql_parameters.sort_buffer_size = 2M contradicts W&B's requirement (67108864 or 33554432)"),
    ({"innodb-flush-log-at-trx-commit": 2}, "mysql_parameters.innodb-flush-log-at-trx-commit = 2 contradicts"),
    ({"binlog_row_image": True}, "mysql_parameters.binlog_row_image = ON contradicts"),
])
def test_each_contradiction_is_named(overrides, message):
    found = wandb_mysql_parameter_conflicts(overrides)
    assert len(found) == 1 and found[0].startswith(message), found


def test_every_contradiction_is_listed_in_name_order():
    found = wandb_mysql_parameter_conflicts({"sync_binlog": 0, "binlog_format": "STATEMENT", "max_connections": 10})
    assert [f.split(" ")[0] for f in found] == ["mysql_parameters.binlog_format", "mysql_parameters.sync_binlog"]


@pytest.mark.parametrize("bad", [["sync_binlog"], "sync_binlog=0", 7])
def test_non_mapping_is_an_error(bad):
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        wandb_mysql_parameter_conflicts(bad)
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        wandb_mysql_parameter_group(bad)


LIVE = {"binlog_format": "ROW", "sync_binlog": "1", "sort_buffer_size": "33554432", "skip_name_resolve": "ON",
        "max_allowed_packet": "67108864", "innodb_buffer_pool_size": "402653184",
        "innodb_buffer_pool_chunk_size": "134217728", "innodb_buffer_pool_instances": "1", "log_bin": "ON"}


@pytest.mark.parametrize("group", [
    {"binlog_format": "ROW"},
    {"sort-buffer-size": "32M"},                       # dashes and a unit
    {"skip_name_resolve": "1"}, {"skip-name-resolve": "true"},
    {"max_allowed_packet": "64M"},
    {"innodb_buffer_pool_size": "268435457"},         # the server rounds up to chunk x instances
    {"log_bin": "/var/lib/mysql/binlog"},             # skipped: the variable is not the option's value
])
def test_live_values_that_match(group):
    assert mysql_live_mismatches(LIVE, group, ["log_bin"]) == []


@pytest.mark.parametrize("group, message", [
    ({"binlog_format": "MIXED"}, "binlog_format: asked MIXED, live ROW"),
    ({"sort_buffer_size": "64M"}, "sort_buffer_size: asked 64M, live 33554432"),
    ({"skip_name_resolve": "OFF"}, "skip_name_resolve: asked OFF, live ON"),
    ({"innodb_buffer_pool_size": "536870912"}, "innodb_buffer_pool_size: asked 536870912, live 402653184"),
    ({"innodb_bogus": "1"}, "innodb_bogus is not a server variable (list it in mysql_parameters_unchecked"),
])
def test_live_values_that_differ_are_named(group, message):
    found = mysql_live_mismatches([{"Variable_name": k, "Value": v} for k, v in LIVE.items()], group)
    assert len(found) == 1 and found[0].startswith(message), found


def test_live_rows_without_names_are_an_error():
    with pytest.raises(AnsibleFilterError, match="Variable_name/Value"):
        mysql_live_mismatches([{"name": "x"}], {"x": 1})


def test_options_argv_and_the_verify_default_use_the_same_group():
    assert mysql_options_argv({"sync_binlog": "1", "skip_name_resolve": "ON"}) == ["--sync_binlog=1", "--skip_name_resolve=ON"]
    assert set(WANDB_MYSQL_PARAMETERS) == set(WANDB)
    live = dict(WANDB, sort_buffer_size="33554432")
    assert wandb_mysql_mismatches(live) == []
    assert wandb_mysql_mismatches(dict(live, binlog_row_image="FULL")) == ["binlog_row_image is FULL, W&B needs MINIMAL"]


NUMERIC = ["sort_buffer_size", "max_connections", "innodb_buffer_pool_size"]


@pytest.mark.parametrize("overrides, bad", [
    ({}, []),
    ({"sort_buffer_size": "64M", "max_connections": 800}, []),
    ({"sort-buffer-size": "big"}, ["sort-buffer-size"]),
    ({"sort_buffer_size": "big"}, ["sort_buffer_size"]),
    ({"max-connections": "many", "innodb_buffer_pool_size": "1.5G"}, ["innodb_buffer_pool_size", "max-connections"]),
    ({"innodb-buffer-pool-size": "2G", "binlog-format": "ROW"}, []),
    ({"max_connections": True}, ["max_connections"]),
])
def test_non_numeric_values_are_named_as_written(overrides, bad):
    """Preflight reads the merged group: a dashed key replaced the derived or W&B value and is checked like its twin."""
    group = wandb_mysql_parameter_group(overrides, {"innodb_buffer_pool_size": 134217728, "max_connections": 500})
    assert sorted(mysql_non_numeric(group, NUMERIC)) == bad


def test_non_numeric_wants_a_list_of_names():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        mysql_non_numeric({"port": "x"}, "port")
