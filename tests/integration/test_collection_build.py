"""`ansible-galaxy collection build` gives users what they need and nothing of ours."""

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), str(REPO)],
                   check=True, capture_output=True)
    tarballs = list(out.glob("onprem-wandb-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


def test_tarball_holds_the_collection_and_no_dev_files(built):
    with tarfile.open(built) as tar:
        names = tar.getnames()
    top = {n.split("/")[0] for n in names}
    assert {"MANIFEST.json", "FILES.json", "roles", "plugins", "meta", "README.md", "LICENSE"} <= top, top
    for unwanted in (".venv", ".ci", "extensions", ".ansible", "Makefile", "requirements-dev.txt", "ansible.cfg"):
        assert unwanted not in top, f"{unwanted} must not ship in the collection"
    # of tests/ only the sanity ignore file ships (ansible-test sanity on the installed copy needs it)
    shipped_tests = {n for n in names if n.startswith("tests/") and not n.startswith("tests/sanity")} - {"tests"}
    assert not shipped_tests, f"test files must not ship: {sorted(shipped_tests)[:5]}"
    assert "tests/sanity/ignore-2.19.txt" in names
    # nor the embedded testbed: its inventory carries clear-text test secrets and a testbed-only connection
    assert not any(n.startswith("inventories/local") for n in names), "inventories/local must not ship"
    assert any(n.startswith("inventories/onprem/") for n in names), "the example inventory ships"
    assert not any(n.startswith(".venv") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    for role in (p.name for p in (REPO / "roles").iterdir() if p.is_dir()):
        assert f"roles/{role}/tasks/main.yml" in names, role


def test_tarball_installs_and_its_plugins_render(built, tmp_path):
    dest = tmp_path / "collections"
    # an empty config: the checkout's ansible.cfg puts the checkout itself on the collections path
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    cfg = str(tmp_path / "ansible.cfg")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(dest), str(built)],
                   check=True, capture_output=True, env=dict(os.environ, ANSIBLE_CONFIG=cfg))
    installed = dest / "ansible_collections" / "onprem" / "wandb"
    manifest = json.loads((installed / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "onprem"
    assert manifest["collection_info"]["name"] == "wandb"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), ANSIBLE_CONFIG=cfg)
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    for module in modules:
        out = subprocess.run([str(VENV_BIN / "ansible-doc"), "--json", f"onprem.wandb.{module}"], env=env,
                             check=True, capture_output=True, text=True).stdout
        doc = json.loads(out)[f"onprem.wandb.{module}"]["doc"]
        assert doc["short_description"], module
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    listed = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", "role", "-l", "onprem.wandb"], env=env,
                            check=True, capture_output=True, text=True).stdout
    for role in roles:
        assert f"onprem.wandb.{role}" in listed, f"role {role} has no argument_specs entry point"
