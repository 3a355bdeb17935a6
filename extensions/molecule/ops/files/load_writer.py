"""Failover test load (a test fixture, not part of the collection): insert one row every
20 ms into the database host named in HOST_FILE, like an app that W&B's Secret points at;
log every acknowledged (committed) id with its time. Reconnects when the host file changes
or a write fails."""
import sys
import time

import pymysql

host_file, password, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
conn, host = None, None
with open(log_path, "a", buffering=1) as log:
    while True:
        try:
            want = open(host_file).read().strip()
            if conn is None or want != host:
                if conn is not None:
                    conn.close()
                conn, host = None, want
                conn = pymysql.connect(host=host, user="wandb_local", password=password, database="wandb_local",
                                       connect_timeout=2, read_timeout=5, write_timeout=5, autocommit=False)
                with conn.cursor() as cur:
                    cur.execute("CREATE TABLE IF NOT EXISTS failover_load (id BIGINT PRIMARY KEY AUTO_INCREMENT,"
                                " token VARCHAR(40) NOT NULL UNIQUE, at DOUBLE NOT NULL)")
                conn.commit()
            token = "%s-%.6f" % (host, time.time())
            with conn.cursor() as cur:
                cur.execute("INSERT INTO failover_load (token, at) VALUES (%s, %s)", (token, time.time()))
            conn.commit()
            log.write("%.3f %s %s\n" % (time.time(), host, token))
        except Exception as exc:  # noqa: BLE001 - the load keeps trying, like an app
            log.write("%.3f ERR %s\n" % (time.time(), str(exc).replace("\n", " ")[:120]))
            try:
                if conn is not None:
                    conn.close()
            except Exception:  # noqa: BLE001
                pass
            conn = None
            time.sleep(0.2)
        time.sleep(0.02)
