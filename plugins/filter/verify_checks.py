# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters of onprem.wandb.verify: the summary of expected checks, and the live MySQL
variables compared with W&B's requirements (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.collections_abc import Mapping, Sequence
from ansible_collections.onprem.wandb.plugins.module_utils import mysql_parameters

_ON = ("1", "on", "true", "yes")


def _truthy(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, string_types):
        return value.strip().lower() in _ON
    return bool(value)


def wandb_mysql_mismatches(live, required=None):
    """Messages for every required variable whose live value is not one of the accepted ones.

    ``live``: SHOW GLOBAL VARIABLES rows (Variable_name/Value) or a name -> value mapping.
    ``required``: name -> accepted value or list of accepted values; W&B's parameter group
    (module_utils/mysql_parameters.py) when not given."""
    if required is None:
        required = mysql_parameters.required()
    try:
        live = mysql_parameters.variables(live)
    except ValueError as exc:
        raise AnsibleFilterError("wandb_mysql_mismatches: %s" % exc)
    if not isinstance(required, Mapping):
        raise AnsibleFilterError("wandb_mysql_mismatches: expects the live variables and a mapping of required values")
    out = []
    for name in sorted(required):
        accepted = required[name]
        if isinstance(accepted, string_types) or not isinstance(accepted, Sequence):
            accepted = [accepted]
        if name not in live:
            out.append("%s is not set on the server (W&B needs %s)" % (name, " or ".join(str(a) for a in accepted)))
            continue
        have = live[name]
        if mysql_parameters.normalise(have) not in [mysql_parameters.normalise(a) for a in accepted]:
            out.append("%s is %s, W&B needs %s" % (name, have, " or ".join(str(a) for a in accepted)))
    return out


def _selected(tag, run_tags, skip_tags):
    run = set(run_tags or ["all"])
    skip = set(skip_tags or [])
    if tag in skip or "verify" in skip:
        return False
    return bool(run & {"all", "verify", tag})


def _absent_reason(check, play_hosts_all, play_hosts):
    host = check.get("host") or ""
    if not host:
        return "no inventory host runs it (%s)" % (check.get("needs") or "its group is empty")
    if host not in play_hosts_all:
        return "%s is not in this play: --limit leaves it out, or it is in none of the play's groups" % host
    if host not in play_hosts:
        return "%s failed or was unreachable before the check ran" % host
    return "%s recorded no result: its check was skipped or failed before recording" % host


def verify_summary(results, checks, play_hosts_all=None, play_hosts=None, run_tags=None, skip_tags=None):
    """Lines of the verify summary and the names that fail the run.

    Every check in ``checks`` gets a line: PASS/FAIL/WARN from its own recorded result, SKIP
    with the reason the user chose, or FAIL "not run (why)" when it recorded nothing. Results
    without an entry in ``checks`` are reported too (required)."""
    if not isinstance(results, Mapping):
        raise AnsibleFilterError("verify_summary: results must be a mapping of check name -> result")
    play_hosts_all = list(play_hosts_all or [])
    play_hosts = list(play_hosts if play_hosts is not None else play_hosts_all)
    lines, failed, names = [], [], []
    for check in checks or []:
        if not isinstance(check, Mapping) or not check.get("name"):
            raise AnsibleFilterError("verify_summary: every expected check needs a name (got %r)" % (check,))
        names.append(check["name"])
    extra = [{"name": n, "required": True} for n in sorted(results) if n not in names]
    for check in list(checks or []) + extra:
        name = check["name"]
        result = results.get(name)
        # a result may say itself whether its failure is required (e.g. pods not ready)
        required = _truthy((result or {}).get("required", check.get("required", True)))
        if result is None:
            if check.get("skip"):
                word, detail = "SKIP", check["skip"]
            elif not _selected(check.get("tag", "verify"), run_tags, skip_tags):
                word, detail = "SKIP", "not selected by --tags/--skip-tags"
            else:
                word, detail = "FAIL", "not run (%s)" % _absent_reason(check, play_hosts_all, play_hosts)
        elif result.get("skip"):
            word, detail = "SKIP", result["skip"]
        elif _truthy(result.get("ok", False)):
            word, detail = "PASS", result.get("detail", "")
        else:
            word, detail = ("FAIL" if required else "WARN"), result.get("detail", "")
        if word == "FAIL":
            failed.append(name)
        lines.append({"word": word, "name": name, "detail": detail, "line": "%-4s  %s: %s" % (word, name, detail)})
    return {"lines": lines, "failed": failed, "passed": [x["name"] for x in lines if x["word"] == "PASS"]}


class FilterModule(object):
    """onprem.wandb verify filters."""

    def filters(self):
        return {
            "verify_summary": verify_summary,
            "wandb_mysql_mismatches": wandb_mysql_mismatches,
        }
