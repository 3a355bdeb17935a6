"""Run playbooks/preflight.yml against many inventories in one Python process.

    python preflight_batch.py RESULTS.json INVENTORY [INVENTORY ...]

Each inventory goes through ansible-playbook's own command-line class (PlaybookCLI: the same
parsing, inventory and variable loading, strategy, role argument validation and callbacks as the
ansible-playbook command), one after another; only the interpreter start and the imports (most of
an ansible-playbook start) are shared. The output of each run (what ansible-playbook would print)
and its exit code land in RESULTS.json under the inventory's directory name.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import traceback
import warnings
from pathlib import Path


def main(argv: list[str]) -> int:
    # imported here: ANSIBLE_CONFIG and the other environment come from the caller, read at import
    from ansible.cli.playbook import PlaybookCLI
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultSecretsContext
    from ansible.utils.context_objects import GlobalCLIArgs

    out_path, inventories = Path(argv[1]), argv[2:]
    results = {}
    warnings.filterwarnings("ignore", message="AnsibleCollectionFinder has already been configured")
    for inventory in inventories:
        # what ansible-playbook sets once per process: its parsed arguments and its vault secrets
        GlobalCLIArgs._Singleton__instance = None  # noqa: SLF001
        VaultSecretsContext._current = None  # noqa: SLF001
        buf = io.StringIO()
        start = time.monotonic()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                rc = PlaybookCLI(["ansible-playbook", "-i", inventory, "playbooks/preflight.yml"]).run()
            except AnsibleError as exc:  # what ansible-playbook prints as [ERROR] and exits 1 with
                print("[ERROR]: %s" % exc)
                rc = 1
            except Exception:  # noqa: BLE001 - a crash is a result the test reports, not the end of the batch
                print(traceback.format_exc())
                rc = 250
        results[Path(inventory).name] = {"rc": rc, "text": buf.getvalue(), "seconds": round(time.monotonic() - start, 2)}
    out_path.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
