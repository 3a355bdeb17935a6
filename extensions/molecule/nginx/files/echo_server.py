#!/usr/bin/env python
"""Testbed backend for the nginx scenario: echoes what it received as JSON.

GET/HEAD/DELETE -> {"method", "path", "headers", "port", "tls"}; POST/PUT also read the body
(Content-Length or chunked) and report "body_bytes", "started_at" and "finished_at" (UNIX
times of the request line and of the last body byte), so a test can tell whether a proxy
streamed the body or buffered it first. A request with "Upgrade: websocket" gets an RFC 6455
handshake (101) and then one text frame echoed back before the connection closes.
Arguments: PORT, or PORT CERT KEY to serve TLS (the S3 backend, as MinIO with TLS).
"""
import base64
import hashlib
import json
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "onprem-wandb-echo"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the peer's
    # delayed ACK adds ~40 ms to every keepalive response
    disable_nagle_algorithm = True

    def log_message(self, *args):  # keep the journal quiet under load
        pass

    def _reply(self, payload, status=200):
        body = json.dumps(payload, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _echo(self, **extra):
        payload = {
            "method": self.command,
            "path": self.path,
            "port": self.server.server_address[1],
            "headers": dict(self.headers.items()),
            # the TLS version the proxy spoke to this backend, "" for plain HTTP
            "tls": self.connection.version() if isinstance(self.connection, ssl.SSLSocket) else "",
        }
        payload.update(extra)
        self._reply(payload)

    def _read_body(self):
        total = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                total += self._drain(size)
                self.rfile.readline()
        return self._drain(int(self.headers.get("Content-Length", "0")))

    def _drain(self, size):
        left = size
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
        return size - left

    def _websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        head = self.rfile.read(2)
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self.rfile.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
        size = bytes([length]) if length < 126 else bytes([126]) + struct.pack("!H", length)
        self.wfile.write(b"\x81" + size + data)
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket()
        else:
            self._echo()

    do_HEAD = do_GET
    do_DELETE = do_GET

    def do_POST(self):
        started = time.time()
        size = self._read_body()
        self._echo(body_bytes=size, started_at=started, finished_at=time.time())

    do_PUT = do_POST


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Echo)
    if len(sys.argv) == 4:  # PORT CERT KEY: serve TLS, as MinIO does with minio_tls_*
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
