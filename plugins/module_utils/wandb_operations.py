# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Pure logic of the day-2 operations: the restore drill's row-count report and the
MinIO server-pool layout rules (what ``minio server`` accepts before any host changes), with
the ellipsis notation (``name{1...n}``) the minio role and the pool expansion write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from urllib.parse import urlsplit

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
    for index, row in enumerate(tables):
        count = counts[index]
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


_ELLIPSIS = re.compile(r"\{(\d+)\.\.\.(\d+)\}")


def expand_ellipses(arg):
    """All values of one MINIO_VOLUMES argument: ``x{1...3}`` -> x1, x2, x3 (every pattern, in order)."""
    match = _ELLIPSIS.search(arg)
    if not match:
        return [arg]
    low, high = match.group(1), match.group(2)
    if int(low) > int(high):
        raise LayoutError("%s: the range {%s...%s} counts down" % (arg, low, high))
    width = len(low) if low.startswith("0") and len(low) > 1 else 0
    out = []
    for number in range(int(low), int(high) + 1):
        value = str(number).zfill(width)
        out.extend(expand_ellipses(arg[:match.start()] + value + arg[match.end():]))
    return out


def parse_volumes(volumes):
    """MINIO_VOLUMES (one argument per pool) -> [{'hosts', 'drives'}]."""
    pools = []
    for arg in volumes.split():
        hosts, drives = [], []
        for endpoint in expand_ellipses(arg):
            url = urlsplit(endpoint)
            host, path = (url.hostname, url.path) if url.scheme in ("http", "https") else ("", endpoint)
            if host not in hosts:
                hosts.append(host)
            if path not in drives:
                drives.append(path)
        pools.append({"hosts": hosts, "drives": drives})
    return pools


# The counter of a name: its last run of digits, without leading zeros (those stay in the
# prefix: host-01 counts 1 after "host-0"), followed by no other digit.
_COUNTER = re.compile(r"^(.*?)([1-9][0-9]*)([^0-9]*)$")


def ellipsis(values, what="the values"):
    """MinIO's ellipsis notation of names that differ only by a counter, in order:
    ['minio-1', 'minio-2', 'minio-3'] -> 'minio-{1...3}'; one name stays as it is.
    Raises LayoutError when the names cannot be written so (no counter, other text around
    it, braces of their own, or counters that are not consecutive)."""
    values = [str(v) for v in values]
    if len(values) == 1:
        return values[0]
    if not values:
        raise LayoutError("%s: the list is empty" % what)
    parts = [_COUNTER.search(v) for v in values]
    if (not all(parts) or any("{" in v or "}" in v for v in values)
            or len({(p.group(1), p.group(3)) for p in parts}) != 1):
        raise LayoutError("%s %s do not differ only by one number (the last digits of each name, "
                          "counting from 1 or more): MinIO's pools are written as name{1...n}; rename them (or use DNS aliases) so they do" % (what, values))
    numbers = [int(p.group(2)) for p in parts]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise LayoutError("%s %s are not numbered consecutively in order (%s)" % (what, values, numbers))
    return "".join([parts[0].group(1), "{", str(numbers[0]), "...", str(numbers[-1]), "}", parts[0].group(3)])


def volumes_argument(pool, scheme="http", port=9000):
    """One pool as a MINIO_VOLUMES argument (scheme://host{a...b}:port/drive{c...d})."""
    hosts, drives = pool["hosts"], pool["drives"]
    arg = "%s://%s:%d%s" % (scheme, ellipsis(hosts, "the hosts"), int(port), ellipsis(drives, "the drives"))
    if "{" not in arg and len(hosts) * len(drives) > 1:
        raise LayoutError("pool %s x %s cannot be written as one MINIO_VOLUMES argument" % (hosts, drives))
    return arg
