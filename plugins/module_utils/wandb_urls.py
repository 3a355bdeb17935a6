# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""Build and parse the connection strings W&B reads from its environment.

W&B's ``MYSQL`` (``mysql://USER:PASS@HOST:PORT/DB``) and ``BUCKET``
(``s3://KEY:SECRET@HOST/BUCKET?tls=true``) and ``REDIS``
(``redis://USER:PASS@HOST:PORT?tls=true&caCertPath=...``) carry credentials inside a URL, so every
credential is percent-encoded with ``quote(safe='')``: ``@ : / # % ?`` and spaces in
a password survive the round trip. Pure functions, stdlib only; the filter plugins
and the ``signed_url_check`` module share them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import parse_qs, quote, unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
TRUE_WORDS = ("1", "true", "yes", "on")


class WandbUrlError(ValueError):
    """Raised for input that cannot make a valid W&B connection string."""


def _port(port):
    """A TCP port as an int, or WandbUrlError naming what is wrong."""
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise WandbUrlError("port must be an integer, got %r" % (port,))
    if not 0 < port < 65536:
        raise WandbUrlError("port must be between 1 and 65535, got %d" % port)
    return port


def _text(value, name):
    if value is None:
        raise WandbUrlError("%s is required (got nothing)" % name)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WandbUrlError("%s must be a string, got %s" % (name, type(value).__name__))
    value = str(value)
    if value == "":
        raise WandbUrlError("%s must not be empty" % name)
    return value


def encode_credential(value):
    """Percent-encode one URL credential (user, password, key): nothing is left unescaped
    but RFC 3986 unreserved characters."""
    return quote(value, safe="")


def _host_for_url(host):
    host = host.strip()
    if ":" in host and not host.startswith("["):
        return "[%s]" % host  # bare IPv6 literal
    return host


def mysql_url(host, user, password, database="wandb_local", port=3306, tls=False):
    """W&B's MYSQL string with user and password percent-encoded; ``tls`` adds ``?tls=true``
    (Go's MySQL driver: TLS, the server's certificate verified against the system CAs)."""
    host = _text(host, "host")
    user = _text(user, "user")
    password = _text(password, "password")
    database = _text(database, "database")
    if "/" in host or "@" in host or " " in host:
        raise WandbUrlError("host must be a bare host name or address, got %r" % host)
    port = _port(port)
    if not isinstance(tls, bool):
        raise WandbUrlError("tls must be true or false, got %r" % (tls,))
    return "mysql://%s:%s@%s:%d/%s%s" % (
        encode_credential(user), encode_credential(password), _host_for_url(host), port,
        quote(database, safe=""), "?tls=true" if tls else "")


def split_endpoint(endpoint):
    """Split ``scheme://host[:port]`` into (scheme, hostname, port, netloc_without_default_port)."""
    endpoint = _text(endpoint, "endpoint")
    parts = urlsplit(endpoint)
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise WandbUrlError(
            "endpoint must look like https://HOST[:PORT] (http also accepted), got %r" % endpoint)
    if parts.username is not None or parts.password is not None:
        raise WandbUrlError("endpoint must not carry credentials; pass them separately")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise WandbUrlError("endpoint must be scheme://HOST[:PORT] without a path, got %r" % endpoint)
    try:
        port = parts.port
    except ValueError:
        raise WandbUrlError("endpoint has an invalid port: %r" % endpoint)
    hostname = parts.hostname.lower()
    netloc = _host_for_url(hostname)
    if port and port != DEFAULT_PORTS[scheme]:
        netloc = "%s:%d" % (netloc, port)
    return scheme, hostname, port or DEFAULT_PORTS[scheme], netloc


def url_origin(url):
    """The browser origin of a URL: ``scheme://host[:port]`` with the default port dropped."""
    url = _text(url, "url")
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise WandbUrlError("url must be an http(s) URL, got %r" % url)
    host = _host_for_url(parts.hostname.lower())
    try:
        port = parts.port
    except ValueError:
        raise WandbUrlError("url has an invalid port: %r" % url)
    if port and port != DEFAULT_PORTS[scheme]:
        return "%s://%s:%d" % (scheme, host, port)
    return "%s://%s" % (scheme, host)


def bucket_url(endpoint, access_key, secret_key, bucket, tls=None):
    """W&B's BUCKET string for an S3-compatible endpoint, credentials percent-encoded.

    ``tls`` defaults to the endpoint's scheme (https -> ``?tls=true``)."""
    scheme, _hostname, _port, netloc = split_endpoint(endpoint)
    access_key = _text(access_key, "access_key")
    secret_key = _text(secret_key, "secret_key")
    bucket = _text(bucket, "bucket")
    if "/" in bucket or " " in bucket:
        raise WandbUrlError("bucket must be a bucket name without '/' or spaces, got %r" % bucket)
    if tls is None:
        tls = scheme == "https"
    elif bool(tls) != (scheme == "https"):
        raise WandbUrlError("tls=%s contradicts the endpoint scheme %s://" % (bool(tls), scheme))
    url = "s3://%s:%s@%s/%s" % (encode_credential(access_key), encode_credential(secret_key), netloc, bucket)
    return url + "?tls=true" if tls else url


def parse_bucket_url(value):
    """Parse ``s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?tls=true&region=R]``.

    Returns a dict: access_key, secret_key (percent-decoded), host (netloc), hostname,
    port, bucket, prefix, tls, region (or None) and endpoint (``http(s)://host[:port]``)."""
    value = _text(value, "BUCKET")
    parts = urlsplit(value)
    if parts.scheme.lower() != "s3":
        raise WandbUrlError("BUCKET must start with s3:// (got scheme %r)" % parts.scheme)
    netloc = parts.netloc
    if "@" not in netloc:
        raise WandbUrlError("BUCKET must carry credentials: s3://KEY:SECRET@HOST/BUCKET")
    userinfo, hostport = netloc.rsplit("@", 1)
    if ":" not in userinfo:
        raise WandbUrlError("BUCKET credentials must be KEY:SECRET (percent-encode ':' in either)")
    raw_key, raw_secret = userinfo.split(":", 1)
    if not raw_key or not raw_secret:
        raise WandbUrlError("BUCKET credentials must be KEY:SECRET, one of them is empty")
    if not hostport:
        raise WandbUrlError("BUCKET has no host: s3://KEY:SECRET@HOST/BUCKET")
    path = parts.path.lstrip("/")
    if not path:
        raise WandbUrlError("BUCKET has no bucket name: s3://KEY:SECRET@HOST/BUCKET")
    bucket, _sep, prefix = path.partition("/")
    query = parse_qs(parts.query)
    tls = query.get("tls", ["false"])[-1].lower() in TRUE_WORDS
    scheme = "https" if tls else "http"
    try:
        _s, hostname, port, host = split_endpoint("%s://%s" % (scheme, hostport))
    except WandbUrlError as exc:
        raise WandbUrlError("BUCKET host %r is invalid: %s" % (hostport, exc))
    return {
        "access_key": unquote(raw_key),
        "secret_key": unquote(raw_secret),
        "host": host,
        "hostname": hostname,
        "port": port,
        "bucket": bucket,
        "prefix": prefix,
        "tls": tls,
        "region": query.get("region", [None])[-1],
        "endpoint": "%s://%s" % (scheme, host),
    }


REDIS_DEFAULT_CA_PATH = "/etc/ssl/certs/redis_ca.pem"
REDIS_DEFAULT_TTL = 604800


def redis_url(host, password, user="", port=6379, tls=True, ca_cert_path=REDIS_DEFAULT_CA_PATH,
              ttl_seconds=REDIS_DEFAULT_TTL):
    """W&B's REDIS string: ``redis://USER:PASS@HOST:PORT?tls=true&caCertPath=P&ttlInSeconds=N``.

    User and password are percent-encoded like MYSQL's; an empty user gives ``redis://:PASS@``
    (Redis's default user, as W&B's Helm chart writes it). ``caCertPath`` (the CA file inside the
    pod) only goes with ``tls``; ``ttl_seconds`` 0 or None leaves ``ttlInSeconds`` out."""
    host = _text(host, "host")
    password = _text(password, "password")
    user = "" if user is None else user
    if isinstance(user, bool) or not isinstance(user, str):
        raise WandbUrlError("user must be a string, got %s" % type(user).__name__)
    if "/" in host or "@" in host or " " in host or "?" in host:
        raise WandbUrlError("host must be a bare host name or address, got %r" % host)
    port = _port(port)
    if not isinstance(tls, bool):
        if str(tls).lower() in TRUE_WORDS:
            tls = True
        elif str(tls).lower() in ("0", "false", "no", "off"):
            tls = False
        else:
            raise WandbUrlError("tls must be a boolean, got %r" % (tls,))
    query = []
    if tls:
        query.append("tls=true")
        if ca_cert_path:
            ca_cert_path = _text(ca_cert_path, "ca_cert_path")
            if not ca_cert_path.startswith("/"):
                raise WandbUrlError("ca_cert_path must be an absolute path in the container, got %r" % ca_cert_path)
            query.append("caCertPath=" + quote(ca_cert_path, safe="/"))
    elif ca_cert_path and ca_cert_path != REDIS_DEFAULT_CA_PATH:
        raise WandbUrlError("ca_cert_path needs tls=true (a CA only verifies a TLS server)")
    if ttl_seconds not in (None, "", 0, "0"):
        try:
            ttl_seconds = int(ttl_seconds)
        except (TypeError, ValueError):
            raise WandbUrlError("ttl_seconds must be an integer, got %r" % (ttl_seconds,))
        if ttl_seconds < 0:
            raise WandbUrlError("ttl_seconds must not be negative, got %d" % ttl_seconds)
        query.append("ttlInSeconds=%d" % ttl_seconds)
    url = "redis://%s:%s@%s:%d" % (encode_credential(user) if user else "", encode_credential(password),
                                   _host_for_url(host), port)
    return url + ("?" + "&".join(query) if query else "")
