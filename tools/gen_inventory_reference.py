#!/usr/bin/env python
"""Generate docs/inventory-reference.md from every roles/*/meta/argument_specs.yml.

    .venv/bin/python tools/gen_inventory_reference.py            # (re)write the file
    .venv/bin/python tools/gen_inventory_reference.py --check    # exit 1 if it is stale
    .venv/bin/python tools/gen_inventory_reference.py --output /tmp/ref.md

Per role and entry point: a table of option, type, default, choices and description. The
default column shows the value from the role's defaults/main.yml when it has one (that is
what applies; templated values show their expression), else the argument_specs default.
The site-wide wandb_* table comes from docs/development.md's contract, with the roles
that read each variable found in their defaults/main.yml.
"""

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "inventory-reference.md"
CONTRACT = REPO / "docs" / "development.md"
# the order site.yml runs them; other roles follow alphabetically
SITE_ORDER = ["preflight", "mysql", "minio", "redis", "nginx", "kubernetes", "monitoring", "verify"]
MARKUP = re.compile(r"\b([OCVIBMRLU])\(([^()]*)\)")


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def plain(text) -> str:
    """Ansible doc markup to Markdown, one line."""
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    text = " ".join(str(text or "").split())

    def repl(match):
        kind, body = match.groups()
        if kind in "OCVRM":
            return f"`{body.split('=')[0] if kind == 'O' else body}`"
        if kind == "I":
            return f"*{body}*"
        if kind == "B":
            return f"**{body}**"
        if kind == "L" and "," in body:
            label, url = body.rsplit(",", 1)
            return f"[{label.strip()}]({url.strip()})"
        return body

    return MARKUP.sub(repl, text)


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def code(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        rendered = value if value else '""'
    elif isinstance(value, bool):
        rendered = "true" if value else "false"
    else:
        rendered = json.dumps(value, separators=(", ", ": "))
    rendered = " ".join(rendered.split())
    fence = "``" if "`" in rendered else "`"
    return f"{fence}{rendered}{fence}"


def type_of(spec: dict) -> str:
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        return f"list of {spec['elements']}"
    return kind


def role_dirs():
    roles = sorted(p for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
    rank = {name: i for i, name in enumerate(SITE_ORDER)}
    return sorted(roles, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def role_section(role: Path) -> list:
    specs = load_yaml(role / "meta" / "argument_specs.yml").get("argument_specs", {})
    defaults_file = role / "defaults" / "main.yml"
    defaults = load_yaml(defaults_file) if defaults_file.is_file() else {}
    lines = [f"## {role.name}", ""]
    for entry in sorted(specs, key=lambda e: (e != "main", e)):
        spec = specs[entry] or {}
        if entry != "main":
            lines += [f"### {role.name}: entry point `{entry}`", ""]
        if spec.get("short_description"):
            lines += [plain(spec["short_description"]) + ".", ""]
        if spec.get("description"):
            lines += [plain(spec["description"]), ""]
        options = spec.get("options") or {}
        if not options:
            lines += ["No options.", ""]
            continue
        if entry != "main" and options == (specs.get("main") or {}).get("options"):
            lines += ["Same options as `main`.", ""]
            continue
        lines += ["| option | type | default | choices | description |", "|---|---|---|---|---|"]
        for name in sorted(options):
            opt = options[name] or {}
            if name in defaults:
                default = code(defaults[name])
            elif "default" in opt:
                default = code(opt["default"])
            else:
                default = "**required**" if opt.get("required") else ""
            choices = ", ".join(code(c) for c in opt.get("choices", []))
            description = plain(opt.get("description", ""))
            if opt.get("no_log"):
                description += " *Secret: keep it in vault or an AWX credential.*"
            lines.append(
                f"| `{name}` | {cell(type_of(opt))} | {cell(default)} | {cell(choices)} | {cell(description)} |"
            )
        lines.append("")
    return lines


def contract_rows() -> list:
    """Rows of the wandb_* table in docs/development.md: (names, meaning, default)."""
    rows = []
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`wandb_"):
            rows.append((re.findall(r"`(wandb_\w+)`", cells[0]), cells[1], cells[2]))
    return rows


def site_section(roles) -> list:
    texts = {r.name: (r / "defaults" / "main.yml").read_text(encoding="utf-8")
             for r in roles if (r / "defaults" / "main.yml").is_file()}
    lines = [
        "## Site-wide variables (`wandb_*`)",
        "",
        "Set once in the inventory (`group_vars/all`); secrets in vault or AWX credentials. The roles'",
        "own options default to these. *Read by* lists the roles whose defaults use the variable.",
        "",
        "| variable | meaning | default | read by |",
        "|---|---|---|---|",
    ]
    for names, meaning, default in contract_rows():
        readers = sorted({role for role, text in texts.items() for n in names if re.search(rf"\b{n}\b", text)})
        variable = " / ".join(f"`{n}`" for n in names)
        lines.append(f"| {variable} | {cell(meaning)} | {cell(default)} | {', '.join(readers) or '—'} |")
    lines.append("")
    return lines


def render() -> str:
    roles = role_dirs()
    lines = [
        "<!-- Generated by tools/gen_inventory_reference.py from roles/*/meta/argument_specs.yml. Do not edit. -->",
        "# Inventory reference",
        "",
        "Every variable the roles accept. Regenerate after changing a role's `meta/argument_specs.yml`:",
        "`.venv/bin/python tools/gen_inventory_reference.py` (`--check` fails when this file is stale).",
        "",
        "Roles: " + ", ".join(f"[{r.name}](#{r.name})" for r in roles) + ", and the [site-wide variables](#site-wide-variables-wandb_).",
        "",
    ]
    lines += site_section(roles)
    for role in roles:
        lines += role_section(role)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 and show a diff when the file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"file to write or check (default {OUTPUT})")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), str(args.output), "regenerated"))
            print(f"\n{args.output} is stale: run .venv/bin/python tools/gen_inventory_reference.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
