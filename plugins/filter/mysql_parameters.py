# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters around W&B's MySQL parameter group (module_utils/mysql_parameters.py holds the
values and the logic; docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible_collections.onprem.wandb.plugins.module_utils import mysql_parameters as mp


def _mapping(value, what, filter_name):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("%s: %s must be a mapping of option name -> value, got %s" % (filter_name, what, type(value).__name__))
    return dict(value)


def wandb_mysql_parameter_group(overrides, derived=None):
    """The host-derived tuning, W&B's values, then the operator's keys, rendered for my.cnf."""
    return mp.parameter_group(_mapping(overrides, "mysql_parameters", "wandb_mysql_parameter_group"),
                              _mapping(derived, "derived", "wandb_mysql_parameter_group"))


def wandb_mysql_parameter_conflicts(overrides):
    """Messages for the operator's keys that contradict W&B's requirement."""
    return mp.conflicts(_mapping(overrides, "mysql_parameters", "wandb_mysql_parameter_conflicts"))


def mysql_live_mismatches(live, group, skip=None):
    """Messages for every parameter of the group whose live value differs."""
    try:
        live = mp.variables(live)
    except ValueError as exc:
        raise AnsibleFilterError("mysql_live_mismatches: %s" % exc)
    return mp.live_mismatches(live,
                              _mapping(group, "the parameter group", "mysql_live_mismatches"), skip or [])


def mysql_non_numeric(group, numeric):
    """The keys (as written) of numeric options whose value is not a number."""
    if not isinstance(numeric, (list, tuple)):
        raise AnsibleFilterError("mysql_non_numeric: the numeric option names must be a list, got %s" % type(numeric).__name__)
    return mp.non_numeric(_mapping(group, "the parameter group", "mysql_non_numeric"), numeric)


def mysql_options_argv(group):
    """``--name=value`` arguments for ``mysqld --validate-config``."""
    return mp.options_argv(_mapping(group, "the parameter group", "mysql_options_argv"))


class FilterModule(object):
    """onprem.wandb MySQL parameter group filters."""

    def filters(self):
        return {
            "wandb_mysql_parameter_group": wandb_mysql_parameter_group,
            "wandb_mysql_parameter_conflicts": wandb_mysql_parameter_conflicts,
            "mysql_live_mismatches": mysql_live_mismatches,
            "mysql_options_argv": mysql_options_argv,
            "mysql_non_numeric": mysql_non_numeric,
        }
