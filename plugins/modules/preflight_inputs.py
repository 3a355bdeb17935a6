#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Documentation of the preflight_inputs action plugin (plugins/action/preflight_inputs.py): it
runs on the controller only; this module file carries its docs and argument spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight_inputs
short_description: Check a W&B site's inputs, one variable at a time, listing every problem
description:
  - Runs on the controller only (an action plugin; nothing reaches the host). For each rule set (a role of this
    collection) whose groups this host belongs to, it loads the role's C(meta/argument_specs.yml) (types, choices)
    and C(meta/preflight_rules.yml) (required values, ranges, patterns, placeholders, cross-variable rules), lays
    the host's variables over the role's defaults and templates each variable on its own.
  - An undefined value (also behind an indirection such as C(wandb_license) set to C({{ vault_wandb_license }})), a
    secret whose text Ansible tries to render as a template, a wrong type, an out-of-range value or a placeholder
    of the examples each becomes one line C(<variable>) colon C(<what is wrong> (<how to fix>)); nothing raises.
  - String booleans and numbers (from C(-e) and AWX surveys) are accepted where a boolean or number is expected.
  - Also flags inventory hosts that still carry the example's placeholder names (C(*.example.internal)).
  - With O(platform), checks the host's operating system against the C(platforms) of each role that runs on the
    host (O(group_roles) maps its groups to roles; each role's C(meta/preflight_rules.yml) lists the
    distributions and major versions its vars files and package tasks cover) and names the host, the OS and every
    role that does not support it.
version_added: "1.0.0"
author: onprem.wandb maintainers (@onprem-wandb)
options:
  rule_sets:
    description:
      - Roles of this collection whose rules apply (C(preflight) holds the site-wide C(wandb_*) rules).
      - C(*) means every role of the collection that has a C(meta/preflight_rules.yml), site-wide rules first.
    type: list
    elements: str
    required: true
  rules:
    description: Extra rules (each a dict with C(var), C(groups) and the keys of C(meta/preflight_rules.yml)).
    type: list
    elements: dict
    default: []
  placeholders:
    description: Regular expressions (C(pattern), C(what)) that mark an unedited example value.
    type: list
    elements: dict
  managed_groups:
    description: Groups whose hosts the collection manages; their names are checked for placeholders.
    type: list
    elements: str
    default: []
  platform:
    description:
      - The host's operating system as its facts report it, C(distribution) (C(ansible_facts['distribution'])) and
        C(major) (C(ansible_facts['distribution_major_version'])); Debian testing/unstable (no numeric major version)
        is C(sid) in the roles' platform tables.
      - Unset, no platform check runs.
    type: dict
  group_roles:
    description: Inventory group to the roles of this collection that the site's plays run on that group's hosts.
    type: dict
    default: {}
  skip_roles:
    description: Roles that do not run in this site (e.g. C(monitoring) when the inventory has no monitoring host).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs the same in check mode (it only reads).
    support: full
  diff_mode:
    description: Reports no diff (it changes nothing).
    support: none
"""

EXAMPLES = r"""
- name: Check every input of this host's roles
  onprem.wandb.preflight_inputs:
    rule_sets: [preflight, mysql, minio, nginx, kubernetes, verify]
    managed_groups: [mysql, minio, proxy]
  register: inputs

- name: Check the host's OS against the roles that run on it
  onprem.wandb.preflight_inputs:
    rule_sets: []
    platform:
      distribution: "{{ ansible_facts['distribution'] }}"
      major: "{{ ansible_facts['distribution_major_version'] }}"
    group_roles:
      mysql: [mysql, verify]
      proxy: [nginx, verify]
  register: platform
"""

RETURN = r"""
problems:
  description: One line per problem, C(<variable>) colon C(<what is wrong> (<how to fix>)); secrets are never shown.
  type: list
  elements: str
  returned: always
checked:
  description: How many variables were checked on this host.
  type: int
  returned: always
refused_roles:
  description: The roles whose platforms do not include the host's OS (empty without O(platform)).
  type: list
  elements: str
  returned: always
"""


from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def argument_spec():
    """The options the action plugin takes (kept equal to DOCUMENTATION by the unit tests)."""
    return dict(
        rule_sets=dict(type="list", elements="str", required=True),
        rules=dict(type="list", elements="dict", default=[]),
        placeholders=dict(type="list", elements="dict"),
        managed_groups=dict(type="list", elements="str", default=[]),
        platform=dict(type="dict"),
        group_roles=dict(type="dict", default={}),
        skip_roles=dict(type="list", elements="str", default=[]),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.fail_json(msg="onprem.wandb.preflight_inputs runs as an action plugin on the controller; "
                         "this module file only documents it (is the collection installed completely?)")


if __name__ == "__main__":
    main()
