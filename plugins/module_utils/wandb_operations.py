# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Pure logic of the day-2 operations: the restore drill's row-count report and the
MinIO server-pool layout rules (what ``minio server`` accepts before any host changes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# MinIO's erasure-set sizes (cmd/endpoint-ellipses.go: setSizes).
ERASURE_SET_SIZES = tuple(range(2, 17))


class LayoutError(ValueError):
    """A pool layout MinIO would refuse; the message says what to change."""


def row_count_report(tables, counts, source, restored):
    """tables: [{'s': schema, 't': table}] in the order counts were taken; counts: [n].
    Returns one entry per table name: {'table', 'source', 'restored', 'equal', 'summary'}."""
    if len(tables) != len(counts):
        raise ValueError("row_count_report: %d tables but %d counts" % (len(tables), len(counts)))
    by_table = {}
    for row, count in zip(tables, counts):
        entry = by_table.setdefault(row["t"], {"table": row["t"], "source": None, "restored": None})
        if row["s"] == source:
            entry["source"] = int(count)
        if row["s"] == restored:
            entry["restored"] = int(count)
    out = []
    for name in sorted(by_table):
        entry = by_table[name]
        entry["equal"] = entry["source"] is not None and entry["source"] == entry["restored"]
        entry["summary"] = "%s %s/%s" % (
            name, "missing" if entry["source"] is None else entry["source"],
            "missing" if entry["restored"] is None else entry["restored"])
        out.append(entry)
    return out


def default_parity(set_size):
    """MinIO's default parity (EC:N) of an erasure set of set_size drives."""
    if set_size <= 1:
        return 0
    if set_size <= 3:
        return 1
    if set_size <= 5:
        return 2
    if set_size <= 7:
        return 3
    return 4


def erasure_set_size(hosts, drives_per_host):
    """The erasure-set size MinIO picks for a pool of hosts x drives_per_host drives: the
    largest supported size that divides the drive count and spreads evenly over the hosts."""
    if hosts < 1 or drives_per_host < 1:
        raise LayoutError("a pool needs at least one host and one drive per host (has %d x %d)"
                          % (hosts, drives_per_host))
    total = hosts * drives_per_host
    if total == 1:
        return 1
    divisible = [s for s in ERASURE_SET_SIZES if total % s == 0]
    if not divisible:
        raise LayoutError("%d drives (%d hosts x %d) are not divisible by any erasure-set size MinIO "
                          "supports (2-16): use a drive count such as 4, 8, 12 or 16"
                          % (total, hosts, drives_per_host))
    symmetric = [s for s in divisible if s % hosts == 0 or hosts % s == 0]
    if not symmetric:
        raise LayoutError("%d hosts x %d drives: no erasure-set size in %s spreads evenly over %d hosts"
                          % (hosts, drives_per_host, divisible, hosts))
    return max(symmetric)


def check_pools(pools, current=None):
    """pools: [{'hosts': [...], 'drives': [...]}] in order (pool 0 first). current: the pool
    list the running deployment has (same shape) or None for a new deployment.
    Returns [{'hosts', 'drives', 'set_size', 'sets', 'parity'}] or raises LayoutError."""
    if not pools:
        raise LayoutError("minio_pools is empty: list at least the existing pool")
    seen = {}
    out = []
    for index, pool in enumerate(pools):
        hosts = list(pool.get("hosts") or [])
        drives = list(pool.get("drives") or [])
        if not hosts or not drives:
            raise LayoutError("pool %d needs hosts and drives (has hosts=%s drives=%s)" % (index, hosts, drives))
        if len(set(hosts)) != len(hosts) or len(set(drives)) != len(drives):
            raise LayoutError("pool %d lists a host or a drive twice (hosts=%s drives=%s)" % (index, hosts, drives))
        for host in hosts:
            if host in seen:
                raise LayoutError("host %s is in pool %d and pool %d: a host's drives belong to one pool; "
                                  "give the new pool its own hosts" % (host, seen[host], index))
            seen[host] = index
        if len(hosts) > 1 and len(hosts) * len(drives) < 4:
            raise LayoutError("pool %d spans %d hosts with %d drives in total: distributed MinIO needs at "
                              "least 4 drives per pool" % (index, len(hosts), len(hosts) * len(drives)))
        size = erasure_set_size(len(hosts), len(drives))
        out.append({"hosts": hosts, "drives": drives, "set_size": size,
                    "sets": len(hosts) * len(drives) // size, "parity": default_parity(size)})
    if current:
        for index, pool in enumerate(current):
            if index >= len(pools):
                raise LayoutError("the running deployment has %d pools but minio_pools lists %d: removing a "
                                  "pool needs 'mc admin decommission' first" % (len(current), len(pools)))
            want = {"hosts": list(pool.get("hosts") or []), "drives": list(pool.get("drives") or [])}
            got = {"hosts": out[index]["hosts"], "drives": out[index]["drives"]}
            if want != got:
                raise LayoutError("pool %d differs from the running deployment (runs hosts=%s drives=%s, "
                                  "minio_pools says hosts=%s drives=%s): existing pools must stay exactly as "
                                  "they are; add capacity as a new pool at the end"
                                  % (index, want["hosts"], want["drives"], got["hosts"], got["drives"]))
    parity = out[0]["parity"]
    for index, pool in enumerate(out[1:], 1):
        if pool["set_size"] < 2 * parity:
            raise LayoutError("pool %d has erasure sets of %d drives, too small for the deployment's parity "
                              "EC:%d (set by pool 0's sets of %d): give it at least %d drives per set"
                              % (index, pool["set_size"], parity, out[0]["set_size"], 2 * parity))
    return out
