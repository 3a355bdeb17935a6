"""The platform rule of preflight: a host's OS against the platforms of every role that runs on it."""

from __future__ import annotations

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import preflight_rules as pr

GROUP_ROLES = {
    "mysql": ["mysql", "monitoring", "verify"],
    "minio": ["minio", "monitoring", "verify"],
    "proxy": ["nginx", "monitoring", "verify"],
    "clients": ["nginx", "verify"],
}
EL = {"RedHat": ["8", "9"], "Rocky": ["8", "9"], "AlmaLinux": ["8", "9"]}
PLATFORMS = {
    "mysql": {"Debian": ["12", "13", "sid"], "Ubuntu": ["22", "24"], **EL},
    "minio": {"Debian": ["12", "13", "sid"], "Ubuntu": ["22", "24"], **EL},
    "nginx": {"Debian": ["12", "13"], "Ubuntu": ["22", "24"]},
    "monitoring": {"Debian": ["12", "13", "sid"]},
    "verify": {"Debian": ["12", "13", "sid"], "Ubuntu": ["22", "24"], **EL},
}


def check(groups, distribution, major, skip=("monitoring",)):
    roles = pr.host_roles(groups, GROUP_ROLES, skip)
    return pr.platform_problems("plat-1", distribution, major, roles, PLATFORMS)


@pytest.mark.parametrize("distribution", ["RedHat", "Rocky", "AlmaLinux"])
def test_an_el9_proxy_is_refused_naming_host_os_and_role(distribution):
    problems, refused = check(["proxy"], distribution, "9")
    assert refused == ["nginx"]
    assert len(problems) == 1
    line = problems[0]
    assert line.startswith("plat-1: %s 9 is not supported by role nginx, which runs on group proxy (" % distribution), line
    assert "Debian 12, 13; Ubuntu 22, 24" in line and line.endswith(")"), line


def test_an_el9_host_is_fine_for_the_roles_that_cover_it():
    assert check(["mysql", "minio"], "Rocky", "9") == ([], [])


def test_every_group_that_brings_a_refused_role_is_named():
    problems, refused = check(["proxy", "clients"], "RedHat", "9")
    assert refused == ["nginx"]
    assert "which runs on groups proxy, clients" in problems[0], problems


def test_monitoring_counts_only_when_the_site_has_monitoring_hosts():
    assert check(["mysql"], "Ubuntu", "24") == ([], [])
    problems, refused = check(["mysql"], "Ubuntu", "24", skip=())
    assert refused == ["monitoring"]
    assert "Ubuntu 24 is not supported by role monitoring, which runs on group mysql" in problems[0]


@pytest.mark.parametrize(("major", "ok"), [("12", True), ("13", True), ("n/a", True), ("forky/sid", True),
                                           ("11", False), ("14", False)])
def test_debian_versions_and_sid(major, ok):
    problems, _refused = check(["proxy"], "Debian", major)
    # nginx has no sid entry: sid is refused for the proxy, accepted for mysql
    assert (problems == []) is (ok and major in ("12", "13")), problems
    assert (check(["mysql"], "Debian", major)[0] == []) is ok


def test_a_role_without_a_platform_table_is_refused():
    roles = pr.host_roles(["proxy"], {"proxy": ["newrole"]})
    problems, refused = pr.platform_problems("plat-1", "Debian", "12", roles, {"newrole": None})
    assert refused == ["newrole"]
    assert problems == ["plat-1: role newrole (group proxy) declares no platforms "
                        "(add platforms to roles/newrole/meta/preflight_rules.yml)"]


def test_hosts_outside_the_mapped_groups_have_no_roles():
    assert pr.host_roles(["kube_access"], GROUP_ROLES) == {}
    assert pr.platform_problems("ctl", "CentOS", "9", {}, PLATFORMS) == ([], [])


@pytest.mark.parametrize(("distribution", "major", "key"), [
    ("Debian", "12", "12"), ("Debian", "n/a", "sid"), ("Debian", "forky/sid", "sid"), ("Debian", "", "sid"),
    ("Ubuntu", "24", "24"), ("RedHat", 9, "9"),
])
def test_platform_key(distribution, major, key):
    assert pr.platform_key(distribution, major) == key
