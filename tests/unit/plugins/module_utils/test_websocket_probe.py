from __future__ import annotations

import re

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import websocket_probe as ws


def test_accept_matches_rfc6455_example():
    assert ws.accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536])
def test_frames_round_trip(size):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = ws.encode_frame(payload, mask=b"\x01\x02\x03\x04")
    assert frame[1] & 0x80  # clients mask
    opcode, got, rest = ws.decode_frame(frame + b"extra")
    assert (opcode, got, rest) == (ws.OP_TEXT, payload, b"extra")
    assert ws.decode_frame(frame[:-1]) is None


class FakeServer:
    """A socket that answers the handshake like a websocket echo server (or as told)."""

    def __init__(self, status_line="HTTP/1.1 101 Switching Protocols", accept=None, echo=True, body=b""):
        self.status_line, self.accept, self.echo, self.body = status_line, accept, echo, body
        self.inbox, self.outbox, self.request = b"", b"", None

    def __call__(self, address, timeout=None):
        self.address = address
        return self

    def sendall(self, data):
        if self.request is None:
            self.request = data.decode("ascii")
            key = re.search(r"Sec-WebSocket-Key: (\S+)", self.request).group(1)
            accept = self.accept or ws.accept_for(key)
            head = "%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % (
                self.status_line, accept)
            self.outbox += head.encode("ascii") + self.body
            return
        frame = ws.decode_frame(data)
        if frame and frame[0] == ws.OP_TEXT and self.echo:
            payload = frame[1]
            self.outbox += bytes([0x81, len(payload)]) + payload  # servers do not mask

    def recv(self, size):
        data, self.outbox = self.outbox[:size], self.outbox[size:]
        return data

    def close(self):
        pass


def test_echo_through_a_server():
    server = FakeServer()
    answer = ws.echo("wandb.example.test", 80, "/api/standin/ws", origin="https://wandb.example.test",
                     message="hello", connect=server)
    assert answer["received"] == "hello" and answer["status"] == 101
    assert "Origin: https://wandb.example.test" in server.request
    assert "Host: wandb.example.test\r\n" in server.request
    assert server.address == ("wandb.example.test", 80)


@pytest.mark.parametrize("server, needle", [
    (FakeServer("HTTP/1.1 400 Bad Request", body=b'{"error": "not a websocket upgrade"}'), "drops Upgrade/Connection"),
    (FakeServer("HTTP/1.1 502 Bad Gateway"), "could not reach the app"),
    (FakeServer("HTTP/1.1 403 Forbidden", body=b"origin refused"), "origin was refused"),
    (FakeServer(accept="bogus"), "wrong Sec-WebSocket-Accept"),
    (FakeServer(echo=False), "closed before the echo"),
])
def test_echo_failures_name_the_cause(server, needle):
    with pytest.raises(ws.WebsocketError, match=needle):
        ws.echo("h", 8080, "/ws", message="x", connect=server)
