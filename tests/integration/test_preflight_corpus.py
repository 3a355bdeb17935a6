"""The bad-input corpus: every bad inventory stops in preflight, naming the variable, changing nothing.

One set of podman hosts (prefix pf-) for the whole corpus: a MySQL host, a MinIO host, a proxy
(also the client), and an access host (kube_access) whose /etc/os-release says CentOS Stream 9, the
AWX execution environment's OS: the controller is not a managed host and must pass on any Linux.
A good base inventory passes preflight fully (host checks, DNS, the roles' own checks); each case
changes a few values and must fail with a line naming the variable.

Input cases stop on the controller before any host is contacted: they run through
preflight_batch.py, which drives ansible-playbook's own command-line class for each case in one
Python process (an ansible-playbook start is mostly imports: ~25 s each on a loaded machine).
The good site and the cases that need the hosts (kubeconfig, sizing, the disk probe) run as real
`ansible-playbook` commands. After the corpus, `podman diff` of every host is what it was before.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import ansible_env as common_env
from conftest import host_changes, podman_hosts, recap, sh

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
DB, S3, PROXY, CTL = "pf-db", "pf-s3", "pf-proxy", "pf-ctl"
FQDN, S3_FQDN = "pf-wandb.onprem.test", "pf-s3.onprem.test"
# valid values with every hostile character: they must pass (and the site test logs in with them)
HOSTILE_PASSWORD = "W&B:p@ss/w%rd#1 'x\"\\$y{#z {{ no }} %}"
REDIS_PASSWORD = "r3dis p@ss:{{w}}/{#x#}"
CENTOS_OS_RELEASE = ('NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\n'
                     'PLATFORM_ID="platform:el9"\nPRETTY_NAME="CentOS Stream 9"\n')

pytestmark = pytest.mark.skipif(not (VENV_BIN / "ansible-playbook").exists(), reason="make deps first")


class Site:
    def __init__(self, root: Path):
        self.root = root
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for name in ("minio", "mc"):
            (bin_dir / name).write_text("#!/bin/sh\n")  # preflight only asks that the files exist
        self.hosts = {"all": {"children": {
            "mysql": {"hosts": {DB: {}}},
            "minio": {"hosts": {S3: {}}},
            "proxy": {"hosts": {PROXY: {}}},
            "clients": {"hosts": {PROXY: {}}},
            "kube_access": {"hosts": {CTL: {}}},
            "kubernetes_workers": {"hosts": {DB: {}}},
            "redis": {"hosts": {PROXY: {}}},
        }, "vars": {"ansible_connection": "testbed_podman", "ansible_user": "root"}}}
        self.vars = {
            "wandb_fqdn": FQDN, "wandb_url": "https://{{ wandb_fqdn }}", "wandb_region": "us-east-1",
            "wandb_bucket": "wandb", "wandb_db_name": "wandb_local", "wandb_db_user": "wandb_local",
            "wandb_db_host": DB, "wandb_db_port": 3306, "wandb_s3_endpoint": f"https://{S3_FQDN}",
            "wandb_cors_origins": ["{{ wandb_url }}"], "wandb_sizing_profile": "models",
            "wandb_sizing_environment": "test", "preflight_sizing_strict": False,
            "wandb_db_password": "{{ vault_wandb_db_password }}", "wandb_license": "{{ vault_wandb_license }}",
            "wandb_s3_access_key": "wandb-app", "wandb_s3_secret_key": "{{ vault_wandb_s3_secret_key }}",
            "minio_root_user": "pf-root", "minio_root_password": "{{ vault_minio_root_password }}",
            "wandb_redis_password": "{{ vault_wandb_redis_password }}",
            # the kubernetes role's checks need a cluster; this corpus checks its inputs only
            "preflight_component_roles": {"mysql": "mysql", "minio": "minio", "proxy": "nginx", "redis": "redis"},
            "preflight_worker_data_path": "/tmp", "preflight_mysql_data_path": "/tmp",
        }
        self.vault = {
            "vault_wandb_db_password": HOSTILE_PASSWORD, "vault_wandb_license": "pf-license-not-valid",
            "vault_wandb_s3_secret_key": "pf/secret+key:{#2026#}", "vault_minio_root_password": "root p@ss/w{%rd#",
            "vault_wandb_redis_password": REDIS_PASSWORD,
        }
        self.group_vars = {
            "mysql": {"mysql_install": "repo"},
            "minio": {"minio_drives": ["/srv/d1", "/srv/d2", "/srv/d3", "/srv/d4"], "minio_binary_source": "file",
                      "minio_binary_src": str(bin_dir / "minio"), "minio_mc_binary_src": str(bin_dir / "mc"),
                      "minio_cluster_hosts": "{{ groups['minio'] }}", "minio_allow_root_drives": True},
            "proxy": {"nginx_tls_mode": "local_ca", "nginx_local_ca_dir": str(root / "local-ca"),
                      "nginx_upstreams": ["127.0.0.1:32080"], "nginx_s3_enabled": True, "nginx_s3_fqdn": S3_FQDN,
                      "nginx_s3_upstreams": [f"{S3}:9000"]},
            "kube_access": {"kubernetes_kubeconfig": "/root/kubeconfig", "ansible_python_interpreter": "/usr/bin/python3"},
            "redis": {"redis_tls_mode": "local_ca", "redis_local_ca_dir": str(root / "local-ca")},
        }

    def write(self, case: str, vars_: dict | None = None, vault: dict | None = None, group_vars: dict | None = None,
              drop: tuple = (), hosts: dict | None = None) -> Path:
        inv = self.root / case
        (inv / "group_vars" / "all").mkdir(parents=True)
        (inv / "hosts.yml").write_text(yaml.safe_dump(hosts or self.hosts))
        main = {k: v for k, v in {**self.vars, **(vars_ or {})}.items() if k not in drop}
        (inv / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(main))
        secrets = {k: v for k, v in {**self.vault, **(vault or {})}.items() if k not in drop}
        # every secret !unsafe, as the vault example asks (a raw value is written by the case itself)
        lines = ["---"] + [f"{k}: {v[len('RAW:'):]}" if isinstance(v, str) and v.startswith("RAW:")
                           else f"{k}: !unsafe {json.dumps(v)}" for k, v in secrets.items()]
        (inv / "group_vars" / "all" / "vault.yml").write_text("\n".join(lines) + "\n")
        for group, data in self.group_vars.items():
            merged = {k: v for k, v in {**data, **((group_vars or {}).get(group, {}))}.items() if k not in drop}
            (inv / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(merged))
        return inv


def ansible_env() -> dict[str, str]:
    return common_env(ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"))  # opt-in: testbed_podman


def run_preflight(inv: Path, *extra: str, timeout: int = 600) -> tuple[int, str]:
    out = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inv), "playbooks/preflight.yml", *extra],
                         cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=timeout, check=False)
    return out.returncode, out.stdout + out.stderr


def run_batch(invs: list[Path], results: Path, timeout: int = 1200) -> dict[str, dict]:
    """playbooks/preflight.yml against each inventory, in one process (preflight_batch.py)."""
    out = subprocess.run([str(VENV_BIN / "python"), str(Path(__file__).with_name("preflight_batch.py")), str(results),
                          *map(str, invs)], cwd=REPO, env=ansible_env(), capture_output=True, text=True,
                         timeout=timeout, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(results.read_text())


def problems(text: str) -> list[str]:
    """The problem lines of the preflight failure: the "- " lines right after "Preflight found"."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "Preflight found" in line:
            found = []
            for follow in lines[index + 1:]:
                if not follow.startswith("- "):
                    break
                found.append(follow[2:])
            return found
    return []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("pf")
    with podman_hosts(f"{DB}=bookworm", f"{S3}=bookworm", f"{PROXY}=bookworm,{FQDN},{S3_FQDN}", f"{CTL}=bookworm"):
        # the access host: CentOS Stream 9 by its os-release, with a Python kubernetes package and a kubeconfig
        sh(CTL, "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
                "apt-get install -y -qq --no-install-recommends python3-kubernetes >/dev/null")
        sh(CTL, f"rm -f /etc/os-release /etc/debian_version; printf '%s' '{CENTOS_OS_RELEASE}' > /etc/os-release; "
                "echo 'CentOS Stream release 9' > /etc/centos-release; echo 'apiVersion: v1' > /root/kubeconfig")
        time.sleep(1)
        yield Site(root), {h: host_changes(h) for h in (DB, S3, PROXY, CTL)}


def test_good_site_with_a_centos_controller_passes(site):
    """Fails on the code before: the OS allow-list of managed hosts was applied to kube_access."""
    base, _before = site
    rc, text = run_preflight(base.write("good"))
    assert rc == 0, "\n".join(problems(text)) or text[-4000:]
    # the final check ran and passed (its success_msg shows only with -v: assert is quiet)
    report = text.split("TASK [onprem.wandb.preflight : Fail with every problem found, or pass]", 1)
    assert len(report) == 2, text[-4000:]
    outcome = re.split(r"^(?:TASK \[|PLAY RECAP)", report[1], maxsplit=1, flags=re.M)[0]
    assert "ok: [" in outcome and "fatal:" not in outcome and "skipping:" not in outcome, outcome
    counters = {h: c for h, c in recap(text).items() if h.startswith("pf-")}
    assert sorted(counters) == sorted((DB, S3, PROXY, CTL)), counters
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values()), counters
    assert "CentOS" not in "\n".join(problems(text))
    # the access host's facts really say CentOS (the fixture is in effect)
    assert "CentOS" in sh(CTL, "cat /etc/os-release")
    assert HOSTILE_PASSWORD not in text and "{#2026#}" not in text


# case -> (changes, the variable the problem line must start with, words the line must carry)
CASES = {
    # missing
    "license_vault_key_missing": ({"drop": ("vault_wandb_license",)}, "wandb_license", ["vault_wandb_license", "not set"]),
    "db_password_missing": ({"drop": ("wandb_db_password", "vault_wandb_db_password")}, "wandb_db_password", ["not set"]),
    "fqdn_missing": ({"drop": ("wandb_fqdn",)}, "wandb_fqdn", ["not set"]),
    "s3_secret_empty": ({"vault": {"vault_wandb_s3_secret_key": ""}}, "wandb_s3_secret_key", ["empty"]),
    "minio_root_password_vault_missing": ({"drop": ("vault_minio_root_password",)}, "minio_root_password",
                                          ["vault_minio_root_password"]),
    "minio_drives_empty": ({"group_vars": {"minio": {"minio_drives": []}}}, "minio_drives", ["empty"]),
    "nginx_upstreams_empty": ({"group_vars": {"proxy": {"nginx_upstreams": []}}}, "nginx_upstreams", ["empty"]),
    # placeholders of our own examples
    "license_placeholder": ({"vault": {"vault_wandb_license": "paste the W&B license here"}}, "vault_wandb_license",
                            ["placeholder"]),
    "db_password_change_me": ({"vault": {"vault_wandb_db_password": "change me: MySQL password of wandb_local"}},
                              "vault_wandb_db_password", ["change me"]),
    "fqdn_example_internal": ({"vars": {"wandb_fqdn": "wandb.example.internal"}}, "wandb_fqdn", ["example.internal"]),
    "db_host_example_internal": ({"vars": {"wandb_db_host": "db1.wandb.example.internal"}}, "wandb_db_host",
                                 ["example.internal"]),
    "zero_checksum": ({"group_vars": {"minio": {"minio_binary_source": "url",
                                                "minio_binary_url": "https://mirror.corp.test/minio",
                                                "minio_mc_binary_url": "https://mirror.corp.test/mc",
                                                "minio_binary_checksum": "sha256:" + "0" * 64,
                                                "minio_mc_binary_checksum": "sha256:" + "ab" * 32}}},
                      "minio_binary_checksum", ["all-zero"]),
    # mistyped
    "db_port_word": ({"vars": {"wandb_db_port": "three-three-o-six"}}, "wandb_db_port", ["not an integer"]),
    "db_port_out_of_range": ({"vars": {"wandb_db_port": 70000}}, "wandb_db_port", ["out of range"]),
    "check_dns_not_bool": ({"vars": {"preflight_check_dns": "sometimes"}}, "preflight_check_dns", ["not a boolean"]),
    "s3_enabled_not_bool": ({"group_vars": {"proxy": {"nginx_s3_enabled": "maybe"}}}, "nginx_s3_enabled",
                            ["not a boolean"]),
    "cors_origins_string": ({"vars": {"wandb_cors_origins": "https://pf-wandb.onprem.test"}}, "wandb_cors_origins",
                            ["not a list"]),
    "buffer_pool_ratio_big": ({"group_vars": {"mysql": {"mysql_innodb_buffer_pool_ratio": 1.5}}},
                              "mysql_innodb_buffer_pool_ratio", ["out of range"]),
    "mysql_install_unknown": ({"group_vars": {"mysql": {"mysql_install": "docker"}}}, "mysql_install", ["not one of"]),
    "tls_mode_unknown": ({"group_vars": {"proxy": {"nginx_tls_mode": "letsencrypt"}}}, "nginx_tls_mode", ["not one of"]),
    "node_port_range": ({"group_vars": {"kube_access": {"kubernetes_service_type": "NodePort",
                                                        "kubernetes_service_node_port": 8080}}},
                        "kubernetes_service_node_port", ["out of range"]),
    "replicas_word": ({"group_vars": {"kube_access": {"kubernetes_replicas": "two"}}}, "kubernetes_replicas",
                      ["not an integer"]),
    "verify_payload_zero": ({"vars": {"verify_payload_size": 0}}, "verify_payload_size", ["out of range"]),
    "sizing_profile_unknown": ({"vars": {"wandb_sizing_profile": "huge"}}, "wandb_sizing_profile", ["not one of"]),
    "password_as_number": ({"vault": {"vault_wandb_db_password": "RAW:12345678"}}, "wandb_db_password", ["number"]),
    # inconsistent
    "s3_key_is_root_user": ({"vars": {"wandb_s3_access_key": "pf-root"}}, "minio_wandb_access_key",
                            ["equals minio_root_user"]),
    "minio_region_differs": ({"group_vars": {"minio": {"minio_region": "eu-west-1"}}}, "minio_region", ["wandb_region"]),
    "https_port_equals_http": ({"group_vars": {"proxy": {"nginx_https_port": 80}}}, "nginx_https_port",
                               ["equals nginx_http_port"]),
    "s3_fqdn_equals_fqdn": ({"group_vars": {"proxy": {"nginx_s3_fqdn": FQDN}}}, "nginx_s3_fqdn", ["equals nginx_fqdn"]),
    "url_not_https": ({"vars": {"wandb_url": "http://{{ wandb_fqdn }}"}}, "wandb_url", ["https"]),
    "tls_files_missing": ({"group_vars": {"proxy": {"nginx_tls_mode": "files", "nginx_tls_cert_src": "/nonexistent.crt",
                                                    "nginx_tls_key_src": "/nonexistent.key"}}},
                          "nginx_tls_cert_src", ["not a file"]),
    "minio_binary_missing": ({"group_vars": {"minio": {"minio_binary_src": "/nonexistent/minio"}}}, "minio_binary_src",
                             ["not a file"]),
    "standby_without_password": ({"group_vars": {"mysql": {"mysql_standby_enabled": "true"}}},
                                 "mysql_replication_password", ["empty"]),
    # hostile characters
    "secret_with_jinja_not_unsafe": ({"vault": {"vault_wandb_db_password": "RAW:" + json.dumps("p{#ss{{w")}},
                                     "vault_wandb_db_password (through wandb_db_password)", ["!unsafe"]),
    "license_with_jinja_not_unsafe": ({"vault": {"vault_wandb_license": "RAW:" + json.dumps("lic{% x")}},
                                      "vault_wandb_license (through wandb_license)", ["!unsafe"]),
    "fqdn_with_space": ({"vars": {"wandb_fqdn": "wandb corp.test"}}, "wandb_fqdn", ["DNS name"]),
    "bucket_with_slash": ({"vars": {"wandb_bucket": "wandb/../x"}}, "wandb_bucket", ["bucket name"]),
    "db_name_with_quote": ({"vars": {"wandb_db_name": "wandb'; DROP"}}, "wandb_db_name", ["database name"]),
    "access_key_with_colon": ({"vars": {"wandb_s3_access_key": "wandb:app"}}, "wandb_s3_access_key", ["access key"]),
    "namespace_upper": ({"group_vars": {"kube_access": {"kubernetes_namespace": "W&B"}}}, "kubernetes_namespace",
                        ["DNS label"]),
    # redis
    "redis_password_vault_missing": ({"drop": ("vault_wandb_redis_password",)}, "wandb_redis_password",
                                     ["vault_wandb_redis_password"]),
    "redis_port_out_of_range": ({"group_vars": {"redis": {"redis_port": 70000}}}, "redis_port", ["out of range"]),
    "redis_user_default": ({"vars": {"wandb_redis_user": "default"}}, "redis_wandb_user", ["other than 'default'"]),
    "redis_maxmemory_percent_high": ({"group_vars": {"redis": {"redis_maxmemory_percent": 95}}},
                                     "redis_maxmemory_percent", ["out of range"]),
    "redis_tls_files_missing": ({"group_vars": {"redis": {"redis_tls_mode": "files",
                                                          "redis_tls_cert_src": "/nonexistent/redis.crt",
                                                          "redis_tls_key_src": "/nonexistent/redis.key"}}},
                                "redis_tls_cert_src", ["not a file"]),
    "drive_relative": ({"group_vars": {"minio": {"minio_drives": ["srv/d1", "/srv/d2", "/srv/d3", "/srv/d4"]}}},
                       "minio_drives[0]", ["absolute"]),
}
# need the hosts: the variable's problem is only known there
HOST_CASES = {
    "kubeconfig_unreadable": ({"group_vars": {"kube_access": {"kubernetes_kubeconfig": "/root/nope/kubeconfig"}}},
                              "kubernetes_kubeconfig", ["not a readable file"]),
    "worker_sized_strictly": ({"vars": {"preflight_sizing_strict": True, "wandb_sizing_environment": "production"}},
                              f"{DB}: sizing", ["preflight_sizing_strict"]),
    "disk_probe_too_slow": ({"vars": {"preflight_sizing_strict": True, "preflight_probe_disk": "true",
                                      "preflight_probe_size_mb": 8, "preflight_min_disk_write_mb_s": 1000000,
                                      "wandb_sizing_environment": "test"}},
                            f"{DB}: sizing", ["disk write"]),
}


# the preflight role's own knobs: its argument validation (in preflight, on the controller, before
# any task) refuses them first, naming the knob
ARGUMENT_SPEC_CASES = {"check_dns_not_bool"}


def write_case(base: Site, case: str) -> Path:
    changes = (CASES.get(case) or HOST_CASES[case])[0]
    return base.write(case, **{("vars_" if k == "vars" else k): v for k, v in changes.items()})


@pytest.fixture(scope="module")
def input_outcomes(site):
    """Every input case, run once against the hosts of `site` (which none of them may contact)."""
    base, _before = site
    start = time.monotonic()
    outcomes = run_batch([write_case(base, case) for case in sorted(CASES)], base.root / "batch.json")
    print(f"{len(CASES)} input cases in {time.monotonic() - start:.0f} s")
    return outcomes


def check_outcome(case: str, rc: int, text: str) -> None:
    _inventory, variable, words = CASES.get(case) or HOST_CASES[case]
    assert rc != 0, f"{case}: preflight passed: {text[-2000:]}"
    assert "Traceback" not in text, f"{case}: a crash: {text[-3000:]}"
    for secret in (HOSTILE_PASSWORD, "{#2026#}", "root p@ss/w{%rd#", REDIS_PASSWORD):
        assert secret not in text
    if case in ARGUMENT_SPEC_CASES:
        assert "Validating arguments against arg spec" in text and "argument_errors" in text, text[-3000:]
        errors = [line for line in text.splitlines() if "argument_errors" in line]
        assert any(f"'{variable}'" in line or f" {variable} " in line for line in errors), \
            f"{case}: the validation does not name {variable}: {errors}"
        assert "Gathering Facts" not in text and "Gather the host" not in text
        return
    assert "Preflight found" in text, f"{case}: not a preflight failure: {text[-3000:]}"
    lines = problems(text)
    named = [line for line in lines if line.startswith(variable)]
    assert named, f"{case}: no problem names {variable}: {lines}"
    for word in words:
        assert any(word in line for line in named), f"{case}: {word!r} not in {named}"
    if case in CASES:
        assert "none was contacted" in text, f"{case}: an input problem was found only after contacting hosts"


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_stops_on_the_controller_naming_the_variable(input_outcomes, case):
    outcome = input_outcomes[case]
    check_outcome(case, outcome["rc"], outcome["text"])


@pytest.mark.parametrize("case", sorted(HOST_CASES))
def test_bad_host_stops_in_preflight_naming_the_variable(site, case):
    base, _before = site
    rc, text = run_preflight(write_case(base, case))
    check_outcome(case, rc, text)


def test_corpus_size():
    assert len(CASES) + len(HOST_CASES) >= 30


def test_nothing_changed_on_any_host(site):
    """Runs last in this module (pytest keeps definition order): the hosts are as they were."""
    _base, before = site
    for host, paths in before.items():
        assert host_changes(host) == paths, f"{host} changed: {host_changes(host) ^ paths}"
