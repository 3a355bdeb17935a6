"""Platform claims agree: each role's meta/main.yml platforms = its preflight platforms table, and
preflight's group -> roles map covers every role that the site's plays run on managed hosts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
CODENAMES = {"Debian": {"12": "bookworm", "13": "trixie", "sid": "sid"}, "Ubuntu": {"22": "jammy", "24": "noble"}}
EL = ("RedHat", "Rocky", "AlmaLinux")
# roles that run on kube_access (the controller side), whatever Linux it is: no OS table
CONTROLLER_ROLES = {"kubernetes"}
MANAGED_ROLES = sorted(p.name for p in ROLES.iterdir() if (p / "meta" / "main.yml").is_file()
                       and p.name not in CONTROLLER_ROLES | {"preflight"})


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def table(role: str) -> dict:
    return (load(ROLES / role / "meta" / "preflight_rules.yml") or {}).get("platforms")


def galaxy_platforms(role: str) -> dict:
    info = load(ROLES / role / "meta" / "main.yml")["galaxy_info"]
    return {p["name"]: sorted(str(v) for v in p["versions"]) for p in info.get("platforms", [])}


def as_galaxy(platforms: dict) -> dict:
    out = {}
    for dist, versions in platforms.items():
        if dist in EL:
            out.setdefault("EL", set()).update(str(v) for v in versions)
        else:
            out.setdefault(dist, set()).update(CODENAMES[dist][str(v)] for v in versions)
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.parametrize("role", MANAGED_ROLES)
def test_galaxy_platforms_equal_the_preflight_table(role):
    platforms = table(role)
    assert platforms, f"roles/{role}/meta/preflight_rules.yml has no platforms"
    assert galaxy_platforms(role) == as_galaxy(platforms)
    for versions in platforms.get("RedHat", []), platforms.get("Rocky", []), platforms.get("AlmaLinux", []):
        assert versions == platforms.get("RedHat", []), f"{role}: one EL list for RedHat, Rocky and AlmaLinux"


def test_preflight_claims_the_union():
    union = {}
    for role in MANAGED_ROLES:
        for dist, versions in as_galaxy(table(role)).items():
            union.setdefault(dist, set()).update(versions)
    assert galaxy_platforms("preflight") == {k: sorted(v) for k, v in union.items()}


@pytest.mark.parametrize("role", ["nginx", "redis", "monitoring"])
def test_apt_only_roles_claim_no_el(role):
    """These roles install with ansible.builtin.apt and have no vars/RedHat.yml."""
    tasks = " ".join(p.read_text(encoding="utf-8") for p in (ROLES / role / "tasks").glob("*.yml"))
    assert "ansible.builtin.apt:" in tasks and not (ROLES / role / "vars" / "RedHat.yml").exists()
    assert not set(table(role)) & set(EL)


def test_debian_13_mysql_knows_there_is_no_distribution_mysql():
    assert load(ROLES / "mysql" / "vars" / "Debian_13.yml")["_mysql_distro_has_mysql"] is False


def test_group_roles_cover_the_site_plays():
    """Every managed group's play roles (playbooks/*.yml) are in preflight_platform_roles for that group."""
    group_roles = load(ROLES / "preflight" / "defaults" / "main.yml")["preflight_platform_roles"]
    managed = set(load(ROLES / "preflight" / "defaults" / "main.yml")["preflight_managed_groups"])
    assert set(group_roles) == managed
    seen = {}
    for book in (REPO / "playbooks").glob("*.yml"):
        for play in load(book) or []:
            if "hosts" not in play:
                continue
            roles = [r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])]
            for task in play.get("tasks", []):
                inc = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
                if inc:
                    roles.append(inc["name"])
            for group in str(play["hosts"]).split(":"):
                for role in roles:
                    short = role.split(".")[-1]
                    if group in managed and short not in ("preflight",):
                        seen.setdefault(group, set()).add(short)
    for group, roles in seen.items():
        assert roles <= set(group_roles[group]), f"group {group}: plays run {sorted(roles)}, preflight knows {group_roles[group]}"
