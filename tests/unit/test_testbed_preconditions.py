"""A broken precondition of the testbed fails at once with a message that says what to do."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TESTBED = Path(__file__).resolve().parents[2] / "tests" / "testbed"


def run(script, *args, env=None):
    return subprocess.run([shutil.which("bash"), str(TESTBED / script), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


def path_without(tmp_path, *missing):
    """A PATH with the usual tools linked in, minus the named ones."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("dirname", "mkdir", "cat", "df", "awk", "sed", "id", "rm", "mv", "sha256sum", "cut", "tail", "python3",
                 "grep", "sort", "seq", "sleep", "env", "tr", "podman", "go", "mktemp", "ls", "find"):
        found = shutil.which(tool)
        if found and tool not in missing:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def test_hosts_without_podman_says_make_deps(tmp_path):
    result = run("hosts.sh", "list", env={"PATH": path_without(tmp_path, "podman"), "ONPREM_WANDB_CACHE": str(tmp_path / "c")})
    assert result.returncode != 0
    assert "podman is missing: run 'make deps'" in result.stderr


def test_build_without_go_says_install_go(tmp_path):
    result = run("build-binaries.sh", "minio", env={"PATH": path_without(tmp_path, "go"), "ONPREM_WANDB_CACHE": str(tmp_path / "c"),
                                                    "MINIO_VERSION": "v0.0.0-20990101000000-000000000000"})
    assert result.returncode != 0
    assert "Go is not installed" in result.stderr


def test_go_build_failure_names_the_proxy_and_the_log(tmp_path):
    if not shutil.which("go"):
        pytest.skip("Go is not installed here")
    result = run("build-binaries.sh", "minio", env={"ONPREM_WANDB_CACHE": str(tmp_path / "c"), "GOPROXY": "off", "GOFLAGS": "-mod=mod",
                                                    "MINIO_VERSION": "v0.0.0-20990101000000-000000000000"})
    assert result.returncode != 0
    assert "building minio failed" in result.stderr
    assert "Go module proxy is reachable" in result.stderr
    assert "build.log" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")
def test_full_disk_is_refused_before_building(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(small)], check=True)
    try:
        result = run("build-binaries.sh", "minio", env={"ONPREM_WANDB_CACHE": str(small / "cache"),
                                                        "MINIO_VERSION": "v0.0.0-20990101000000-000000000000"})
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert result.returncode != 0
    assert "GiB free" in result.stderr and "free some space" in result.stderr
