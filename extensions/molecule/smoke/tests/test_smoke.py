"""Testinfra checks for the smoke scenario: real systemd hosts on a real network."""

import os

import pytest
import testinfra
import yaml

HOSTS = ["smoke-bookworm", "smoke-sid"]


@pytest.fixture(scope="module", params=HOSTS)
def host(request):
    return testinfra.get_host(f"podman://{request.param}")


def test_inventory_lists_the_hosts():
    with open(os.environ["MOLECULE_INVENTORY_FILE"], encoding="utf-8") as fh:
        inventory = yaml.safe_load(fh)
    assert set(inventory["all"]["hosts"]) == set(HOSTS)


def test_systemd_is_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_unit_enabled_and_ran(host):
    unit = host.service("onprem-wandb-smoke")
    assert unit.is_enabled
    assert unit.is_running or host.run("systemctl is-active onprem-wandb-smoke").stdout.strip() == "active"
    expected = "bookworm" if host.backend.name == "smoke-bookworm" else "sid"
    release = host.file("/run/onprem-wandb-smoke").content_string.strip()
    assert release.startswith(expected[:3]) or (expected == "sid" and release in ("sid", "forky", "n/a"))


def test_hosts_resolve_each_other(host):
    for other in HOSTS:
        result = host.run(f"getent hosts {other}")
        assert result.rc == 0 and result.stdout.split(), f"{other} does not resolve on {host.backend.name}"
