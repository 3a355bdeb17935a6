from __future__ import annotations

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_sizing as sizing
from ansible_collections.onprem.wandb.plugins.modules import sizing_check as mod

GIB = 1024 ** 3


def facts(cores=16, mem_gib=128, disk_gb=600, arch="x86_64"):
    return {"cpu_cores": cores, "memory_bytes": int(mem_gib * GIB), "disk_total_bytes": int(disk_gb * 1e9),
            "disk_free_bytes": int(disk_gb * 1e9 / 2), "architecture": arch, "data_path": "/var/lib/mysql",
            "measured_path": "/var/lib"}


@pytest.fixture()
def host(monkeypatch):
    def set_facts(**kwargs):
        monkeypatch.setattr(sizing, "host_facts", lambda path: dict(facts(**kwargs), data_path=path))
    return set_facts


def test_passes_on_a_big_enough_host(run_main, host):
    host()
    result = run_main(mod.main, {"profile": "models_and_weave", "node_role": "kubernetes_worker"})
    assert not result.get("failed"), result
    assert result["shortfalls"] == [] and result["changed"] is False
    assert result["requirement"]["cpu_cores"] == 16 and "ref-arch" in result["requirement"]["source"]
    assert all(c["ok"] for c in result["checks"].values())


def test_strict_fails_listing_every_shortfall(run_main, host):
    host(cores=2, mem_gib=8, disk_gb=50, arch="aarch64")
    result = run_main(mod.main, {"node_role": "mysql", "environment": "production", "data_path": "/var/lib/mysql"})
    assert result["failed"] is True
    for needle in ("CPU: 2 cores < 8 required", "memory: 8.0 GiB < 64 GB required",
                   "disk: 50.0 GB total at /var/lib/mysql < 500 GB required", "architecture: aarch64"):
        assert needle in result["msg"]
    assert len(result["shortfalls"]) == 4


def test_non_strict_warns(run_main, host, monkeypatch):
    warnings = []
    monkeypatch.setattr(mod.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    host(cores=2)
    result = run_main(mod.main, {"node_role": "mysql", "strict": False})
    assert not result.get("failed")
    assert warnings == ["sizing: CPU: 2 cores < 8 required"]


@pytest.mark.parametrize("args, match", [
    ({"node_role": "mysql", "probe_size_mb": 0}, "probe_size_mb must be between 1 and 1024"),
    ({"node_role": "mysql", "probe_timeout": 120}, "probe_timeout must be between 0.1 and 60"),
    ({"node_role": "mysql", "tolerance_percent": 60}, "tolerance_percent must be between 0 and 50"),
    ({"node_role": "db"}, "value of node_role must be one of"),
    ({}, "missing required arguments: node_role"),
])
def test_bad_input(run_main, host, args, match):
    host()
    result = run_main(mod.main, args)
    assert result["failed"] is True and match in result["msg"]


def test_probe_runs_and_is_compared(run_main, tmp_path, monkeypatch):
    monkeypatch.setattr(sizing, "disk_probe", lambda path, size, limit: {
        "bytes": size, "seconds": 1.0, "mb_per_s": 12.5, "complete": True})
    result = run_main(mod.main, {"node_role": "mysql", "environment": "test", "data_path": str(tmp_path),
                                 "strict": False, "probe_disk": True, "probe_size_mb": 4,
                                 "min_disk_write_mb_s": 100})
    assert result["disk_probe"]["bytes"] == 4 * 1024 * 1024
    assert result["checks"]["disk_write_mb_s"] == {"required": 100, "found": 12.5, "unit": "MB/s", "ok": False}
    assert any(s.startswith("disk write: 12.5 MB/s") for s in result["shortfalls"])


def test_probe_skipped_in_check_mode(run_main, tmp_path, monkeypatch):
    monkeypatch.setattr(sizing, "disk_probe", lambda *a: pytest.fail("probe must not run in check mode"))
    result = run_main(mod.main, {"node_role": "mysql", "environment": "test", "data_path": str(tmp_path),
                                 "strict": False, "probe_disk": True}, check_mode=True)
    assert "disk_probe" not in result
