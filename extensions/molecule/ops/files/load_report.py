"""Failover test report (a test fixture): which acknowledged rows the new primary lacks,
and the longest time between two acknowledged writes (the seconds W&B's database was
unavailable). Prints JSON."""
import json
import sys

import pymysql

log_path, host, password = sys.argv[1], sys.argv[2], sys.argv[3]
acked = []
for line in open(log_path):
    parts = line.split()
    if len(parts) == 3 and parts[1] != "ERR":
        acked.append((float(parts[0]), parts[1], parts[2]))
conn = pymysql.connect(host=host, user="wandb_local", password=password, database="wandb_local")
with conn.cursor() as cur:
    cur.execute("SELECT token FROM failover_load")
    present = {row[0] for row in cur.fetchall()}
lost = [t for _seq, _host, t in acked if t not in present]
gaps = [(b[0] - a[0], a[1], b[1]) for a, b in zip(acked, acked[1:])]
worst = max(gaps) if gaps else (0.0, "", "")
print(json.dumps({"acked": len(acked), "acked_old_primary": sum(1 for a in acked if a[1] != host),
                  "acked_new_primary": sum(1 for a in acked if a[1] == host), "lost": len(lost),
                  "lost_sample": lost[:5], "unavailable_seconds": round(worst[0], 2),
                  "gap_between": [worst[1], worst[2]], "rows_on_new_primary": len(present)}))
