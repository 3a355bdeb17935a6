# Copyright: onprem.wandb contributors
# MIT License (see LICENSE)
"""Connection to the testbed's podman hosts with pipelining.

containers.podman.podman runs four or five `podman` commands per task (mount, mkdir,
chmod, execute, clean up) because it declares no pipelining. Real sites reach their hosts
over SSH with pipelining on (ansible.cfg), which is one round trip per module, so the
testbed uses this plugin to behave the same: a module is piped to the host's Python
through one command, and files are streamed through `cat` on the host (no `podman mount`).

When the controller runs as root (the testbed does), commands enter the container's
namespaces with nsenter: ~6 ms per command where `podman exec` costs ~165 ms (Go start,
conmon, runc) on this machine, which is about what SSH with ControlPersist costs on a LAN.
The process then has the container's mounts, network, hostname, PIDs and environment, and
root's full capabilities, like root on a real host. Rootless, it falls back to `podman exec`.
"""
from __future__ import annotations

DOCUMENTATION = """
name: testbed_podman
short_description: Run tasks in the testbed's podman containers, pipelined
description:
  - Runs commands in a running podman container with C(podman exec), piping modules to the
    remote Python the way the SSH connection does with pipelining.
  - Used by the onprem.wandb testbed (inventories/local and the Molecule scenarios) only.
author: onprem.wandb contributors
options:
  remote_addr:
    description: The container's name or ID.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  remote_user:
    description: The user commands run as inside the container (the container's default user when unset).
    type: str
    vars:
      - name: ansible_user
  podman_executable:
    description: The podman command on the controller.
    type: str
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  use_nsenter:
    description:
      - Enter the container's namespaces with nsenter instead of running C(podman exec) (root only).
    type: boolean
    default: true
    vars:
      - name: ansible_testbed_nsenter
  pipelining:
    description: Pipe modules to the remote Python instead of copying them first.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
"""

import json
import os
import shlex
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()


class Connection(ConnectionBase):
    """podman exec, one process per command, modules piped on stdin."""

    transport = "testbed_podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._podman_cmd = None
        self._target = None  # (pid, env) of the container's init when nsenter is used

    def _connect(self):
        if not self._connected:
            executable = self.get_option("podman_executable")
            self._podman_cmd = shutil.which(executable)
            if not self._podman_cmd:
                raise AnsibleError(f"{executable} is not on PATH: install podman (make deps) or set ansible_podman_executable")
            self._connected = True
            self._target = self._nsenter_target()
        return self

    def _nsenter_target(self):
        """The container's init PID and environment, or None to use podman exec."""
        user = self.get_option("remote_user")
        if not self.get_option("use_nsenter") or os.geteuid() != 0 or (user and user != "root") or not shutil.which("nsenter"):
            return None
        container = self.get_option("remote_addr")
        proc = subprocess.run([self._podman_cmd, "inspect", "--type", "container", "--format",
                               "{{.State.Pid}} {{json .Config.Env}}", container], capture_output=True, check=False)
        if proc.returncode != 0:
            raise AnsibleConnectionFailure(f"container {container} does not exist: {to_native(proc.stderr).strip()}")
        pid, env = (to_native(proc.stdout).strip().split(" ", 1) + ["[]"])[:2]
        if not pid.isdigit() or pid == "0":
            raise AnsibleConnectionFailure(f"container {container} is not running (start it: tests/testbed/hosts.sh ensure)")
        return pid, json.loads(env or "[]")

    def _exec(self, argv, in_data=None, interactive=False, stdin=None):
        container = self.get_option("remote_addr")
        if self._target:
            pid, env = self._target
            # mount, UTS, IPC, network, PID and cgroup namespaces; the container's root and cwd
            cmd = ["nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--", "env", "-i"] + env + argv
        else:
            cmd = [self._podman_cmd, "exec"]
            if interactive:
                cmd.append("-i")
            user = self.get_option("remote_user")
            if user and user != "root":
                cmd += ["--user", user]
            cmd += [container] + argv
        display.vvv(f"EXEC {cmd!r}", host=container)
        proc = subprocess.run([to_bytes(a, errors="surrogate_or_strict") for a in cmd], input=in_data, stdin=stdin,
                              capture_output=True, check=False)
        if proc.returncode in (125, 126, 127) and b"no such container" in proc.stderr.lower():
            raise AnsibleConnectionFailure(f"container {container} is not running: {to_native(proc.stderr).strip()}")
        return proc.returncode, proc.stdout, proc.stderr

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        return self._exec(shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data=in_data,
                          interactive=in_data is not None)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        display.vvv(f"PUT {in_path} TO {out_path}", host=self.get_option("remote_addr"))
        try:
            with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as src:  # streamed: minio is large
                rc, dummy, err = self._exec(["/bin/sh", "-c", 'cat > "$1"', "sh", out_path], interactive=True, stdin=src)
        except OSError as exc:
            raise AnsibleFileNotFound(f"cannot read {in_path}: {exc}") from exc
        if rc != 0:
            raise AnsibleError(f"could not write {out_path} in {self.get_option('remote_addr')}: {to_native(err).strip()}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self.get_option("remote_addr"))
        rc, out, err = self._exec(["cat", in_path])
        if rc != 0:
            raise AnsibleError(f"could not read {in_path} in {self.get_option('remote_addr')}: {to_native(err).strip()}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as dst:
            dst.write(out)

    def close(self):
        self._connected = False
