# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Filters of the monitoring role (docs: the sidecar <name>.yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import json

from ansible.errors import AnsibleFilterError


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def minio_prometheus_token(access_key, secret_key, expires_at, issuer="prometheus"):
    """The bearer token MinIO accepts on its metrics endpoints.

    It is what ``mc admin prometheus generate`` prints: a JWT signed with HS512 by the secret key
    of the user named in ``sub``, issued by ``prometheus``. ``expires_at`` is fixed (Unix seconds),
    so the same inputs always give the same token and re-runs change nothing."""
    if not isinstance(access_key, str) or not access_key:
        raise AnsibleFilterError("onprem.wandb.minio_prometheus_token: the access key is empty")
    if not isinstance(secret_key, str) or len(secret_key) < 8:
        raise AnsibleFilterError("onprem.wandb.minio_prometheus_token: the secret key must have at least 8 characters")
    try:
        exp = int(expires_at)
    except (TypeError, ValueError):
        exp = None
    if exp is None or isinstance(expires_at, bool):
        raise AnsibleFilterError("onprem.wandb.minio_prometheus_token: expires_at must be Unix seconds, got %r" % (expires_at,))
    if exp <= 0:
        raise AnsibleFilterError("onprem.wandb.minio_prometheus_token: expires_at must be positive, got %r" % (expires_at,))
    header = {"alg": "HS512", "typ": "JWT"}
    claims = {"exp": exp, "iss": issuer, "sub": access_key}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":"), sort_keys=True).encode("utf-8")) for part in (header, claims)
    )
    signature = hmac.new(secret_key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha512).digest()
    return signing_input + "." + _b64url(signature)


class FilterModule(object):
    """onprem.wandb monitoring filters."""

    def filters(self):
        return {"minio_prometheus_token": minio_prometheus_token}
