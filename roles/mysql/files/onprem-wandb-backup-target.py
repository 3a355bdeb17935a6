#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Ship MySQL dumps off the database host and manage them there (onprem.wandb).

Installed by the onprem.wandb.mysql role and run by its backup unit and its restore tasks.
Stdlib only (no boto3 on the database host). The target comes from a JSON file (0600):

  {"type": "s3", "endpoint": "https://backup.example:9000", "bucket": "mysql-backups",
   "prefix": "wandb/", "access_key": "...", "secret_key": "...", "region": "us-east-1",
   "ca_file": ""}
  {"type": "rsync", "host": "backup.example", "user": "backup", "port": 22,
   "path": "/srv/backups/wandb", "ssh_key": "/root/.ssh/id_ed25519", "known_hosts": "..."}

Commands (every failure exits non-zero with a message that says what to check):
  ship FILE                  upload FILE, then read it back and compare its SHA-256
  prune PATTERN DAYS COUNT   delete dumps named PATTERN* older than DAYS beyond the newest COUNT
  list PATTERN               names of the dumps named PATTERN*, newest first
  fetch NAME OUT             download NAME to OUT and check it against the SHA-256 stored at upload
"""

from __future__ import absolute_import, division, print_function

import datetime
import hashlib
import hmac
import http.client
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

CHUNK = 1024 * 1024
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class TargetError(Exception):
    """An error the operator can act on."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def select_prunable(entries, now, keep_days, keep_count):
    """entries: [(name, mtime_epoch)]. A dump goes only when it is older than keep_days AND
    not among the newest keep_count (by time, then name)."""
    ordered = sorted(entries, key=lambda e: (e[1], e[0]), reverse=True)
    cutoff = now - keep_days * 86400
    return [name for name, mtime in ordered[keep_count:] if mtime < cutoff]


# --- S3 (AWS Signature Version 4, header-signed, path-style) -------------------------------
def _enc(value, keep_slash=False):
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


def sign_headers(method, host, path, query, headers, payload_hash, access_key, secret_key,
                 region, when):
    """Return the headers of a SigV4-signed request (Authorization included)."""
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    datestamp = when.strftime("%Y%m%d")
    out = dict((k.lower(), str(v).strip()) for k, v in headers.items())
    out["host"] = host
    out["x-amz-date"] = amz_date
    out["x-amz-content-sha256"] = payload_hash
    names = sorted(out)
    canonical_headers = "".join("%s:%s\n" % (n, out[n]) for n in names)
    signed = ";".join(names)
    cquery = "&".join("%s=%s" % kv for kv in sorted((_enc(k), _enc(v)) for k, v in query.items()))
    creq = "\n".join([method, _enc(path, keep_slash=True), cquery, canonical_headers, signed,
                      payload_hash])
    scope = "%s/%s/s3/aws4_request" % (datestamp, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (datestamp, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, signed, signature)
    return out


class S3Target(object):
    def __init__(self, conf):
        for key in ("endpoint", "bucket", "access_key", "secret_key"):
            if not conf.get(key):
                raise TargetError("backup target: '%s' is empty (mysql_backup_s3_%s)" % (key, key))
        url = urlsplit(conf["endpoint"])
        if url.scheme not in ("http", "https") or not url.hostname:
            raise TargetError("backup target: endpoint %r is not http(s)://host[:port]" % conf["endpoint"])
        self.scheme = url.scheme
        self.hostname = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        default_port = (url.scheme == "https" and self.port == 443) or (url.scheme == "http" and self.port == 80)
        self.host = self.hostname if default_port else "%s:%d" % (self.hostname, self.port)
        self.bucket = conf["bucket"]
        self.prefix = conf.get("prefix", "")
        self.access_key = conf["access_key"]
        self.secret_key = conf["secret_key"]
        self.region = conf.get("region") or "us-east-1"
        self.ca_file = conf.get("ca_file") or None
        self.endpoint = conf["endpoint"]

    def _conn(self):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.hostname, self.port, timeout=60, context=ctx)
        return http.client.HTTPConnection(self.hostname, self.port, timeout=60)

    def _path(self, name=""):
        return "/%s/%s" % (self.bucket, self.prefix + name) if name else "/%s" % self.bucket

    def request(self, method, name="", query=None, headers=None, body=None, payload_hash=None):
        query = query or {}
        path = self._path(name)
        payload_hash = payload_hash or hashlib.sha256(b"").hexdigest()
        signed = sign_headers(method, self.host, path, query, headers or {}, payload_hash,
                              self.access_key, self.secret_key, self.region,
                              datetime.datetime.now(datetime.timezone.utc))
        url = _enc(path, keep_slash=True)
        if query:
            url += "?" + "&".join("%s=%s" % (_enc(k), _enc(v)) for k, v in sorted(query.items()))
        conn = self._conn()
        try:
            conn.request(method, url, body=body, headers=signed)
        except (OSError, ssl.SSLError) as exc:
            raise TargetError("backup target %s unreachable: %s (check mysql_backup_s3_endpoint, "
                              "the network and the CA)" % (self.endpoint, exc))
        return conn, conn.getresponse()

    def _check(self, resp, what):
        if resp.status >= 300:
            body = resp.read().decode("utf-8", "replace")
            code = ""
            try:
                code = ET.fromstring(body).findtext("Code") or ""
            except ET.ParseError:
                pass
            hint = {"AccessDenied": "the key pair lacks rights on the bucket",
                    "InvalidAccessKeyId": "the access key is unknown to the backup store",
                    "SignatureDoesNotMatch": "the secret key is wrong",
                    "NoSuchBucket": "create the bucket first"}.get(code, "see the answer")
            raise TargetError("%s: HTTP %d %s (%s) from %s bucket %s" % (
                what, resp.status, code, hint, self.endpoint, self.bucket))

    def ship(self, path):
        name = os.path.basename(path)
        digest = sha256_file(path)
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            conn, resp = self.request("PUT", name, headers={
                "content-length": str(size), "x-amz-meta-sha256": digest,
                "content-type": "application/octet-stream"}, body=handle, payload_hash=digest)
            self._check(resp, "upload of %s" % name)
            resp.read()
            conn.close()
        got = self._remote_sha256(name)
        if got != digest:
            raise TargetError("checksum mismatch after upload of %s: local %s, target %s" % (name, digest, got))
        return name, digest, size

    def _remote_sha256(self, name, out=None):
        conn, resp = self.request("GET", name)
        self._check(resp, "read-back of %s" % name)
        digest = hashlib.sha256()
        handle = open(out, "wb") if out else None
        try:
            for block in iter(lambda: resp.read(CHUNK), b""):
                digest.update(block)
                if handle:
                    handle.write(block)
        finally:
            if handle:
                handle.close()
            conn.close()
        return digest.hexdigest()

    def stored_sha256(self, name):
        conn, resp = self.request("HEAD", name)
        self._check(resp, "metadata of %s" % name)
        resp.read()
        conn.close()
        return resp.getheader("x-amz-meta-sha256") or ""

    def entries(self, pattern):
        out, token = [], None
        while True:
            query = {"list-type": "2", "prefix": self.prefix + pattern}
            if token:
                query["continuation-token"] = token
            conn, resp = self.request("GET", query=query)
            self._check(resp, "listing")
            root = ET.fromstring(resp.read())
            conn.close()
            for item in root.iter(S3_NS + "Contents"):
                key = item.findtext(S3_NS + "Key")
                stamp = item.findtext(S3_NS + "LastModified")
                when = datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(
                    tzinfo=datetime.timezone.utc)
                out.append((key[len(self.prefix):], when.timestamp()))
            if root.findtext(S3_NS + "IsTruncated") != "true":
                return out
            token = root.findtext(S3_NS + "NextContinuationToken")

    def delete(self, name):
        conn, resp = self.request("DELETE", name)
        self._check(resp, "delete of %s" % name)
        resp.read()
        conn.close()

    def fetch(self, name, out):
        want = self.stored_sha256(name)
        got = self._remote_sha256(name, out)
        return want, got


# --- rsync over SSH -----------------------------------------------------------------------
class RsyncTarget(object):
    def __init__(self, conf):
        for key in ("host", "path"):
            if not conf.get(key):
                raise TargetError("backup target: '%s' is empty (mysql_backup_rsync_%s)" % (key, key))
        self.host = conf["host"]
        self.user = conf.get("user") or "root"
        self.path = conf["path"].rstrip("/")
        ssh = ["ssh", "-p", str(conf.get("port") or 22), "-o", "BatchMode=yes",
               "-o", "ConnectTimeout=20"]
        if conf.get("ssh_key"):
            ssh += ["-i", conf["ssh_key"], "-o", "IdentitiesOnly=yes"]
        if conf.get("known_hosts"):
            # first contact records the host key (trust on first use), later changes are refused
            ssh += ["-o", "UserKnownHostsFile=%s" % conf["known_hosts"], "-o", "StrictHostKeyChecking=accept-new"]
        self.ssh = ssh
        self.dest = "%s@%s" % (self.user, self.host)

    def _run(self, argv, what, capture=True):
        proc = subprocess.run(argv, stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise TargetError("%s on %s failed (exit %d): %s (check mysql_backup_rsync_host/_user, "
                              "that the key is authorised there and the directory exists)" % (
                                  what, self.dest, proc.returncode,
                                  proc.stderr.decode("utf-8", "replace").strip()))
        return proc.stdout.decode("utf-8", "replace") if capture else ""

    def remote(self, command, what):
        return self._run(self.ssh + [self.dest, command], what)

    def ship(self, path):
        name = os.path.basename(path)
        digest = sha256_file(path)
        remote = "%s/%s" % (self.path, name)
        self._run(["rsync", "-t", "--partial-dir=.rsync-partial", "-e", shlex.join(self.ssh),
                   path, "%s:%s" % (self.dest, shlex.quote(remote))], "rsync of %s" % name)
        got = self.remote("sha256sum -- %s && printf '%%s  %%s\\n' %s %s > %s" % (
            shlex.quote(remote), digest, shlex.quote(name), shlex.quote(remote + ".sha256")),
            "checksum of %s" % name).split()[0]
        if got != digest:
            raise TargetError("checksum mismatch after rsync of %s: local %s, target %s" % (name, digest, got))
        return name, digest, os.path.getsize(path)

    def entries(self, pattern):
        out = self.remote("find %s -maxdepth 1 -type f -name %s ! -name '*.sha256' -printf '%%T@ %%f\\n'" % (
            shlex.quote(self.path), shlex.quote(pattern + "*")), "listing")
        entries = []
        for line in out.splitlines():
            stamp, _sep, name = line.partition(" ")
            entries.append((name, float(stamp)))
        return entries

    def delete(self, name):
        remote = "%s/%s" % (self.path, name)
        self.remote("rm -f -- %s %s" % (shlex.quote(remote), shlex.quote(remote + ".sha256")), "delete of %s" % name)

    def fetch(self, name, out):
        remote = "%s/%s" % (self.path, name)
        want = self.remote("cat -- %s" % shlex.quote(remote + ".sha256"), "checksum of %s" % name).split()[0]
        self._run(["rsync", "-t", "-e", shlex.join(self.ssh), "%s:%s" % (self.dest, shlex.quote(remote)), out],
                  "rsync of %s" % name)
        return want, sha256_file(out)


def target(conf):
    kind = conf.get("type")
    if kind == "s3":
        return S3Target(conf)
    if kind == "rsync":
        return RsyncTarget(conf)
    raise TargetError("backup target type %r is not s3 or rsync (mysql_backup_target)" % kind)


def main(argv):
    if len(argv) < 3:
        raise TargetError(__doc__)
    with open(argv[1]) as handle:
        tgt = target(json.load(handle))
    cmd, args = argv[2], argv[3:]
    if cmd == "ship" and len(args) == 1:
        name, digest, size = tgt.ship(args[0])
        print("shipped %s (%d bytes) to the backup target, sha256 %s verified" % (name, size, digest))
    elif cmd == "prune" and len(args) == 3:
        entries = tgt.entries(args[0])
        for name in select_prunable(entries, time.time(), int(args[1]), int(args[2])):
            tgt.delete(name)
            print("removed %s from the backup target (older than %s days, beyond the newest %s)" % (
                name, args[1], args[2]))
    elif cmd == "list" and len(args) == 1:
        for name, _when in sorted(tgt.entries(args[0]), key=lambda e: (e[1], e[0]), reverse=True):
            print(name)
    elif cmd == "fetch" and len(args) == 2:
        want, got = tgt.fetch(args[0], args[1])
        if not want or want != got:
            os.unlink(args[1])
            raise TargetError("checksum of %s: stored %s, downloaded %s: the copy on the target is "
                              "damaged; restore an older dump" % (args[0], want or "(none)", got))
        print("fetched %s, sha256 %s verified" % (args[0], got))
    else:
        raise TargetError(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except TargetError as exc:
        sys.stderr.write("onprem-wandb-backup-target: %s\n" % exc)
        sys.exit(1)
