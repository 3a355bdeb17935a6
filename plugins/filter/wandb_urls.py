# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters that build and parse W&B's connection strings (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_urls


def _from_mapping(name, args, kwargs):
    """Accept one dict as the input, as roles write it: ``{{ {...} | onprem.wandb.mysql_url }}``.

    For bucket_url the dict names the ``endpoint`` (scheme://host[:port], tls following the
    scheme), or ``host`` (host[:port]) and ``tls`` (default true) in its place."""
    if len(args) != 1 or kwargs or not isinstance(args[0], Mapping):
        return args, kwargs
    params = dict(args[0])
    if name == "bucket_url" and "host" in params:
        if "endpoint" in params:
            raise wandb_urls.WandbUrlError(
                "give endpoint (scheme://host[:port]) or host and tls, not both")
        tls = params.get("tls", True)
        params["endpoint"] = "%s://%s" % ("https" if tls else "http", params.pop("host"))
    return (), params


def _wrap(func, name):
    def filter_func(*args, **kwargs):
        try:
            args, kwargs = _from_mapping(name, args, kwargs)
            return func(*args, **kwargs)
        except wandb_urls.WandbUrlError as exc:
            raise AnsibleFilterError("onprem.wandb.%s: %s" % (name, exc))
        except TypeError as exc:
            raise AnsibleFilterError("onprem.wandb.%s: wrong arguments (%s)" % (name, exc))
    filter_func.__name__ = name
    filter_func.__doc__ = func.__doc__
    return filter_func


class FilterModule(object):
    """onprem.wandb URL filters."""

    def filters(self):
        return {
            "mysql_url": _wrap(wandb_urls.mysql_url, "mysql_url"),
            "bucket_url": _wrap(wandb_urls.bucket_url, "bucket_url"),
            "parse_bucket_url": _wrap(wandb_urls.parse_bucket_url, "parse_bucket_url"),
            "url_origin": _wrap(wandb_urls.url_origin, "url_origin"),
            "redis_url": _wrap(wandb_urls.redis_url, "redis_url"),
        }
