"""What the fault tests share: the real pourd on loopback, plain HTTP,
and a look at the database that does not go through pourd.

Every check here reads the tables directly (the sqlite3 module, or the
mariadb client over the test server's socket), so a bug in pourd's own
invariant checker cannot hide a broken database.
"""
import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN = "fault-test-token"
CRON = "fault-test-cron"
DAY_MS = 86_400_000


# Every Pourd started, so keep_logs finds their logs and a failed test
# leaves none running.
_daemons = []


@atexit.register
def _kill_leftovers():
    for daemon in _daemons:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def keep_logs(name):
    """Copies every pourd log of this test, and notes the secrets it used,
    for the suite's final check that no log holds a secret
    (tests/support/check_test_logs.py), when ctest names the folder."""
    root = os.environ.get("POURD_TEST_LOG_DIR")
    if not root:
        return
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    os.makedirs(os.path.join(root, "secrets"), exist_ok=True)
    for i, daemon in enumerate(_daemons):
        if os.path.exists(daemon.log_path):
            shutil.copyfile(daemon.log_path, os.path.join(
                root, "logs", "%s-%d-%d.log" % (name, os.getpid(), i)))
    secrets = [TOKEN, CRON]
    url = os.environ.get("POURD_TEST_MYSQL_URL", "")
    password = urllib.parse.urlsplit(url).password if url else None
    if password:
        secrets.append(password)
    with open(os.path.join(root, "secrets", "%s-%d.txt"
                           % (name, os.getpid())), "a") as f:
        f.write("".join(s + "\n" for s in secrets))


def remove_work(path):
    """Removes a test's directory once it passed; a failed test keeps it
    for a look at pourd's log."""
    shutil.rmtree(path, ignore_errors=True)


def fail(message):
    """Ends the test with a message; the exit status makes ctest fail."""
    sys.stdout.flush()
    sys.exit("FAILED: " + message)


def check(condition, message):
    if not condition:
        fail(message)


def wait_for(what, test, seconds=60, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(step)
    fail("timed out after %d s waiting for %s" % (seconds, what))


def request(port, method, path, body=None, token=TOKEN, headers=None,
            timeout=60):
    """(status, body bytes, headers); status None when no answer came."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
    except (OSError, urllib.error.URLError) as e:
        return None, str(e).encode(), {}


class Pourd:
    """The real daemon with its own state directory and log file."""

    def __init__(self, binary, database, args=(), work=None, user=None):
        self.work = work or tempfile.mkdtemp(prefix="pourd-fault-")
        self.log_path = os.path.join(
            self.work, "pourd-%d.log" % int(time.monotonic() * 1000))
        self.log_file = open(self.log_path, "w")
        command = [binary, "--database=" + database,
                   "--state-dir=" + self.work, "--listen=127.0.0.1:0",
                   "--admin-token=" + TOKEN, "--cron-secret=" + CRON,
                   "--sweep-interval=0", "--log-format=logfmt"] + list(args)
        if user:
            command = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
                       "--clear-groups", "--"] + command
        self.process = subprocess.Popen(command, stdout=self.log_file,
                                        stderr=subprocess.STDOUT)
        self.port = None
        _daemons.append(self)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_listening(self, seconds=60):
        def listening():
            text = self.log()
            marker = 'msg="listening" address=127.0.0.1:'
            if marker in text:
                self.port = int(text.split(marker)[1].split()[0])
                return True
            if self.process.poll() is not None:
                fail("pourd exited with %d before listening:\n%s"
                     % (self.process.returncode, text))
            return False
        wait_for("pourd to listen", listening, seconds)
        return self

    def call(self, method, path, body=None, **kw):
        return request(self.port, method, path, body, **kw)

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        """SIGTERM; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                fail("pourd did not stop within 60 s of SIGTERM")
        return self.process.returncode

    def metric(self, name, labels=""):
        status, body, _ = self.call("GET", "/metrics", token=None)
        check(status == 200, "/metrics answered %s" % status)
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                if labels in line:
                    total += float(line.rsplit(" ", 1)[1])
        return total


class Database:
    """Direct SQL on the database pourd uses."""

    def __init__(self, url):
        self.url = url
        if url.startswith("sqlite://"):
            self.path = url[len("sqlite://"):]
            self.socket = None
        else:
            self.path = None
            self.socket = os.environ["POURD_TEST_MYSQL_SOCKET"]
            self.name = url.rsplit("/", 1)[1].split("?")[0]

    @property
    def sqlite(self):
        return self.path is not None

    def query(self, sql):
        """Rows as tuples; MariaDB values come back as int or str."""
        if self.sqlite:
            c = sqlite3.connect(self.path, timeout=30)
            try:
                return [tuple(r) for r in c.execute(sql).fetchall()]
            finally:
                c.close()
        out = subprocess.run(
            ["mariadb", "--no-defaults", "--socket=" + self.socket, "-uroot",
             "-N", "-B", self.name, "-e", sql],
            capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("mariadb: " + out.stderr.strip())
        rows = []
        for line in out.stdout.splitlines():
            row = []
            for v in line.split("\t"):
                if v == "NULL":
                    row.append(None)
                else:
                    try:
                        row.append(int(v))
                    except ValueError:
                        row.append(v)
            rows.append(tuple(row))
        return rows

    def execute_script(self, sql):
        if self.sqlite:
            c = sqlite3.connect(self.path, timeout=30)
            try:
                c.executescript(sql)
                c.commit()
            finally:
                c.close()
            return
        out = subprocess.run(
            ["mariadb", "--no-defaults", "--socket=" + self.socket, "-uroot",
             self.name], input=sql, capture_output=True, text=True,
            timeout=300)
        if out.returncode != 0:
            raise RuntimeError("mariadb: " + out.stderr.strip())

    def scalar(self, sql):
        return self.query(sql)[0][0]

    def marker_counts(self):
        """How many pours carry each note."""
        return dict(self.query(
            "SELECT notes, COUNT(*) FROM pourd_pour GROUP BY notes"))

    def orphans(self):
        return self.scalar(
            "SELECT COUNT(*) FROM pourd_pour WHERE session_id IS NULL")

    def consistency_problems(self):
        """Breaches of what every committed state must satisfy: each live
        session's statistics equal the sums over its pours, no session
        but a 'current' one is empty, no pour sits in a missing or merged
        session. Checked in SQL, apart from pourd's own checker."""
        problems = []
        rows = self.query(
            "SELECT s.id, s.origin, s.pour_count, COUNT(p.id),"
            " s.total_amount_coz, COALESCE(SUM(p.amount_coz), 0),"
            " s.total_cost_minor, COALESCE(SUM(p.cost_minor), 0),"
            " s.rating_sum_tenths, COALESCE(SUM(p.rating_tenths), 0),"
            " s.rated_count, COUNT(p.rating_tenths),"
            " s.first_pour_ms, MIN(p.poured_at_ms),"
            " s.last_pour_ms, MAX(p.poured_at_ms)"
            " FROM pourd_session s LEFT JOIN pourd_pour p"
            " ON p.session_id = s.id WHERE s.merged_into IS NULL"
            " GROUP BY s.id, s.origin, s.pour_count, s.total_amount_coz,"
            " s.total_cost_minor, s.rating_sum_tenths, s.rated_count,"
            " s.first_pour_ms, s.last_pour_ms")
        names = ["pour_count", "total_amount_coz", "total_cost_minor",
                 "rating_sum_tenths", "rated_count", "first_pour_ms",
                 "last_pour_ms"]
        for r in rows:
            sid, origin = r[0], r[1]
            for i, name in enumerate(names):
                stored, actual = r[2 + 2 * i], r[3 + 2 * i]
                if stored != actual:
                    problems.append("session %s: %s is %s, its pours give %s"
                                    % (sid, name, stored, actual))
            if r[3] == 0 and origin != 1:
                problems.append("session %s (origin %s) has no pour"
                                % (sid, origin))
        stray = self.scalar(
            "SELECT COUNT(*) FROM pourd_pour p LEFT JOIN pourd_session s"
            " ON s.id = p.session_id WHERE p.session_id IS NOT NULL"
            " AND (s.id IS NULL OR s.merged_into IS NOT NULL)")
        if stray:
            problems.append("%d pours sit in a missing or merged session"
                            % stray)
        if self.sqlite:
            ok = self.query("PRAGMA integrity_check")
            if ok != [("ok",)]:
                problems.append("integrity_check: %r" % (ok,))
        return problems


def pourctl(bin_dir, database, *args):
    """(exit status, output) of pourctl against `database`."""
    out = subprocess.run(
        [os.path.join(bin_dir, "pourctl"), "--database=" + database]
        + list(args), capture_output=True, text=True, timeout=300)
    return out.returncode, out.stdout + out.stderr


def check_with_pourctl(bin_dir, database, emails):
    """No orphans, and the invariant holds for every user."""
    status, out = pourctl(bin_dir, database, "monitor-orphaned-pours")
    check(status == 0, "monitor-orphaned-pours exit %d:\n%s" % (status, out))
    for email in emails:
        status, out = pourctl(bin_dir, database, "debug-pour-sessions", email)
        check(status == 0, "debug-pour-sessions %s exit %d:\n%s"
              % (email, status, out[-3000:]))


def set_up_users(daemon, count, prefix):
    """Creates users with one priced bottle each; [(user id, bottle id,
    email)]."""
    out = []
    for i in range(count):
        email = "%s%d@example.com" % (prefix, i)
        status, body, _ = daemon.call("POST", "/api/users", {"email": email})
        check(status == 201, "create user: %s %s" % (status, body))
        user = json.loads(body)["user"]["id"]
        status, body, _ = daemon.call(
            "POST", "/api/bottles",
            {"user_id": user, "name": "Rye", "price": 40, "volume_ml": 750})
        check(status == 201, "create bottle: %s %s" % (status, body))
        out.append((user, json.loads(body)["bottle"]["id"], email))
    return out


class Writers:
    """Threads that post pours as fast as pourd takes them, each with a
    unique note, and remember what every request was answered."""

    def __init__(self, port_of, users, threads, day="2026-11-20"):
        self.port_of = port_of  # called per request: the port may change
        self.users = users
        self.threads = threads
        self.day = day
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = {}  # note -> (status, body)
        self.workers = []

    def _run(self, k):
        n = 0
        while not self.stop_flag.is_set():
            user, bottle, _ = self.users[(k + n) % len(self.users)]
            note = "w%d-%d" % (k, n)
            # Spread over a day so pours extend, start and merge sessions.
            minute = (k * 97 + n * 31) % (20 * 60)
            body = {"user_id": user, "bottle_id": bottle, "amount_oz": 1.5,
                    "rating": (n % 10) + 0.5, "notes": note,
                    "tags": ["t%d" % (n % 3)],
                    "poured_at": "%sT%02d:%02d:00Z"
                    % (self.day, minute // 60, minute % 60)}
            status, answer, _ = request(self.port_of(), "POST", "/api/pours",
                                        body, timeout=90)
            with self.lock:
                self.outcomes[note] = (status, answer)
            n += 1
            if status is None or status >= 500:
                time.sleep(0.05)

    def start(self):
        for k in range(self.threads):
            t = threading.Thread(target=self._run, args=(k,), daemon=True)
            t.start()
            self.workers.append(t)

    def stop(self):
        self.stop_flag.set()
        for t in self.workers:
            t.join(timeout=120)
            check(not t.is_alive(), "a writer is stuck in a request")

    def tally(self):
        with self.lock:
            acked = sum(1 for s, _ in self.outcomes.values()
                        if s is not None and 200 <= s < 300)
            return acked, len(self.outcomes) - acked

    def verify(self, db, what):
        """Every acknowledged pour stored once, every refused one not at
        all, ones in flight when pourd died (or whose outcome pourd said is
        unknown) at most once. Returns the counts."""
        counts = db.marker_counts()
        acked = failed = unknown = unanswered = refused = 0
        lost, doubled, leftover = [], [], []
        for note, (status, body) in sorted(self.outcomes.items()):
            stored = counts.get(note, 0)
            if stored > 1:
                doubled.append("%s stored %d times (answer %s)"
                               % (note, stored, status))
            if status is not None and 200 <= status < 300:
                acked += 1
                if stored != 1:
                    lost.append("%s acknowledged but stored %d times"
                                % (note, stored))
                elif json.loads(body)["pour"]["notes"] != note:
                    lost.append("%s answered with another pour" % note)
            elif status is None and b"refused" in body:
                # pourd was down: the request never reached it.
                refused += 1
                if stored != 0:
                    leftover.append("%s was refused a connection but "
                                    "stored" % note)
            elif status is None:
                # Sent, and pourd died before answering: either way.
                unanswered += 1
            elif b"is unknown" in body:
                unknown += 1
            else:
                failed += 1
                if stored != 0:
                    leftover.append("%s failed with %s but was stored: %s"
                                    % (note, status, body[:200]))
        problems = lost + doubled + leftover
        check(not problems, "%s: %d problems:\n  %s"
              % (what, len(problems), "\n  ".join(problems[:20])))
        return {"acknowledged": acked, "failed": failed,
                "unknown_outcome": unknown,
                "in_flight_when_killed": unanswered,
                "connection_refused": refused, "lost_or_doubled": 0}
