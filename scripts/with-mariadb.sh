#!/usr/bin/env bash
# Runs a command with a throwaway MariaDB server on loopback, then removes
# the server and its data, also when the command fails or is interrupted.
# The command sees POURD_TEST_MYSQL_URL (a mysql:// URL for an empty
# database "pourd_test") and POURD_TEST_MYSQL_SOCKET.
#
# Usage: scripts/with-mariadb.sh COMMAND [ARG...]
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
for tool in mariadb-install-db mariadbd mariadb; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "with-mariadb: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/pourd-mariadb.XXXXXX)
sock=$dir/mysqld.sock
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A port nothing listens on now (the kernel picks it); start_server still
# retries, since another process may take it before the server binds.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)

as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--user=root)

if ! mariadb-install-db --no-defaults --datadir="$dir/data" "${as_root[@]}" \
     --auth-root-authentication-method=normal --skip-test-db \
     >"$dir/install.log" 2>&1; then
  echo "with-mariadb: mariadb-install-db failed:" >&2
  tail -n 20 "$dir/install.log" >&2
  exit 1
fi

# Starts the server on `port`; false when it exits before it answers
# (most often because the port was taken).
start_server() {
  mariadbd --no-defaults --datadir="$dir/data" --socket="$sock" \
    --port="$port" --bind-address=127.0.0.1 "${as_root[@]}" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=1 \
    --max-connections=500 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    --log-error="$dir/error.log" --pid-file="$dir/mysqld.pid" &
  pid=$!
  for _ in $(seq 150); do
    if mariadb --no-defaults --socket="$sock" -uroot -e 'SELECT 1' \
         >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { pid=; return 1; }
    sleep 0.2
  done
  echo "with-mariadb: server did not answer within 30 s" >&2
  exit 1
}

for attempt in 1 2 3 4 5; do
  start_server && break
  if [ "$attempt" -eq 5 ]; then
    echo "with-mariadb: server exited:" >&2
    tail -n 20 "$dir/error.log" >&2
    exit 1
  fi
  port=$(free_port)
done

# A password of its own each run, so that a test that greps logs for it
# finds it only where it leaked.
password=db-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mariadb --no-defaults --socket="$sock" -uroot <<SQL
CREATE DATABASE pourd_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'pourd'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER 'pourd'@'localhost' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'pourd'@'127.0.0.1';
GRANT ALL ON *.* TO 'pourd'@'localhost';
SQL

export POURD_TEST_MYSQL_URL="mysql://pourd:$password@127.0.0.1:$port/pourd_test"
export POURD_TEST_MYSQL_SOCKET="$sock"
export POURD_TEST_MYSQL_PORT="$port"
echo "with-mariadb: MariaDB ready on 127.0.0.1:$port"
set +e
"$@"
status=$?
set -e
exit $status
