"""Booleans from -e and AWX surveys arrive as strings ("false" is truthy): every condition on a
boolean variable (type bool in any role's argument_specs) reads it through `| bool`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONDITION_KEYS = ("when", "changed_when", "failed_when", "until", "that")


def bool_variables():
    names = set()
    for spec in REPO.glob("roles/*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(spec.read_text())["argument_specs"] or {}).values():
            names |= {k for k, v in (entry.get("options") or {}).items() if v.get("type") == "bool"}
    return names | {"mysql_standby_enabled"}


def conditions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONDITION_KEYS:
                for cond in value if isinstance(value, list) else [value]:
                    if isinstance(cond, str):
                        yield cond
            yield from conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from conditions(item)


def files():
    for pattern in ("roles/*/tasks/*.yml", "roles/*/handlers/*.yml", "playbooks/*.yml", "extensions/molecule/*/*.yml"):
        yield from sorted(REPO.glob(pattern))


def test_every_condition_on_a_boolean_uses_bool():
    names = bool_variables()
    assert {"nginx_remove_default_site", "verify_wandb_cli", "preflight_check_dns"} <= names
    pattern = re.compile(r"(?<![\w.'\"\[])(%s)(?![\w'\"])(\s*\|\s*bool)?" % "|".join(sorted(names)))
    bare = []
    for path in files():
        for cond in conditions(yaml.safe_load(path.read_text())):
            for match in pattern.finditer(cond):
                if not match.group(2):
                    bare.append(f"{path.relative_to(REPO)}: {match.group(1)} in {cond.strip()!r}")
    assert not bare, "conditions without | bool:\n" + "\n".join(bare)


def test_the_check_finds_a_bare_boolean():
    pattern = re.compile(r"(?<![\w.'\"\[])(nginx_s3_enabled)(?![\w'\"])(\s*\|\s*bool)?")
    assert not pattern.search("nginx_s3_enabled and x").group(2)
    assert pattern.search("nginx_s3_enabled | bool").group(2)
