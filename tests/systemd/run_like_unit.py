#!/usr/bin/env python3
"""Starts the built pourd the way systemd/pourd.service starts it and checks
what systemd and an operator rely on.

Same command line as the unit's ExecStart (binary path and config path
swapped for the build tree's and a scratch copy of the sample config), same
environment: STATE_DIRECTORY, CREDENTIALS_DIRECTORY holding admin_token and
cron_secret, NOTIFY_SOCKET (a unix datagram socket read here), WATCHDOG_USEC,
the unit's UMask and WorkingDirectory. Legacy pours imported with pourctl
beforehand are orphans for the cron route to fix.

Checks: READY=1, STATUS= and WATCHDOG=1 arrive; /healthz and /readyz answer;
the cron route takes the credential's secret (and refuses another one); the
admin route takes the admin credential; systemd/pourd-cron-check fires the
cron route; SIGHUP gives RELOADING=1 then READY=1; SIGTERM gives STOPPING=1
and a clean exit within TimeoutStopSec; files in the state directory are
private. The daemon's logfmt log is kept for the mtail test.

Usage: run_like_unit.py SOURCE_DIR BIN_DIR WORK_DIR
       [--strace FILE] [--user NAME]
Exit 77 (skipped) while bin/pourd or bin/pourctl are not built.
"""

import argparse
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

SKIP = 77
ADMIN_TOKEN = "admin-" + "a1" * 16
CRON_SECRET = "cron-" + "c3" * 16
USER_EMAIL = "unit-test@example.org"

# Five legacy rows of one user: three on one evening (one session), two a
# week later (another). The sweep must find and fix all five.
CSV = """checkin_id,created_at_utc,tz_offset_minutes,drink_name,producer,\
style,abv,serving_type,rating,venue_category,comment_length
9001,2024-03-01T18:00:00Z,60,Pale One,Test Brewery,Pale Ale,5.0,Draft,4,Bar,0
9002,2024-03-01T19:10:00Z,60,Stout Two,Test Brewery,Stout,7.5,Bottle,3.5,Bar,0
9003,2024-03-01T20:30:00Z,60,Sour Three,Test Brewery,Sour,4.2,Can,,Bar,0
9004,2024-03-08T17:00:00Z,60,Lager Four,Test Brewery,Lager,4.8,Draft,3,Home,0
9005,2024-03-08T18:45:00Z,60,IPA Five,Test Brewery,IPA,6.5,Can,4.5,Home,0
"""
CSV_ROWS = 5


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print("ok:", message)


def unit_settings(path):
    """The [Service] settings of a unit file, each key with all values."""
    settings = {}
    section = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            key, _, value = line.partition("=")
            settings.setdefault((section, key), []).append(value)
    return settings


def seconds(text):
    m = re.fullmatch(r"(\d+)(s|min)?", text)
    if not m:
        raise Failure("cannot read duration " + text)
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


class Notifications:
    """Collects sd_notify datagrams on a socket of our own."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                for line in data.decode().split("\n"):
                    if line:
                        self.messages.append(line)
                self.cond.notify_all()

    def wait_for(self, predicate, timeout, start=0):
        """Index of the first message from `start` on that matches."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if predicate(self.messages[i]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def http(method, url, token=None, timeout=30):
    req = urllib.request.Request(url, method=method)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("bin_dir")
    ap.add_argument("work")
    ap.add_argument("--strace", help="record the daemon's system calls here")
    ap.add_argument("--user", help="run the daemon as this user (root only)")
    args = ap.parse_args()
    args.source = os.path.abspath(args.source)
    args.bin_dir = os.path.abspath(args.bin_dir)
    args.work = os.path.abspath(args.work)

    pourd = os.path.join(args.bin_dir, "pourd")
    pourctl = os.path.join(args.bin_dir, "pourctl")
    for b in (pourd, pourctl):
        if not os.access(b, os.X_OK):
            print("skipped: %s is not built yet" % b)
            return SKIP

    unit = os.path.join(args.source, "systemd", "pourd.service")
    s = unit_settings(unit)
    svc = "[Service]"
    exec_start = shlex.split(s[(svc, "ExecStart")][0])
    check(exec_start == ["/usr/bin/pourd", "--config", "/etc/pourd/pourd.conf"],
          "unit starts /usr/bin/pourd --config /etc/pourd/pourd.conf")
    umask = int(s[(svc, "UMask")][0], 8)
    stop_timeout = seconds(s[(svc, "TimeoutStopSec")][0])
    credentials = [v.split(":", 1)[0] for v in s[(svc, "LoadCredential")]]
    check(sorted(credentials) == ["admin_token", "cron_secret"],
          "unit loads the admin_token and cron_secret credentials")

    # A fresh scratch tree: state, credentials, config, notify socket.
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    state = os.path.join(work, "state")
    creds = os.path.join(work, "credentials")
    os.makedirs(state, mode=0o750)
    os.makedirs(creds)
    with open(os.path.join(creds, "admin_token"), "w") as f:
        f.write(ADMIN_TOKEN + "\n")
    with open(os.path.join(creds, "cron_secret"), "w") as f:
        f.write(CRON_SECRET + "\n")
    for name in credentials:
        os.chmod(os.path.join(creds, name), 0o400)
    os.chmod(creds, 0o500)

    port = free_port()
    base = "http://127.0.0.1:%d" % port
    sample = os.path.join(args.source, "systemd", "pourd.conf.sample")
    with open(sample) as f:
        text = f.read()
    check(re.search(r"^state_dir = /var/lib/pourd$", text, re.M) is not None,
          "sample config sets state_dir = /var/lib/pourd")
    text = re.sub(r"^state_dir = .*$", "state_dir = " + state, text,
                  flags=re.M)
    text += ("\n# Test settings.\nlisten = 127.0.0.1:%d\nlog_format = logfmt\n"
             "log_level = debug\nsweep_interval = 0\n" % port)
    config = os.path.join(work, "pourd.conf")
    with open(config, "w") as f:
        f.write(text)

    run_as = None
    if args.user:
        run_as = pwd.getpwnam(args.user)
        for root, dirs, files in os.walk(work):
            for p in [root] + [os.path.join(root, n) for n in files]:
                os.chown(p, run_as.pw_uid, run_as.pw_gid)
    os.chmod(work, 0o755)

    def demote():
        os.umask(umask)
        if run_as:
            os.setgroups([])
            os.setgid(run_as.pw_gid)
            os.setuid(run_as.pw_uid)

    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "STATE_DIRECTORY": state,
        "CREDENTIALS_DIRECTORY": creds,
    }

    # Legacy pours, imported as orphans with the same configuration.
    csv_path = os.path.join(work, "legacy.csv")
    with open(csv_path, "w") as f:
        f.write(CSV)
    if run_as:
        os.chown(csv_path, run_as.pw_uid, run_as.pw_gid)
    for cmd in (["migrate"],
                ["import", csv_path, "--format", "drink-log-csv",
                 "--user", USER_EMAIL, "--time-zone", "Europe/Oslo"]):
        r = subprocess.run([pourctl, "--config", config] + cmd, env=env,
                           cwd=state, preexec_fn=demote,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "pourctl %s (%s)" % (cmd[0],
                                                       r.stderr.strip()))

    notify_path = os.path.join(work, "notify")
    notes = Notifications(notify_path)
    os.chmod(notify_path, 0o777)
    env_daemon = dict(env, NOTIFY_SOCKET=notify_path,
                      WATCHDOG_USEC="2000000")

    argv = [pourd, "--config", config]
    if args.strace:
        argv = ["strace", "-f", "-qq", "-o", args.strace] + argv
    log_path = os.path.join(work, "pourd.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, env=env_daemon, cwd=state,
                            stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=demote)
    try:
        run_checks(args, proc, notes, base, stop_timeout, env, state, port)
    finally:
        if proc.poll() is None:
            # Under strace, killing strace alone would leave pourd running.
            try:
                os.kill(daemon_pid(proc, args.strace), signal.SIGKILL)
            except (Failure, OSError):
                pass
            proc.kill()
            proc.wait()
        notes.close()
        log.close()
        print("--- pourd log ---")
        with open(log_path) as f:
            sys.stdout.write(f.read())
        keep_for_secret_check(log_path, [ADMIN_TOKEN, CRON_SECRET])
    return 0


def keep_for_secret_check(log_path, secrets):
    """Copies the log and notes the secrets for the suite's final check
    (tests/support/check_test_logs.py), when ctest names the folder."""
    root = os.environ.get("POURD_TEST_LOG_DIR")
    if not root:
        return
    name = "run_like_unit-%d" % os.getpid()
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    os.makedirs(os.path.join(root, "secrets"), exist_ok=True)
    shutil.copyfile(log_path, os.path.join(root, "logs", name + ".log"))
    with open(os.path.join(root, "secrets", name + ".txt"), "a") as f:
        f.write("".join(s + "\n" for s in secrets))


def daemon_pid(proc, traced):
    """pourd's pid: the child of strace when traced (a signal to strace
    would end the trace, not reach pourd)."""
    if not traced:
        return proc.pid
    with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
        children = f.read().split()
    if len(children) != 1:
        raise Failure("cannot find pourd under strace: %s" % children)
    return int(children[0])


def run_checks(args, proc, notes, base, stop_timeout, env, state, port):
    ready = notes.wait_for(lambda m: m == "READY=1", 30)
    check(ready is not None and proc.poll() is None, "READY=1 within 30 s")
    pid = daemon_pid(proc, args.strace)

    status, body = http("GET", base + "/healthz")
    check(status == 200, "/healthz answers 200")
    status, body = http("GET", base + "/readyz")
    check(status == 200, "/readyz answers 200")

    cron = base + "/api/cron/check-orphaned-pours"
    status, _ = http("POST", cron)
    check(status == 401, "cron route without a token answers 401")
    status, _ = http("POST", cron, ADMIN_TOKEN)
    check(status == 401, "cron route refuses the admin token")
    status, body = http("POST", cron, CRON_SECRET)
    check(status == 200, "cron route takes the credential's secret")
    answer = json.loads(body)
    check((answer["orphaned_pours_found"], answer["fixed"],
           answer["remaining"]) == (CSV_ROWS, CSV_ROWS, 0),
          "the sweep found and fixed %d orphans: %s" % (CSV_ROWS, body))

    status, body = http("GET", base + "/api/orphans", ADMIN_TOKEN)
    check(status == 200 and json.loads(body)["count"] == 0,
          "admin route takes the admin credential; no orphans left")
    status, _ = http("GET", base + "/api/orphans", CRON_SECRET)
    check(status == 401, "admin route refuses the cron secret")
    check(not os.path.exists(os.path.join(state, "admin-token")),
          "no admin token generated when the credential is there")

    # The timer's script, with the same credential, as the check unit runs it.
    script = os.path.join(args.source, "systemd", "pourd-cron-check")
    r = subprocess.run([script], env=dict(env, POURD_CHECK_URL=cron),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and json.loads(r.stdout)["remaining"] == 0,
          "pourd-cron-check fires the cron route (%s)" % r.stderr.strip())
    r = subprocess.run([script], env={"PATH": env["PATH"],
                                      "POURD_CHECK_URL": cron},
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2, "pourd-cron-check without a secret exits 2")

    i = notes.wait_for(lambda m: m == "WATCHDOG=1", 5)
    check(i is not None, "WATCHDOG=1 at half of WATCHDOG_USEC")
    i = notes.wait_for(lambda m: m.startswith("STATUS=last sweep"), 5)
    check(i is not None, "STATUS= carries the last sweep summary: %s"
          % (notes.messages[i] if i is not None else ""))

    start = len(notes.messages)
    os.kill(pid, signal.SIGHUP)
    i = notes.wait_for(lambda m: m == "RELOADING=1", 10, start)
    j = notes.wait_for(lambda m: m == "READY=1", 10, (i or start) + 1)
    check(i is not None and j is not None,
          "SIGHUP: RELOADING=1 then READY=1")
    status, _ = http("GET", base + "/healthz")
    check(status == 200, "still serving after the reload")

    start = len(notes.messages)
    began = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=stop_timeout)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - began
    check(notes.wait_for(lambda m: m == "STOPPING=1", 1, start) is not None,
          "SIGTERM: STOPPING=1")
    check(code == 0, "exit status 0 after SIGTERM, in %.1f s (bound %d s)"
          % (took, stop_timeout))

    loose = []
    for name in os.listdir(state):
        mode = os.stat(os.path.join(state, name)).st_mode & 0o777
        if mode & 0o077:
            loose.append("%s %o" % (name, mode))
    check(not loose, "files in the state directory are private %s" % loose)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("FAIL:", e)
        sys.exit(1)
