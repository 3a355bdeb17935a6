from __future__ import annotations

import os

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_sizing as sizing

# The rows of W&B's reference architecture (ref-arch.mdx "Sizing"), written out once more by hand.
DOC_ROWS = [
    ("models", "test", "kubernetes_worker", 2, 16, 100),
    ("models", "production", "kubernetes_worker", 8, 64, 100),
    ("weave", "test", "kubernetes_worker", 4, 32, 100),
    ("weave", "production", "kubernetes_worker", 12, 96, 100),
    ("models_and_weave", "test", "kubernetes_worker", 4, 32, 100),
    ("models_and_weave", "production", "kubernetes_worker", 16, 128, 100),
] + [(p, "test", "mysql", 2, 16, 100) for p in ("models", "weave", "models_and_weave")] + \
    [(p, "production", "mysql", 8, 64, 500) for p in ("models", "weave", "models_and_weave")]


@pytest.mark.parametrize("profile, env, role, cpu, mem, disk", DOC_ROWS)
def test_table_rows(profile, env, role, cpu, mem, disk):
    req = sizing.requirement(profile, env, role)
    assert (req["cpu_cores"], req["memory_gb"], req["disk_gb"]) == (cpu, mem, disk)


def test_table_is_complete():
    assert len(sizing.REFERENCE) == len(DOC_ROWS) == 12
    assert sorted(sizing.PROFILES) == sorted({row[0] for row in DOC_ROWS})


def test_unknown_row():
    with pytest.raises(KeyError, match="profiles models, weave, models_and_weave"):
        sizing.requirement("models", "staging", "mysql")


GIB = 1024 ** 3


@pytest.mark.parametrize("mem_bytes, ok", [
    (16 * GIB, True),
    (int(15.3 * GIB), True),   # a "16 GB" VM after the kernel's share, within 5 %
    (int(15.1 * GIB), False),
    (None, False),
])
def test_memory_tolerance(mem_bytes, ok):
    req = sizing.requirement("models", "test", "mysql")
    checks, shortfalls = sizing.compare(req, {"cpu_cores": 2, "memory_bytes": mem_bytes, "disk_total_bytes": 10 ** 12,
                                              "architecture": "x86_64", "data_path": "/"})
    assert checks["memory_gb"]["ok"] is ok
    assert (len(shortfalls) == 0) is ok


@pytest.mark.parametrize("disk_bytes, tolerance, ok", [
    (100 * 10 ** 9, 5, True),
    (96 * 10 ** 9, 5, True),
    (94 * 10 ** 9, 5, False),
    (99 * 10 ** 9, 0, False),
])
def test_disk_tolerance(disk_bytes, tolerance, ok):
    req = sizing.requirement("models", "test", "kubernetes_worker")
    host = {"cpu_cores": 2, "memory_bytes": 16 * GIB, "disk_total_bytes": disk_bytes, "architecture": "x86_64",
            "data_path": "/"}
    checks = sizing.compare(req, host, tolerance)[0]
    assert checks["disk_gb"]["ok"] is ok


@pytest.mark.parametrize("arch, ok", [("x86_64", True), ("AMD64", True), ("aarch64", False), ("arm64", False),
                                      (None, False)])
def test_architecture(arch, ok):
    req = sizing.requirement("models", "test", "mysql")
    checks, shortfalls = sizing.compare(req, {"cpu_cores": 2, "memory_bytes": 16 * GIB,
                                              "disk_total_bytes": 10 ** 12, "architecture": arch, "data_path": "/"})
    assert checks["architecture"]["ok"] is ok
    assert any("x86-64" in s for s in shortfalls) is (not ok)


def test_cpu_exact_minimum_passes_and_one_less_fails():
    req = sizing.requirement("weave", "production", "kubernetes_worker")
    base = {"memory_bytes": 96 * GIB, "disk_total_bytes": 10 ** 12, "architecture": "x86_64", "data_path": "/"}
    assert sizing.compare(req, dict(base, cpu_cores=12))[1] == []
    assert sizing.compare(req, dict(base, cpu_cores=11))[1] == ["CPU: 11 cores < 12 required"]


def test_memory_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemFree:  100 kB\nMemTotal:       16384000 kB\n")
    assert sizing.memory_bytes(str(meminfo)) == 16384000 * 1024
    assert sizing.memory_bytes(str(tmp_path / "missing")) > 0  # falls back to sysconf


def test_existing_ancestor(tmp_path):
    assert sizing.existing_ancestor(str(tmp_path / "a" / "b")) == str(tmp_path)
    assert sizing.existing_ancestor(str(tmp_path)) == str(tmp_path)


def test_host_facts_are_real(tmp_path):
    facts = sizing.host_facts(str(tmp_path / "not-yet"))
    assert facts["cpu_cores"] >= 1 and facts["memory_bytes"] > 0
    assert facts["disk_total_bytes"] >= facts["disk_free_bytes"] > 0
    assert facts["measured_path"] == str(tmp_path)


def test_disk_probe_is_bounded_and_cleans_up(tmp_path):
    result = sizing.disk_probe(str(tmp_path), 3 * 1024 * 1024 + 5, 30)
    assert result["bytes"] == 3 * 1024 * 1024 + 5 and result["complete"] is True and result["mb_per_s"] > 0
    assert os.listdir(tmp_path) == []
    tiny = sizing.disk_probe(str(tmp_path), 512 * 1024 * 1024, 0.0)  # time limit hits before any write
    assert tiny["bytes"] == 0 and tiny["complete"] is False
    assert os.listdir(tmp_path) == []
