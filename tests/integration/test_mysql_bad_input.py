"""Bad input to roles/mysql stops the run in preflight, names the variable, changes nothing.

Real testbed hosts: a Debian sid host with Oracle MySQL already installed (so mysqld
--validate-config is available) and a bookworm host running MariaDB. Each case runs
ansible-playbook with the role against one host and asserts rc != 0, the message, and that
no file under /etc, /usr or /var/backups changed, no package changed and mysqld was not
restarted.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import ansible_env

REPO = Path(__file__).resolve().parents[2]
HOSTS_SH = REPO / "tests" / "testbed" / "hosts.sh"
SID = "mysql-bad-sid"
MARIA = "mysql-bad-maria"
GOOD_PASSWORD = "p@ss:w/rd #1 50% 'q' x"

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "podman"], capture_output=True, check=False).returncode != 0, reason="podman is missing")


def sh(host: str, script: str, check: bool = True) -> str:
    out = subprocess.run(["podman", "exec", host, "bash", "-c", script], capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"{host}: {script!r} failed: {out.stdout}{out.stderr}")
    return out.stdout


APT = "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends"
# a loaded machine can time out a postinst's first server start: finish the install once more
RETRY = "|| { sleep 5; dpkg --configure -a && apt-get install -y -qq -f; }"


@pytest.fixture(scope="module")
def hosts():
    subprocess.run([str(HOSTS_SH), "up", f"{SID}=sid", f"{MARIA}=bookworm"], check=True)
    try:
        sh(SID, f"{APT} mysql-server python3-pymysql >/dev/null {RETRY}; systemctl restart mysql")
        sh(MARIA, f"{APT} mariadb-server >/dev/null {RETRY}; systemctl restart mariadb")
        yield
    finally:
        subprocess.run([str(HOSTS_SH), "down", SID, MARIA], check=False)


def state(host: str) -> dict[str, str]:
    """What must not change: packages, files under /etc /usr /var/backups, the server's PID."""
    return {
        "packages": sh(host, "dpkg-query -W -f '${Package} ${Version} ${Status}\\n' | sort"),
        "changed_files": sh(host, "find /etc /usr /var/backups -xdev -newer /tmp/.before -print 2>/dev/null | sort",
                            check=False),
        "pid": sh(host, "systemctl show -p MainPID --value mysql mariadb 2>/dev/null", check=False),
        "dropin": sh(host, "ls /etc/mysql/mysql.conf.d/ /etc/mysql/conf.d/ 2>/dev/null", check=False),
    }


def run_role(host: str, tmp_path: Path, extra: dict) -> tuple[int, str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: all\n  gather_facts: true\n  roles:\n    - role: onprem.wandb.mysql\n")
    extra_file = tmp_path / "vars.json"
    extra_file.write_text(json.dumps(extra))
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
                      # opt-in: the testbed's nsenter connection (docs/test-matrix.md)
                      ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"))
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", f"{host},", "-e", "ansible_connection=testbed_podman",
         "-e", f"@{extra_file}", str(playbook)], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    return out.returncode, re.sub(r"\s+", " ", out.stdout + out.stderr)


CASES = {
    "mariadb_host": (MARIA, {"wandb_db_password": GOOD_PASSWORD},
                     ["is MariaDB", "never MariaDB", "mysql_install"]),
    "unknown_parameter": (SID, {"wandb_db_password": GOOD_PASSWORD,
                                "mysql_parameters": {"innodb_bogus_knob": 1}},
                          ["mysql_parameters.innodb_bogus_knob", "unknown variable"]),
    "empty_password": (SID, {"wandb_db_password": ""}, ["wandb_db_password", "is empty"]),
    "sort_buffer_size_big": (SID, {"wandb_db_password": GOOD_PASSWORD,
                                   "mysql_parameters": {"sort_buffer_size": "big"}},
                             ["mysql_parameters.sort_buffer_size", "Not a number"]),
    # an addition may not undo W&B's group (dashed spelling is the same option to mysqld)
    "contradicts_wandb": (SID, {"wandb_db_password": GOOD_PASSWORD,
                                "mysql_parameters": {"max_allowed_packet": "64M", "sync-binlog": 0}},
                          ["mysql_parameters.sync-binlog = 0 contradicts", "remove the key"]),
    # least exposure: no account for "any host" unless the operator says so
    "no_app_sources": (SID, {"wandb_db_password": GOOD_PASSWORD}, ["set wandb_app_sources", "mysql_user_host"]),
    # REQUIRE SSL needs a certificate the app can verify
    "tls_required_on_auto": (SID, {"wandb_db_password": GOOD_PASSWORD, "wandb_app_sources": ["10.42.0.0/16"],
                                   "wandb_db_tls": True}, ["wandb_db_tls / mysql_require_tls", "mysql_tls_mode"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_before_any_change(hosts, tmp_path, case):
    host, extra, expected = CASES[case]
    sh(host, "sleep 1; touch /tmp/.before; sleep 1")
    before = state(host)
    assert before["pid"].strip() not in ("", "0"), f"the server on {host} is not running before the case"
    rc, output = run_role(host, tmp_path, extra)
    assert rc != 0, f"{case}: the run succeeded: {output[-2000:]}"
    for text in expected:
        assert text in output, f"{case}: {text!r} not in the failure: {output[-3000:]}"
    after = state(host)
    assert after == before, f"{case}: the host changed: before={before} after={after}"
    assert after["changed_files"] == "", f"{case}: files changed: {after['changed_files']}"
    # the password never reaches the output
    if extra.get("wandb_db_password"):
        assert extra["wandb_db_password"] not in output
