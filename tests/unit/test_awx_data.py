"""The AWX data in awx/ is well formed and matches the variables the roles read.

Also: no playbook in the repository prompts (vars_prompt blocks AWX jobs), and
playbooks/awx_setup.yml renders the surveys from awx/ without a controller (tag awx_data).
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AWX = REPO / "awx"
VENV_BIN = REPO / ".venv" / "bin"
SKIP_DIRS = {".venv-min", ".venv-artifact", ".venv", ".ansible", ".git", ".cache", "build", "context", "output", "__pycache__", ".pytest_cache"}


class _AnsibleYamlLoader(yaml.SafeLoader):
    """safe_load plus the Ansible tags our data uses (!unsafe keeps its string)."""


_AnsibleYamlLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
_AnsibleYamlLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_AnsibleYamlLoader) or {}  # noqa: S506 - SafeLoader subclass


CREDENTIAL_TYPES = load(AWX / "credential_types.yml")["awx_credential_types"]
CREDENTIALS = load(AWX / "credentials.yml")["awx_credentials"]
JOBS = load(AWX / "job_templates.yml")
CONTROLLER = load(AWX / "controller.yml")
AWX_BUILTIN_TYPES = {"Machine", "OpenShift or Kubernetes API Bearer Token", "Source Control", "Vault"}
SECRET_WORDS = re.compile(r"password|secret|license|token|private|key_content", re.I)


def role_variable_text() -> str:
    """Every roles/*/defaults/main.yml plus docs/development.md's wandb_* contract."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(REPO.glob("roles/*/defaults/main.yml"))]
    texts.append((REPO / "docs" / "development.md").read_text(encoding="utf-8"))
    return "\n".join(texts)


def repo_yaml_files():
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            if name.endswith((".yml", ".yaml")):
                yield Path(root) / name


@pytest.mark.parametrize("ctype", CREDENTIAL_TYPES, ids=lambda c: c["name"])
def test_credential_type_has_inputs_and_injectors(ctype):
    assert ctype["kind"] in ("cloud", "net"), "AWX custom credential types are kind cloud or net"
    fields = ctype["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids)), f"duplicate field ids in {ctype['name']}"
    for field in fields:
        assert field.get("label") and field.get("type") == "string", field
        if SECRET_WORDS.search(field["id"]):
            assert field.get("secret") is True, f"{ctype['name']}: {field['id']} must be secret: true"
    assert set(ctype["inputs"].get("required", [])) <= set(ids)
    extra_vars = ctype["injectors"]["extra_vars"]
    assert extra_vars, f"{ctype['name']} injects nothing"
    for var, template in extra_vars.items():
        match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", template)
        assert match and match.group(1) in ids, f"{ctype['name']}: injector {var} -> {template} names no input field"


def test_injected_and_surveyed_variables_are_read_by_the_roles():
    text = role_variable_text()
    injected = {v for c in CREDENTIAL_TYPES for v in c["injectors"]["extra_vars"]}
    surveyed = set(JOBS["awx_survey_questions"]) | set(JOBS["awx_kubernetes_extra_vars"])
    unknown = sorted(v for v in injected | surveyed if not re.search(rf"\b{re.escape(v)}\b", text))
    assert not unknown, f"AWX sets variables no role reads (renamed?): {unknown}"


def test_every_secret_the_preflight_requires_comes_from_a_credential():
    required = set()
    for rules_file in REPO.glob("roles/*/meta/preflight_rules.yml"):
        rules = load(rules_file)
        # required without a condition: every site must set them
        required |= {r["var"] for r in rules.get("rules", []) if r.get("required") and not r.get("when")}
    secret_required = {v for v in required if SECRET_WORDS.search(v) or v.endswith(("_access_key", "_user"))}
    injected = {v for c in CREDENTIAL_TYPES for v in c["injectors"]["extra_vars"]}
    assert secret_required, "the preflight rules require no secret: test premise changed"
    assert secret_required <= injected, f"required secrets no credential type injects: {sorted(secret_required - injected)}"


@pytest.mark.parametrize("name", sorted(JOBS["awx_survey_questions"]))
def test_survey_question_is_complete(name):
    question = JOBS["awx_survey_questions"][name]
    assert question["question_name"] and question["question_description"]
    assert question["type"] in ("text", "multiplechoice", "integer")
    assert question["required"] is True, "optional answers reach the job as empty/null extra vars"
    assert not SECRET_WORDS.search(name) and question["type"] != "password", "secrets belong in credentials"
    default = JOBS["awx_survey_defaults"][name]
    if question["type"] == "multiplechoice":
        assert default in question["choices"]
    else:
        assert question.get("min", 0) <= len(str(default)) <= question.get("max", 1024)


@pytest.mark.parametrize("job", JOBS["awx_job_templates"], ids=lambda j: j["name"])
def test_job_template_references_resolve(job):
    assert (REPO / job["playbook"]).is_file(), f"{job['name']}: playbook {job['playbook']} is not in the repository"
    credential_names = {c["name"] for c in CREDENTIALS}
    assert set(job["credentials"]) <= credential_names
    assert set(job["survey"]) <= set(JOBS["awx_survey_questions"])


def test_jobs_with_the_kubernetes_credential_drop_the_inventory_kubeconfig():
    # in AWX the cluster comes from the credential's K8S_AUTH_* variables; a kubeconfig path
    # from the inventory would not exist in the execution environment
    for job in JOBS["awx_job_templates"]:
        if "onprem.wandb Kubernetes" in job["credentials"]:
            assert job.get("extra_vars") == "{{ awx_kubernetes_extra_vars }}", job["name"]
    assert JOBS["awx_kubernetes_extra_vars"] == {"kubernetes_kubeconfig": "", "kubernetes_context": ""}


def test_credentials_use_known_types():
    custom = {c["name"] for c in CREDENTIAL_TYPES}
    for cred in CREDENTIALS:
        assert cred["credential_type"] in custom | AWX_BUILTIN_TYPES, cred
    assert custom <= {c["credential_type"] for c in CREDENTIALS}, "a custom credential type without a credential"


def test_inventory_source_points_into_the_repository():
    path = REPO / CONTROLLER["awx_inventory_source"]["source_path"]
    assert path.exists(), f"awx_inventory_source.source_path {path} does not exist"


def test_no_playbook_prompts():
    offenders = []
    for path in repo_yaml_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if re.match(r"^\s*(-\s+)?vars_prompt\s*:", line):
                offenders.append(f"{path.relative_to(REPO)}:{lineno}")
    assert not offenders, f"vars_prompt blocks AWX jobs; use surveys/credentials: {offenders}"


def run_awx_data(*extra):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    site = ["-e", "awx_project_scm_url=https://git.corp.lan/onprem-wandb.git", "-e", "awx_ee_image=registry.corp.lan/ee:1"]
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "playbooks/awx_setup.yml", "--tags", "awx_data", *site, *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_awx_setup_renders_surveys_from_the_data():
    rc, out = run_awx_data()
    assert rc == 0, out["stats"]
    facts = next(r["ansible_facts"] for t in out["plays"][0]["tasks"] for r in t["hosts"].values() if "ansible_facts" in r)
    specs = facts["awx_survey_specs"]
    assert set(specs) == {j["name"] for j in JOBS["awx_job_templates"]}
    for job in JOBS["awx_job_templates"]:
        spec = specs[job["name"]]
        assert [q["variable"] for q in spec] == job["survey"]
        for q in spec:
            assert q["default"] == JOBS["awx_survey_defaults"][q["variable"]]
            if q["type"] == "multiplechoice":
                # AWX's survey API takes choices as one option per line
                assert q["choices"].split("\n") == JOBS["awx_survey_questions"][q["variable"]]["choices"]


def test_awx_setup_refuses_the_example_project_and_image():
    rc, out = run_awx_data("-e", "awx_project_scm_url=", "-e", "awx_ee_image=")
    assert rc != 0
    failed = [r.get("msg", "") for t in out["plays"][0]["tasks"] for r in t["hosts"].values() if r.get("failed")]
    assert len(failed) == 1 and "awx_project_scm_url" in failed[0] and "awx_ee_image" in failed[0], failed
    assert CONTROLLER["awx_project"]["scm_url"] in failed[0]


def test_awx_setup_rejects_a_bad_survey_default():
    defaults = dict(JOBS["awx_survey_defaults"], wandb_sizing_profile="enormous")
    rc, out = run_awx_data("-e", json.dumps({"awx_survey_defaults": defaults}))
    assert rc != 0
    messages = [
        item.get("msg", "")
        for t in out["plays"][0]["tasks"] for r in t["hosts"].values() for item in r.get("results", [])
        if item.get("failed")
    ]
    choices = JOBS["awx_survey_questions"]["wandb_sizing_profile"]["choices"]
    assert any("awx_survey_defaults.wandb_sizing_profile" in m and "'enormous'" in m and all(c in m for c in choices)
               for m in messages), messages


@pytest.mark.parametrize("survey_var,role,option", [
    ("wandb_sizing_profile", "preflight", "preflight_sizing_profile"),
    ("wandb_sizing_environment", "preflight", "preflight_sizing_environment"),
])
def test_survey_choices_match_the_role_that_reads_them(survey_var, role, option):
    # the choices live in the role's preflight rules (preflight_inputs names the variable the survey sets)
    rules = {r["var"]: r for r in load(REPO / "roles" / role / "meta" / "preflight_rules.yml")["rules"]}
    assert option in load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert JOBS["awx_survey_questions"][survey_var]["choices"] == rules[survey_var]["choices"] == rules[option]["choices"]
