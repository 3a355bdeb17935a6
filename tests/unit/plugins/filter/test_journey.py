from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter import journey

FILE = {"id": "f1", "size": 10, "etag": "e1", "sha256": "ab" * 32}
ROW = {"state": "complete", "size": "10", "etag": "e1", "sha256": "ab" * 32}
STEPS = [{"name": "ready", "ok": True, "seconds": 1.234, "msg": "ready"},
         {"name": "put", "ok": False, "seconds": None, "msg": "PUT: 413"}]


def test_lines_per_step_and_row():
    out = journey.FilterModule().filters()["journey_results"](STEPS, file=FILE, row=ROW)
    assert list(out) == ["journey_ready", "journey_put", "journey_mysql_row"]
    assert out["journey_ready"] == {"ok": True, "detail": "ready (1.23 s)"}
    assert out["journey_put"] == {"ok": False, "detail": "PUT: 413"}
    assert out["journey_mysql_row"]["ok"] is True and "complete, 10 bytes, ETag e1" in out["journey_mysql_row"]["detail"]


@pytest.mark.parametrize("row, error, needle", [
    (None, None, "not run: the confirm step did not pass"),
    ({}, None, "has no row in standin_files"),
    (dict(ROW, state="pending"), None, "state='pending' (expected 'complete')"),
    (dict(ROW, size=9), None, "size=9 (expected 10)"),
    (dict(ROW, sha256="cd" * 32), None, "sha256="),
    (ROW, "Access denied for user", "cannot read the row of file f1: Access denied"),
])
def test_row_problems(row, error, needle):
    ok, detail = journey.row_result(FILE, row, error)
    assert ok is False and needle in detail, detail


def test_without_row_check_and_bad_input():
    assert list(journey.journey_results(STEPS[:1], check_row=False)) == ["journey_ready"]
    with pytest.raises(AnsibleFilterError, match="steps"):
        journey.journey_results("nope")
    with pytest.raises(AnsibleFilterError, match="without a name"):
        journey.journey_results([{"ok": True}])
