# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""The collection's one way to pick a role's OS variables: which files of its vars/ apply to
a host, from the least specific to the most specific (each loaded over the one before)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.onprem.wandb.plugins.module_utils.preflight_rules import platform_key

# Loaded only when no other candidate exists (a role that assumes a layout for other systems).
FALLBACK = "default.yml"


def candidates(facts):
    """File names in load order: <os_family>, <os_family>_<major>, <distribution>,
    <distribution>_<major>, each once. The major is the platform key preflight uses (Debian
    testing/unstable, which has no numeric major, is ``sid``); a major that is empty or not a
    plain name (Debian's ``forky/sid`` outside Debian) gives no versioned name."""
    facts = facts or {}
    family = str(facts.get("os_family") or "").strip()
    distribution = str(facts.get("distribution") or "").strip()
    major = platform_key(distribution, facts.get("distribution_major_version"))
    if "/" in major or major in ("", ".", ".."):
        major = ""
    names = []
    for base in (family, distribution):
        if not base or "/" in base:
            continue
        for name in (base, base + "_" + major if major else ""):
            if name and name + ".yml" not in names:
                names.append(name + ".yml")
    return names


def files(vars_dir, facts, exists=os.path.isfile):
    """The existing candidates of ``vars_dir`` in load order; FALLBACK when none exists.
    Raises ValueError when nothing applies (the role has no variables for this OS)."""
    names = candidates(facts)
    found = [os.path.join(vars_dir, name) for name in names if exists(os.path.join(vars_dir, name))]
    if not found and exists(os.path.join(vars_dir, FALLBACK)):
        found = [os.path.join(vars_dir, FALLBACK)]
    if not found:
        raise ValueError("%s has no variables for %s %s (os_family %s): add one of %s"
                         % (vars_dir, (facts or {}).get("distribution"), (facts or {}).get("distribution_major_version"),
                            (facts or {}).get("os_family"), ", ".join(names) or FALLBACK))
    return found
