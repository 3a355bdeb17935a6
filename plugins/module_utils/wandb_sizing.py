# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""W&B's self-managed reference architecture sizing, kept once, and the host measurements
``sizing_check`` compares with it. Stdlib only.

Source: W&B documentation, "Reference Architecture", section "Sizing"
(docs.wandb.ai/platform/hosting/self-managed/ref-arch), read from the wandb/docs repository,
file platform/hosting/self-managed/ref-arch.mdx at commits 0913d910a0d2 and b8bae8e97467
(identical tables; the page carries no date). These tables (per profile: Models only, Weave
only, Models and Weave) supersede the older single table of the earlier page revision.
The docs give CPU in cores, memory and disk in "GB" per Kubernetes worker node and per MySQL
node; W&B supports x86-64 (Intel/AMD 64-bit) only, ARM is not supported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import platform
import time

SOURCE = ("W&B docs, Reference Architecture > Sizing (docs.wandb.ai/platform/hosting/self-managed/ref-arch; "
          "wandb/docs platform/hosting/self-managed/ref-arch.mdx @ b8bae8e97467)")

PROFILES = ("models", "weave", "models_and_weave")
ENVIRONMENTS = ("test", "production")
NODE_ROLES = ("kubernetes_worker", "mysql")
X86_64 = ("x86_64", "amd64", "x64")

# (profile, environment, node_role) -> (cpu cores, memory GB, disk GB)
_MYSQL = {"test": (2, 16, 100), "production": (8, 64, 500)}
REFERENCE = {
    ("models", "test", "kubernetes_worker"): (2, 16, 100),
    ("models", "production", "kubernetes_worker"): (8, 64, 100),
    ("weave", "test", "kubernetes_worker"): (4, 32, 100),
    ("weave", "production", "kubernetes_worker"): (12, 96, 100),
    ("models_and_weave", "test", "kubernetes_worker"): (4, 32, 100),
    ("models_and_weave", "production", "kubernetes_worker"): (16, 128, 100),
}
for _profile in PROFILES:
    for _env in ENVIRONMENTS:
        REFERENCE[(_profile, _env, "mysql")] = _MYSQL[_env]

GIB = 1024 ** 3
GB = 1000 ** 3


def requirement(profile, environment, node_role):
    """The table row as a dict; KeyError names the valid choices."""
    key = (profile, environment, node_role)
    if key not in REFERENCE:
        raise KeyError("no reference row for profile=%r environment=%r node_role=%r (profiles %s, environments %s, "
                       "node roles %s)" % (profile, environment, node_role, ", ".join(PROFILES),
                                           ", ".join(ENVIRONMENTS), ", ".join(NODE_ROLES)))
    cpu, memory_gb, disk_gb = REFERENCE[key]
    return {"profile": profile, "environment": environment, "node_role": node_role, "cpu_cores": cpu,
            "memory_gb": memory_gb, "disk_gb": disk_gb, "architecture": "x86_64", "source": SOURCE}


def compare(req, facts, tolerance_percent=5.0):
    """Each dimension as {required, found, unit, ok}, plus the list of shortfall messages.

    Memory "GB" is read as GiB (RAM is sold in binary units) and disk "GB" as 10^9 bytes (disks
    are); both allow ``tolerance_percent`` below the table value, because the kernel and the
    file system keep a few percent of what was bought."""
    slack = 1.0 - float(tolerance_percent) / 100.0
    checks = {}
    shortfalls = []

    def dim(name, required, found, unit, threshold, text):
        ok = found is not None and found >= threshold
        checks[name] = {"required": required, "found": found, "unit": unit, "ok": ok}
        if not ok:
            shortfalls.append(text)

    cores = facts.get("cpu_cores")
    dim("cpu_cores", req["cpu_cores"], cores, "cores", req["cpu_cores"],
        "CPU: %s cores < %d required" % (cores, req["cpu_cores"]))
    mem = facts.get("memory_bytes")
    mem_gib = round(mem / float(GIB), 1) if mem is not None else None
    dim("memory_gb", req["memory_gb"], mem_gib, "GiB", req["memory_gb"] * slack,
        "memory: %s GiB < %d GB required" % (mem_gib, req["memory_gb"]))
    disk = facts.get("disk_total_bytes")
    disk_gb = round(disk / float(GB), 1) if disk is not None else None
    dim("disk_gb", req["disk_gb"], disk_gb, "GB", req["disk_gb"] * slack,
        "disk: %s GB total at %s < %d GB required" % (disk_gb, facts.get("data_path"), req["disk_gb"]))
    arch = facts.get("architecture")
    arch_ok = (arch or "").lower() in X86_64
    checks["architecture"] = {"required": "x86_64", "found": arch, "unit": None, "ok": arch_ok}
    if not arch_ok:
        shortfalls.append("architecture: %s is not supported, W&B runs on x86-64 (Intel/AMD 64-bit) only" % arch)
    return checks, shortfalls


def cpu_cores():
    """CPUs this process may run on (cgroup cpusets respected where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def memory_bytes(meminfo="/proc/meminfo"):
    """MemTotal from /proc/meminfo, else sysconf; None when neither is readable."""
    try:
        with open(meminfo) as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (IOError, OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def existing_ancestor(path):
    """The path itself or its nearest existing parent (the data path may not exist yet)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def disk_bytes(path):
    """(total, free-for-unprivileged) bytes of the file system holding ``path``."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def host_facts(data_path):
    measured = existing_ancestor(data_path)
    total, free = disk_bytes(measured)
    return {
        "cpu_cores": cpu_cores(),
        "memory_bytes": memory_bytes(),
        "disk_total_bytes": total,
        "disk_free_bytes": free,
        "architecture": platform.machine(),
        "data_path": data_path,
        "measured_path": measured,
    }


def disk_probe(directory, size_bytes, time_limit, chunk=1024 * 1024):
    """Sequential write of at most ``size_bytes`` (fsync'd), stopping after ``time_limit`` s.

    Returns bytes written, seconds and MB/s (10^6). The file is removed in every case."""
    import tempfile

    block = os.urandom(min(chunk, size_bytes))
    written = 0
    fd, name = tempfile.mkstemp(prefix=".onprem-wandb-probe-", dir=directory)
    start = time.monotonic()
    try:
        while written < size_bytes and time.monotonic() - start < time_limit:
            written += os.write(fd, block[:size_bytes - written])
        os.fsync(fd)
        seconds = time.monotonic() - start
    finally:
        os.close(fd)
        os.unlink(name)
    return {"bytes": written, "seconds": round(seconds, 3),
            "mb_per_s": round(written / seconds / 1e6, 1) if seconds > 0 else None,
            "complete": written >= size_bytes}
