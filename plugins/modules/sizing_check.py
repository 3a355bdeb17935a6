#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sizing_check
short_description: Check a host against W&B's self-managed reference architecture
version_added: "1.0.0"
description:
  - Reads CPU cores, memory, total and free disk of the file system holding O(data_path), and the CPU
    architecture, with the Python standard library (C(os.sched_getaffinity), C(/proc/meminfo),
    C(os.statvfs), C(platform.machine)).
  - Compares them with W&B's reference architecture sizing for the O(profile), O(environment) and
    O(node_role) (per Kubernetes worker node, per MySQL node). The tables live once in the collection's
    C(module_utils/wandb_sizing.py), which names the documentation revision they come from.
  - Memory "GB" of the tables is read as GiB, disk "GB" as 10^9 bytes; O(tolerance_percent) allows for what
    the kernel and file system keep.
  - W&B runs on x86-64 only; any other architecture is a shortfall.
  - With O(strict=true) the module fails listing every shortfall; otherwise it warns and succeeds.
  - Optionally measures sequential write throughput in O(data_path) with a bounded probe (O(probe_size_mb),
    O(probe_timeout)); the probe file is removed again.
  - Never changes the host (C(changed=false)).
author:
  - onprem.wandb maintainers (@onprem-wandb)
options:
  profile:
    description: W&B products the deployment runs.
    type: str
    choices: [models, weave, models_and_weave]
    default: models
  environment:
    description: Test/dev or production sizing.
    type: str
    choices: [test, production]
    default: production
  node_role:
    description: Which table applies to this host.
    type: str
    choices: [kubernetes_worker, mysql]
    required: true
  data_path:
    description:
      - Directory whose file system holds the data (MySQL datadir, kubelet/containerd storage).
      - When it does not exist yet, its nearest existing parent is measured.
    type: path
    default: /
  strict:
    description: Fail when any dimension falls short; false only warns.
    type: bool
    default: true
  tolerance_percent:
    description: How far below the table value memory and disk may be and still pass.
    type: float
    default: 5
  probe_disk:
    description: Measure sequential write throughput in O(data_path) (skipped in check mode).
    type: bool
    default: false
  probe_size_mb:
    description: Most MiB the probe writes (1 to 1024).
    type: int
    default: 64
  probe_timeout:
    description: Most seconds the probe writes (0.1 to 60); it stops at whichever limit comes first.
    type: float
    default: 10
  min_disk_write_mb_s:
    description: When set (and O(probe_disk=true)), a probe result below it in MB/s is a shortfall.
    type: float
notes:
  - "Source of the tables: W&B docs, Reference Architecture, Sizing (wandb/docs ref-arch.mdx, see module_utils)."
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: measurements only; the disk probe is skipped.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: A production Kubernetes worker for Models and Weave
  onprem.wandb.sizing_check:
    profile: models_and_weave
    environment: production
    node_role: kubernetes_worker
    data_path: /var/lib/containerd

- name: The MySQL host, warn only, with a bounded disk probe
  onprem.wandb.sizing_check:
    node_role: mysql
    environment: test
    data_path: /var/lib/mysql
    strict: false
    probe_disk: true
    probe_size_mb: 128
    probe_timeout: 5
    min_disk_write_mb_s: 100
  register: sizing
"""

RETURN = r"""
requirement:
  description: The reference row used, with its source.
  returned: always
  type: dict
  sample: {profile: models, environment: production, node_role: mysql, cpu_cores: 8, memory_gb: 64, disk_gb: 500,
           architecture: x86_64, source: "W&B docs, Reference Architecture > Sizing ..."}
checks:
  description: Per dimension (cpu_cores, memory_gb, disk_gb, architecture, disk_write_mb_s) required, found, unit, ok.
  returned: always
  type: dict
  sample: {cpu_cores: {required: 8, found: 16, unit: cores, ok: true}}
shortfalls:
  description: One message per dimension that falls short.
  returned: always
  type: list
  elements: str
  sample: ["memory: 31.3 GiB < 64 GB required"]
facts:
  description: What was measured (cpu_cores, memory_bytes, disk_total_bytes, disk_free_bytes, architecture, data_path, measured_path).
  returned: always
  type: dict
disk_probe:
  description: Result of the write probe (bytes, seconds, mb_per_s, complete), when it ran.
  returned: when probe_disk and not check mode
  type: dict
  sample: {bytes: 67108864, seconds: 0.41, mb_per_s: 163.7, complete: true}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_sizing as sizing


def argument_spec():
    return dict(
        profile=dict(type="str", choices=list(sizing.PROFILES), default="models"),
        environment=dict(type="str", choices=list(sizing.ENVIRONMENTS), default="production"),
        node_role=dict(type="str", choices=list(sizing.NODE_ROLES), required=True),
        data_path=dict(type="path", default="/"),
        strict=dict(type="bool", default=True),
        tolerance_percent=dict(type="float", default=5),
        probe_disk=dict(type="bool", default=False),
        probe_size_mb=dict(type="int", default=64),
        probe_timeout=dict(type="float", default=10),
        min_disk_write_mb_s=dict(type="float"),
    )


def validate(params):
    errors = []
    if not 1 <= params["probe_size_mb"] <= 1024:
        errors.append("probe_size_mb must be between 1 and 1024, got %d" % params["probe_size_mb"])
    if not 0.1 <= params["probe_timeout"] <= 60:
        errors.append("probe_timeout must be between 0.1 and 60 seconds, got %s" % params["probe_timeout"])
    if not 0 <= params["tolerance_percent"] < 50:
        errors.append("tolerance_percent must be between 0 and 50, got %s" % params["tolerance_percent"])
    return errors


def evaluate(params, facts, probe=None):
    """Pure: (result dict, shortfalls) for the given measurements."""
    req = sizing.requirement(params["profile"], params["environment"], params["node_role"])
    checks, shortfalls = sizing.compare(req, facts, params["tolerance_percent"])
    result = {"changed": False, "requirement": req, "checks": checks, "shortfalls": shortfalls, "facts": facts}
    if probe is not None:
        result["disk_probe"] = probe
        minimum = params.get("min_disk_write_mb_s")
        if minimum is not None:
            ok = probe["mb_per_s"] is not None and probe["mb_per_s"] >= minimum
            checks["disk_write_mb_s"] = {"required": minimum, "found": probe["mb_per_s"], "unit": "MB/s", "ok": ok}
            if not ok:
                shortfalls.append("disk write: %s MB/s at %s < %s MB/s required" % (
                    probe["mb_per_s"], facts["measured_path"], minimum))
    return result, shortfalls


def summary(params, shortfalls):
    row = "%s/%s/%s" % (params["profile"], params["environment"], params["node_role"])
    if not shortfalls:
        return "host meets W&B's reference sizing for %s" % row
    return ("host falls short of W&B's reference sizing for %s: %s. Add resources, or choose the environment/"
            "profile this host is meant for (strict=false only warns)." % (row, "; ".join(shortfalls)))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    try:
        facts = sizing.host_facts(params["data_path"])
    except OSError as exc:
        module.fail_json(msg="cannot measure %s: %s" % (params["data_path"], exc))
    probe = None
    if params["probe_disk"] and not module.check_mode:
        try:
            probe = sizing.disk_probe(facts["measured_path"], params["probe_size_mb"] * 1024 * 1024,
                                      params["probe_timeout"])
        except OSError as exc:
            module.fail_json(msg="disk probe in %s failed: %s (is it writable by %s?)"
                             % (facts["measured_path"], exc, "the connecting user"))
    result, shortfalls = evaluate(params, facts, probe)
    result["msg"] = summary(params, shortfalls)
    if shortfalls and params["strict"]:
        module.fail_json(**result)
    for text in shortfalls:
        module.warn("sizing: %s" % text)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
