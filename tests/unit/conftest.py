"""Unit tests import the collection as ansible_collections.onprem.wandb from the checkout
(.ansible/collections/ansible_collections/onprem/wandb links to the repo root; `make deps`)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".ansible" / "collections"
if not (COLLECTIONS / "ansible_collections" / "onprem" / "wandb").exists():  # pragma: no cover
    link = COLLECTIONS / "ansible_collections" / "onprem" / "wandb"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("../../../..")
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
