# MinIO audit receiver (onprem.wandb); run by onprem-wandb-minio-audit.service with /usr/bin/python3.
"""MinIO audit receiver (onprem.wandb): MinIO's audit webhook POSTs each audit event here;
the receiver appends them as JSON lines to <dir>/audit-YYYY-MM-DD.log (UTC) and deletes
files older than --keep-days. It listens on loopback only; stdlib only."""

import argparse
import datetime
import http.server
import json
import os
import threading
import time

LOCK = threading.Lock()
STATE = {"pruned": 0.0}


def prune(directory, keep_days):
    cutoff = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=keep_days)).strftime("%Y-%m-%d")
    for name in os.listdir(directory):
        if name.startswith("audit-") and name.endswith(".log") and name[6:16] < cutoff:
            os.unlink(os.path.join(directory, name))


def make_handler(directory, keep_days):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            lines = []
            for raw in body.splitlines():
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    json.loads(raw)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                lines.append(raw + b"\n")
            day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
            with LOCK:
                with open(os.path.join(directory, "audit-%s.log" % day), "ab") as fh:
                    fh.writelines(lines)
                    fh.flush()
                    os.fsync(fh.fileno())
                if time.time() - STATE["pruned"] > 3600:
                    prune(directory, keep_days)
                    STATE["pruned"] = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--keep-days", type=int, default=30)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    server = http.server.ThreadingHTTPServer((args.listen, args.port), make_handler(args.dir, args.keep_days))
    server.serve_forever()


if __name__ == "__main__":
    main()
