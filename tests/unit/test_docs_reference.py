"""docs/inventory-reference.md is generated from the roles' argument_specs and kept current."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "gen_inventory_reference.py"
REFERENCE = REPO / "docs" / "inventory-reference.md"


def load_tool():
    spec = importlib.util.spec_from_file_location("gen_inventory_reference", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_up_to_date(tmp_path):
    fresh = tmp_path / "inventory-reference.md"
    proc = subprocess.run([sys.executable, str(TOOL), "--output", str(fresh)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert REFERENCE.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "docs/inventory-reference.md is stale: run .venv/bin/python tools/gen_inventory_reference.py"
    )


def test_every_role_option_has_a_row():
    text = REFERENCE.read_text(encoding="utf-8")
    for specs_file in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        specs = yaml.safe_load(specs_file.read_text(encoding="utf-8"))["argument_specs"]
        assert f"## {specs_file.parents[1].name}\n" in text
        for entry in specs.values():
            for option in entry.get("options") or {}:
                assert f"| `{option}` |" in text, f"{option} ({specs_file}) is missing from the reference"


def test_check_mode_fails_when_an_argument_spec_changes(tmp_path, monkeypatch):
    # a copy of the repository's inputs where one role gains an option
    shutil.copytree(REPO / "roles", tmp_path / "roles")
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "docs" / "development.md", tmp_path / "docs" / "development.md")
    shutil.copy(REFERENCE, tmp_path / "docs" / "inventory-reference.md")
    role = sorted((tmp_path / "roles").glob("*/meta/argument_specs.yml"))[0]
    specs = yaml.safe_load(role.read_text(encoding="utf-8"))
    specs["argument_specs"]["main"]["options"]["zz_new_knob"] = {
        "type": "int", "default": 7, "choices": [7, 8], "description": "A knob added without regenerating."}
    role.write_text(yaml.safe_dump(specs), encoding="utf-8")

    tool = load_tool()
    monkeypatch.setattr(tool, "REPO", tmp_path)
    monkeypatch.setattr(tool, "CONTRACT", tmp_path / "docs" / "development.md")
    stale = tmp_path / "docs" / "inventory-reference.md"
    assert tool.main(["--check", "--output", str(stale)]) == 1
    assert tool.main(["--output", str(stale)]) == 0
    assert "| `zz_new_knob` | int | `7` | `7`, `8` | A knob added without regenerating. |" in stale.read_text(encoding="utf-8")
    assert tool.main(["--check", "--output", str(stale)]) == 0


def test_markup_and_pipes_render_for_markdown():
    tool = load_tool()
    assert tool.plain(["Use O(nginx_fqdn=x) and", "C(nginx -t)."]) == "Use `nginx_fqdn` and `nginx -t`."
    assert tool.cell(tool.code("{{ a | default('b') }}")) == "`{{ a \\| default('b') }}`"
    assert tool.code(False) == "`false`" and tool.code("") == '`""`' and tool.code({"k": [1]}) == '`{"k": [1]}`'
