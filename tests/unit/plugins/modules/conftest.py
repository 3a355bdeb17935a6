"""main() is driven through patched exit_json/fail_json (DESIGN.md rule 10)."""

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def _exit(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ExitJson(kwargs)


def _fail(self, msg=None, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise FailJson(kwargs)


@pytest.fixture()
def run_main(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def run(main, args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with patch_module_args(args):
            try:
                main()
            except ExitJson as exc:
                return exc.args[0]
            except FailJson as exc:
                return exc.args[0]
        raise AssertionError("module returned without exit_json/fail_json")

    return run
