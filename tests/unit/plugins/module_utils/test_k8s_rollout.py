"""The rollout diagnosis on API objects shaped as the API server returns them."""

from __future__ import annotations

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import k8s_rollout as r

DEP_UID, RS_UID, OLD_RS_UID = "d-1", "rs-2", "rs-1"


def deployment(replicas=1, updated=0, available=0, total=None, generation=2, observed=2, conditions=(), image="reg/wandb:2"):
    return {
        "metadata": {"name": "wandb", "namespace": "wandb", "uid": DEP_UID, "generation": generation,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "wandb", "image": image}]}}},
        "status": {"observedGeneration": observed, "updatedReplicas": updated, "availableReplicas": available,
                   "replicas": replicas if total is None else total, "conditions": list(conditions)},
    }


def rs(uid, revision):
    return {"metadata": {"name": "wandb-" + uid, "uid": uid, "ownerReferences": [{"uid": DEP_UID}],
                         "annotations": {"deployment.kubernetes.io/revision": revision}}}


RSS = [rs(OLD_RS_UID, "1"), rs(RS_UID, "2")]


def pod(name="wandb-rs-2-abc", owner=RS_UID, phase="Pending", waiting=None, terminated=None, conditions=(), ready=False):
    cs = {"name": "wandb", "ready": ready, "state": {}}
    if waiting:
        cs["state"]["waiting"] = waiting
    elif terminated:
        cs["state"]["terminated"] = terminated
    else:
        cs["state"]["running"] = {"startedAt": "x"}
    status = {"phase": phase, "conditions": list(conditions)}
    if phase != "Pending" or waiting:
        status["containerStatuses"] = [cs]
    return {"metadata": {"name": name, "ownerReferences": [{"uid": owner}]}, "status": status}


def event(obj, reason, message, t="2026-01-01T00:00:01Z", kind="Warning"):
    return {"involvedObject": {"name": obj}, "reason": reason, "message": message, "type": kind, "lastTimestamp": t}


def test_done_needs_every_replica_updated_available_and_no_old_ones():
    assert r.diagnose(deployment(updated=1, available=1), RSS, [], [])["state"] == "done"
    # the new pod is up but the old one is still there (surge): not done
    assert r.diagnose(deployment(updated=1, available=2, total=2), RSS, [], [])["state"] == "progressing"
    # the controller has not seen the new spec yet
    assert r.diagnose(deployment(updated=1, available=1, observed=1), RSS, [], [])["state"] == "progressing"


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull"])
def test_image_pull_names_the_image_and_the_pull_hints(reason):
    p = pod(waiting={"reason": reason, "message": 'failed to pull "reg/wandb:2": not found'})
    d = r.diagnose(deployment(), RSS, [p], [])
    assert d["reason"] == reason and d["stuck"] == reason
    assert "reg/wandb:2" in d["message"]
    for hint in ("kubernetes_image_tag", "kubernetes_image_pull_secrets", "air-gapped"):
        assert hint in d["message"]
    assert not r.wants_logs(d["reason"])


def test_pods_of_the_old_revision_are_not_blamed():
    old = pod(name="wandb-rs-1-old", owner=OLD_RS_UID, phase="Running", ready=True,
              conditions=[{"type": "Ready", "status": "True"}])
    new = pod(waiting={"reason": "ImagePullBackOff", "message": "x"})
    d = r.diagnose(deployment(total=2), RSS, [old, new], [])
    assert d["pods"] == ["wandb-rs-2-abc: container wandb ImagePullBackOff: x"]
    assert d["pod"] == "wandb-rs-2-abc"


def test_crashloop_wants_the_logs():
    p = pod(phase="Running", waiting={"reason": "CrashLoopBackOff", "message": "back-off 10s restarting"})
    d = r.diagnose(deployment(), RSS, [p], [])
    assert d["reason"] == "CrashLoopBackOff" and d["stuck"] == "CrashLoopBackOff"
    assert r.wants_logs(d["reason"]) and "logs" in d["message"]


def test_missing_secret_key_is_stuck_and_names_the_secret():
    p = pod(waiting={"reason": "CreateContainerConfigError", "message": "couldn't find key MYSQL in Secret wandb/wandb-secrets"})
    d = r.diagnose(deployment(), RSS, [p], [])
    assert d["stuck"] == "CreateContainerConfigError"
    assert "key MYSQL in Secret wandb/wandb-secrets" in d["message"] and "wandb-secrets" in d["message"]


def test_pending_explains_resources_selector_taints():
    p = pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                         "message": "0/1 nodes are available: 1 Insufficient cpu."}])
    d = r.diagnose(deployment(), RSS, [p], [])
    assert d["reason"] == "Unschedulable" and d["stuck"] == "Unschedulable"
    for part in ("Insufficient cpu", "kubernetes_resources", "kubernetes_node_selector", "taints"):
        assert part in d["message"]


def test_probe_failure_names_the_probe_and_its_newest_answer():
    p = pod(phase="Running", conditions=[{"type": "Ready", "status": "False"}])
    events = [event(p["metadata"]["name"], "Unhealthy", "Startup probe failed: HTTP probe failed with statuscode: 500", t="2026-01-01T00:00:01Z"),
              event(p["metadata"]["name"], "Unhealthy", "Startup probe failed: HTTP probe failed with statuscode: 503", t="2026-01-01T00:00:09Z"),
              event("other-pod", "Unhealthy", "Liveness probe failed: nope")]
    d = r.diagnose(deployment(), RSS, [p], events)
    assert d["reason"] == "ProbeFailing" and d["stuck"] is None  # migrations may still finish
    assert "Startup probe failed: HTTP probe failed with statuscode: 503" in d["message"]
    assert "statuscode: 500" not in d["message"] and "Liveness" not in d["message"]
    assert r.wants_logs("ProbeFailing")


def test_terminated_container_reports_exit_code():
    p = pod(phase="Running", terminated={"reason": "Error", "exitCode": 2})
    d = r.diagnose(deployment(), RSS, [p], [])
    assert "Error: exit code 2" in d["message"]


def test_replica_failure_and_deadline():
    dep = deployment(conditions=[{"type": "ReplicaFailure", "status": "True", "message": "pods \"x\" is forbidden: exceeded quota"},
                                 {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                  "message": "ReplicaSet has timed out progressing."}])
    d = r.diagnose(dep, RSS, [], [])
    assert d["state"] == "failed" and d["stuck"] == "ReplicaFailure"
    assert "exceeded quota" in d["message"] and "timed out progressing" in d["message"]


def test_no_pods_yet_quotes_the_replicaset_warnings():
    events = [event("wandb-" + RS_UID, "FailedCreate", 'error looking up service account wandb/default')]
    d = r.diagnose(deployment(), RSS, [], events)
    assert d["reason"] == "NoPods" and "service account" in d["message"]


def test_no_replicaset_yet_is_progressing():
    d = r.diagnose(deployment(), [], [], [])
    assert d["state"] == "progressing" and d["reason"] == "NotReady"


@pytest.mark.parametrize("line, secrets, want", [
    ("connecting to mysql://wandb:p%40ss@db:3306/wandb_local", [], "connecting to mysql://********@db:3306/wandb_local"),
    ("license lic-Zq9Zq9 rejected", ["lic-Zq9Zq9"], "license ******** rejected"),
    ("s3://AK:SK@minio/b and key SK", ["SK-longer", "SK"], "s3://********@minio/b and key SK"),  # too short to redact blindly
    ("the secret s3cr/et+Key=@:#?%zz leaked", ["s3cr/et+Key=@:#?%zz"], "the secret ******** leaked"),
])
def test_redact(line, secrets, want):
    assert r.redact(line, secrets) == want


def test_auto_timeout_is_the_startup_budget_plus_margin():
    assert r.auto_timeout(10, 90) == 1020
    assert r.auto_timeout(5, 120, margin=0) == 600
