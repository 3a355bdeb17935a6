"""A tiny Alertmanager webhook receiver for the monitoring scenario: every alert of every POST
becomes one JSON line {received, status, alertname, labels, startsAt} in the given file."""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        now = time.time()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with open(self.server.out, "a", encoding="utf-8") as fh:
            for alert in body.get("alerts", []):
                fh.write(json.dumps({
                    "received": now,
                    "status": alert.get("status"),
                    "alertname": alert.get("labels", {}).get("alertname"),
                    "labels": alert.get("labels", {}),
                    "startsAt": alert.get("startsAt"),
                }) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    server.out = sys.argv[3]
    open(server.out, "a").close()
    server.serve_forever()
