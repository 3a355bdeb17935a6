# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters of the minio role (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_operations

# what Ansible's flatten filter drops from a list
_NULLS = (None, "None", "null")


def minio_ellipsis(values):
    """The names in MinIO's ellipsis notation (minio-{1...4}); one name as it is; "" when the
    names do not compress. Surrounding white space is dropped."""
    if isinstance(values, (str, bytes, dict)):
        raise AnsibleFilterError("onprem.wandb.minio_ellipsis: expects a list of names, got %r" % (values,))
    try:
        return wandb_operations.ellipsis(list(values)).strip()
    except wandb_operations.LayoutError:
        return ""
    except TypeError as exc:
        raise AnsibleFilterError("onprem.wandb.minio_ellipsis: expects a list of names (%s)" % exc)


def _flat(value):
    """A statement's Action or Resource (a string or a nested list) as a flat list without nulls."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flat(item)]
    return [] if value in _NULLS else [value]


def _sorted(values):
    """Sorted without regard to case (Jinja's sort); equal-but-for-case values keep their order."""
    return sorted(values, key=lambda v: v.lower() if isinstance(v, str) else v)


def minio_policy_key(statements):
    """An IAM policy's statements in one canonical, order-free string: one line per statement
    (Effect|sorted actions|sorted resources|Condition as sorted JSON), lines sorted."""
    if statements is None:
        statements = []
    if not isinstance(statements, (list, tuple)):
        raise AnsibleFilterError("onprem.wandb.minio_policy_key: expects a list of policy statements, got %r" % (statements,))
    lines = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise AnsibleFilterError("onprem.wandb.minio_policy_key: statement %d is not a dict: %r" % (index, statement))
        missing = [key for key in ("Effect", "Action", "Resource") if key not in statement]
        if missing:
            raise AnsibleFilterError("onprem.wandb.minio_policy_key: statement %d has no %s (only Effect/Action/Resource "
                                     "statements are compared)" % (index, "/".join(missing)))
        try:
            lines.append("|".join([
                str(statement["Effect"]),
                ",".join(str(v) for v in _sorted(_flat(statement["Action"]))),
                ",".join(str(v) for v in _sorted(_flat(statement["Resource"]))),
                json.dumps(statement.get("Condition", {}), sort_keys=True),
            ]))
        except TypeError as exc:
            raise AnsibleFilterError("onprem.wandb.minio_policy_key: statement %d: %s" % (index, exc))
    return "\n".join(_sorted(lines))


class FilterModule(object):
    """onprem.wandb minio filters."""

    def filters(self):
        return {"minio_ellipsis": minio_ellipsis, "minio_policy_key": minio_policy_key}
