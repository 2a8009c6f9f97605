#!/usr/bin/env python3
"""Starts a command with NOTIFY_SOCKET set and prints the milliseconds
until it sends READY=1, then stops it with SIGTERM.

    ready_time.py COMMAND [ARG...]
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        start = time.monotonic()
        proc = subprocess.Popen(sys.argv[1:], env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            while True:
                message = sock.recv(4096).decode()
                if "READY=1" in message.split("\n"):
                    break
            print("%.1f" % ((time.monotonic() - start) * 1000))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

if __name__ == "__main__":
    main()
