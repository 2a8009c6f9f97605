#!/usr/bin/env python3
"""pourd rides out a restart of its MariaDB server under a write load.

Run under scripts/with-mariadb.sh, which gives this test a server of its
own: the test kills that server outright while writers post pours with a
unique note each, checks that /readyz turns 503 and writes fail cleanly
while /healthz stays up, starts the server again on the same data and
port, and checks that readiness and writes come back without restarting
pourd. Then, reading the tables directly: every pour answered 2xx is
stored exactly once, every refused one not at all, statistics equal the
sums of their pours, and a sweep finds no orphan.

    database_restart.py BIN_DIR
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
from faults import check  # noqa: E402

WRITERS = 8


def main():
    bin_dir = sys.argv[1]
    url = os.environ["POURD_TEST_MYSQL_URL"]
    sock = os.environ["POURD_TEST_MYSQL_SOCKET"]
    port = int(os.environ["POURD_TEST_MYSQL_PORT"])
    server_dir = os.path.dirname(sock)
    with open(os.path.join(server_dir, "mysqld.pid")) as f:
        server_pid = int(f.read().strip())
    db = faults.Database(url)

    daemon = faults.Pourd(os.path.join(bin_dir, "pourd"), url)
    server = None
    try:
        daemon.wait_listening()
        users = faults.set_up_users(daemon, 4, "restart")
        check(daemon.call("GET", "/readyz", token=None)[0] == 200,
              "readyz before the outage")

        writers = faults.Writers(lambda: daemon.port, users, WRITERS)
        writers.start()
        faults.wait_for("writes before the outage",
                        lambda: writers.tally()[0] >= 100, 60)

        # The server dies without warning, in the middle of the load.
        os.kill(server_pid, signal.SIGKILL)
        killed = time.monotonic()
        acked_at_kill = writers.tally()[0]
        faults.wait_for("readyz to report the database gone",
                        lambda: daemon.call("GET", "/readyz",
                                            token=None)[0] == 503)
        check(daemon.call("GET", "/healthz", token=None)[0] == 200,
              "healthz while the database is down")
        user, bottle, _ = users[0]
        status, body, headers = daemon.call(
            "POST", "/api/pours", {"user_id": user, "bottle_id": bottle,
                                   "amount_oz": 1, "notes": "during-outage"})
        check(status == 503, "a write without a database answered %s" % status)
        check(b"nothing was written" in body and "Retry-After" in headers,
              "the 503 does not say nothing was written: %s" % body)
        time.sleep(1)

        # The same server comes back on the same data and port.
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        server = subprocess.Popen(
            ["mariadbd", "--no-defaults",
             "--datadir=" + os.path.join(server_dir, "data"),
             "--socket=" + sock, "--port=%d" % port,
             "--bind-address=127.0.0.1", "--max-connections=500",
             "--pid-file=" + os.path.join(server_dir, "mysqld.pid"),
             "--log-error=" + os.path.join(server_dir, "error2.log")]
            + as_root)
        restarted = time.monotonic()
        faults.wait_for("readyz to recover",
                        lambda: daemon.call("GET", "/readyz",
                                            token=None)[0] == 200)
        ready = time.monotonic()
        faults.wait_for("writes after the restart",
                        lambda: writers.tally()[0] >= acked_at_kill + 100, 60)
        writing = time.monotonic()
        writers.stop()

        outcome = writers.verify(db, "restart")
        check(outcome["failed"] > 0,
              "no write failed while the database was down: the outage "
              "was not seen")
        check(db.marker_counts().get("during-outage", 0) == 0,
              "the write refused during the outage was stored")
        problems = db.consistency_problems()
        check(not problems, "inconsistent after the restart:\n  %s"
              % "\n  ".join(problems[:20]))

        # The next sweep has nothing to recover.
        status, body, _ = daemon.call("POST",
                                      "/api/cron/check-orphaned-pours",
                                      token=faults.CRON)
        check(status == 200, "sweep answered %s %s" % (status, body))
        swept = json.loads(body)
        check(swept["orphaned_pours_found"] == 0 and swept["remaining"] == 0,
              "the sweep found orphans: %s" % swept)
        outcome["commits_lost"] = int(daemon.metric(
            "pourd_database_retries_total", 'kind="commit_lost"'))
        check(daemon.stop() == 0, "pourd did not exit 0")
        faults.check_with_pourctl(bin_dir, url, [u[2] for u in users])
        print("pourd rode out the restart under %d writers: %s; "
              "readyz 200 again %.1f s after the server restart (%.1f s "
              "after the kill), writes going %.1f s after the restart"
              % (WRITERS, outcome, ready - restarted, ready - killed,
                 writing - restarted))
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        faults.keep_logs("database_restart")
    faults.remove_work(daemon.work)


if __name__ == "__main__":
    main()
