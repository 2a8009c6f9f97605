#!/usr/bin/env python3
"""The test suite's logs hold none of the secrets its tests used.

Usage: check_test_logs.py --reset DIR   (first test of a run: empty DIR)
       check_test_logs.py --check DIR   (last test: scan DIR/logs)

Tests note every secret they use (admin tokens, cron secrets, database
passwords, wrong tokens sent on purpose) in DIR/secrets/*, one a line, and
keep what pourd and pourctl wrote in DIR/logs/ (see
tests/support/test_logs.hpp). Any secret found in any log fails the run.
"""
import os
import shutil
import sys

# Shorter values would match ordinary words; no test secret is that short.
MIN_LENGTH = 8


def reset(root):
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "logs"))
    os.makedirs(os.path.join(root, "secrets"))
    print("test logs and secrets go to", root)
    return 0


def files_under(path):
    for base, _, names in os.walk(path):
        for name in sorted(names):
            yield os.path.join(base, name)


def check(root):
    secrets = set()
    for path in files_under(os.path.join(root, "secrets")):
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                if len(line) >= MIN_LENGTH:
                    secrets.add(line)
    logs = list(files_under(os.path.join(root, "logs")))
    leaks = []
    scanned = 0
    for path in logs:
        with open(path, "rb") as f:
            data = f.read()
        scanned += len(data)
        for s in secrets:
            if s in data:
                leaks.append((path, s))
    print("%d secrets, %d logs, %d bytes scanned" %
          (len(secrets), len(logs), scanned))
    for path, s in leaks:
        # Enough to find the secret, not enough to reuse it.
        print("FAIL: a secret (%r..., %d bytes) appears in %s" %
              (s[:4], len(s), os.path.relpath(path, root)))
    if logs and not secrets:
        print("FAIL: logs were kept but no secret was noted; the "
              "recording in tests/support/test_logs.cpp is broken")
        return 1
    return 1 if leaks else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--reset", "--check"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "--reset":
        return reset(sys.argv[2])
    return check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
