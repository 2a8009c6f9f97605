#!/usr/bin/env bash
# Installs every Debian 12 package that pourd, its tests and its tools need.
# Idempotent: when everything is present it checks and exits in a second.
# Works as root or through sudo. Usage: scripts/setup.sh
set -euo pipefail

[ $# -eq 0 ] || { echo "setup: takes no arguments" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E bash "$0" "$@"
  fi
  echo "setup: needs root (or sudo) to install packages" >&2
  exit 1
fi

# Packages from Debian 12 itself: build, libraries, the test database and
# its three-node Galera cluster (the provider, and rsync, ss and ps for the
# rsync state transfer), the tools tests and benchmarks drive
# (systemd-analyze, dpkg-shlibdeps, mtail, promtool, strace, wrk, sysbench;
# mount, unshare and setpriv for the disk fault tests), and clang with its
# runtime (libFuzzer, sanitizers) for scripts/fuzz.sh.
packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  tzdata odb libsqlite3-dev libmariadb-dev libmariadb-dev-compat
  mariadb-server mariadb-client galera-4 rsync iproute2 procps
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libhowardhinnant-date-dev libcli11-dev libsystemd-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 systemd dpkg-dev mtail prometheus strace wrk sysbench clang-format
  util-linux mount clang libclang-rt-14-dev
)

# The ODB runtime exists only in Debian 11; its GCC 10 builds link fine
# against Debian 12's libc and libstdc++. Pinned low so nothing else moves.
odb_runtime=(libodb-dev libodb-mysql-dev libodb-sqlite-dev)

missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      echo "$p"
  done
}

need=($(missing "${packages[@]}"))
need_odb=($(missing "${odb_runtime[@]}"))
if [ ${#need[@]} -eq 0 ] && [ ${#need_odb[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/pourd-setup.XXXXXX)
trap 'rm -f "$log"' EXIT
run() {
  if ! "$@" >>"$log" 2>&1; then
    echo "setup: failed: $*" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}

src=/etc/apt/sources.list.d/pourd-bullseye.sources
if [ ! -f "$src" ]; then
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources \
        2>/dev/null || true)
  uri=${uri:-http://deb.debian.org/debian}
  cat >"$src" <<SRC
Types: deb
URIs: $uri
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat >/etc/apt/preferences.d/pourd-bullseye <<PIN
Package: *
Pin: release n=bullseye
Pin-Priority: 100
PIN
fi

echo "setup: installing ${need[*]} ${need_odb[*]}"
run apt-get update -q
if [ ${#need[@]} -gt 0 ]; then
  run apt-get install -y -q --no-install-recommends "${need[@]}"
fi
if [ ${#need_odb[@]} -gt 0 ]; then
  run apt-get install -y -q --no-install-recommends -t bullseye "${need_odb[@]}"
fi
# Packaged servers start themselves on install; tests run their own
# MariaDB and call mtail and promtool as plain commands.
if command -v systemctl >/dev/null 2>&1; then
  for unit in mariadb mtail prometheus; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
echo "setup: done"
