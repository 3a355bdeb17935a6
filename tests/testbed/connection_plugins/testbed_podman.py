# Copyright: onprem.wandb contributors
# MIT License (see LICENSE)
"""Connection to the testbed's podman hosts with pipelining.

containers.podman.podman runs four or five `podman` commands per task (mount, mkdir,
chmod, execute, clean up) because it declares no pipelining. Real sites reach their hosts
over SSH with pipelining on (ansible.cfg), which is one round trip per module, so the
testbed uses this plugin to behave the same: a module is piped to the host's Python
through one `podman exec -i`, and files are streamed through `podman exec -i ... cat`
(no `podman mount`, so it also works rootless).
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
  pipelining:
    description: Pipe modules to the remote Python instead of copying them first.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
"""

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

    def _connect(self):
        if not self._connected:
            executable = self.get_option("podman_executable")
            self._podman_cmd = shutil.which(executable)
            if not self._podman_cmd:
                raise AnsibleError(f"{executable} is not on PATH: install podman (make deps) or set ansible_podman_executable")
            self._connected = True
        return self

    def _exec(self, argv, in_data=None, interactive=False, stdin=None):
        container = self.get_option("remote_addr")
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
                rc, _, err = self._exec(["/bin/sh", "-c", 'cat > "$1"', "sh", out_path], interactive=True, stdin=src)
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
