"""ansible-builder turns execution-environment.yml into a build context holding our requirements.

`ansible-builder create` needs no container engine; `introspect` merges our Python and
system requirements with what the dependency collections declare, the same step the
image build runs.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / ".venv" / "bin" / "ansible-builder"
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text(encoding="utf-8"))
SITE_COLLECTIONS = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "ansible_collections"


def requirement_lines(path: Path):
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    ctx = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run(
        [str(BUILDER), "create", "-f", "execution-environment.yml", "--context", str(ctx), "--output-filename", "Containerfile"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ctx


def test_ee_file_is_builder_v3_with_every_dependency():
    assert EE["version"] == 3
    assert EE["images"]["base_image"]["name"]
    deps = EE["dependencies"]
    for key in ("galaxy", "python", "system"):
        assert (REPO / deps[key]).is_file(), f"dependencies.{key}: {deps[key]} missing"
    assert deps["galaxy"] == "collections/requirements.yml", "AWX project sync reads collections/requirements.yml too"
    assert "ansible-core" in deps["ansible_core"]["package_pip"]
    assert "ansible-runner" in deps["ansible_runner"]["package_pip"]


def used_collections() -> set[str]:
    """Collections the roles and playbooks call (by FQCN), read from the content itself."""
    used = set()
    for path in list(REPO.glob("roles/**/*.yml")) + list(REPO.glob("playbooks/*.yml")):
        used |= set(re.findall(r"\b((?:ansible\.posix|community\.\w+|kubernetes\.core|amazon\.aws|containers\.podman))\.\w+",
                               path.read_text(encoding="utf-8")))
    return used


# Python libraries the content needs at run time on the controller/EE: community.mysql's
# modules import PyMySQL, kubernetes.core's import kubernetes, the roles' community.crypto
# tasks need cryptography.
NEEDED_PYTHON = {"community.mysql": "PyMySQL", "kubernetes.core": "kubernetes", "community.crypto": "cryptography"}


def test_create_writes_a_containerfile_that_installs_what_the_content_needs(context):
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert f'ARG EE_BASE_IMAGE="{EE["images"]["base_image"]["name"]}"' in containerfile
    # the image build installs the collections and Python packages of the _build context
    assert re.search(r"ansible-galaxy collection install .*requirements\.yml", containerfile), containerfile
    assert re.search(r"pip install .*requirements\.txt|assemble", containerfile), containerfile
    assert "ansible-runner" in containerfile and "ansible-core" in containerfile
    build = context / "_build"
    galaxy = {c["name"] for c in yaml.safe_load((build / "requirements.yml").read_text(encoding="utf-8"))["collections"]}
    missing = sorted(used_collections() - galaxy)
    assert not missing, f"the EE would lack collections the roles call: {missing}"
    python = (build / "requirements.txt").read_text(encoding="utf-8")
    for collection, package in NEEDED_PYTHON.items():
        if collection in used_collections():
            assert re.search(rf"(?im)^{package}\b", python), f"the EE would lack {package} ({collection} needs it)"


def test_collection_requirements_cover_every_collection_the_content_uses():
    ours = {c["name"] for c in yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"]}
    missing = sorted(used_collections() - ours)
    assert not missing, f"collections used by roles/playbooks but not in collections/requirements.yml: {missing}"


def test_introspect_merges_our_requirements_with_the_collections(tmp_path):
    # a collections tree holding exactly what collections/requirements.yml asks for
    ours = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"]
    for entry in ours:
        ns, name = entry["name"].split(".")
        (tmp_path / "ansible_collections" / ns).mkdir(parents=True, exist_ok=True)
        (tmp_path / "ansible_collections" / ns / name).symlink_to(SITE_COLLECTIONS / ns / name)
    proc = subprocess.run(
        [str(BUILDER), "introspect", "--sanitize", "--user-pip", EE["dependencies"]["python"],
         "--user-bindep", EE["dependencies"]["system"], str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout.split("---", 1)[1])
    python = " ".join(merged["python"])
    for pkg in ("kubernetes", "PyMySQL", "boto3", "cryptography"):
        assert re.search(rf"\b{pkg}\b", python), f"{pkg} missing from the merged Python requirements"
    assert "from collection kubernetes.core" in python, "collection-declared requirements were not merged"
    system = " ".join(merged["system"])
    for pkg in ("openssl", "curl", "mysql"):
        assert pkg in system, f"{pkg} missing from the merged system requirements"
