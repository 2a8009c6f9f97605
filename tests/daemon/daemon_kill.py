#!/usr/bin/env python3
"""pourd killed with SIGKILL mid-sweep and mid-write leaves a consistent
database, and the next start finishes the work.

1. A backlog of orphaned pours is inserted straight into the tables; a
   sweep with small batches starts through the cron route; once some
   batches have committed and the sweep lease names pourd's pid, pourd is
   killed. The tables must hold whole batches only (statistics equal the
   sums of their pours, no empty recovered session). A new pourd must take
   the dead process's lease over at once and recover every orphan left.
2. Writers post pours with unique notes; pourd is killed under them and
   started again. Every acknowledged pour is stored once, every refused
   one not at all, and the tables stay consistent.

    daemon_kill.py BIN_DIR sqlite|mysql

The MariaDB variant runs under scripts/with-mariadb.sh and makes a
database of its own on that server.
"""
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
from faults import check  # noqa: E402

USERS = 20
ORPHANS_PER_USER = 1500
BATCH = 20
WRITERS = 8


def database_url(backend, work):
    if backend == "sqlite":
        return "sqlite://" + os.path.join(work, "pourd.db")
    base = os.environ.get("POURD_TEST_MYSQL_URL")
    if not base:
        faults.fail("POURD_TEST_MYSQL_URL is not set; run under "
                    "scripts/with-mariadb.sh")
    name = "pourd_kill_%d" % os.getpid()
    root = faults.Database(base)
    root.execute_script(
        "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
        % name)
    return base.rsplit("/", 1)[0] + "/" + name


def insert_orphans(db, users):
    """ORPHANS_PER_USER orphans per user, in runs of close pours over many
    days, as an import of legacy data leaves them."""
    base_ms = 1_700_000_000_000
    rows = []
    for user, bottle, _ in users:
        for i in range(ORPHANS_PER_USER):
            day, k = divmod(i, 6)
            at = base_ms + day * faults.DAY_MS + k * 50 * 60_000
            rows.append("(%d,%d,NULL,%d,0,%d,150,%d,NULL,'orphan-%d-%d','',"
                        "'','',1,0,NULL,NULL,%d)"
                        % (user, bottle, at, at // faults.DAY_MS, 5 + i % 5,
                           user, i, at))
    columns = ("user_id, bottle_id, session_id, poured_at_ms, "
               "utc_offset_min, local_day, amount_coz, rating_tenths, "
               "cost_minor, notes, location, tags, companions, auto_grouped, "
               "own_offset, write_token, external_id, created_at_ms")
    statements = []
    for i in range(0, len(rows), 1000):
        statements.append("INSERT INTO pourd_pour (%s) VALUES %s;"
                          % (columns, ",".join(rows[i:i + 1000])))
    db.execute_script("BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;")
    return len(rows)


def lease_holder(db):
    rows = db.query("SELECT holder, expires_at_ms FROM pourd_lease "
                    "WHERE name = 'orphan_sweep'")
    return rows[0] if rows else (None, 0)


def consistent(db, what):
    problems = db.consistency_problems()
    check(not problems, "%s:\n  %s" % (what, "\n  ".join(problems[:20])))


def kill_mid_sweep(bin_dir, url, db, work, figures):
    pourd = os.path.join(bin_dir, "pourd")
    daemon = faults.Pourd(pourd, url, ["--sweep-batch=%d" % BATCH],
                          work=work).wait_listening()
    users = faults.set_up_users(daemon, USERS, "kill")
    total = insert_orphans(db, users)
    check(db.orphans() == total, "the backlog was not inserted")

    # The sweep runs in pourd; the request that started it dies with it.
    answer = {}

    def sweep():
        answer["status"] = faults.request(
            daemon.port, "POST", "/api/cron/check-orphaned-pours",
            token=faults.CRON, timeout=300)[0]
    started = time.monotonic()
    threading.Thread(target=sweep, daemon=True).start()

    holder = "%s:%d" % (socket.gethostname(), daemon.process.pid)
    seen = {}

    def sweeping():
        left = db.orphans()
        held, expires = lease_holder(db)
        if left == 0 or "status" in answer:
            faults.fail("the sweep ended (%s orphans left, answer %s) before "
                        "it could be killed; make the backlog bigger"
                        % (left, answer.get("status")))
        seen.update(left=left, held=held, expires=expires)
        return (left < total * 0.9 and held == holder and
                expires > time.time() * 1000)
    faults.wait_for("the sweep to be half-way", sweeping, 120, 0.05)
    daemon.kill()
    figures["sweep_killed_after_s"] = round(time.monotonic() - started, 2)
    left = db.orphans()
    figures["orphans_before"] = total
    figures["orphans_at_kill"] = left
    check(0 < left < total, "kill landed outside the sweep: %d of %d left"
          % (left, total))
    consistent(db, "after SIGKILL mid-sweep")
    held, expires = lease_holder(db)
    check(held == holder and expires > time.time() * 1000,
          "the killed sweep left no live lease (%s, %s): the takeover "
          "below would prove nothing" % (held, expires))

    # The next start takes the dead process's lease at once and finishes.
    started = time.monotonic()
    daemon = faults.Pourd(pourd, url, ["--sweep-batch=1000"],
                          work=work).wait_listening()
    status, body, _ = daemon.call("POST", "/api/cron/check-orphaned-pours",
                                  token=faults.CRON, timeout=300)
    figures["recovered_after_restart_s"] = round(time.monotonic() - started,
                                                 2)
    check(status == 200, "sweep after restart: %s %s" % (status, body))
    swept = json.loads(body)
    check(swept["remaining"] == 0 and swept["fixed"] == left,
          "the sweep after restart did not finish the backlog: %s" % swept)
    check("took over the sweep lease of a process that is gone" in
          daemon.log(), "no takeover of the dead lease was logged")
    check(db.orphans() == 0, "orphans remain after the second sweep")
    consistent(db, "after the second sweep")
    return daemon, users


def kill_mid_write(bin_dir, url, db, work, daemon, users, figures):
    pourd = os.path.join(bin_dir, "pourd")
    current = {"daemon": daemon}
    writers = faults.Writers(lambda: current["daemon"].port or 1, users[:6],
                             WRITERS)
    writers.start()
    faults.wait_for("writes before the kill",
                    lambda: writers.tally()[0] >= 100, 60)
    daemon.kill()
    killed = time.monotonic()
    acked = writers.tally()[0]
    time.sleep(0.5)
    consistent(db, "after SIGKILL mid-write")

    daemon = faults.Pourd(pourd, url, work=work).wait_listening()
    current["daemon"] = daemon
    figures["restart_to_listening_s"] = round(time.monotonic() - killed, 2)
    faults.wait_for("writes after the restart",
                    lambda: writers.tally()[0] >= acked + 100, 60)
    writers.stop()
    figures["writes"] = writers.verify(db, "kill mid-write")
    consistent(db, "after the restart under writes")
    status, body, _ = daemon.call("POST", "/api/cron/check-orphaned-pours",
                                  token=faults.CRON)
    check(status == 200 and json.loads(body)["orphaned_pours_found"] == 0,
          "writes left orphans: %s %s" % (status, body))
    check(daemon.stop() == 0, "pourd did not exit 0")


def main():
    bin_dir, backend = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="pourd-kill-")
    url = database_url(backend, work)
    db = faults.Database(url)
    figures = {}
    daemon = None
    try:
        daemon, users = kill_mid_sweep(bin_dir, url, db, work, figures)
        kill_mid_write(bin_dir, url, db, work, daemon, users, figures)
        faults.check_with_pourctl(bin_dir, url, [u[2] for u in users])
        print("%s: %s" % (backend, figures))
    finally:
        faults.keep_logs("daemon_kill_" + backend)
        if daemon is not None and daemon.process.poll() is None:
            daemon.process.kill()
        if not db.sqlite:
            faults.Database(os.environ["POURD_TEST_MYSQL_URL"]).execute_script(
                "DROP DATABASE IF EXISTS %s;" % url.rsplit("/", 1)[1])
    faults.remove_work(work)


if __name__ == "__main__":
    main()
