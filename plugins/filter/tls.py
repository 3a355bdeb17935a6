# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters for the certificates the roles serve (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def dns_name_matches(name, pattern):
    """Whether a certificate's DNS name (pattern) covers a host name, as RFC 6125 (6.4.3) has it:
    compared without regard to case; a wildcard is a left-most label of exactly "*" and stands for
    one whole, non-empty label ("*.example.com" covers "a.example.com", not "example.com" nor
    "a.b.example.com"); a "*" anywhere else (or a partial label such as "w*") matches nothing
    but itself, letter for letter."""
    name, pattern = name.lower(), pattern.lower()
    if name == pattern:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:] or len(pattern) == 2:
        return False
    label, dot, rest = name.partition(".")
    return bool(label) and bool(dot) and rest == pattern[2:]


def cert_uncovered_names(names, dns_names):
    """The host names (lower case, in order) that none of a certificate's DNS names covers."""
    for what, value in (("the host names", names), ("the certificate's DNS names", dns_names)):
        if not isinstance(value, (list, tuple)):
            raise AnsibleFilterError("onprem.wandb.cert_uncovered_names: %s must be a list, got %r" % (what, value))
        if not all(isinstance(v, str) for v in value):
            raise AnsibleFilterError("onprem.wandb.cert_uncovered_names: %s must be strings, got %r" % (what, value))
    return [name.lower() for name in names if not any(dns_name_matches(name, dns) for dns in dns_names)]


class FilterModule(object):
    """onprem.wandb TLS filters."""

    def filters(self):
        return {"cert_uncovered_names": cert_uncovered_names}
