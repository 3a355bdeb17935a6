"""onprem.wandb.rollout_wait's main() with a fake cluster (the real one: tests/integration/test_rollout.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible_collections.onprem.wandb.plugins.modules import rollout_wait as mod

# the API object builders of the diagnosis tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
from test_k8s_rollout import RSS, deployment, pod  # noqa: E402

pytest.importorskip("kubernetes")


class FakeCluster:
    def __init__(self, snapshots, logs=()):
        self.snapshots, self.calls, self._logs = list(snapshots), 0, list(logs)
        self.log_calls = []

    def __call__(self, api, namespace, name):
        return self

    def snapshot(self):
        self.calls += 1
        return self.snapshots[min(self.calls, len(self.snapshots)) - 1]

    def logs(self, pod_name, lines, previous):
        self.log_calls.append((pod_name, lines, previous))
        return self._logs


@pytest.fixture()
def fake(monkeypatch):
    def install(snapshots, logs=()):
        cluster = FakeCluster(snapshots, logs)
        monkeypatch.setattr(mod, "Cluster", cluster)
        monkeypatch.setattr(mod, "api_client", lambda kubeconfig, context: None)
        monkeypatch.setattr(mod.time, "sleep", lambda s: None)
        return cluster
    return install


ARGS = {"namespace": "wandb", "name": "wandb", "poll_interval": 0.01, "give_up_after": 0, "timeout": 30}


def test_done_after_progress(fake, run_main):
    cluster = fake([(deployment(), RSS, [], []), (deployment(updated=1, available=1), RSS, [], [])])
    res = run_main(mod.main, ARGS)
    assert res["state"] == "done" and not res.get("failed") and res["changed"] is False
    assert cluster.calls == 2


def test_crashloop_fails_with_redacted_previous_logs(fake, run_main):
    p = pod(phase="Running", waiting={"reason": "CrashLoopBackOff", "message": "back-off"})
    cluster = fake([(deployment(), RSS, [p], [])],
                   logs=["MYSQL=mysql://wandb:hunter2-pw@db/wandb_local: access denied", "license lic-123456 bad"])
    res = run_main(mod.main, dict(ARGS, redact=["lic-123456"]))
    assert res["failed"] and res["reason"] == "CrashLoopBackOff"
    assert cluster.log_calls[0] == ("wandb-rs-2-abc", 20, True)
    assert "hunter2-pw" not in res["msg"] and "lic-123456" not in res["msg"]
    assert "access denied" in res["msg"] and "stuck for 0 s in CrashLoopBackOff" in res["msg"]


def test_check_mode_looks_once_and_does_not_fail(fake, run_main):
    p = pod(waiting={"reason": "ImagePullBackOff", "message": "x"})
    cluster = fake([(deployment(), RSS, [p], [])])
    res = run_main(mod.main, ARGS, check_mode=True)
    assert not res.get("failed") and res["state"] == "progressing" and cluster.calls == 1


def test_timeout_when_nothing_is_stuck(fake, run_main):
    p = pod(phase="Running", conditions=[{"type": "Ready", "status": "False"}])
    fake([(deployment(), RSS, [p], [])], logs=["migrating 3/9"])
    res = run_main(mod.main, dict(ARGS, timeout=0))
    assert res["failed"] and "timeout" in res["msg"] and "migrating 3/9" in res["msg"]


def test_negative_timeout_is_refused(fake, run_main):
    fake([(deployment(), RSS, [], [])])
    res = run_main(mod.main, dict(ARGS, timeout=-1))
    assert res["failed"] and "timeout must be >= 0" in res["msg"]
