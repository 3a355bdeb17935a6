# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""W&B's MySQL parameter group, kept here and nowhere else, and the arithmetic around it:
one spelling per value, the group merged from the host-derived tuning, W&B's values and the
operator's additions, contradictions of W&B's requirements, and the live server compared
with the group (roles mysql and verify call these through onprem.wandb's filters)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.collections_abc import Mapping, Sequence

# name -> (value written to the drop-in, accepted values). W&B self-managed docs and W&B's
# Terraform; the on-prem guide's sort_buffer_size is 33554432, current docs say 67108864:
# the role writes the current value and accepts both.
WANDB_MYSQL_PARAMETERS = {
    "binlog_format": ("ROW", ("ROW",)),
    "binlog_row_image": ("MINIMAL", ("MINIMAL",)),
    "innodb_online_alter_log_max_size": (268435456, (268435456,)),
    "sync_binlog": (1, (1,)),
    "innodb_flush_log_at_trx_commit": (1, (1,)),
    "sort_buffer_size": (67108864, (67108864, 33554432)),
    "max_prepared_stmt_count": (1048576, (1048576,)),
}

_UNITS = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
_ON = ("on", "true", "yes")
_OFF = ("off", "false", "no")
_NUMBER = re.compile(r"^[0-9]+[KkMmGg]?$")


def option_name(name):
    """mysqld reads sync-binlog and sync_binlog as the same option."""
    return str(name).replace("-", "_")


def render(value):
    """The option-file spelling of an inventory value: booleans as ON/OFF, the rest as text."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def normalise(value):
    """One spelling per value: sizes in bytes (64M -> 67108864), booleans as ON/OFF, else
    lower-cased text."""
    if isinstance(value, bool):
        return render(value)
    text = str(value).strip()
    match = re.match(r"^([0-9]+)([KkMmGg])$", text)
    if match:
        return str(int(match.group(1)) * _UNITS[match.group(2).lower()])
    if text.lower() in _ON:
        return "ON"
    if text.lower() in _OFF:
        return "OFF"
    return text.lower()


def non_numeric(group, numeric):
    """The keys of ``group``, as written, that name an option of ``numeric`` in either spelling
    (sort-buffer-size is sort_buffer_size) and whose value is not a plain integer or a number of
    bytes with a K, M or G suffix."""
    numeric = set(option_name(name) for name in numeric or ())
    return [name for name, value in (group or {}).items()
            if option_name(name) in numeric and not _NUMBER.match(render(value))]


def required():
    """name -> accepted values, for comparing a live server with W&B's requirement."""
    return dict((name, list(accepted)) for name, (_written, accepted) in WANDB_MYSQL_PARAMETERS.items())


def parameter_group(overrides, derived=None):
    """The group a server runs with, rendered for the option file: the host-derived tuning,
    then W&B's values, then the operator's keys (``mysql_parameters``) on top. A key spelled
    with dashes replaces the same option spelled with underscores."""
    group = {}
    layers = [derived or {}, dict((name, written) for name, (written, _a) in WANDB_MYSQL_PARAMETERS.items()), overrides or {}]
    for layer in layers:
        for name, value in layer.items():
            for existing in [k for k in group if option_name(k) == option_name(name)]:
                del group[existing]
            group[name] = render(value)
    return group


def conflicts(overrides):
    """One message per operator key that contradicts W&B's requirement (``[]`` when none)."""
    out = []
    for name in sorted(overrides or {}, key=str):
        want = WANDB_MYSQL_PARAMETERS.get(option_name(name))
        if want is None:
            continue
        accepted = want[1]
        value = overrides[name]
        if normalise(render(value)) not in [normalise(a) for a in accepted]:
            out.append("mysql_parameters.%s = %s contradicts W&B's requirement (%s): remove the key "
                       "(the role applies W&B's value) or set %s"
                       % (name, render(value), " or ".join(str(a) for a in accepted), accepted[0]))
    return out


def variables(live):
    """SHOW GLOBAL VARIABLES rows (Variable_name/Value), or a name -> value mapping, as a dict.
    Raises ValueError for anything else."""
    if isinstance(live, Mapping):
        return dict(live)
    if isinstance(live, Sequence) and not isinstance(live, string_types):
        try:
            return dict((row["Variable_name"], row["Value"]) for row in live)
        except (KeyError, TypeError):
            pass
    raise ValueError("the live variables must be SHOW GLOBAL VARIABLES rows (Variable_name/Value) or a mapping")


def live_mismatches(live, group, skip=()):
    """Messages for every parameter of ``group`` whose live value differs.

    ``live``: SHOW GLOBAL VARIABLES rows or a name -> value mapping; ``skip``: option names
    whose variable is not the option's value. innodb_buffer_pool_size is compared after the
    server's rounding up to a multiple of chunk size x instances."""
    live = variables(live)
    skip = set(option_name(s) for s in skip)
    out = []
    for name, want in group.items():
        key = option_name(name)
        if key in skip:
            continue
        if key not in live:
            out.append("%s is not a server variable (list it in mysql_parameters_unchecked if that is expected)" % name)
            continue
        have = str(live[key])
        wanted = normalise(want)
        if key == "innodb_buffer_pool_size" and wanted.isdigit():
            step = int(live.get("innodb_buffer_pool_chunk_size", 1) or 1) * int(live.get("innodb_buffer_pool_instances", 1) or 1)
            wanted = str(-(-int(wanted) // step) * step)
        if have.upper() in ("ON", "OFF") and wanted in ("1", "0"):
            wanted = "ON" if wanted == "1" else "OFF"
        if wanted != normalise(have):
            out.append("%s: asked %s, live %s" % (name, want, have))
    return out


def options_argv(group):
    """``--name=value`` arguments for ``mysqld --validate-config``."""
    return ["--%s=%s" % (name, render(value)) for name, value in group.items()]
