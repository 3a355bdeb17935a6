# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Write a one-layer container image as a docker-archive tar (what `podman save
--format docker-archive` writes and `ctr -n k8s.io images import` / `podman load` read),
from a directory tree, without any container engine or registry.

    image_archive.py --rootfs DIR --ref localhost/x/y:1.0 --user 999:0 \
        --entrypoint /usr/local/bin/app --env K=V --port 8080 --label k=v --out image.tar

The layer is reproducible: sorted entries, mtime 0, numeric owners as in DIR's modes
(owner/group given by --owner DIR:UID:GID rules, default root).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile


def layer_tar(rootfs: str, owners: dict) -> bytes:
    """The rootfs as an uncompressed tar, deterministic."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = []
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                paths.append(os.path.join(top, name))
        for path in sorted(paths, key=lambda p: os.path.relpath(p, rootfs)):
            rel = os.path.relpath(path, rootfs)
            info = tar.gettarinfo(path, arcname=rel)
            info.mtime = 0
            uid, gid = owners.get(rel, (0, 0))
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            info.pax_headers = {}
            if info.isreg():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def build(args) -> None:
    owners = {}
    for rule in args.owner:
        rel, uid, gid = rule.rsplit(":", 2)
        owners[rel.strip("/")] = (int(uid), int(gid))
    layer = layer_tar(args.rootfs, owners)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": args.user,
            "Entrypoint": [args.entrypoint],
            "Env": args.env,
            "ExposedPorts": {"%s/tcp" % p: {} for p in args.port},
            "WorkingDir": args.workdir,
            "Labels": dict(label.split("=", 1) for label in args.label),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "tests/testbed/image_archive.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.split(":", 1)[1] + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [args.ref], "Layers": [layer_name]}]
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as out:
        for name, data in ((layer_name, layer), (config_name, config_bytes),
                           ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            out.addfile(info, io.BytesIO(data))
    os.replace(tmp, args.out)
    print(config_name.split(".", 1)[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--user", default="0:0")
    parser.add_argument("--entrypoint", required=True)
    parser.add_argument("--workdir", default="/")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--port", action="append", default=[])
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--owner", action="append", default=[], help="PATH:UID:GID inside the rootfs")
    build(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
