#!/usr/bin/env python3
"""pourd stores a pour once when its connection breaks during COMMIT.

Run under scripts/with-mariadb.sh. pourd talks to MariaDB through a small
TCP relay on loopback that reads the client's MySQL packets. Armed, the
relay breaks the connection at the next COMMIT, in one of two ways:

  after   COMMIT reaches the server, which commits and answers; the relay
          drops the answer and closes both sides. The pour is stored, but
          pourd only sees the connection lost.
  before  the relay closes both sides instead of passing COMMIT on; the
          server rolls the transaction back.

Both must end in exactly one stored pour and a 201 that names it: pourd
must find out which way the commit went, not guess. A blind retry stores
the pour twice in the first case.

    commit_lost.py BIN_DIR
"""
import json
import os
import select
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
from faults import check  # noqa: E402

COM_QUERY = 3


class Relay:
    """Passes bytes between pourd and MariaDB; breaks one COMMIT when
    armed."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.mode = None   # "before" or "after" while armed
        self.fired = []    # modes that broke a COMMIT, in order
        self.commits = 0   # COMMITs seen in all
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, mode):
        with self.lock:
            self.mode = mode

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server),
                             daemon=True).start()

    def _pump(self, client, server):
        pending = b""      # client bytes not yet framed into packets
        swallow = False    # drop the server's next answer, then close
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [])
                if server in ready:
                    data = server.recv(65536)
                    if not data or swallow:
                        break
                    client.sendall(data)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        break
                    pending += data
                    # Pass on whole packets: 3-byte length, sequence, body.
                    while len(pending) >= 4:
                        size = int.from_bytes(pending[:3], "little")
                        if len(pending) < 4 + size:
                            break
                        packet, pending = pending[:4 + size], pending[4 + size:]
                        body = packet[4:]
                        if (body[:1] == bytes([COM_QUERY]) and
                                body[1:].strip().lower() == b"commit"):
                            with self.lock:
                                self.commits += 1
                                mode, self.mode = self.mode, None
                                if mode:
                                    self.fired.append(mode)
                            if mode == "before":
                                return
                            if mode == "after":
                                swallow = True
                        server.sendall(packet)
        except OSError:
            pass
        finally:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def main():
    bin_dir = sys.argv[1]
    url = os.environ["POURD_TEST_MYSQL_URL"]
    port = int(os.environ["POURD_TEST_MYSQL_PORT"])
    relay = Relay(port)
    via_relay = url.replace(":%d/" % port, ":%d/" % relay.port)
    db = faults.Database(url)

    daemon = faults.Pourd(os.path.join(bin_dir, "pourd"), via_relay)
    try:
        daemon.wait_listening()
        [(user, bottle, email)] = faults.set_up_users(daemon, 1, "commit")
        rounds = []
        for i, mode in enumerate(["after", "before"] * 4 + ["after"]):
            note = "commit-%s-%d" % (mode, i)
            headers = {}
            if i == 8:
                headers["Idempotency-Key"] = "key-" + note
            fired_before = len(relay.fired)
            relay.arm(mode)
            started = time.monotonic()
            status, body, _ = daemon.call(
                "POST", "/api/pours",
                {"user_id": user, "bottle_id": bottle, "amount_oz": 1,
                 "notes": note,
                 "poured_at": "2026-11-20T20:%02d:00Z" % (i * 5)},
                headers=headers)
            took = time.monotonic() - started
            check(len(relay.fired) == fired_before + 1,
                  "round %d: no COMMIT passed the relay while it was armed"
                  % i)
            check(status == 201, "round %d (%s): answered %s %s"
                  % (i, mode, status, body[:300]))
            stored = db.query("SELECT id FROM pourd_pour WHERE notes = '%s'"
                              % note)
            check(len(stored) == 1, "round %d (%s): the pour is stored %d "
                  "times" % (i, mode, len(stored)))
            answered = json.loads(body)["pour"]["id"]
            check(stored[0][0] == answered,
                  "round %d (%s): answered pour %d but stored %d"
                  % (i, mode, answered, stored[0][0]))
            rounds.append((mode, took))
            if headers:
                # The replay finds the first answer: the key was stored
                # with the pour.
                status, again, _ = daemon.call(
                    "POST", "/api/pours",
                    {"user_id": user, "bottle_id": bottle, "amount_oz": 1,
                     "notes": note,
                     "poured_at": "2026-11-20T20:%02d:00Z" % (i * 5)},
                    headers=headers)
                check(status == 200 and again == body,
                      "replay after a lost COMMIT answered %s" % status)

        lost = daemon.metric("pourd_database_retries_total",
                             'kind="commit_lost"')
        check(lost == len(rounds),
              "pourd counted %s lost COMMITs, the relay broke %d"
              % (lost, len(rounds)))
        pours = db.scalar("SELECT COUNT(*) FROM pourd_pour")
        check(pours == len(rounds), "%d pours stored for %d requests"
              % (pours, len(rounds)))
        problems = db.consistency_problems()
        check(not problems, "inconsistent: %s" % problems)
        check(daemon.stop() == 0, "pourd did not exit 0")
        faults.check_with_pourctl(bin_dir, url, [email])
        slowest = max(t for _, t in rounds)
        print("COMMIT broken %d times (%d after the server committed, %d "
              "before): every pour stored once and answered 201; slowest "
              "answer %.2f s" % (len(rounds),
                                 sum(1 for m, _ in rounds if m == "after"),
                                 sum(1 for m, _ in rounds if m == "before"),
                                 slowest))
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
        faults.keep_logs("commit_lost")
    faults.remove_work(daemon.work)


if __name__ == "__main__":
    main()
