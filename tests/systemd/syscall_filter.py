#!/usr/bin/env python3
"""pourd stays inside the unit's SystemCallFilter.

systemd's seccomp filter cannot be applied without systemd as the service
manager, so this test records every system call a full run makes (the
run_like_unit scenario, under strace, as an unprivileged user as the unit
runs it) and checks each against the filter's allow list, expanded with
`systemd-analyze syscall-filter`. A call outside it would fail with EPERM
(SystemCallErrorNumber=EPERM) under systemd.

Limitation: only the paths this scenario exercises are traced; MariaDB
connections and error paths are not.

Usage: syscall_filter.py SOURCE_DIR BIN_DIR WORK_DIR
Exit 77 (skipped) while pourd is not built, or when not run as root (the
daemon must be started as another user).
"""

import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def groups():
    """Every syscall group systemd knows: name -> members (may be groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         capture_output=True, text=True, check=True).stdout
    result, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            result[current] = set()
        elif current and line.strip() and not line.strip().startswith("#"):
            result[current].add(line.strip())
    return result


def expand(name, known, seen=None):
    seen = seen or set()
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    calls = set()
    for member in known.get(name, ()):
        calls |= expand(member, known, seen)
    return calls


def unit_filter(unit):
    """(allowed, denied) syscall sets from the unit's SystemCallFilter=."""
    allowed, denied = set(), set()
    known = groups()
    with open(unit) as f:
        for line in f:
            m = re.match(r"^SystemCallFilter=(~?)(.*)$", line.strip())
            if not m:
                continue
            names = set()
            for item in m.group(2).split():
                names |= expand(item, known)
            (denied if m.group(1) else allowed).update(names)
    return allowed, denied


def main():
    source, bin_dir, work = (os.path.abspath(a) for a in sys.argv[1:4])
    if not os.access(os.path.join(bin_dir, "pourd"), os.X_OK):
        print("skipped: pourd is not built yet")
        return SKIP
    if os.geteuid() != 0:
        print("skipped: needs root to start pourd as the user nobody")
        return SKIP
    if shutil.which("strace") is None:
        print("FAIL: strace is not installed")
        return 1

    unit = os.path.join(source, "systemd", "pourd.service")
    allowed, denied = unit_filter(unit)
    permitted = allowed - denied
    print("filter allows %d system calls" % len(permitted))

    # Inside the work tree, which the unprivileged run owns.
    trace = os.path.join(work, "pourd.strace")
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, os.path.join(here, "run_like_unit.py"),
                        source, bin_dir, work, "--strace", trace,
                        "--user", "nobody"])
    if r.returncode != 0:
        print("FAIL: the traced run failed (%d)" % r.returncode)
        return 1

    used = set()
    with open(trace) as f:
        for line in f:
            m = re.match(r"^\d+\s+([a-z0-9_]+)\(", line)
            if m:
                used.add(m.group(1))
    os.remove(trace)
    outside = sorted(used - permitted)
    print("pourd made %d distinct system calls" % len(used))
    if outside:
        print("FAIL: outside SystemCallFilter: " + " ".join(outside))
        return 1
    print("ok: every system call is inside SystemCallFilter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
