# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""The journey's steps as verify summary lines (docs: journey_results.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _detail(step):
    msg = step.get("msg") or ""
    if step.get("ok") and step.get("seconds") is not None:
        msg = "%s (%.2f s)" % (msg, step["seconds"])
    return msg


def row_result(file_info, row, row_error=None):
    """(ok, detail) of the file's metadata row as read from MySQL (None: not read)."""
    file_info = file_info or {}
    if row_error:
        return False, "cannot read the row of file %s: %s" % (file_info.get("id", "?"), row_error)
    if row is None:
        return False, "not run: the confirm step did not pass"
    if not row:
        return False, ("file %s has no row in standin_files: the app confirmed the upload but did not record it in "
                       "the database the verify role reads (wandb_db_host/wandb_db_name differ from the app's MYSQL?)"
                       % file_info.get("id", "?"))
    want = {"state": "complete", "size": file_info.get("size"), "etag": file_info.get("etag"),
            "sha256": file_info.get("sha256")}
    got = {"state": row.get("state"), "size": row.get("size"), "etag": row.get("etag"), "sha256": row.get("sha256")}
    if isinstance(got["size"], str) and got["size"].isdigit():
        got["size"] = int(got["size"])
    wrong = ["%s=%r (expected %r)" % (k, got[k], want[k]) for k in ("state", "size", "etag", "sha256") if got[k] != want[k]]
    if wrong:
        return False, "row of file %s in standin_files differs: %s" % (file_info.get("id", "?"), ", ".join(wrong))
    return True, "row of file %s in standin_files: complete, %s bytes, ETag %s, sha256 of the upload" % (
        file_info.get("id"), got["size"], got["etag"])


def journey_results(steps, file=None, row=None, row_error=None, check_row=True, prefix="journey_"):
    """``{prefix+step: {ok, detail}}`` for every step, plus ``<prefix>mysql_row`` when check_row."""
    if not isinstance(steps, list):
        raise AnsibleFilterError("onprem.wandb.journey_results: expects the app_journey module's steps (a list)")
    out = {}
    for step in steps:
        if not isinstance(step, dict) or "name" not in step:
            raise AnsibleFilterError("onprem.wandb.journey_results: a step without a name: %r" % (step,))
        out[prefix + step["name"]] = {"ok": bool(step.get("ok")), "detail": _detail(step)}
    if check_row:
        ok, detail = row_result(file, row, row_error)
        out[prefix + "mysql_row"] = {"ok": ok, "detail": detail}
    return out


class FilterModule(object):
    def filters(self):
        return {"journey_results": journey_results}
