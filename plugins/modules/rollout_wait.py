#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: rollout_wait
short_description: Wait for a Deployment's rollout and explain why it does not finish
version_added: "1.0.0"
description:
  - Polls the Deployment O(name) in O(namespace), its ReplicaSets, pods and events until the rollout is done
    (every replica of the current revision updated and available, no old ones left, the rule of
    C(kubectl rollout status)), it is stuck, or O(timeout) seconds pass.
  - Stuck means a pod of the new revision has shown, for O(give_up_after) seconds, a state that does not heal by
    itself (ImagePullBackOff, ErrImagePull, CrashLoopBackOff, CreateContainerConfigError, Unschedulable, ...), or the
    Deployment's progress deadline was exceeded. The module then fails at once instead of waiting out O(timeout).
  - The failure message names each pod's state, the reason with what to change (registry, pull secret or
    air-gap for image pulls; resources, node selector or taints for Pending; which probe and its last answer for
    probe failures) and, where they help, the container's last O(log_lines) log lines.
  - Log lines pass through a filter that replaces every value of O(redact) and the user:password part of any URL
    with C(********); pod status and events carry names of Secrets and keys, never values.
  - Reads only (C(changed=false)). In check mode it looks once and reports, without waiting or failing.
author:
  - onprem.wandb maintainers (@onprem-wandb)
requirements:
  - kubernetes (the Python client, a dependency of kubernetes.core)
options:
  kubeconfig:
    description:
      - Path of the kubeconfig. When not given, E(K8S_AUTH_KUBECONFIG) (as kubernetes.core's modules and AWX's
        Kubernetes credential use it), else the client's default (E(KUBECONFIG), C(~/.kube/config), in-cluster).
    type: path
  context:
    description: Context of the kubeconfig; when not given, E(K8S_AUTH_CONTEXT), else its current-context.
    type: str
  namespace:
    description: Namespace of the Deployment.
    type: str
    required: true
  name:
    description: Name of the Deployment.
    type: str
    required: true
  timeout:
    description: Most seconds to wait.
    type: int
    default: 900
  give_up_after:
    description: Seconds a pod may show a state that does not heal by itself before the wait stops.
    type: int
    default: 60
  poll_interval:
    description: Seconds between two looks.
    type: float
    default: 2
  log_lines:
    description: How many of the container's last log lines the failure message carries (0 = none).
    type: int
    default: 20
  redact:
    description: Values never to show (the Secret's values); replaced with C(********) in log lines.
    type: list
    elements: str
    default: []
notes:
  - The diagnosis logic lives in the collection's C(module_utils/k8s_rollout.py).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
"""

EXAMPLES = r"""
- name: Wait for W&B's Deployment
  onprem.wandb.rollout_wait:
    kubeconfig: ~/.kube/config
    namespace: wandb
    name: wandb
    timeout: 1020
    # values to mask in the diagnosis (pod events, the app's last log lines)
    redact: ["{{ wandb_db_password }}", "{{ wandb_s3_secret_key }}", "{{ wandb_license }}"]
"""

RETURN = r"""
state:
  description: done, progressing (check mode, or the timeout hit while nothing was stuck) or failed.
  returned: always
  type: str
reason:
  description: Why the rollout is not done (a waiting reason, Unschedulable, ProbeFailing, NotReady, ...); null when done.
  returned: always
  type: str
pods:
  description: One line per pod of the current revision.
  returned: always
  type: list
  elements: str
logs:
  description: The container's last log lines (redacted) when they help with the reason.
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds waited.
  returned: always
  type: float
"""

import json
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible_collections.onprem.wandb.plugins.module_utils import k8s_rollout

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    HAS_K8S = True
    K8S_IMPORT_ERROR = None
except ImportError:
    HAS_K8S = False
    K8S_IMPORT_ERROR = traceback.format_exc()


def api_client(kubeconfig, context):
    if kubeconfig or context:
        return k8s_config.new_client_from_config(config_file=kubeconfig or None, context=context or None)
    try:
        return k8s_config.new_client_from_config()
    except Exception:  # no kubeconfig at all: maybe we run in a pod
        k8s_config.load_incluster_config()
        return k8s_client.ApiClient()


class Cluster:
    """The few reads the wait needs, as plain JSON dicts."""

    def __init__(self, api, namespace, name):
        self.core = k8s_client.CoreV1Api(api)
        self.apps = k8s_client.AppsV1Api(api)
        self.ns, self.name = namespace, name

    @staticmethod
    def _json(resp):
        return json.loads(resp.data)

    def snapshot(self):
        dep = self._json(self.apps.read_namespaced_deployment(self.name, self.ns, _preload_content=False))
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join("%s=%s" % kv for kv in sorted(labels.items()))
        rss = self._json(self.apps.list_namespaced_replica_set(self.ns, label_selector=selector, _preload_content=False))
        pods = self._json(self.core.list_namespaced_pod(self.ns, label_selector=selector, _preload_content=False))
        events = self._json(self.core.list_namespaced_event(self.ns, _preload_content=False))
        return dep, rss.get("items") or [], pods.get("items") or [], events.get("items") or []

    def logs(self, pod, lines, previous):
        resp = self.core.read_namespaced_pod_log(pod, self.ns, tail_lines=lines, previous=previous, _preload_content=False)
        return resp.data.decode("utf-8", "replace").splitlines()


def argument_spec():
    return dict(
        # the variables kubernetes.core's modules read (an AWX Kubernetes credential sets them)
        kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
        context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        timeout=dict(type="int", default=900),
        give_up_after=dict(type="int", default=60),
        poll_interval=dict(type="float", default=2),
        log_lines=dict(type="int", default=20),
        redact=dict(type="list", elements="str", default=[], no_log=True),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
    )
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    p = module.params
    for opt in ("timeout", "give_up_after", "log_lines"):
        if p[opt] < 0:
            module.fail_json(msg="%s must be >= 0 (got %s)" % (opt, p[opt]))
    try:
        cluster = Cluster(api_client(p["kubeconfig"], p["context"]), p["namespace"], p["name"])
    except Exception as e:  # kubeconfig missing or broken: say which
        module.fail_json(msg="cannot load the kubeconfig %r (context %r): %s" % (p["kubeconfig"], p["context"], e))

    start = time.monotonic()
    stuck_since, stuck_key, diag, last_error = None, None, None, None
    while True:
        try:
            diag = k8s_rollout.diagnose(*cluster.snapshot())
            last_error = None
        except k8s_client.exceptions.ApiException as e:
            if e.status == 404:
                module.fail_json(msg="Deployment %s/%s does not exist" % (p["namespace"], p["name"]))
            last_error = "the API answered %s %s" % (e.status, e.reason)
        except Exception as e:  # network: retry until the timeout
            last_error = str(e)
        elapsed = time.monotonic() - start
        if diag is not None and diag["state"] == "done":
            module.exit_json(changed=False, state="done", reason=None, pods=[], logs=[], elapsed=round(elapsed, 1),
                             msg=diag["message"])
        if module.check_mode:
            module.exit_json(changed=False, state="progressing", reason=diag and diag["reason"], pods=diag and diag["pods"] or [],
                             logs=[], elapsed=0.0, msg=(diag or {}).get("message", last_error))
        if diag is not None and diag["stuck"]:
            if diag["stuck"] != stuck_key:
                stuck_key, stuck_since = diag["stuck"], elapsed
        else:
            stuck_key, stuck_since = None, None
        gave_up = stuck_key is not None and elapsed - stuck_since >= p["give_up_after"]
        if gave_up or elapsed >= p["timeout"] or (diag is not None and diag["state"] == "failed"):
            break
        time.sleep(p["poll_interval"])

    if diag is None:
        module.fail_json(msg="could not read Deployment %s/%s for %d s: %s" % (p["namespace"], p["name"], elapsed, last_error),
                         state="failed", reason=None, pods=[], logs=[], elapsed=round(elapsed, 1))
    logs = []
    if p["log_lines"] and diag["pod"] and k8s_rollout.wants_logs(diag["reason"]):
        for previous in ((True, False) if diag["reason"] == "CrashLoopBackOff" else (False,)):
            try:
                logs = cluster.logs(diag["pod"], p["log_lines"], previous)
            except Exception:
                logs = []
            if logs:
                break
    logs = [k8s_rollout.redact(line, p["redact"]) for line in logs]
    why = ("stuck for %d s in %s" % (p["give_up_after"], stuck_key) if gave_up
           else "not done after %d s (timeout)" % p["timeout"])
    msg = "%s Waited %.0f s: %s." % (diag["message"], elapsed, why)
    if logs:
        msg += " Last log lines of %s: | %s" % (diag["pod"], " | ".join(logs))
    module.fail_json(msg=msg, state="failed", reason=diag["reason"], pods=diag["pods"], logs=logs, elapsed=round(elapsed, 1))


if __name__ == "__main__":
    main()
