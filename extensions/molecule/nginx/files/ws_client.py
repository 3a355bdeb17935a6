#!/usr/bin/env python
"""Minimal websocket client: ws_client.py URL MESSAGE.

Opens wss:// (system trust store, host name checked) or ws://, sends an RFC 6455 upgrade,
prints the status line, sends MESSAGE in one masked text frame and prints the echoed text
as JSON {"status": ..., "accept_ok": ..., "echo": ...}. Exit 1 if the upgrade is not 101.
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

url, message = sys.argv[1], sys.argv[2].encode()
parts = urlsplit(url)
secure = parts.scheme == "wss"
port = parts.port or (443 if secure else 80)
sock = socket.create_connection((parts.hostname, port), timeout=10)
if secure:
    sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
key = base64.b64encode(os.urandom(16)).decode()
request = (
    f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
    f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)
sock.sendall(request.encode())
stream = sock.makefile("rb")
status = stream.readline().decode().strip()
headers = {}
for line in iter(stream.readline, b"\r\n"):
    name, _sep, value = line.decode().partition(":")
    headers[name.strip().lower()] = value.strip()
expected = base64.b64encode(
    hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
).decode()
result = {"status": status, "accept_ok": headers.get("sec-websocket-accept") == expected}
if " 101 " in f"{status} ":
    mask = os.urandom(4)
    sock.sendall(
        bytes([0x81, 0x80 | len(message)]) + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(message))
    )
    head = stream.read(2)
    result["echo"] = stream.read(head[1] & 0x7F).decode()
print(json.dumps(result))
sys.exit(0 if " 101 " in f"{status} " else 1)
