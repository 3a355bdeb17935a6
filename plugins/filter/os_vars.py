# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""The OS variables a role loads (module_utils/os_vars.py holds the rule; docs: os_vars_files.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible_collections.onprem.wandb.plugins.module_utils import os_vars


def os_vars_files(vars_dir, facts):
    """The files of a role's vars/ that apply to a host, least specific first."""
    if not isinstance(facts, Mapping) or not facts.get("os_family"):
        raise AnsibleFilterError("onprem.wandb.os_vars_files: pass ansible_facts with os_family, distribution and "
                                 "distribution_major_version (gather them first), got %r" % (facts,))
    try:
        return os_vars.files(str(vars_dir), dict(facts))
    except ValueError as exc:
        raise AnsibleFilterError("onprem.wandb.os_vars_files: %s" % exc)


class FilterModule(object):
    """onprem.wandb OS variables filter."""

    def filters(self):
        return {"os_vars_files": os_vars_files}
