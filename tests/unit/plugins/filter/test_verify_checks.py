from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.verify_checks import verify_summary, wandb_mysql_mismatches

HOSTS = ["client", "mysql", "localhost"]
CHECKS = [
    {"name": "s3", "host": "client", "tag": "verify_s3", "required": True},
    {"name": "app", "host": "client", "tag": "verify_https", "required": False},
    {"name": "wandb_verify", "host": "client", "tag": "verify_https", "skip": "no verify_wandb_api_key set"},
    {"name": "mysql", "host": "mysql", "tag": "verify_mysql", "required": "True"},
    {"name": "kubernetes", "host": "", "needs": "a host in group kube_access", "tag": "verify_kubernetes"},
]


def words(summary):
    return {line["name"]: line["word"] for line in summary["lines"]}


def test_every_expected_line_is_present_and_a_missing_one_fails():
    summary = verify_summary({"s3": {"ok": True, "detail": "fine"}}, CHECKS, HOSTS, HOSTS)
    assert words(summary) == {"s3": "PASS", "app": "FAIL", "wandb_verify": "SKIP", "mysql": "FAIL", "kubernetes": "FAIL"}
    lines = {x["name"]: x["line"] for x in summary["lines"]}
    assert lines["mysql"] == "FAIL  mysql: not run (mysql recorded no result: its check was skipped or failed before recording)"
    assert "no inventory host runs it (a host in group kube_access)" in lines["kubernetes"]
    assert lines["wandb_verify"] == "SKIP  wandb_verify: no verify_wandb_api_key set"
    assert summary["failed"] == ["app", "mysql", "kubernetes"]  # app: absent is FAIL even when not required


@pytest.mark.parametrize("play_all, play, reason", [
    (["mysql"], ["mysql"], "client is not in this play: --limit leaves it out"),
    (HOSTS, ["mysql"], "client failed or was unreachable before the check ran"),
])
def test_absent_reason_names_the_host(play_all, play, reason):
    summary = verify_summary({}, CHECKS[:1], play_all, play)
    assert reason in summary["lines"][0]["detail"] and summary["failed"] == ["s3"]


def test_result_words_come_from_the_result():
    results = {"s3": {"ok": False, "detail": "put: 503"}, "app": {"ok": False, "detail": "502"},
               "mysql": {"ok": "False", "detail": "x"}, "kubernetes": {"ok": False, "detail": "0/1", "required": False},
               "wandb_verify": {"skip": "check mode"}}
    summary = verify_summary(results, CHECKS, HOSTS, HOSTS)
    assert words(summary) == {"s3": "FAIL", "app": "WARN", "wandb_verify": "SKIP", "mysql": "FAIL", "kubernetes": "WARN"}
    assert summary["failed"] == ["s3", "mysql"]


def test_unexpected_results_are_reported_and_required():
    summary = verify_summary({"redis": {"ok": False, "detail": "no auth"}}, [], HOSTS, HOSTS)
    assert summary["lines"][0]["line"] == "FAIL  redis: no auth" and summary["failed"] == ["redis"]


@pytest.mark.parametrize("run_tags, skip_tags, word", [
    (["all"], [], "FAIL"), (["verify"], [], "FAIL"), (["verify_s3"], [], "FAIL"),
    (["minio"], [], "SKIP"), (["all"], ["verify_s3"], "SKIP"), (["all"], ["verify"], "SKIP"),
])
def test_tags_that_leave_a_check_out_skip_it(run_tags, skip_tags, word):
    summary = verify_summary({}, CHECKS[:1], HOSTS, HOSTS, run_tags, skip_tags)
    assert summary["lines"][0]["word"] == word


def test_bad_expected_entry_is_an_error():
    with pytest.raises(AnsibleFilterError, match="needs a name"):
        verify_summary({}, [{"host": "x"}], HOSTS, HOSTS)


REQUIRED = {"binlog_format": "ROW", "sync_binlog": 1, "sort_buffer_size": [67108864, 33554432],
            "innodb_online_alter_log_max_size": 268435456}
GOOD = {"binlog_format": "ROW", "sync_binlog": "1", "sort_buffer_size": "33554432",
        "innodb_online_alter_log_max_size": "268435456"}


def test_live_server_meeting_w_and_b_passes_as_rows_or_mapping():
    rows = [{"Variable_name": k, "Value": v} for k, v in GOOD.items()]
    assert wandb_mysql_mismatches(rows, REQUIRED) == []
    assert wandb_mysql_mismatches(GOOD, REQUIRED) == []


@pytest.mark.parametrize("name, live, message", [
    ("binlog_format", "MIXED", "binlog_format is MIXED, W&B needs ROW"),
    ("sync_binlog", "0", "sync_binlog is 0, W&B needs 1"),
    ("sort_buffer_size", "262144", "sort_buffer_size is 262144, W&B needs 67108864 or 33554432"),
])
def test_each_wrong_value_is_named(name, live, message):
    assert wandb_mysql_mismatches(dict(GOOD, **{name: live}), REQUIRED) == [message]


def test_missing_variable_and_units():
    live = dict(GOOD)
    del live["binlog_format"]
    assert wandb_mysql_mismatches(live, REQUIRED) == ["binlog_format is not set on the server (W&B needs ROW)"]
    assert wandb_mysql_mismatches({"sort_buffer_size": "67108864"}, {"sort_buffer_size": "64M"}) == []
    assert wandb_mysql_mismatches({"skip_name_resolve": "ON"}, {"skip_name_resolve": True}) == []
