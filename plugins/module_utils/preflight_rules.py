# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Preflight input rules: pure checks of one already-templated value against one rule.

A rule is a dict (from a role's ``meta/argument_specs.yml`` and its ``meta/preflight_rules.yml``):

    type          str | bool | int | float | list | dict | path | raw (argument_specs types)
    elements      type of list elements
    choices       allowed values
    required      the value must be set and not empty
    min, max      numeric range (int/float); for str/list: min_length/max_length
    match         regular expression a str (or every element of a list) must match; ``hint`` says what is meant
    absolute      a path must start with /
    file          the value names a file that must exist on the controller
    secret        never print the value
    placeholder   false: skip the placeholder check for this variable
    differs_from  name of a variable this one must differ from
    equals        name of a variable this one must equal
    fix           how to fix it (overrides the generated advice)

Every function returns problems as one-line strings ``<variable>: <what is wrong> (<how to fix>)``
and never raises on a bad value.
"""

from __future__ import absolute_import, annotations, division, print_function

import re

__metaclass__ = type

TRUE_STRINGS = ("true", "yes", "on", "1", "y", "t")
FALSE_STRINGS = ("false", "no", "off", "0", "n", "f", "")

# The placeholders of our own examples (inventories/onprem, docs): an unedited copy must not pass.
DEFAULT_PLACEHOLDERS = (
    {"pattern": r"(?i)\bchange[ _-]?me\b", "what": "is the example's 'change me' placeholder"},
    {"pattern": r"(?i)\bpaste .* here\b", "what": "is the example's 'paste ... here' placeholder"},
    {"pattern": r"(?i)(^|[./@])example\.internal\b", "what": "names the example's placeholder domain example.internal"},
    {"pattern": r"(?i)^(sha(1|224|256|384|512)|md5):0+$", "what": "is the example's all-zero checksum"},
)

_UNDEFINED_RE = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined")
_REFERENCE_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b")
_JINJA_START = ("{{", "{%", "{#")


class Missing:
    """Marker of a variable that is not set at all."""

    def __repr__(self):
        return "MISSING"


MISSING = Missing()


def problem(name, what, fix):
    return "%s: %s (%s)" % (name, what, fix)


def to_bool(value):
    """(True, bool) for what ``| bool`` accepts as a boolean (strings from -e/AWX surveys too), else (False, None)."""
    if isinstance(value, bool):
        return True, value
    if isinstance(value, int) and value in (0, 1):
        return True, bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_STRINGS:
            return True, True
        if text in FALSE_STRINGS and text != "":
            return True, False
    return False, None


def to_number(value, kind):
    """(True, number) for ints/floats and their string forms ("8", " 30 "), else (False, None)."""
    if isinstance(value, bool):
        return False, None
    if kind == "int":
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and re.match(r"^\s*[+-]?[0-9]+\s*$", value):
            return True, int(value)
        return False, None
    if isinstance(value, (int, float)):
        return True, float(value)
    if isinstance(value, str):
        try:
            return True, float(value)
        except ValueError:
            return False, None
    return False, None


def type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a %s" % type(value).__name__


def shown(value, rule):
    """The value as a message may show it: never a secret."""
    if rule.get("secret"):
        return "(secret, not shown)"
    text = repr(value) if not isinstance(value, str) else "'%s'" % value
    return text if len(text) <= 80 else text[:77] + "...'"


def is_empty(value):
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0)


def find_placeholder(value, placeholders=DEFAULT_PLACEHOLDERS):
    """What placeholder text a string (or a list of strings) carries, or None."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, str):
            continue
        for entry in placeholders:
            if re.search(entry["pattern"], item):
                return entry["what"]
    return None


def references(raw):
    """Variable names a raw (untemplated) string refers to inside {{ }} (for indirections like {{ vault_x }})."""
    if not isinstance(raw, str) or "{{" not in raw:
        return []
    names = []
    for expr in re.findall(r"\{\{(.*?)\}\}", raw, flags=re.S):
        # the first identifier of each filter-free part is the variable; keep only plain identifiers
        for part in re.split(r"[|(),\[\]+~]", expr):
            match = _REFERENCE_RE.match(part.strip())
            if match and match.group(1) not in names and match.group(1) not in (
                    "default", "lookup", "query", "true", "false", "none", "not", "and", "or", "if", "else", "in", "is"):
                names.append(match.group(1))
    return names


def has_template_chars(value):
    return isinstance(value, str) and any(start in value for start in _JINJA_START)


def parses_as_template(text):
    """Whether Jinja can parse ``text``: False for a literal whose {{ {% {# start no template (a pasted secret).

    A text that parses but fails when rendered (an unknown filter, 1/0, a missing variable) is an
    expression someone wrote: its error is reported as it is, not as a value to mark !unsafe.
    """
    import jinja2  # the controller's (Ansible's) Jinja; only the action plugin calls this

    try:
        jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return False
    return True


_INDIRECTION_RE = re.compile(r"^\s*\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*$")


def is_indirection(raw):
    """Whether ``raw`` is only a reference to another variable, like "{{ vault_wandb_license }}"."""
    return isinstance(raw, str) and bool(_INDIRECTION_RE.match(raw))


def undefined_name(message):
    """The variable name in an undefined-variable error message, or None."""
    match = _UNDEFINED_RE.search(str(message))
    return match.group(1) if match else None


def explain_undefined(name, missing, vault_hint="inventories/onprem/group_vars/all/vault.yml.example", literal=False):
    """An undefined-variable problem of ``name``; ``missing`` is what is really undefined.

    ``literal``: the value is a secret whose text is more than a reference ("ab{{cd}}ef"), so the
    {{ may be part of the secret itself: the fix also names !unsafe.
    """
    if missing and missing != name:
        where = "the vault (see %s)" % vault_hint if missing.startswith("vault_") else "the inventory (group_vars)"
        fix = "set %s in %s" % (missing, where)
        if literal:
            fix += _unsafe_alternative(name, "{{ is")
        return problem(name, "refers to %s, which is not set" % missing, fix)
    return problem(name, "is not set", "set it in the inventory (group_vars, or the vault for a secret)")


def explain_template_error(name, culprit, dropped=False):
    """A value whose own text Ansible tried to render as a template (a secret with {{ {% {#).

    ``dropped``: the text rendered without an error, but a {# ... #} in it became nothing (the
    secret the servers would get is not the one written).
    """
    who = name if culprit in (None, name) else "%s (through %s)" % (culprit, name)
    target = culprit or name
    what = ("contains {#, which Ansible renders as the start of a Jinja comment: the part from it would be dropped from"
            " the secret" if dropped else "contains template characters ({{, {% or {#) that Ansible tries to render")
    return problem(who, what,
                   "mark the value !unsafe in the vault/inventory: %s: !unsafe '...'" % target)


def explain_expression_error(name, detail, secret=False):
    """A value that is a template expression which parses but fails when rendered (1/0, an unknown filter)."""
    fix = "correct the expression"
    if secret:
        fix += _unsafe_alternative(name, "{{ {% {# are")
    return problem(name, "could not be evaluated: %s" % detail, fix)


def _unsafe_alternative(name, chars):
    """The second fix of a secret whose template characters may be part of the secret itself."""
    return ", or, if " + chars + " part of the secret itself, mark the value !unsafe: " + name + ": !unsafe '...'"


def _check_type(name, value, rule):
    """(problems, normalised value)."""
    kind = rule.get("type", "raw") or "raw"
    if kind == "bool":
        ok, normal = to_bool(value)
        if not ok:
            return [problem(name, "is %s, not a boolean" % shown(value, rule), "use true or false")], None
        return [], normal
    if kind in ("int", "float"):
        ok, normal = to_number(value, kind)
        if not ok:
            article = "an integer" if kind == "int" else "a number"
            return [problem(name, "is %s (%s), not %s" % (shown(value, rule), type_name(value), article),
                            "give %s, e.g. %s" % (article, rule.get("example", "1")))], None
        return [], normal
    if kind in ("str", "path"):
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list, tuple)):
            return [problem(name, "is %s, not a string" % type_name(value),
                            "give a string (quote it in YAML)")], None
        if isinstance(value, (int, float)):
            # YAML made a number of it: ansible would pass str(value), but a password 0123 loses its 0
            if rule.get("secret") or rule.get("match"):
                return [problem(name, "is a number, not a string (YAML reads unquoted digits as numbers)",
                                "quote the value in YAML")], None
            return [], str(value)
        return [], value
    if kind == "list":
        if isinstance(value, str) and rule.get("elements"):
            return [problem(name, "is a string, not a list", "write it as a YAML list: [%s]" % rule.get("example", "..."))], None
        if not isinstance(value, (list, tuple)):
            return [problem(name, "is %s, not a list" % type_name(value), "write it as a YAML list")], None
        return [], list(value)
    if kind == "dict":
        if not isinstance(value, dict):
            return [problem(name, "is %s, not a mapping" % type_name(value), "write it as a YAML mapping (key: value)")], None
        return [], value
    return [], value


def _check_scalar(name, value, rule):
    problems = []
    kind = rule.get("type", "raw")
    choices = rule.get("choices")
    if choices is not None and value not in choices and str(value) not in [str(c) for c in choices]:
        problems.append(problem(name, "is %s, not one of %s" % (shown(value, rule), ", ".join(str(c) for c in choices)),
                                "choose one of them"))
    if kind in ("int", "float") and isinstance(value, (int, float)):
        low, high = rule.get("min"), rule.get("max")
        allowed = rule.get("also_allowed", [])
        if value not in allowed and ((low is not None and value < low) or (high is not None and value > high)):
            span = ("%s to %s" % (low, high) if low is not None and high is not None
                    else (">= %s" % low if low is not None else "<= %s" % high))
            extra = " (or %s)" % ", ".join(str(a) for a in allowed) if allowed else ""
            problems.append(problem(name, "is %s, out of range" % value, "use %s%s" % (span, extra)))
    if isinstance(value, str):
        if rule.get("min_length") is not None and len(value) < rule["min_length"]:
            problems.append(problem(name, "is %d character(s) long, shorter than %d" % (len(value), rule["min_length"]),
                                    rule.get("fix") or "use at least %d characters" % rule["min_length"]))
        if rule.get("max_length") is not None and len(value) > rule["max_length"]:
            problems.append(problem(name, "is %d characters long, longer than %d" % (len(value), rule["max_length"]),
                                    "use at most %d characters" % rule["max_length"]))
        if rule.get("match") and not re.search(rule["match"], value):
            problems.append(problem(name, "is %s, not %s" % (shown(value, rule), rule.get("hint", "of the expected form")),
                                    rule.get("fix") or "correct it"))
        if rule.get("absolute") and value and not value.startswith("/"):
            problems.append(problem(name, "is %s, not an absolute path" % shown(value, rule), "give a path starting with /"))
    return problems


def check_value(name, value, rule, placeholders=DEFAULT_PLACEHOLDERS, is_file=None):
    """Every problem of one templated value (MISSING when the variable is not set at all)."""
    if value is MISSING:
        if rule.get("required"):
            return [problem(name, "is not set", rule.get("fix") or "set it in the inventory (group_vars, or the vault for a secret)")]
        return []
    if is_empty(value):
        if rule.get("required"):
            return [problem(name, "is empty", rule.get("fix") or "set it in the inventory (group_vars, or the vault for a secret)")]
        return []
    problems, normal = _check_type(name, value, rule)
    if problems:
        return problems
    if rule.get("placeholder", True):
        what = find_placeholder(normal, placeholders)
        if what:
            return [problem(name, what, rule.get("placeholder_fix") or "replace it with your site's real value")]
    if isinstance(normal, list):
        if rule.get("min_items") is not None and len(normal) < rule["min_items"]:
            problems.append(problem(name, "has %d item(s), fewer than %d" % (len(normal), rule["min_items"]),
                                    rule.get("fix") or "list at least %d" % rule["min_items"]))
        element_rule = {k: v for k, v in rule.items() if k in ("match", "hint", "fix", "absolute", "choices", "secret")}
        element_rule["type"] = rule.get("elements", "raw")
        for index, item in enumerate(normal):
            item_problems, item_normal = _check_type("%s[%d]" % (name, index), item, element_rule)
            problems.extend(item_problems or _check_scalar("%s[%d]" % (name, index), item_normal, element_rule))
        return problems
    problems.extend(_check_scalar(name, normal, rule))
    if rule.get("file") and isinstance(normal, str) and is_file is not None and not is_file(normal):
        problems.append(problem(name, "names %s, which is not a file on the controller" % shown(normal, rule),
                                rule.get("fix") or "give the path of an existing file on the controller"))
    return problems


def check_relations(name, value, rule, lookup):
    """Cross-variable rules; ``lookup(other)`` returns the other templated value or MISSING."""
    problems = []
    other = rule.get("differs_from")
    if other:
        other_value = lookup(other)
        if other_value is not MISSING and not is_empty(value) and str(other_value).lower() == str(value).lower():
            problems.append(problem(name, "equals %s" % other, rule.get("fix") or "give %s its own value" % name))
    other = rule.get("equals")
    if other:
        other_value = lookup(other)
        if other_value is not MISSING and not is_empty(value) and str(other_value) != str(value):
            problems.append(problem(name, "is %s but %s is %s" % (shown(value, rule), other, shown(other_value, rule)),
                                    rule.get("fix") or "set one value for both (set %s only)" % other))
    return problems


def rules_from_argument_specs(options):
    """Type/choices/elements rules of every option of an argument_specs entry point."""
    rules = {}
    for name, spec in (options or {}).items():
        rule = {"type": spec.get("type", "str")}
        for key in ("choices", "elements"):
            if spec.get(key) is not None:
                rule[key] = spec[key]
        if spec.get("no_log"):
            rule["secret"] = True
        rules[name] = rule
    return rules


def merge_rules(base, extra):
    """Rules of a rules file (a list of {var: ...} dicts) laid over the argument_specs rules."""
    merged = {name: dict(rule) for name, rule in base.items()}
    for entry in extra or []:
        entry = dict(entry)
        name = entry.pop("var")
        # a rules file's rule also checks the role's defaults, unless it applies only to what the inventory sets
        entry["explicit"] = not entry.pop("only_when_set", False)
        merged.setdefault(name, {}).update(entry)
    return merged


def applies(rule_groups, group_names):
    return "all" in rule_groups or bool(set(rule_groups) & set(group_names))


def condition_holds(conditions, lookup):
    """Whether a rule applies: every condition {var, in: [...]} / {var, bool: true|false} holds.

    A condition on a variable that is unset or unreadable does not hold (that variable's own rule
    reports it); booleans are read the way ``| bool`` reads them.
    """
    for cond in conditions or []:
        value = lookup(cond["var"])
        if value is MISSING:
            return False
        if "bool" in cond:
            ok, normal = to_bool(value)
            if not ok or normal != bool(cond["bool"]):
                return False
        if "in" in cond and str(value) not in [str(v) for v in cond["in"]]:
            return False
        if "not_in" in cond and str(value) in [str(v) for v in cond["not_in"]]:
            return False
    return True


def layout_problems(groups, drive_counts, regions, required_groups=("mysql", "minio", "proxy")):
    """Problems of the site's shape (several hosts at once).

    groups: group name -> host list; drive_counts: minio host -> number of minio_drives (None: unreadable
    or not a list, reported by the minio rules); regions: "variable on host" -> region value.
    """
    problems = []
    empty = [name for name in required_groups if not groups.get(name)]
    if empty:
        problems.append(problem("inventory groups " + ", ".join(empty), "have no host",
                                "put at least one host in each (see inventories/onprem/hosts.yml)"))
    counts = {host: n for host, n in drive_counts.items() if n is not None}
    if counts:
        if len(set(counts.values())) > 1:
            problems.append(problem("minio_drives", "differs between the minio hosts: %s" % ", ".join(
                "%s has %d" % (h, n) for h, n in sorted(counts.items())),
                "give every minio host the same number of drives"))
        if len(counts) > 1 and sum(counts.values()) < 4:
            problems.append(problem("minio_drives", "gives %d drive(s) over %d hosts; distributed MinIO needs at least 4"
                                    % (sum(counts.values()), len(counts)), "add drives to minio_drives or hosts to group minio"))
    distinct = sorted({str(v) for v in regions.values() if v is not None})
    if len(distinct) > 1:
        problems.append(problem("wandb_region", "the bucket region must equal the container's AWS_REGION, found %s" % ", ".join(
            "%s=%s" % (k, v) for k, v in sorted(regions.items()) if v is not None),
            "set wandb_region once and drop the per-role overrides"))
    return problems


def platform_key(distribution, major):
    """The key a platform table uses for a host's OS: Debian testing/unstable (no numeric major) is ``sid``."""
    major = str(major or "").strip()
    if distribution == "Debian" and not major.isdigit():
        return "sid"
    return major


def format_platforms(table):
    """A role's platform table {distribution: [majors]} as one phrase: ``Debian 12, 13; Ubuntu 24``."""
    if not table:
        return "none"
    return "; ".join("%s %s" % (dist, ", ".join(str(v) for v in versions)) for dist, versions in table.items())


def host_roles(group_names, group_roles, skip_roles=()):
    """The roles that run on a host of ``group_names`` (role -> the host's groups that bring it, in order)."""
    roles = {}
    for group in group_roles or {}:
        if group not in (group_names or []):
            continue
        for role in group_roles[group] or []:
            if role in (skip_roles or ()):
                continue
            roles.setdefault(role, []).append(group)
    return roles


def platform_problems(host, distribution, major, roles, platforms):
    """Problems of a host's OS against the platform table of every role that runs on it.

    roles: role -> the host's groups that bring it (host_roles); platforms: role -> {distribution: [majors]}
    (a role's ``platforms`` in meta/preflight_rules.yml), None when the role declares none. Returns
    (problems, refused roles); one line per refused role, naming the host, the OS, the role and the groups.
    """
    problems, refused = [], []
    key = platform_key(distribution, major)
    shown_os = "%s %s" % (distribution, major)
    for role, groups in roles.items():
        table = platforms.get(role)
        where = "group%s %s" % ("s" if len(groups) > 1 else "", ", ".join(groups))
        if table is None:
            problems.append(problem(host, "role %s (%s) declares no platforms" % (role, where),
                                    "add platforms to roles/%s/meta/preflight_rules.yml" % role))
            refused.append(role)
            continue
        versions = [str(v) for v in (table.get(distribution) or [])]
        if key in versions:
            continue
        refused.append(role)
        problems.append(problem(host, "%s is not supported by role %s, which runs on %s" % (shown_os, role, where),
                                "role %s supports %s: run %s on one of these, or take it out of %s"
                                % (role, format_platforms(table), host, where)))
    return problems, refused
