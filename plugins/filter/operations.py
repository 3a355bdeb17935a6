# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters of the day-2 operations (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_operations


def row_count_report(tables, counts, source, restored):
    try:
        return wandb_operations.row_count_report(list(tables), list(counts), source, restored)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("onprem.wandb.row_count_report: %s" % exc)


def minio_pool_layout(pools, current="", scheme="http", port=9000):
    try:
        running = wandb_operations.parse_volumes(current) if current else None
        checked = wandb_operations.check_pools(list(pools), running)
        volumes = " ".join(wandb_operations.volumes_argument(p, scheme, port) for p in checked)
    except wandb_operations.LayoutError as exc:
        raise AnsibleFilterError("onprem.wandb.minio_pool_layout: %s" % exc)
    except (TypeError, AttributeError) as exc:
        raise AnsibleFilterError("onprem.wandb.minio_pool_layout: pools must be a list of "
                                 "{hosts: [...], drives: [...]} (%s)" % exc)
    return {"pools": checked, "volumes": volumes,
            "added": len(checked) - (len(running) if running else 0)}


class FilterModule(object):
    """onprem.wandb operations filters."""

    def filters(self):
        return {"row_count_report": row_count_report, "minio_pool_layout": minio_pool_layout}
