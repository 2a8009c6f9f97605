#!/usr/bin/env python3
"""pourd on SQLite when the disk fills up and when the database is
read-only: clear answers, no damage, recovery once the cause is gone.

The database lives on a small tmpfs mounted for this test alone. Run it
in a mount namespace of its own (`unshare --mount --propagation private`,
as the ctest registration does) so the mount can never outlive the test
or show up elsewhere. It needs root (CAP_SYS_ADMIN) for the mount; without
it the test fails and says so, since CI runs as root.

1. Disk full under writes: each pour is answered 201 or 507 with a
   problem+json naming the full disk, /readyz turns 503 naming it, every
   acknowledged pour is stored once and every refused one not at all,
   the file passes PRAGMA integrity_check, and once space is freed pourd
   takes writes again without a restart.
2. Read-only: the file system remounted read-only, and the file owned by
   another user than pourd's (pourd run through setpriv as nobody): pourd
   refuses to start with a message naming the read-only database, and
   starts once the cause is gone, with every pour intact.

    disk_faults.py BIN_DIR
"""
import errno
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
from faults import check  # noqa: E402

SIZE = "6m"


def mount_tmpfs(where):
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + SIZE,
                          "tmpfs", where], capture_output=True, text=True)
    if out.returncode != 0:
        faults.fail("cannot mount a tmpfs for the database (%s); this test "
                    "needs root in a mount namespace of its own"
                    % out.stderr.strip())


def remount(where, mode):
    out = subprocess.run(["mount", "-o", "remount," + mode, where],
                         capture_output=True, text=True)
    check(out.returncode == 0, "remount %s failed: %s"
          % (mode, out.stderr.strip()))


def fill(where):
    """Takes every free byte of the file system; returns the filler."""
    path = os.path.join(where, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                check(e.errno == errno.ENOSPC, "filling the disk: %s" % e)
    finally:
        os.close(fd)
    return path


def post(daemon, user, bottle, note, minute):
    return daemon.call("POST", "/api/pours", {
        "user_id": user, "bottle_id": bottle, "amount_oz": 1,
        "rating": 7, "notes": note, "tags": ["t%d" % (minute % 5)],
        "poured_at": "2026-11-20T%02d:%02d:00Z" % (minute // 60 % 24,
                                                   minute % 60)})


def disk_full(bin_dir, disk, work, figures):
    url = "sqlite://" + os.path.join(disk, "pourd.db")
    db = faults.Database(url)
    daemon = faults.Pourd(os.path.join(bin_dir, "pourd"), url,
                          work=work).wait_listening()
    [(user, bottle, email)] = faults.set_up_users(daemon, 1, "disk")
    outcomes = {}
    minute = 0

    def write(prefix):
        nonlocal minute
        note = "%s-%d" % (prefix, minute)
        status, body, headers = post(daemon, user, bottle, note, minute)
        outcomes[note] = (status, body)
        minute += 1
        return status, body, headers

    for _ in range(20):
        check(write("before")[0] == 201, "writes before the disk filled")

    filler = fill(disk)
    refused = None
    for _ in range(2000):
        status, body, headers = write("full")
        check(status in (201, 507), "a write on a full disk answered %s: %s"
              % (status, body[:300]))
        if status == 507:
            refused = (body, headers)
            break
    check(refused is not None, "2000 writes on a full disk all succeeded")
    body, headers = refused
    check(headers.get("Content-Type") == "application/problem+json",
          "the 507 is not problem+json: %s" % headers)
    detail = json.loads(body)["detail"]
    check("full" in detail and "nothing was written" in detail,
          "the 507 does not name the full disk: %s" % detail)
    for _ in range(5):
        check(write("full")[0] == 507, "a write on a full disk succeeded "
              "after one was refused")
    status, body, _ = daemon.call("GET", "/readyz", token=None)
    check(status == 503 and b"full" in body,
          "readyz on a full disk answered %s %s" % (status, body))
    check(daemon.call("GET", "/healthz", token=None)[0] == 200,
          "healthz on a full disk")
    check("disk full" in daemon.log(), "pourd logged nothing about the "
          "full disk")
    check(db.consistency_problems() == [], "inconsistent on a full disk: %s"
          % db.consistency_problems())

    # Space comes back: pourd takes writes again without a restart.
    os.unlink(filler)
    freed = time.monotonic()
    faults.wait_for("readyz after space came back",
                    lambda: daemon.call("GET", "/readyz",
                                        token=None)[0] == 200, 30)
    for _ in range(20):
        status, body, _ = write("after")
        check(status == 201, "a write after space came back answered %s %s"
              % (status, body[:300]))
    figures["disk_full_recovered_s"] = round(time.monotonic() - freed, 2)

    check(daemon.stop() == 0, "pourd did not exit 0")
    counts = db.marker_counts()
    acked = refused_n = 0
    for note, (status, _) in outcomes.items():
        if status == 201:
            acked += 1
            check(counts.get(note) == 1, "%s acknowledged but stored %s "
                  "times" % (note, counts.get(note)))
        else:
            refused_n += 1
            check(note not in counts, "%s refused but stored" % note)
    figures["disk_full"] = {"acknowledged": acked, "refused_507": refused_n}
    problems = db.consistency_problems()
    check(not problems, "inconsistent after the disk filled: %s" % problems)
    faults.check_with_pourctl(bin_dir, url, [email])
    return url, email


def read_only(bin_dir, disk, work, url, email, figures):
    db = faults.Database(url)
    pours = db.scalar("SELECT COUNT(*) FROM pourd_pour")
    pourd = os.path.join(bin_dir, "pourd")

    def refused_start(what, **kw):
        daemon = faults.Pourd(pourd, url, work=work, **kw)
        try:
            code = daemon.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            faults.fail("pourd started on a %s database" % what)
        log = daemon.log()
        check(code == 3, "pourd on a %s database exited %d:\n%s"
              % (what, code, log))
        check("read-only" in log, "pourd on a %s database did not say it "
              "is read-only:\n%s" % (what, log))
        return log.strip().splitlines()[-1]

    # The file system goes read-only.
    remount(disk, "ro")
    figures["read_only_mount"] = refused_start("read-only mounted")
    remount(disk, "rw")

    # The file belongs to root and pourd runs as nobody.
    nobody = 65534
    os.chmod(work, 0o777)
    for name in os.listdir(disk):
        os.chmod(os.path.join(disk, name), 0o644)
    os.chmod(disk, 0o755)
    figures["read_only_file"] = refused_start("root-owned", user=nobody)
    for name in os.listdir(disk):
        os.chown(os.path.join(disk, name), nobody, nobody)
    os.chown(disk, nobody, nobody)

    # Writable again: pourd starts, as nobody, with every pour intact.
    daemon = faults.Pourd(pourd, url, work=work, user=nobody).wait_listening()
    user = json.loads(daemon.call("GET", "/api/orphans")[1])
    check(user["count"] == 0, "orphans after the read-only spell")
    check(db.scalar("SELECT COUNT(*) FROM pourd_pour") == pours,
          "pours changed while the database was read-only")
    uid = db.scalar("SELECT id FROM pourd_user")
    bottle = db.scalar("SELECT id FROM pourd_bottle")
    status, body, _ = post(daemon, uid, bottle, "writable-again", 999)
    check(status == 201, "a write once writable answered %s %s"
          % (status, body))
    check(daemon.stop() == 0, "pourd did not exit 0")
    check(db.consistency_problems() == [], "inconsistent after read-only")
    faults.check_with_pourctl(bin_dir, url, [email])


def main():
    bin_dir = sys.argv[1]
    check(os.geteuid() == 0, "this test mounts a tmpfs and needs root")
    work = tempfile.mkdtemp(prefix="pourd-disk-")
    disk = os.path.join(work, "disk")
    os.mkdir(disk)
    mount_tmpfs(disk)
    figures = {}
    try:
        url, email = disk_full(bin_dir, disk, work, figures)
        read_only(bin_dir, disk, work, url, email, figures)
        print("disk faults: %s" % figures)
    finally:
        subprocess.run(["umount", "-l", disk])
        faults.keep_logs("disk_faults")
    faults.remove_work(work)


if __name__ == "__main__":
    main()
