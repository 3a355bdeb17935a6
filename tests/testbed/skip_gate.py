"""Fail when a pytest run skipped a test that tests/skip-allowlist.txt does not allow.

Usage: skip_gate.py REPORT.xml [...]  (pytest --junitxml). Under CI=true run-tests.sh calls it
after each pytest stage: a dependency that is missing (a Python package, podman, Go) must make
the stage fail, not silently skip tests."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ALLOW = Path(__file__).resolve().parents[1] / "skip-allowlist.txt"


def allowed_patterns(path: Path = ALLOW) -> list[re.Pattern]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [re.compile(ln.strip()) for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def skips(report: Path) -> list[str]:
    out = []
    for case in ET.parse(report).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None:
            continue
        test_id = "%s::%s" % (case.get("classname", "").rsplit(".", 1)[-1] + ".py", case.get("name", ""))
        reason = (skipped.get("message") or skipped.text or "").strip()
        reason = re.sub(r"^Skipped: ", "", reason)
        out.append(f"{test_id}: {reason}")
    return out


def main(argv: list[str]) -> int:
    patterns = allowed_patterns()
    bad, ok = [], 0
    for report in argv:
        for entry in skips(Path(report)):
            if any(p.search(entry) for p in patterns):
                ok += 1
            else:
                bad.append(entry)
    for entry in bad:
        print(f"skip not on tests/skip-allowlist.txt: {entry}", file=sys.stderr)
    if bad:
        print(f"CI=true: {len(bad)} test(s) skipped outside the allow-list (install what they need: make deps)",
              file=sys.stderr)
        return 1
    print(f"skip gate: {ok} allowed skip(s), none other")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
