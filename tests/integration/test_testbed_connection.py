"""The testbed's connection plugin (tests/testbed/connection_plugins/testbed_podman.py) against a
real podman host: pipelined modules, files in both directions, both transports (nsenter and
podman exec), and a clear error for a host that is not running."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from conftest import ansible_env, podman_hosts

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
HOST = "onprem-wandb-conn-probe"


@pytest.fixture(scope="module")
def host():
    with podman_hosts(f"{HOST}=bookworm"):
        yield HOST


def play(tmp_path: Path, target: str, tasks: str, *extra: str) -> subprocess.CompletedProcess:
    book = tmp_path / "play.yml"
    book.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
    env = ansible_env(ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
                      ANSIBLE_CONNECTION_PLUGINS=str(REPO / "tests" / "testbed" / "connection_plugins"),
                      ONPREM_CONTROLLER_ONLY="leaked")  # must not reach the host
    return subprocess.run([PLAYBOOK, "-i", f"{target},", "-c", "testbed_podman", str(book), *extra], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("nsenter", [True, False], ids=["nsenter", "podman-exec"])
def test_modules_and_files_round_trip(host, tmp_path, nsenter):
    payload = os.urandom(3 * 1024 * 1024) + b"\x00\xff end"  # binary, larger than a pipe buffer
    (tmp_path / "in.bin").write_bytes(payload)
    tasks = f"""
    - name: hostname seen from inside
      ansible.builtin.command: hostname
      register: h
    - ansible.builtin.assert:
        that: h.stdout == '{host}'
    - name: a file with a space in its path goes in
      ansible.builtin.copy:
        src: {tmp_path}/in.bin
        dest: "/tmp/conn probe.bin"
        mode: "0600"
    - name: the host sees the same bytes
      ansible.builtin.stat:
        path: "/tmp/conn probe.bin"
        checksum_algorithm: sha256
      register: st
    - ansible.builtin.assert:
        that: st.stat.checksum == '{hashlib.sha256(payload).hexdigest()}' and st.stat.mode == '0600'
    - name: and comes back out
      ansible.builtin.fetch:
        src: "/tmp/conn probe.bin"
        dest: {tmp_path}/out.bin
        flat: true
    - name: the container's environment, not the controller's
      ansible.builtin.shell: 'echo "$container|$HOME|${{ONPREM_CONTROLLER_ONLY:-unset}}"'
      register: envs
    - ansible.builtin.assert:
        that: envs.stdout == 'podman|/root|unset'
"""
    proc = play(tmp_path, host, tasks, "-vvv", "-e", f"ansible_testbed_nsenter={str(nsenter).lower()}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (tmp_path / "out.bin").read_bytes() == payload
    used = "EXEC ['nsenter'" if nsenter else "podman', 'exec'"
    assert used in proc.stdout, "the transport asked for was not used"
    if not nsenter:
        assert "'nsenter'" not in proc.stdout


def test_a_stopped_host_is_unreachable_with_advice(tmp_path):
    proc = play(tmp_path, "onprem-wandb-no-such-host", "    - ansible.builtin.ping:\n")
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout and "onprem-wandb-no-such-host does not exist" in proc.stdout, proc.stdout
