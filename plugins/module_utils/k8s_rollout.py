# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Pure logic behind onprem.wandb.rollout_wait: is a Deployment's rollout done, still
progressing, or stuck, and why - in words an operator can act on.

Everything here works on the JSON objects the Kubernetes API returns (camelCase dicts,
as ``kubectl get -o json`` prints them), so it is tested without a cluster. Nothing here
prints a Secret: pod status and events carry names of Secrets and keys, never values, and
log lines pass through :func:`redact` first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Waiting reasons that do not heal by themselves: the wait stops once a pod of the new
# ReplicaSet has shown one for `give_up_after` seconds.
STUCK_REASONS = (
    "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError",
)
PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")

_URL_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text, secrets=()):
    """Replace every secret value, and the user:password part of any URL, with ********."""
    for value in sorted((s for s in secrets if s and len(str(s)) >= 4), key=len, reverse=True):
        text = text.replace(str(value), "********")
    return _URL_USERINFO.sub(r"\1********@", text)


def _revision(obj):
    return ((obj.get("metadata") or {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")


def current_replicaset(deployment, replicasets):
    """The ReplicaSet of the Deployment's current revision (None before the controller made it)."""
    want = _revision(deployment)
    uid = (deployment.get("metadata") or {}).get("uid")
    owned = [rs for rs in replicasets
             if any(o.get("uid") == uid for o in (rs.get("metadata") or {}).get("ownerReferences") or [])]
    for rs in owned:
        if want is not None and _revision(rs) == want:
            return rs
    return None


def pods_of(replicaset, pods):
    """Pods owned by the ReplicaSet."""
    if replicaset is None:
        return []
    uid = replicaset["metadata"].get("uid")
    return [p for p in pods if any(o.get("uid") == uid for o in (p.get("metadata") or {}).get("ownerReferences") or [])]


def rollout_done(deployment):
    """kubectl rollout status's rule: the controller saw the spec, every replica is updated and available, no old ones."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    want = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < (deployment.get("metadata") or {}).get("generation", 0):
        return False
    return (status.get("updatedReplicas", 0) >= want and status.get("replicas", 0) <= want
            and status.get("availableReplicas", 0) >= want)


def _container_problem(pod):
    """(reason, message, container) of the first container that is not running and ready."""
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if "waiting" in state:
            w = state["waiting"] or {}
            if w.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
                return w.get("reason"), w.get("message", ""), cs.get("name")
        elif "terminated" in state:
            t = state["terminated"] or {}
            return t.get("reason") or "Terminated", "exit code %s" % t.get("exitCode"), cs.get("name")
    return None, "", None


def _events_for(name, events):
    return [e for e in events if (e.get("involvedObject") or {}).get("name") == name]


def _event_time(e):
    return e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or ""


def last_probe_failure(pod, events):
    """'Startup probe failed: HTTP probe failed with statuscode: 503' from the newest Unhealthy event, or None."""
    unhealthy = [e for e in _events_for(pod["metadata"]["name"], events) if e.get("reason") == "Unhealthy"]
    if not unhealthy:
        return None
    return sorted(unhealthy, key=_event_time)[-1].get("message", "").strip()


def pod_state(pod, events):
    """A short, secret-free line on one pod and the key of what is wrong with it (None when nothing is known)."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    phase = status.get("phase", "?")
    reason, message, container = _container_problem(pod)
    if reason:
        return reason, "%s: container %s %s%s" % (name, container, reason, (": " + message) if message else "")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    sched = conditions.get("PodScheduled") or {}
    if phase == "Pending" and sched.get("status") == "False":
        return "Unschedulable", "%s: Pending, not scheduled: %s" % (name, sched.get("message", "no reason given"))
    if phase == "Running" and (conditions.get("Ready") or {}).get("status") != "True":
        probe = last_probe_failure(pod, events)
        if probe:
            return "ProbeFailing", "%s: running but not ready: %s" % (name, probe)
        return "NotReady", "%s: running, not ready yet" % name
    return None, "%s: %s" % (name, phase)


HINTS = {
    "pull": ("the node cannot get the image {image}: check kubernetes_image_registry / kubernetes_image_repository / "
             "kubernetes_image_tag (the tag must exist), kubernetes_image_pull_secrets for a private registry, and on an "
             "air-gapped site that the image is in your mirror or already loaded on every node "
             "(kubernetes_image_pull_policy IfNotPresent)"),
    "CrashLoopBackOff": ("the container keeps exiting: its last log lines are below (kubectl -n {ns} logs deploy/{name} "
                         "--previous); wrong MYSQL/BUCKET/LICENSE values, or MySQL/the bucket unreachable, are the usual causes"),
    "CreateContainerConfigError": ("the pod refers to a Secret, key or ConfigMap that does not exist (names above): "
                                   "re-run the role so it writes {name}-secrets, or check kubernetes_extra_secret_env"),
    "CreateContainerError": "the runtime could not create the container (message above)",
    "RunContainerError": "the runtime could not start the container (message above)",
    "Unschedulable": ("no node can run the pod: lower kubernetes_resources (or pick a smaller kubernetes_sizing_environment), "
                      "check kubernetes_node_selector against the nodes' labels, and the nodes' taints"),
    "ProbeFailing": ("the app answers but its probe fails: /ready stays non-200 while migrations run or while MySQL or the "
                     "bucket do not answer (the app's last log lines are below); raise kubernetes_startup_failure_threshold "
                     "for slow first starts"),
    "NotReady": "the pod has not become ready yet; raise kubernetes_wait_timeout for slow first starts",
    "ReplicaFailure": "the ReplicaSet cannot create pods (quota, admission or service account; message above)",
    "NoPods": "no pod was created yet: kubectl -n {ns} describe rs",
}


def hint_for(key, image="", ns="", name=""):
    key = "pull" if key in PULL_REASONS else key
    return HINTS.get(key, "").format(image=image, ns=ns, name=name)


def diagnose(deployment, replicasets, pods, events):
    """What the rollout is doing.

    Returns a dict: ``state`` (``done``, ``progressing`` or ``failed``), ``reason`` (a key of
    HINTS or a waiting reason), ``pods`` (one line per pod of the current revision),
    ``pod`` (the name of the pod whose log helps, or None), ``stuck`` (the reason a pod shows
    that does not heal by itself), ``message``.
    """
    meta = deployment.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    spec = deployment.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    image = containers[0].get("image", "")
    if rollout_done(deployment):
        return {"state": "done", "reason": None, "pods": [], "pod": None, "stuck": None,
                "message": "Deployment %s/%s: %s of %s replicas updated and available"
                           % (ns, name, (deployment.get("status") or {}).get("availableReplicas", 0), spec.get("replicas", 1))}
    conditions = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions") or []}
    rs = current_replicaset(deployment, replicasets)
    mine = pods_of(rs, pods)
    lines, first_key, first_pod, stuck = [], None, None, None
    for pod in sorted(mine, key=lambda p: p["metadata"]["name"]):
        key, line = pod_state(pod, events)
        lines.append(line)
        if key and first_key is None:
            first_key, first_pod = key, pod["metadata"]["name"]
        if key in STUCK_REASONS + ("Unschedulable",) and stuck is None:
            stuck = key
    replica_failure = conditions.get("ReplicaFailure") or {}
    if replica_failure.get("status") == "True":
        first_key = first_key or "ReplicaFailure"
        lines.append("ReplicaSet: " + replica_failure.get("message", ""))
        stuck = stuck or "ReplicaFailure"
    if rs is not None and not mine and first_key is None:
        first_key = "NoPods"
        lines.extend("ReplicaSet event: %s" % e.get("message", "") for e in _events_for(rs["metadata"]["name"], events)
                     if e.get("type") == "Warning")
    progressing = conditions.get("Progressing") or {}
    state = "progressing"
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        state = "failed"
        lines.append("Deployment: " + progressing.get("message", "progress deadline exceeded"))
    key = first_key or "NotReady"
    message = "Deployment %s/%s (image %s) is not available: %s. What to do: %s." % (
        ns, name, image, "; ".join(lines) if lines else "no pods of the new revision yet",
        hint_for(key, image=image, ns=ns, name=name) or "see the pod lines")
    return {"state": state, "reason": key, "pods": lines, "pod": first_pod, "stuck": stuck, "message": message}


def wants_logs(reason):
    """Whether the container's last log lines help with this reason."""
    return reason in ("CrashLoopBackOff", "ProbeFailing", "NotReady", "RunContainerError")


def auto_timeout(startup_period_seconds, startup_failure_threshold, margin=120):
    """The rollout wait: the startup probe's whole budget plus time to schedule, pull and get ready."""
    return int(startup_period_seconds) * int(startup_failure_threshold) + int(margin)
