#!/usr/bin/env python
"""Print hosts.sh specs (NAME=IMAGE[,ALIAS...]) for the hosts of group `testbed` in an inventory.

The inventory is the one home of the testbed topology: each host may set testbed_image
(bookworm, trixie or sid) and testbed_aliases (extra DNS names on the podman network).
Usage: inventory_hosts.py INVENTORY_DIR
"""

import json
import os
import subprocess
import sys


def specs(inventory: str) -> list[str]:
    venv_bin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".venv", "bin")
    listing = subprocess.run([os.path.join(venv_bin, "ansible-inventory"), "-i", inventory, "--list"],
                             check=True, capture_output=True, text=True).stdout
    inv = json.loads(listing)
    hostvars = inv.get("_meta", {}).get("hostvars", {})

    def hosts(group: str) -> list[str]:
        node = inv.get(group, {})
        found = list(node.get("hosts", []))
        for child in node.get("children", []):
            found += hosts(child)
        return found

    out = []
    for host in dict.fromkeys(hosts("testbed")):
        hv = hostvars.get(host, {})
        out.append(",".join([f"{host}={hv.get('testbed_image', 'bookworm')}", *hv.get("testbed_aliases", [])]))
    return out


if __name__ == "__main__":
    if sys.argv[1:2] in (["--list"], ["--host"]):  # not an inventory script (see tests/testbed/lib.sh)
        print("{}")
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit("usage: inventory_hosts.py INVENTORY_DIR")
    print("\n".join(specs(sys.argv[1])))
