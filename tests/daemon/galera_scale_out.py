#!/usr/bin/env python3
"""Three pourd instances over a three-node MariaDB Galera cluster.

Run under scripts/with-galera.sh, which starts the cluster: instance N
talks to node N, each with its own listen port and admin token, all three
sweeping every second so the sweep lease is contested. The test checks:

1. Concurrent pours for a few users through all instances at once, timed
   to create, extend and merge sessions across nodes: every acknowledged
   pour is stored once, the sessions are exactly the grouping the rules
   give (recomputed here from the acknowledged pours), statistics equal
   the sums over their pours (recomputed from the database), pourctl
   finds no violation, and Galera's conflicts really happened and were
   retried (certification failures, retries in /metrics), none reaching
   a client.
2. Replays of an Idempotency-Key through another instance, and the same
   new key sent through all three at once, store one pour and answer the
   first answer.
3. Orphans written behind pourd's back are recovered while the instances
   contend for the lease; the recorded sweeps never overlap in time.
4. A node killed (SIGKILL) under write load: the instance on it reports
   503 on /readyz and writes, the other two keep acknowledging, and after
   the node is started again its instance serves again; no acknowledged
   pour is lost, and clients retrying with their Idempotency-Keys end up
   with every pour stored once.
5. A node cut off from the others (a Galera node outside the primary
   component refuses statements with error 1047): its instance reports
   503, not 500, and serves again once the node rejoins.

It prints pours/s, retries, errors and the time to detect the node loss.

    galera_scale_out.py PATH_TO_POURD PATH_TO_POURCTL
"""
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zoneinfo
from datetime import datetime, timedelta, timezone

ZONE = "America/New_York"
TIMEOUT_MS = 4 * 3600 * 1000
USERS = 4
CONTENDED_POURS = 480
WRITER_THREADS = 12

figures = {}


def keep_for_secret_check(instances, password):
    """Copies the instances' logs and notes their secrets for the suite's
    final check (tests/support/check_test_logs.py), when ctest names the
    folder."""
    root = os.environ.get("POURD_TEST_LOG_DIR")
    if not root:
        return
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    os.makedirs(os.path.join(root, "secrets"), exist_ok=True)
    for inst in instances:
        name = "galera_scale_out-%d-%d" % (os.getpid(), inst.index)
        shutil.copyfile(inst.log_path,
                        os.path.join(root, "logs", name + ".log"))
        with open(os.path.join(root, "secrets", name + ".txt"), "a") as f:
            f.write("".join(secret + "\n" for secret in
                            (inst.token, inst.cron_secret, password)))


def fail(message):
    raise SystemExit("FAILED: " + message)


def check(condition, message):
    if not condition:
        fail(message)


def wait_for(what, test, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(0.1)
    fail("timed out after %d s waiting for %s" % (seconds, what))


# ----------------------------------------------------------------------------
# The cluster, seen through the mariadb client.

class Cluster:
    def __init__(self):
        env = os.environ
        self.urls = env["POURD_TEST_GALERA_URLS"].split()
        self.sockets = env["POURD_TEST_GALERA_SOCKETS"].split()
        self.pidfiles = env["POURD_TEST_GALERA_PIDFILES"].split()
        self.starters = env["POURD_TEST_GALERA_STARTERS"].split()
        self.restarted = []

    def sql(self, node, query, database="pourd_test"):
        """Rows of `query` on `node` (0-based), as lists of strings. Reads
        wait until the node applied what the cluster committed before."""
        out = subprocess.run(
            ["mariadb", "--no-defaults", "-uroot",
             "--socket=" + self.sockets[node], "-N", "-B", database,
             "-e", "SET SESSION wsrep_sync_wait = 1; " + query],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("node %d: %s" % (node + 1, out.stderr.strip()))
        return [line.split("\t") for line in out.stdout.splitlines()]

    def status(self, node, name):
        try:
            rows = self.sql(node, "SHOW STATUS LIKE '%s'" % name, "mysql")
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        return rows[0][1] if rows else None

    def pid(self, node):
        with open(self.pidfiles[node]) as f:
            return int(f.read().strip())

    def start(self, node):
        """Starts a stopped node again; it rejoins by state transfer."""
        log = open(os.path.join(os.path.dirname(self.starters[node]),
                                "restart.log"), "a")
        proc = subprocess.Popen([self.starters[node]], stdout=log,
                                stderr=subprocess.STDOUT)
        self.restarted.append(proc)
        return proc

    def synced(self, node, size=3):
        return (self.status(node, "wsrep_local_state_comment") == "Synced"
                and self.status(node, "wsrep_cluster_size") == str(size))


# ----------------------------------------------------------------------------
# pourd instances.

class Instance:
    def __init__(self, index, pourd, url, work):
        self.index = index
        self.token = "galera-token-%d" % index
        self.cron_secret = "galera-cron-%d" % index
        self.dir = os.path.join(work, "pourd%d" % index)
        os.mkdir(self.dir)
        self.log_path = os.path.join(self.dir, "pourd.log")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("POURD_")}
        self.proc = subprocess.Popen(
            [pourd, "--database=" + url, "--state-dir=" + self.dir,
             "--listen=127.0.0.1:0", "--admin-token=" + self.token,
             "--cron-secret=" + self.cron_secret,
             "--sweep-interval=1s", "--sweep-batch=40",
             "--log-format=logfmt"],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
            env=env)
        self.port = None

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def listening(self):
        if self.proc.poll() is not None:
            fail("pourd %d exited with %d:\n%s"
                 % (self.index, self.proc.returncode, self.log()))
        m = re.search(r'msg="listening" address=127\.0\.0\.1:(\d+)',
                      self.log())
        if m:
            self.port = int(m.group(1))
        return self.port is not None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


class Client:
    """Keeps one connection per instance; one Client per thread."""

    def __init__(self, instances):
        self.instances = instances
        self.conns = {}

    def request(self, i, method, path, body=None, key=None, auth=True):
        inst = self.instances[i]
        headers = {}
        if auth:
            headers["Authorization"] = "Bearer " + inst.token
        if key:
            headers["Idempotency-Key"] = key
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = self.conns.get(i)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", inst.port,
                                                  timeout=60)
                self.conns[i] = conn
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                text = answer.read()
                if answer.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.conns.pop(i, None)
                return answer.status, text
            except (http.client.HTTPException, OSError):
                conn.close()
                self.conns.pop(i, None)
                # A kept-alive connection the server closed meanwhile: the
                # request never reached it, so sending it again is safe.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        for conn in self.conns.values():
            conn.close()


def metric_sum(client, i, name, **labels):
    status, text = client.request(i, "GET", "/metrics", auth=False)
    check(status == 200, "/metrics answered %d" % status)
    total = 0.0
    for line in text.decode().splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ----------------------------------------------------------------------------
# The rules, recomputed independently of pourd.

def local_day(utc_ms, zone):
    local = datetime.fromtimestamp(utc_ms / 1000, tz=zone)
    return (local.date() - datetime(1970, 1, 1).date()).days


def offset_min(utc_ms, zone):
    local = datetime.fromtimestamp(utc_ms / 1000, tz=zone)
    return int(local.utcoffset().total_seconds() // 60)


def expected_groups(pours):
    """pours: (id, utc_ms, local_day) of one user, all grouped
    automatically. Returns the set of frozensets of ids that the rules
    put in one session: consecutive pours share one exactly when at most
    T apart on the same local day."""
    groups, current, prev = [], [], None
    for pid, ms, day in sorted(pours, key=lambda p: (p[1], p[0])):
        if prev and not (ms - prev[1] <= TIMEOUT_MS and day == prev[2]):
            groups.append(frozenset(current))
            current = []
        current.append(pid)
        prev = (pid, ms, day)
    if current:
        groups.append(frozenset(current))
    return set(groups)


def rfc3339(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def day_times(rng, zone, first_day, days):
    """Pour instants over `days` local days: steps of 30 min to 6 h, so a
    day holds several sessions, and pours just before and after midnight,
    so some are close in time but on different days."""
    out = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        t = datetime(day.year, day.month, day.day, 8, 0, tzinfo=zone)
        end = datetime(day.year, day.month, day.day, 23, 40, tzinfo=zone)
        while t < end:
            out.append(int(t.timestamp() * 1000))
            t += timedelta(minutes=rng.choice([30, 60, 150, 210, 270, 360]))
        out.append(int(end.timestamp() * 1000))
        out.append(int((end + timedelta(minutes=40)).timestamp() * 1000))
    return out


def pour_body(rng, user, bottle, ms):
    body = {"user_id": user, "bottle_id": bottle,
            "amount_oz": rng.choice([0.5, 0.75, 1, 1.25, 1.5, 2]),
            "poured_at": rfc3339(ms)}
    if rng.random() < 0.7:
        body["rating"] = rng.choice([5, 6.5, 7, 7.5, 8, 8.5, 9.5])
    if rng.random() < 0.5:
        body["tags"] = rng.sample(["peaty", "smoky", "sweet", "oak"],
                                  rng.randint(1, 2))
    if rng.random() < 0.3:
        body["companions"] = [rng.choice(["ann", "bo", "cy"])]
    return body


# ----------------------------------------------------------------------------
# Checks against the database.

def check_database(cluster, pourctl, emails, acknowledged, work, node):
    """Every acknowledged pour stored once and nothing else; sessions and
    statistics exact; pourctl finds no violation and no orphan."""
    zone = zoneinfo.ZoneInfo(ZONE)
    rows = cluster.sql(node, "SELECT id, user_id, session_id, poured_at_ms, "
                             "local_day, amount_coz, auto_grouped "
                             "FROM pourd_pour")
    stored = {int(r[0]): r for r in rows}
    check(len(stored) == len(rows), "pour ids repeat")
    for pid, (user, ms, amount_coz) in acknowledged.items():
        check(pid in stored, "acknowledged pour %d is not stored" % pid)
        r = stored[pid]
        check((int(r[1]), int(r[3]), int(r[5])) == (user, ms, amount_coz),
              "pour %d is stored as %s, acknowledged as %s"
              % (pid, r, (user, ms, amount_coz)))
        check(int(r[4]) == local_day(ms, zone),
              "pour %d is on local day %s, expected %d"
              % (pid, r[4], local_day(ms, zone)))
    extra = set(stored) - set(acknowledged)
    check(not extra, "pours nobody acknowledged: %s" % sorted(extra)[:10])
    check(all(r[2] != "NULL" for r in rows), "orphans remain")

    # The sessions hold exactly the grouping the rules give.
    for user in emails:
        mine = [(pid, int(r[3]), int(r[4])) for pid, r in stored.items()
                if int(r[1]) == user]
        check(all(stored[p[0]][6] == "1" for p in mine),
              "a pour was not grouped automatically")
        by_session = {}
        for pid, _, _ in mine:
            by_session.setdefault(stored[pid][2], set()).add(pid)
        actual = set(frozenset(s) for s in by_session.values())
        expected = expected_groups(mine)
        check(actual == expected,
              "user %d: %d sessions hold the pours, the rules give %d"
              % (user, len(actual), len(expected)))

    # Statistics equal the sums over each live session's pours; merged
    # sessions hold none.
    stats = cluster.sql(node, """
        SELECT s.id, s.merged_into IS NULL, s.pour_count, COUNT(p.id),
               s.total_amount_coz, COALESCE(SUM(p.amount_coz), 0),
               s.total_cost_minor, COALESCE(SUM(p.cost_minor), 0),
               s.rating_sum_tenths, COALESCE(SUM(p.rating_tenths), 0),
               s.rated_count, COUNT(p.rating_tenths),
               COALESCE(s.first_pour_ms, -1), COALESCE(MIN(p.poured_at_ms), -1),
               COALESCE(s.last_pour_ms, -1), COALESCE(MAX(p.poured_at_ms), -1)
        FROM pourd_session s LEFT JOIN pourd_pour p ON p.session_id = s.id
        GROUP BY s.id""")
    live = merged = 0
    for r in stats:
        if r[1] == "0":
            check(r[3] == "0", "merged session %s still holds pours" % r[0])
            merged += 1
            continue
        live += 1
        for k, name in ((2, "pour_count"), (4, "total_amount"),
                        (6, "total_cost"), (8, "rating_sum"),
                        (10, "rated_count"), (12, "first_pour"),
                        (14, "last_pour")):
            check(r[k] == r[k + 1], "session %s: %s is %s, its pours give %s"
                  % (r[0], name, r[k], r[k + 1]))
    tag_rows = cluster.sql(node, """
        SELECT s.id, s.tags, s.companions, p.tags, p.companions
        FROM pourd_session s JOIN pourd_pour p ON p.session_id = s.id""")
    sets = {}
    for sid, stags, scomp, ptags, pcomp in tag_rows:
        entry = sets.setdefault(sid, [stags, scomp, set(), set()])
        entry[2].update(t for t in ptags.split("\\n") if t)
        entry[3].update(c for c in pcomp.split("\\n") if c)
    for sid, (stags, scomp, ptags, pcomp) in sets.items():
        check(set(t for t in stags.split("\\n") if t) == ptags,
              "session %s: tags %r, its pours give %r" % (sid, stags, ptags))
        check(set(c for c in scomp.split("\\n") if c) == pcomp,
              "session %s: companions %r, its pours give %r"
              % (sid, scomp, pcomp))

    # pourctl's own invariant check (it recomputes statistics too).
    base = [pourctl, "--database=" + cluster.urls[node],
            "--state-dir=" + work]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POURD_")}
    for user, email in emails.items():
        out = subprocess.run(base + ["debug-pour-sessions", email, "--json"],
                             capture_output=True, text=True, env=env,
                             timeout=120)
        check(out.returncode == 0, "pourctl debug-pour-sessions for user %d "
              "exited %d: %s" % (user, out.returncode,
                                 out.stdout[-2000:] + out.stderr[-2000:]))
        check(json.loads(out.stdout)["violations"] == [],
              "violations for user %d" % user)
    out = subprocess.run(base + ["monitor-orphaned-pours", "--json"],
                         capture_output=True, text=True, env=env, timeout=60)
    check(out.returncode == 0, "pourctl monitor-orphaned-pours exited %d: %s"
          % (out.returncode, out.stdout + out.stderr))
    return live, merged


# ----------------------------------------------------------------------------
# The phases.

def contended_pours(instances, users, bottles, rng):
    """Many threads, few users, through all instances at once."""
    zone = zoneinfo.ZoneInfo(ZONE)
    tasks = queue.Queue()
    times = {}
    for user in users:
        times[user] = day_times(rng, zone, datetime(2026, 11, 2).date(), 3)
    count = 0
    while count < CONTENDED_POURS:
        for user in users:
            ms = rng.choice(times[user])
            tasks.put((user, pour_body(rng, user, bottles[user], ms),
                       "contended-%d" % count))
            count += 1

    results = []
    lock = threading.Lock()

    def writer(t):
        client = Client(instances)
        n = 0
        while True:
            try:
                user, body, key = tasks.get_nowait()
            except queue.Empty:
                break
            i = (t + n) % len(instances)
            n += 1
            try:
                status, text = client.request(i, "POST", "/api/pours", body,
                                              key=key)
            except (http.client.HTTPException, OSError) as e:
                status, text = -1, str(e).encode()
            with lock:
                results.append((i, user, body, key, status, text))
        client.close()

    start = time.monotonic()
    threads = [threading.Thread(target=writer, args=(t,))
               for t in range(WRITER_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return results, elapsed


def main():
    pourd, pourctl = sys.argv[1], sys.argv[2]
    cluster = Cluster()
    work = tempfile.mkdtemp(prefix="pourd-galera-test-")
    rng = random.Random(int(os.environ.get("POURD_TEST_SEED",
                                           str(time.time_ns()))))
    instances = []
    began = time.monotonic()
    try:
        # Instance 1 creates the schema; the others start once their node
        # has applied it (replication runs behind by a moment, and two
        # instances that both find no schema would both create it).
        instances.append(Instance(1, pourd, cluster.urls[0], work))
        wait_for("pourd 1 to listen", instances[0].listening, 60)

        def schema_everywhere():
            try:
                return all(cluster.sql(n, "SELECT version FROM "
                                          "schema_version") != []
                           for n in (1, 2))
            except RuntimeError:
                return False
        wait_for("the schema on every node", schema_everywhere, 30)
        for n in (2, 3):
            instances.append(Instance(n, pourd, cluster.urls[n - 1], work))
        for inst in instances[1:]:
            wait_for("pourd %d to listen" % inst.index, inst.listening, 60)
        client = Client(instances)
        run(cluster, pourctl, instances, client, rng, work)
        client.close()
        for inst in instances:
            code = inst.stop()
            check(code == 0, "pourd %d exited %s" % (inst.index, code))
    except BaseException:
        for inst in instances:
            if inst.proc.poll() is None:
                inst.proc.kill()
            sys.stderr.write("---- pourd %d log (tail)\n" % inst.index)
            sys.stderr.write("\n".join(inst.log().splitlines()[-40:]) + "\n")
        raise
    finally:
        keep_for_secret_check(
            instances, urllib.parse.urlsplit(cluster.urls[0]).password)
        for proc in cluster.restarted:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    figures["test_seconds"] = round(time.monotonic() - began, 1)
    print("figures: " + " ".join("%s=%s" % kv for kv in figures.items()))
    print("pourd scaled out over Galera: every check passed")


def run(cluster, pourctl, instances, client, rng, work):
    zone = zoneinfo.ZoneInfo(ZONE)
    users, bottles = [], {}
    for n in range(USERS):
        status, text = client.request(n % 3, "POST", "/api/users", {
            "email": "galera%d@example.com" % (n + 1), "time_zone": ZONE})
        check(status == 201, "user: %d %s" % (status, text))
        uid = json.loads(text)["user"]["id"]
        status, text = client.request((n + 1) % 3, "POST", "/api/bottles", {
            "user_id": uid, "name": "Rye", "price": 45, "volume_ml": 750})
        check(status == 201, "bottle: %d %s" % (status, text))
        users.append(uid)
        bottles[uid] = json.loads(text)["bottle"]["id"]
    emails = {uid: "galera%d@example.com" % (n + 1)
              for n, uid in enumerate(users)}

    def galera_conflicts():
        return sum(int(cluster.status(n, s) or 0) for n in range(3)
                   for s in ("wsrep_local_cert_failures",
                             "wsrep_local_bf_aborts"))

    # 1. Contended pours.
    conflicts_before = galera_conflicts()
    results, elapsed = contended_pours(instances, users, bottles, rng)
    acknowledged = {}
    answers = {}
    errors = [r for r in results if r[4] != 201]
    for i, user, body, key, status, text in results:
        if status == 201:
            answer = json.loads(text)
            pid = answer["pour"]["id"]
            check(pid not in acknowledged, "pour id %d acknowledged twice"
                  % pid)
            ms = int(datetime.strptime(body["poured_at"], "%Y-%m-%dT%H:%M:%SZ")
                     .replace(tzinfo=timezone.utc).timestamp() * 1000)
            acknowledged[pid] = (user, ms, round(body["amount_oz"] * 100))
            answers[key] = (i, user, body, text)
    retries = sum(metric_sum(client, i, "pourd_database_retries_total",
                             kind="deadlock", retried="true")
                  for i in range(3))
    exhausted = sum(metric_sum(client, i, "pourd_database_retries_total",
                               retried="false") for i in range(3))
    conflicts = galera_conflicts() - conflicts_before
    figures["contended_pours"] = len(results)
    figures["contended_pours_per_s"] = round(len(acknowledged) / elapsed, 1)
    figures["contended_seconds"] = round(elapsed, 2)
    figures["deadlock_retries"] = int(retries)
    figures["galera_conflicts"] = conflicts
    figures["contended_errors"] = len(errors)
    print("contended: %d pours in %.2f s (%.1f/s) through 3 instances, "
          "%d retries after deadlocks, %d Galera certification failures "
          "and brute-force aborts, %d errors"
          % (len(results), elapsed, len(acknowledged) / elapsed, retries,
             conflicts, len(errors)), flush=True)
    check(not errors, "requests failed under contention: %s"
          % [(r[4], r[5][:200]) for r in errors[:5]])
    check(exhausted == 0, "%d transactions ran out of retries" % exhausted)
    check(conflicts > 0 and retries > 0,
          "no write conflict between nodes happened, so this run tested "
          "nothing about them (conflicts %d, retries %d)"
          % (conflicts, retries))
    sessions, merged = check_database(cluster, pourctl, emails,
                                      acknowledged, work, node=1)
    figures["sessions_merged"] = merged
    print("contended: %d pours stored once in %d sessions (%d more were "
          "merged away), statistics exact, no violation"
          % (len(acknowledged), sessions, merged), flush=True)
    check(merged > 0, "no late pour merged two sessions; the arrival order "
          "did not test merges")

    # 2. Idempotent replays through another instance.
    replayed = 0
    for key in rng.sample(sorted(answers), 24):
        i, user, body, first = answers[key]
        other = (i + 1 + rng.randint(0, 1)) % 3
        status, text = client.request(other, "POST", "/api/pours", body,
                                      key=key)
        check(status == 200, "replay of %s through pourd %d answered %d %s"
              % (key, other + 1, status, text))
        check(json.loads(text) == json.loads(first),
              "replay of %s answered another body" % key)
        replayed += 1
    # The same new key through all three instances at once.
    racing = []
    for n in range(8):
        user = users[n % USERS]
        body = pour_body(rng, user, bottles[user],
                         day_times(rng, zone, datetime(2026, 11, 2).date(),
                                   1)[0])
        key = "racing-%d" % n
        out = [None] * 3
        barrier = threading.Barrier(3)

        def send(i, body=body, key=key, out=out, barrier=barrier):
            c = Client(instances)
            c.request(i, "GET", "/healthz", auth=False)
            barrier.wait()
            out[i] = c.request(i, "POST", "/api/pours", body, key=key)
            c.close()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _ in out)
        check(statuses == [200, 200, 201],
              "one key sent through three instances at once answered %s: %s"
              % (statuses, [t[:200] for _, t in out]))
        bodies = [json.loads(t) for _, t in out]
        check(bodies[0] == bodies[1] == bodies[2],
              "one key through three instances answered different bodies")
        pour = bodies[0]["pour"]
        ms = int(datetime.strptime(body["poured_at"], "%Y-%m-%dT%H:%M:%SZ")
                 .replace(tzinfo=timezone.utc).timestamp() * 1000)
        acknowledged[pour["id"]] = (user, ms, round(body["amount_oz"] * 100))
        racing.append(key)
    check_database(cluster, pourctl, emails, acknowledged, work,
                   node=2)
    print("idempotency: %d replays through another instance and %d keys "
          "raced through all three stored nothing new" % (replayed,
                                                          len(racing)),
          flush=True)

    # 3. Orphans behind pourd's back, recovered by contending sweepers.
    orphans = []
    first_day = datetime(2026, 10, 5).date()
    for user in users:
        for ms in day_times(rng, zone, first_day, 4):
            for _ in range(rng.randint(1, 4)):
                orphans.append((user, ms, rng.choice([50, 100, 150])))
    values = ",".join(
        "(%d, %d, NULL, %d, %d, %d, %d, '', '', '', '', 1, 1, %d)"
        % (user, bottles[user], ms, offset_min(ms, zone),
           local_day(ms, zone), coz, ms) for user, ms, coz in orphans)
    sweeps_before = int(cluster.sql(0, "SELECT COUNT(*) FROM "
                                       "pourd_sweep_run")[0][0])
    cluster.sql(1, "INSERT INTO pourd_pour (user_id, bottle_id, session_id, "
                   "poured_at_ms, utc_offset_min, local_day, amount_coz, "
                   "notes, location, tags, companions, auto_grouped, "
                   "own_offset, created_at_ms) VALUES " + values)
    t0 = time.monotonic()
    wait_for("the sweepers to recover %d orphans" % len(orphans),
             lambda: cluster.sql(0, "SELECT COUNT(*) FROM pourd_pour WHERE "
                                    "session_id IS NULL")[0][0] == "0", 90)
    figures["orphans_recovered"] = len(orphans)
    figures["orphan_recovery_seconds"] = round(time.monotonic() - t0, 1)
    all_rows = cluster.sql(0, "SELECT id, user_id, poured_at_ms, amount_coz "
                              "FROM pourd_pour")
    known = set(acknowledged)
    for pid, user, ms, coz in all_rows:
        if int(pid) not in known:
            acknowledged[int(pid)] = (int(user), int(ms), int(coz))
    check(len(acknowledged) == len(known) + len(orphans),
          "%d pours after recovery, expected %d"
          % (len(acknowledged), len(known) + len(orphans)))
    # Let every instance's timer fire a few more times over an empty table.
    time.sleep(2.5)
    runs = cluster.sql(0, "SELECT holder, started_at_ms, finished_at_ms, "
                          "fixed, error FROM pourd_sweep_run ORDER BY "
                          "started_at_ms, id")
    check(len(runs) > sweeps_before, "no sweep was recorded")
    good = [r for r in runs if r[4] == ""]
    for a, b in zip(good, good[1:]):
        check(int(b[1]) >= int(a[2]),
              "sweeps overlap: %s from %s to %s and %s from %s to %s"
              % (a[0], a[1], a[2], b[0], b[1], b[2]))
    holders = {}
    for r in good:
        holders[r[0]] = holders.get(r[0], 0) + 1
    fixed = sum(int(r[3]) for r in good)
    check(fixed == len(orphans), "the sweeps fixed %d orphans, %d were "
          "inserted" % (fixed, len(orphans)))
    skipped = sum(inst.log().count('result=skipped') for inst in instances)
    figures["sweeps"] = len(good)
    figures["sweeps_skipped_for_lease"] = skipped
    check_database(cluster, pourctl, emails, acknowledged, work,
                   node=0)
    print("sweep: %d orphans recovered in %.1f s by %d sweeps of %d "
          "instances (%s), none overlapping; %d sweeps skipped because "
          "another instance held the lease"
          % (len(orphans), figures["orphan_recovery_seconds"], len(good),
             len(holders), ", ".join("%d" % v for v in holders.values()),
             skipped), flush=True)

    node_loss(cluster, instances, client, users, bottles, acknowledged, rng)
    node_isolated(cluster, instances, client, users, bottles, rng)
    check_database(cluster, pourctl, emails, acknowledged, work,
                   node=2)
    print("after the node loss and the isolation: %d pours stored once, "
          "no violation" % len(acknowledged), flush=True)


def node_loss(cluster, instances, client, users, bottles, acknowledged, rng):
    """Kills node 3 under write load and starts it again."""
    zone = zoneinfo.ZoneInfo(ZONE)
    victim = 2
    times = {u: day_times(rng, zone, datetime(2026, 9, 7).date(), 2)
             for u in users}
    stop = threading.Event()
    results = []
    lock = threading.Lock()
    counter = [0]

    def writer(t):
        c = Client(instances)
        i = t % 3
        while not stop.is_set():
            with lock:
                n = counter[0]
                counter[0] += 1
            user = users[n % len(users)]
            body = pour_body(rng, user, bottles[user],
                             rng.choice(times[user]))
            key = "loss-%d" % n
            sent = time.monotonic()
            try:
                status, text = c.request(i, "POST", "/api/pours", body,
                                         key=key)
            except (http.client.HTTPException, OSError) as e:
                status, text = -1, str(e).encode()
            with lock:
                results.append((i, user, body, key, status, text, sent,
                                time.monotonic()))
            if status != 201:
                time.sleep(0.05)
        c.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    time.sleep(3)

    pid = cluster.pid(victim)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    detect = {}

    def readyz(i):
        try:
            return client.request(i, "GET", "/readyz", auth=False)[0]
        except (http.client.HTTPException, OSError):
            return -1

    def detected():
        if "readyz" not in detect and readyz(victim) == 503:
            detect["readyz"] = time.monotonic() - killed
        if "cluster" not in detect and \
                cluster.status(0, "wsrep_cluster_size") == "2":
            detect["cluster"] = time.monotonic() - killed
        return len(detect) == 2
    wait_for("the loss of node 3 to be seen", detected, 60)
    shrunk = killed + detect["cluster"]
    check(readyz(0) == 200 and readyz(1) == 200,
          "instances on the surviving nodes report not ready")
    time.sleep(3)
    status, text = client.request(victim, "POST", "/api/pours", pour_body(
        rng, users[0], bottles[users[0]], times[users[0]][0]))
    check(status == 503, "a write through the instance on the dead node "
          "answered %d %s" % (status, text))

    # The node comes back on its datadir and rejoins by state transfer.
    restarted = time.monotonic()
    cluster.start(victim)
    wait_for("node 3 to rejoin", lambda: cluster.synced(victim), 120)
    wait_for("pourd 3 to be ready again", lambda: readyz(victim) == 200, 30)
    back = time.monotonic()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()

    # Nothing acknowledged may be missing; nothing but 201 and 503 may
    # have been answered; the instances on live nodes kept acknowledging
    # while node 3 was gone.
    bad = [r for r in results if r[4] not in (201, 503)]
    check(not bad, "answers other than 201 or 503 during the node loss: %s"
          % [(r[0] + 1, r[4], r[5][:200]) for r in bad[:5]])
    # The cluster's change of membership aborts transactions in flight on
    # every node; a contended write on a live node may use up its retries
    # then and answer 503 (its keyed retry below must then succeed). Only
    # then: outside the membership change, live nodes answer every write.
    window = (killed - 1.0, shrunk + 2.0)
    for i in (0, 1):
        mine = [r for r in results if r[0] == i]
        refused = [r for r in mine if r[4] != 201]
        outside = [r for r in refused
                   if not (window[0] <= r[7] <= window[1])]
        check(not outside,
              "pourd %d, on a live node, failed writes outside the "
              "membership change: %s"
              % (i + 1, [(r[4], r[5][:200]) for r in outside][:3]))
        check(len(refused) <= 3,
              "pourd %d, on a live node, failed %d writes during the "
              "membership change" % (i + 1, len(refused)))
        during = [r for r in mine if r[6] > shrunk and r[7] < restarted]
        check(during, "pourd %d acknowledged nothing while node 3 was down"
              % (i + 1))
    after = [r for r in results if r[0] == victim and r[6] > back]
    check(after and all(r[4] == 201 for r in after),
          "pourd 3 did not serve again after node 3 rejoined: %s"
          % sorted(set(r[4] for r in after)))
    stall = 0.0
    for i in (0, 1):
        mine = sorted(r[7] for r in results if r[0] == i and r[4] == 201)
        gaps = [b - a for a, b in zip(mine, mine[1:]) if b > killed]
        stall = max([stall] + gaps)
    failed_503 = [r for r in results if r[4] == 503]
    ok = [r for r in results if r[4] == 201]

    # A client that got 503 sends the same request again with its key:
    # pours whose COMMIT reached the cluster before the node died are
    # answered from the key, the others are written now.
    replays = {"200": 0, "201": 0}
    for i, user, body, key, status, text, _, _ in failed_503:
        status, text = client.request(0, "POST", "/api/pours", body, key=key)
        check(status in (200, 201), "retry of %s answered %d %s"
              % (key, status, text))
        replays[str(status)] += 1
        ok.append((0, user, body, key, status, text, 0, 0))
    for i, user, body, key, status, text, _, _ in ok:
        pid = json.loads(text)["pour"]["id"]
        ms = int(datetime.strptime(body["poured_at"], "%Y-%m-%dT%H:%M:%SZ")
                 .replace(tzinfo=timezone.utc).timestamp() * 1000)
        check(pid not in acknowledged or acknowledged[pid] ==
              (user, ms, round(body["amount_oz"] * 100)),
              "pour %d acknowledged for two requests" % pid)
        acknowledged[pid] = (user, ms, round(body["amount_oz"] * 100))
    stored = set(r[0].split(":", 1)[1] for r in cluster.sql(
        0, "SELECT `key` FROM pourd_idempotency WHERE `key` LIKE '%:loss-%'"))
    missing = [(r[0] + 1, r[3], r[4], round(r[6] - killed, 2),
                round(r[7] - killed, 2)) for r in results
               if r[3] not in stored]
    check(not missing, "requests whose key is not stored (instance, key, "
          "status, sent and answered in s after the kill): %s" % missing)

    figures["node_loss_requests"] = len(results)
    figures["node_loss_503"] = len(failed_503)
    figures["readyz_503_after_s"] = round(detect["readyz"], 2)
    figures["cluster_shrank_after_s"] = round(detect["cluster"], 2)
    figures["longest_stall_on_live_nodes_s"] = round(stall, 2)
    figures["node_rejoin_s"] = round(back - restarted, 1)
    print("node loss: SIGKILL of node 3 under load; pourd 3 answered 503 "
          "on /readyz after %.2f s, the cluster shrank to 2 after %.2f s, "
          "the live instances' longest pause between acknowledged writes "
          "was %.2f s; %d of %d writes got 503 (%d through pourd 3), "
          "retried with their keys: %d already stored, %d written; node 3 "
          "rejoined and pourd 3 was ready %.1f s after its restart"
          % (detect["readyz"], detect["cluster"], stall, len(failed_503),
             len(results), sum(1 for r in failed_503 if r[0] == victim),
             replays["200"], replays["201"], back - restarted),
          flush=True)


def node_isolated(cluster, instances, client, users, bottles, rng):
    """Cuts node 2 off the group: it leaves the primary component and
    refuses statements (1047) until it rejoins."""
    node = 1
    cluster.sql(node, "SET GLOBAL wsrep_provider_options='gmcast.isolate=1'",
                "mysql")
    try:
        wait_for("node 2 to leave the primary component",
                 lambda: cluster.status(node, "wsrep_cluster_status") ==
                 "non-Primary", 60)

        def not_ready():
            return client.request(node, "GET", "/readyz", auth=False)[0] \
                == 503
        wait_for("pourd 2 to report not ready", not_ready, 30)
        user = users[0]
        status, text = client.request(node, "POST", "/api/pours", pour_body(
            rng, user, bottles[user], 1790000000000))
        check(status == 503, "a write on a node outside the primary "
              "component answered %d %s" % (status, text))
        refused = metric_sum(client, node, "pourd_database_retries_total",
                             kind="not_ready")
        check(refused > 0, "the refusals were not counted as not_ready")
    finally:
        cluster.sql(node, "SET GLOBAL wsrep_provider_options="
                          "'gmcast.isolate=0'", "mysql")
    wait_for("node 2 to rejoin", lambda: cluster.synced(node), 90)
    wait_for("pourd 2 to be ready again",
             lambda: client.request(node, "GET", "/readyz",
                                    auth=False)[0] == 200, 30)
    print("isolation: a node outside the primary component made its "
          "instance answer 503 (readyz and writes), and it served again "
          "after rejoining", flush=True)


if __name__ == "__main__":
    main()
