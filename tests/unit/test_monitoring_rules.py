"""The monitoring role's alert rules: valid for promtool, and every alert fires when it should and
stays silent when it should not (promtool test rules on tests/unit/monitoring/*.test.yml)."""

import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "monitoring"
CASES = REPO / "tests" / "unit" / "monitoring"
CACHE = Path(os.environ.get("ONPREM_WANDB_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "onprem-wandb"))


def promtool():
    for cand in (os.environ.get("ONPREM_WANDB_PROMTOOL"), CACHE / "promtool" / "promtool", shutil.which("promtool")):
        if cand and Path(cand).is_file():
            return str(cand)
    pytest.fail("promtool not found: run `make deps` (extracts it from Debian's prometheus package into the cache)")


def render(overrides=None):
    """The rules file exactly as the role writes it, with the role's defaults (plus overrides)."""
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    values.update(overrides or {})
    values["ansible_managed"] = "Ansible managed"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in str(text).splitlines())
    return env.from_string((ROLE / "templates" / "alert_rules.yml.j2").read_text()).render(**values)


def alert_names(text):
    return {r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    (d / "onprem-wandb-alerts.yml").write_text(render())
    for case in CASES.glob("*.test.yml"):
        shutil.copy(case, d / case.name)
    return d


def run(tool, *args, cwd):
    proc = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_rules_pass_promtool_check(rules_dir):
    out = run(promtool(), "check", "rules", "onprem-wandb-alerts.yml", cwd=rules_dir)
    assert f"{len(alert_names(render()))} rules found" in out


def test_every_alert_fires_and_stays_silent_in_some_case():
    fired, silent = set(), set()
    for case in CASES.glob("*.test.yml"):
        for test in yaml.safe_load(case.read_text())["tests"]:
            for at in test.get("alert_rule_test", []):
                (fired if at.get("exp_alerts") else silent).add(at["alertname"])
    names = alert_names(render())
    assert names - fired == set(), f"alerts never seen firing in a test: {sorted(names - fired)}"
    assert names - silent == set(), f"alerts never seen silent in a test: {sorted(names - silent)}"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*.test.yml")))
def test_promtool_unit_tests(rules_dir, case):
    out = run(promtool(), "test", "rules", case, cwd=rules_dir)
    assert "SUCCESS" in out


def test_thresholds_are_the_variables():
    text = render({"monitoring_alert_mysql_cpu_percent": 90, "monitoring_alert_mysql_cpu_for": "7m",
                   "monitoring_alert_mysql_backup_max_age_seconds": 3600})
    rules = {r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}
    assert rules["MySQLHostCPUHigh"]["expr"].rstrip().endswith("> 90")
    assert rules["MySQLHostCPUHigh"]["for"] == "7m"
    assert rules["MySQLBackupTooOld"]["expr"].endswith("> 3600")
    assert rules["MySQLBackupMissing"]["for"] == "3600s"
