"""Every module and filter of the collection renders with ansible-doc, and each module's
DOCUMENTATION options match its argument_spec (names, types, defaults, choices, required,
elements), and no_log: secret options are no_log in the spec and every documented example that
passes one sets no_log on its task."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DOC = REPO / ".venv" / "bin" / "ansible-doc"
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
FILTERS = sorted(p.stem for p in (REPO / "plugins" / "filter").glob("*.yml"))


def doc(kind: str, name: str, as_json: bool = False):
    cmd = [str(ANSIBLE_DOC), "-t", kind, f"onprem.wandb.{name}"] + (["--json"] if as_json else [])
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_HOME=str(REPO / ".ansible"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout) if as_json else proc.stdout


def test_there_is_something_to_check():
    assert {"signed_url_check", "sizing_check"} <= set(MODULES)
    assert {"mysql_url", "bucket_url", "parse_bucket_url", "url_origin"} <= set(FILTERS)


@pytest.mark.parametrize("name", MODULES)
def test_module_doc_renders(name):
    text = doc("module", name)
    assert f"onprem.wandb.{name}" in text and "EXAMPLES" in text and "RETURN VALUES" in text


@pytest.mark.parametrize("name", FILTERS)
def test_filter_doc_renders(name):
    text = doc("filter", name)
    assert f"onprem.wandb.{name}" in text and "EXAMPLES" in text


@pytest.mark.parametrize("name", MODULES)
def test_module_doc_matches_argument_spec(name):
    sys.path.insert(0, str(REPO / ".ansible" / "collections"))
    module = importlib.import_module(f"ansible_collections.onprem.wandb.plugins.modules.{name}")
    spec = module.argument_spec()
    options = doc("module", name, as_json=True)[f"onprem.wandb.{name}"]["doc"]["options"]
    assert sorted(options) == sorted(spec)
    for opt, s in spec.items():
        d = options[opt]
        assert d["type"] == s["type"], opt
        assert d.get("default") == s.get("default"), opt
        assert d.get("choices") == s.get("choices"), opt
        assert bool(d.get("required")) == bool(s.get("required")), opt
        if s["type"] == "list":
            assert d["elements"] == s["elements"], opt
    # no_log: what the spec masks, the documented examples must not print either
    masked = {opt for opt, s in spec.items() if s.get("no_log")}
    assert {"secret_key", "password"} & set(spec) <= masked, f"{name}: a secret option is not no_log"
    examples = yaml.safe_load(module.EXAMPLES) or []
    for task in examples:
        args = task.get(f"onprem.wandb.{name}")
        if isinstance(args, dict) and masked & set(args):
            assert task.get("no_log") is True, f"{name}: example '{task.get('name')}' passes {masked & set(args)} without no_log"
