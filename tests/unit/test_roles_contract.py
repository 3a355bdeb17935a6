"""Every role keeps the collection's contract (DESIGN.md style rules 1, 3, 5, 7, 8)."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO / "roles").iterdir() if p.is_dir()) if (REPO / "roles").is_dir() else []


# Ansible's special (magic, connection and play) variables: every other ansible_<name> in a
# role is an injected fact variable (INJECT_FACTS_AS_VARS), to be read as ansible_facts['<name>'].
SPECIAL = {
    "become", "become_exe", "become_flags", "become_method", "become_password", "become_user", "check_mode",
    "collection_name", "config_file", "connection", "dependent_role_names", "diff_mode", "facts", "failed_result",
    "failed_task", "forks", "host", "index_var", "inventory_sources", "limit", "loop", "loop_var", "managed",
    "parent_role_names", "parent_role_paths", "password", "play_batch", "play_hosts", "play_hosts_all", "play_name",
    "play_role_names", "playbook_python", "port", "private_key_file", "python_interpreter", "role_name",
    "role_names", "run_tags", "search_path", "skip_tags", "ssh_common_args", "ssh_extra_args", "user",
    "verbosity", "version",
}
INJECTED_FACT = re.compile(r"\bansible_(?!(?:%s)\b)([a-z0-9_]+)" % "|".join(sorted(SPECIAL, key=len, reverse=True)))


def load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_cover_exactly_the_defaults(role):
    defaults_file = role / "defaults" / "main.yml"
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    options = specs["main"].get("options", {})
    defaults = load(defaults_file) if defaults_file.exists() else {}
    missing = sorted(set(defaults) - set(options))
    assert not missing, f"{role.name}: defaults without an argument_specs entry: {missing}"
    for name, spec in options.items():
        assert spec.get("description"), f"{role.name}: option {name} has no description"
        assert spec.get("type") or "choices" in spec, f"{role.name}: option {name} has no type"
        if spec.get("required"):
            assert name not in defaults, f"{role.name}: {name} is required but also has a default"
    stray = sorted(set(options) - set(defaults) - {n for n, s in options.items() if s.get("required")})
    # options that are not defaults must be site-wide inputs (wandb_*) or explicitly optional
    assert all(n.startswith("wandb_") or not options[n].get("default") for n in stray), stray


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_the_standard_layout(role):
    assert (role / "tasks" / "main.yml").is_file()
    assert (role / "meta" / "main.yml").is_file()
    files = [p for d in ("tasks", "handlers", "defaults", "vars", "templates") for p in (role / d).glob("*")
             if p.is_file()]
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    injected = sorted(set(INJECTED_FACT.findall(text)))
    assert not injected, f"{role.name}: use ansible_facts['...'], not injected fact variables: {injected}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_templates_start_with_ansible_managed(role):
    for template in (role / "templates").glob("**/*.j2") if (role / "templates").is_dir() else []:
        first = template.read_text(encoding="utf-8").lstrip().splitlines()[0]
        assert "ansible_managed" in first, f"{template.relative_to(REPO)} must start with ansible_managed"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_handlers_are_named_restart_or_reload_and_listen(role):
    handlers = role / "handlers" / "main.yml"
    if not handlers.exists():
        pytest.skip(f"{role.name} has no handlers")
    for handler in load(handlers) or []:
        assert handler["name"].split()[0] in ("Restart", "Reload", "Validate", "Wait", "Daemon"), handler["name"]
        assert "listen" in handler, f"{role.name}: handler {handler['name']} must listen on a topic"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_a_readme(role):
    """Galaxy's importer refuses a collection with a role that has no README ("No role readme found")."""
    readme = role / "README.md"
    assert readme.is_file(), f"{role.name}: add roles/{role.name}/README.md (purpose, main variables, example)"
    text = readme.read_text(encoding="utf-8")
    assert f"onprem.wandb.{role.name}" in text and "```yaml" in text, f"{role.name}: README needs its name and an example"


def test_os_vars_idiom_is_the_same_file_in_every_role_that_loads_os_vars():
    """One OS-vars idiom (docs/development.md): the task file is the same bytes wherever a role
    has vars/ per OS; the selection rules live once, in the os_vars_files filter."""
    copies = {role.name: (role / "tasks" / "os_vars.yml").read_bytes()
              for role in ROLES if (role / "tasks" / "os_vars.yml").exists()}
    assert len(copies) >= 5, sorted(copies)
    reference = copies["mysql"]
    drifted = sorted(name for name, body in copies.items() if body != reference)
    assert not drifted, f"tasks/os_vars.yml differs from roles/mysql's in: {drifted}"
    for role in ROLES:
        per_os = [p.name for p in (role / "vars").glob("*.yml") if p.name != "main.yml"] if (role / "vars").is_dir() else []
        if per_os:
            assert role.name in copies, f"{role.name} has per-OS vars {per_os} but no tasks/os_vars.yml"
