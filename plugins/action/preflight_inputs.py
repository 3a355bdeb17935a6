# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Controller-side input checks of a W&B site: every variable templated on its own (docs: plugins/modules/preflight_inputs.py)."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import os  # noqa: E402

from ansible.errors import AnsibleUndefinedVariable  # noqa: E402
from ansible.plugins.action import ActionBase  # noqa: E402
from ansible.template import is_trusted_as_template  # noqa: E402
from ansible_collections.onprem.wandb.plugins.module_utils import preflight_rules as pr  # noqa: E402

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("rule_sets", "rules", "placeholders", "managed_groups", "site", "platform", "group_roles",
                             "skip_roles"))

    def _load(self, *parts, templates=False):
        path = os.path.join(COLLECTION_ROOT, *parts)
        if not os.path.isfile(path):
            return None
        # role defaults are templates the collection wrote (trusted); rules and specs are plain data
        return self._loader.load_from_file(path, trusted_as_template=templates)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        placeholders = args.get("placeholders") or pr.DEFAULT_PLACEHOLDERS
        group_names = list(task_vars.get("group_names", []))
        problems, checked = [], 0

        names = list(args.get("rule_sets") or [])
        if "*" in names:
            roles_dir = os.path.join(COLLECTION_ROOT, "roles")
            found = sorted(d for d in os.listdir(roles_dir) if os.path.isfile(os.path.join(roles_dir, d, "meta", "preflight_rules.yml")))
            # the site-wide rules first: a root cause behind several variables is named by its site-wide name
            names = ["preflight"] + found + [n for n in names if n != "*"]
            names = list(dict.fromkeys(names))
        sets = []
        for name in names:
            specs = self._load("roles", name, "meta", "argument_specs.yml") or {}
            options = (specs.get("argument_specs", {}).get("main", {}) or {}).get("options", {})
            data = self._load("roles", name, "meta", "preflight_rules.yml") or {}
            groups = data.get("groups", ["all"])
            if not pr.applies(groups, group_names):
                continue
            defaults = self._load("roles", name, "defaults", "main.yml", templates=True) or {}
            sets.append((name, defaults, pr.merge_rules(pr.rules_from_argument_specs(options), data.get("rules"))))
        extra = [r for r in args.get("rules") or [] if pr.applies(r.get("groups", ["all"]), group_names)]
        if extra:
            sets.append(("extra", {}, pr.merge_rules({}, [{k: v for k, v in r.items() if k != "groups"} for r in extra])))

        seen = set()
        for _name, defaults, rules in sets:
            variables = dict(defaults)
            variables.update(task_vars)
            checker = _Checker(self._templar.copy_with_new_env(available_variables=variables), variables, rules)
            for var, rule in rules.items():
                # a role's own defaults are trusted: argument_specs types apply to what the inventory sets,
                # the rules of preflight_rules.yml (explicit) to every value, defaults included
                if not rule.get("explicit") and var not in task_vars:
                    continue
                checked += 1
                for key, line in checker.check(var, placeholders):
                    if isinstance(key, tuple):  # a placeholder is reported once, by the variable that holds it
                        key = key[1]
                    # one problem per root cause: a missing vault key behind several variables is named once
                    if key not in seen:
                        seen.add(key)
                        problems.append(line)

        problems.extend(self._placeholder_hosts(task_vars, args.get("managed_groups") or [], placeholders))
        if pr.to_bool(args.get("site", False))[1]:
            problems.extend(self._site(task_vars))
        refused = []
        if args.get("platform"):
            found, refused = self._platform(task_vars, args)
            problems.extend(found)
        unique = []
        for line in problems:
            if line not in unique:
                unique.append(line)
        result.update(changed=False, problems=unique, checked=checked, refused_roles=refused)
        return result

    def _platform(self, task_vars, args):
        """The host's OS against the ``platforms`` of each role its groups run (roles/<role>/meta/preflight_rules.yml)."""
        facts = args.get("platform") or {}
        roles = pr.host_roles(task_vars.get("group_names", []), args.get("group_roles") or {}, args.get("skip_roles") or [])
        tables = {}
        for role in roles:
            data = self._load("roles", role, "meta", "preflight_rules.yml") or {}
            tables[role] = data.get("platforms")
        return pr.platform_problems(task_vars.get("inventory_hostname", "?"), str(facts.get("distribution", "")),
                                    str(facts.get("major", "")), roles, tables)

    def _site(self, task_vars):
        groups = task_vars.get("groups", {}) or {}
        hostvars = task_vars.get("hostvars", {}) or {}

        def read(host, name, default=None):
            try:
                value = hostvars[host].get(name, default) if host in hostvars else default
                return self._templar.template(value)
            except Exception:  # noqa: BLE001 - unreadable values are reported by the variable's own rule
                return None

        drives = {}
        for host in groups.get("minio", []) or []:
            value = read(host, "minio_drives")
            drives[host] = len(value) if isinstance(value, list) else None
        regions = {}
        site_region = read((groups.get("all") or [None])[0], "wandb_region", "us-east-1")
        regions["wandb_region"] = site_region
        for host in groups.get("minio", []) or []:
            value = read(host, "minio_region")
            if value is not None:
                regions["minio_region on %s" % host] = value
        for host in groups.get("kube_access", []) or []:
            value = read(host, "kubernetes_region")
            if value is not None:
                regions["kubernetes_region on %s" % host] = value
        return pr.layout_problems(groups, drives, regions)

    def _placeholder_hosts(self, task_vars, managed_groups, placeholders):
        groups = task_vars.get("groups", {}) or {}
        found = []
        for group in managed_groups:
            for host in groups.get(group, []) or []:
                what = pr.find_placeholder(host, placeholders)
                if what and host not in found:
                    found.append(host)
        return [pr.problem("inventory host %s" % host, "in group %s %s" % (
            ", ".join(g for g in managed_groups if host in (groups.get(g) or [])), pr.find_placeholder(host, placeholders)),
            "replace the example's host names in hosts.yml with your hosts") for host in found]


class _Checker:
    """Templates each variable on its own and remembers which ones failed (so indirections report once)."""

    def __init__(self, templar, variables, rules):
        self.templar = templar
        self.variables = variables
        self.rules = rules
        self.values = {}
        self.failed = set()

    def raw(self, name):
        return self.variables.get(name, pr.MISSING)

    def value(self, name):
        """The templated value, MISSING when unset, or raises _Unreadable with the problem line."""
        if name in self.values:
            return self.values[name]
        raw = self.raw(name)
        if raw is pr.MISSING:
            self.values[name] = pr.MISSING
            return pr.MISSING
        try:
            value = self.templar.template(raw)
        except AnsibleUndefinedVariable as exc:
            missing = pr.undefined_name(exc) or pr.undefined_name(getattr(exc, "message", ""))
            literal = bool(self.rules.get(name, {}).get("secret")) and not pr.is_indirection(raw)
            line = pr.explain_undefined(name, missing, literal=literal)
            self.values[name] = _Unreadable(line, missing or name)
            raise self.values[name] from None
        except Exception as exc:  # noqa: BLE001 - a bad value must become a problem, never a crash
            culprit = self._culprit(name, raw)
            if culprit:
                line = pr.explain_template_error(name, culprit)
            else:
                secret = bool(self.rules.get(name, {}).get("secret"))
                # a secret's error text can quote the secret: only the kind of error is shown
                detail = type(exc).__name__ if secret else _first_line(exc)
                line = pr.explain_expression_error(name, detail, secret=secret and not pr.is_indirection(raw))
            self.values[name] = _Unreadable(line, culprit or name)
            raise self.values[name] from None
        self.values[name] = value
        return value

    def _culprit(self, name, raw, depth=0):
        """Which variable's own text Jinja cannot parse (stray {{ {% {#): this one, one it refers to, or None.

        A text that parses is an expression someone wrote; its failure is not a value to mark !unsafe.
        """
        if pr.has_template_chars(raw) and not pr.parses_as_template(raw):
            return name
        if depth > 5:
            return None
        for ref in pr.references(raw):
            ref_raw = self.raw(ref)
            if ref_raw is not pr.MISSING and pr.has_template_chars(ref_raw):
                found = self._culprit(ref, ref_raw, depth + 1)
                if found:
                    return found
        return None

    def lookup(self, name):
        try:
            return self.value(name)
        except _Unreadable:
            return pr.MISSING

    def check(self, name, placeholders):
        rule = self.rules[name]
        if not pr.condition_holds(rule.get("when"), self.lookup):
            return []
        try:
            value = self.value(name)
        except _Unreadable as unreadable:
            return [(unreadable.key, unreadable.line)]
        if rule.get("secret") and value is not pr.MISSING:
            # a Jinja comment renders to nothing, without an error: "a{#b#}c" would reach the server as "ac"
            holder = self._holder_of(name, self.raw(name), lambda text: "{#" in text and is_trusted_as_template(text))
            if holder:
                return [(holder, pr.explain_template_error(name, holder, dropped=True))]
        problems = pr.check_value(name, value, rule, (), is_file=os.path.isfile)
        if problems:
            # an unset variable is one root cause, however many others refer to it
            return [(name if value is pr.MISSING else line, line) for line in problems]
        if rule.get("placeholder", True) and value is not pr.MISSING:
            what = pr.find_placeholder(value, placeholders)
            if what:
                # name the variable whose own text holds the placeholder (a vault key behind an
                # indirection); values derived from another variable's placeholder are that one's problem
                culprit = self._holder(name, self.raw(name), placeholders)
                if culprit is None:
                    return []
                who = name if culprit == name else "%s (through %s)" % (culprit, name)
                return [(("placeholder", culprit), pr.problem(
                    who, what, rule.get("placeholder_fix") or "replace it with your site's real value"))]
        return [(line, line) for line in pr.check_relations(name, value, rule, self.lookup)]

    def _holder(self, name, raw, placeholders):
        """The variable whose raw text carries a placeholder: this one, one it refers to, or None."""
        return self._holder_of(name, raw, lambda text: bool(pr.find_placeholder(text, placeholders)))

    def _holder_of(self, name, raw, test, depth=0):
        """The variable whose own raw text passes ``test``: this one, one it refers to, or None."""
        texts = raw if isinstance(raw, (list, tuple)) else [raw]
        if any(isinstance(t, str) and test(t) for t in texts):
            return name
        if depth > 5:
            return None
        for text in texts:
            for ref in pr.references(text):
                found = self._holder_of(ref, self.raw(ref), test, depth + 1)
                if found:
                    return found
        return None


def _first_line(exc):
    lines = ("%s" % exc).strip().splitlines() or [type(exc).__name__]
    return lines[0][:160]


class _Unreadable(Exception):
    def __init__(self, line, key):
        super().__init__(line)
        self.line = line
        self.key = key
