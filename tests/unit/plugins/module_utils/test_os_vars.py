"""The one OS-variables rule (module_utils/os_vars.py, filter os_vars_files): which vars files a host loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.os_vars import os_vars_files
from ansible_collections.onprem.wandb.plugins.module_utils import os_vars

REPO = Path(__file__).resolve().parents[4]


def facts(family, distribution, major):
    return {"os_family": family, "distribution": distribution, "distribution_major_version": major}


@pytest.mark.parametrize(("host", "expected"), [
    (facts("Debian", "Debian", "12"), ["Debian.yml", "Debian_12.yml"]),
    (facts("Debian", "Debian", "13"), ["Debian.yml", "Debian_13.yml"]),
    (facts("Debian", "Debian", "n/a"), ["Debian.yml", "Debian_sid.yml"]),
    (facts("Debian", "Debian", "forky/sid"), ["Debian.yml", "Debian_sid.yml"]),
    (facts("Debian", "Debian", ""), ["Debian.yml", "Debian_sid.yml"]),
    (facts("Debian", "Ubuntu", "24"), ["Debian.yml", "Debian_24.yml", "Ubuntu.yml", "Ubuntu_24.yml"]),
    (facts("RedHat", "RedHat", "9"), ["RedHat.yml", "RedHat_9.yml"]),
    (facts("RedHat", "Rocky", "8"), ["RedHat.yml", "RedHat_8.yml", "Rocky.yml", "Rocky_8.yml"]),
    (facts("RedHat", "AlmaLinux", ""), ["RedHat.yml", "AlmaLinux.yml"]),
    (facts("Suse", "openSUSE Leap", "15/x"), ["Suse.yml", "openSUSE Leap.yml"]),
])
def test_candidates_go_from_the_family_to_the_distribution_version(host, expected):
    assert os_vars.candidates(host) == expected


@pytest.mark.parametrize(("present", "host", "expected"), [
    ({"Debian.yml", "Debian_12.yml", "Debian_13.yml"}, facts("Debian", "Debian", "12"), ["Debian.yml", "Debian_12.yml"]),
    ({"Debian.yml", "Debian_12.yml"}, facts("Debian", "Debian", "n/a"), ["Debian.yml"]),
    ({"Debian.yml", "Ubuntu.yml"}, facts("Debian", "Ubuntu", "22"), ["Debian.yml", "Ubuntu.yml"]),
    ({"RedHat.yml", "RedHat_8.yml"}, facts("RedHat", "AlmaLinux", "8"), ["RedHat.yml", "RedHat_8.yml"]),
    ({"Debian.yml", "default.yml"}, facts("Debian", "Debian", "13"), ["Debian.yml"]),
    ({"Debian.yml", "default.yml"}, facts("RedHat", "RedHat", "9"), ["default.yml"]),
])
def test_files_are_the_existing_candidates_or_the_fallback(present, host, expected):
    found = os_vars.files("/r/vars", host, exists=lambda p: Path(p).name in present)
    assert found == ["/r/vars/" + name for name in expected]


def test_nothing_that_applies_is_an_error_naming_the_files():
    with pytest.raises(ValueError, match="RedHat.yml, RedHat_9.yml"):
        os_vars.files("/r/vars", facts("RedHat", "RedHat", "9"), exists=lambda p: Path(p).name == "Debian.yml")


def test_the_filter_reads_the_directory(tmp_path):
    for name in ("Debian.yml", "Debian_13.yml", "main.yml"):
        (tmp_path / name).write_text("---\n")
    assert os_vars_files(str(tmp_path), facts("Debian", "Debian", "13")) == [
        str(tmp_path / "Debian.yml"), str(tmp_path / "Debian_13.yml")]
    with pytest.raises(AnsibleFilterError, match="no variables for RedHat 9"):
        os_vars_files(str(tmp_path), facts("RedHat", "RedHat", "9"))


@pytest.mark.parametrize("bad", [None, {}, "Debian", {"distribution": "Debian"}])
def test_the_filter_wants_the_facts(bad):
    with pytest.raises(AnsibleFilterError, match="gather them first"):
        os_vars_files("/r/vars", bad)


def platforms():
    """(role, facts) for every platform a role claims in meta/preflight_rules.yml and has a vars/ for."""
    families = {"Debian": "Debian", "Ubuntu": "Debian", "RedHat": "RedHat", "Rocky": "RedHat", "AlmaLinux": "RedHat"}
    out = []
    for rules in sorted(REPO.glob("roles/*/meta/preflight_rules.yml")):
        role = rules.parents[1]
        if not any(p.name != "main.yml" for p in (role / "vars").glob("*.yml")):
            continue
        table = (yaml.safe_load(rules.read_text(encoding="utf-8")) or {}).get("platforms") or {}
        for dist, majors in table.items():
            for major in majors:
                out.append(pytest.param(role, facts(families[dist], dist, "n/a" if major == "sid" else str(major)),
                                        id="%s-%s-%s" % (role.name, dist, major)))
    return out


@pytest.mark.parametrize(("role", "host"), platforms())
def test_every_claimed_platform_loads_the_family_layer(role, host):
    found = [Path(p).name for p in os_vars_files(str(role / "vars"), host)]
    assert found[0] in (host["os_family"] + ".yml", os_vars.FALLBACK)
