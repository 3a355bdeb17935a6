# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""A minimal RFC 6455 websocket client for checks: handshake, one text frame, close.

Standard library only. Enough to prove that a proxy passes ``Upgrade``/``Connection`` with
HTTP/1.1 and relays frames both ways; not a general websocket client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import hashlib
import os
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT = 0x1
OP_CLOSE = 0x8


class WebsocketError(Exception):
    """The handshake or the echo failed; the message names the cause."""


def accept_for(key):
    """The ``Sec-WebSocket-Accept`` a server must answer for ``key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(payload, opcode=OP_TEXT, mask=None):
    """One final, client-masked frame."""
    mask = mask if mask is not None else os.urandom(4)
    header = bytearray([0x80 | opcode])
    length = len(payload)
    if length < 126:
        header.append(0x80 | length)
    elif length < 65536:
        header.append(0x80 | 126)
        header += struct.pack("!H", length)
    else:
        header.append(0x80 | 127)
        header += struct.pack("!Q", length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(header) + mask + masked


def decode_frame(data):
    """(opcode, payload, rest) of the first complete frame in ``data``; None when incomplete."""
    if len(data) < 2:
        return None
    opcode = data[0] & 0x0F
    masked = data[1] & 0x80
    length = data[1] & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = struct.unpack("!H", data[2:4])[0]
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = struct.unpack("!Q", data[2:10])[0]
        pos = 10
    mask = b""
    if masked:
        mask = data[pos:pos + 4]
        pos += 4
    if len(data) < pos + length:
        return None
    payload = data[pos:pos + length]
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload, data[pos + length:]


def parse_response_head(head):
    """(status, reason, headers lower-cased) of an HTTP/1.1 response head (bytes)."""
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise WebsocketError("the server did not answer HTTP (%r)" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


def echo(host, port, path, origin=None, context=None, timeout=15, message=None, server_hostname=None,
         connect=socket.create_connection):
    """Open ``wss://host:port/path`` (``ws://`` when ``context`` is None), send ``message``, read it back.

    Returns a dict: status, headers, sent, received. Raises WebsocketError (or OSError for the
    transport) with the cause."""
    message = message if message is not None else "onprem.wandb " + base64.b16encode(os.urandom(6)).decode("ascii")
    sock = connect((host, port), timeout=timeout)
    try:
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=server_hostname or host)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        default_port = 443 if context is not None else 80
        host_header = host if port == default_port else "%s:%d" % (host, port)
        request = ["GET %s HTTP/1.1" % path, "Host: %s" % host_header, "Upgrade: websocket",
                   "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13",
                   "User-Agent: onprem.wandb-app_journey"]
        if origin:
            request.append("Origin: %s" % origin)
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode("ascii"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise WebsocketError("the server closed the connection during the handshake")
            data += chunk
            if len(data) > 65536:
                raise WebsocketError("the handshake answer is too large")
        head, rest = data.split(b"\r\n\r\n", 1)
        status, reason, headers = parse_response_head(head)
        if status != 101:
            raise WebsocketError(
                "the upgrade was answered HTTP %d %s instead of 101 Switching Protocols%s" % (
                    status, reason, upgrade_hint(status, headers, rest)))
        if headers.get("upgrade", "").lower() != "websocket":
            raise WebsocketError("101 without 'Upgrade: websocket' (got %r)" % headers.get("upgrade"))
        if headers.get("sec-websocket-accept") != accept_for(key):
            raise WebsocketError("wrong Sec-WebSocket-Accept: a proxy altered the handshake")
        sock.sendall(encode_frame(message.encode("utf-8")))
        frame = decode_frame(rest)
        while frame is None:
            chunk = sock.recv(65536)
            if not chunk:
                raise WebsocketError("the connection closed before the echo came back (proxy idle timeout?)")
            rest += chunk
            frame = decode_frame(rest)
        opcode, payload, _rest = frame
        with contextlib.suppress(OSError):  # a polite close; the echo already proved the path
            sock.sendall(encode_frame(b"\x03\xe8", OP_CLOSE))
        received = payload.decode("utf-8", "replace")
        if opcode != OP_TEXT or received != message:
            raise WebsocketError("the echo differs: sent %r, got opcode %d %r" % (message, opcode, received[:80]))
        return {"status": status, "headers": headers, "sent": message, "received": received}
    finally:
        sock.close()


def upgrade_hint(status, headers, body):
    """Why an upgrade was refused, from what came back."""
    text = body[:300].decode("utf-8", "replace").strip()
    if status == 400 and "upgrade" in text.lower():
        return (": the app did not see a websocket upgrade - the proxy drops Upgrade/Connection. nginx: "
                "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header "
                "Connection $connection_upgrade (%s)" % text[:160])
    if status == 403:
        return ": the origin was refused (%s)" % text[:160]
    if status in (502, 503, 504):
        return ": the proxy could not reach the app"
    if status == 426:
        return ": the server wants a protocol upgrade the proxy did not pass"
    return " (%s)" % text[:160] if text else ""
