#!/usr/bin/env python3
"""pourd rides out a restart of its MariaDB server.

Run under scripts/with-mariadb.sh, which gives this test a server of its
own: the test kills that server outright, checks that /readyz turns 503
and writes fail cleanly while /healthz stays up, starts the server again
on the same data and port, and checks that readiness and writes come back
without restarting pourd, with every acknowledged pour stored once.

    database_restart.py PATH_TO_POURD
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN = "restart-test-token"


def keep_for_secret_check(log_path, secrets):
    """Copies the log and notes the secrets for the suite's final check
    (tests/support/check_test_logs.py), when ctest names the folder."""
    root = os.environ.get("POURD_TEST_LOG_DIR")
    if not root:
        return
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    os.makedirs(os.path.join(root, "secrets"), exist_ok=True)
    shutil.copyfile(log_path, os.path.join(
        root, "logs", "database_restart-%d.log" % os.getpid()))
    with open(os.path.join(root, "secrets", "database_restart-%d.txt" %
                           os.getpid()), "a") as f:
        f.write("".join(s + "\n" for s in secrets if s))


def request(port, method, path, body=None, token=TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(what, check, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    sys.exit("timed out waiting for " + what)


def main():
    pourd = sys.argv[1]
    url = os.environ["POURD_TEST_MYSQL_URL"]
    sock = os.environ["POURD_TEST_MYSQL_SOCKET"]
    port = int(os.environ["POURD_TEST_MYSQL_PORT"])
    server_dir = os.path.dirname(sock)
    with open(os.path.join(server_dir, "mysqld.pid")) as f:
        server_pid = int(f.read().strip())

    work = tempfile.mkdtemp(prefix="pourd-restart-")
    log = open(os.path.join(work, "pourd.log"), "w")
    daemon = subprocess.Popen(
        [pourd, "--database=" + url, "--state-dir=" + work,
         "--listen=127.0.0.1:0", "--admin-token=" + TOKEN,
         "--sweep-interval=0", "--log-format=logfmt"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        listen = None

        def listening():
            nonlocal listen
            text = open(log.name).read()
            marker = 'msg="listening" address=127.0.0.1:'
            if marker in text:
                listen = int(text.split(marker)[1].split()[0])
            return listen is not None
        wait_for("pourd to listen", listening)

        status, body = request(listen, "POST", "/api/users",
                               {"email": "restart@example.com"})
        assert status == 201, (status, body)
        user = json.loads(body)["user"]["id"]
        status, body = request(listen, "POST", "/api/bottles",
                               {"user_id": user, "name": "Rye"})
        assert status == 201, (status, body)
        bottle = json.loads(body)["bottle"]["id"]
        acknowledged = []

        def pour(minute):
            status, body = request(listen, "POST", "/api/pours", {
                "user_id": user, "bottle_id": bottle, "amount_oz": 1,
                "poured_at": "2026-12-03T20:%02d:00Z" % minute})
            if status == 201:
                acknowledged.append(json.loads(body)["pour"]["id"])
            return status

        assert pour(0) == 201
        assert request(listen, "GET", "/readyz", token=None)[0] == 200

        # The server dies without warning.
        os.kill(server_pid, signal.SIGKILL)
        wait_for("readyz to report the database gone",
                 lambda: request(listen, "GET", "/readyz",
                                 token=None)[0] == 503)
        assert request(listen, "GET", "/healthz", token=None)[0] == 200
        status = pour(1)
        assert status == 503, "a write without a database answered %d" % status

        # The same server comes back on the same data and port.
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        server = subprocess.Popen(
            ["mariadbd", "--no-defaults",
             "--datadir=" + os.path.join(server_dir, "data"),
             "--socket=" + sock, "--port=%d" % port,
             "--bind-address=127.0.0.1",
             "--pid-file=" + os.path.join(server_dir, "mysqld.pid"),
             "--log-error=" + os.path.join(server_dir, "error2.log")]
            + as_root)
        try:
            wait_for("readyz to recover",
                     lambda: request(listen, "GET", "/readyz",
                                     token=None)[0] == 200)
            for minute in range(2, 12):
                assert pour(minute) == 201
            status, body = request(listen, "GET",
                                   "/api/users/%d/sessions" % user)
            assert status == 200, (status, body)
            sessions = json.loads(body)["sessions"]
            total = sum(s["pour_count"] for s in sessions)
            assert len(sessions) == 1, sessions
            assert total == len(acknowledged) == 11, (total, acknowledged)
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0, "pourd did not exit 0"
            server.terminate()
            server.wait(timeout=60)
        print("pourd rode out the restart: readyz 503 then 200, "
              "%d acknowledged pours stored once" % len(acknowledged))
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
        keep_for_secret_check(log.name, [TOKEN, urllib.parse.urlsplit(url)
                                         .password or ""])


if __name__ == "__main__":
    main()
