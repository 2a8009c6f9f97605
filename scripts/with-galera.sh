#!/usr/bin/env bash
# Runs a command with a throwaway three-node MariaDB Galera cluster on
# loopback, then stops the nodes and removes their data, also when the
# command fails or is interrupted.
#
# Node 1 bootstraps the cluster; nodes 2 and 3 join it one after the other
# and receive their data by state snapshot transfer (rsync). Every node has
# a datadir of its own and its own SQL, group communication (gcomm),
# incremental state transfer (IST) and state snapshot transfer (SST) ports,
# all on 127.0.0.1 and picked free by the kernel.
#
# The command sees:
#   POURD_TEST_GALERA_URLS     three mysql:// URLs (one per node, in node
#                              order, space-separated) for database
#                              "pourd_test", user pourd
#   POURD_TEST_GALERA_PORTS    the nodes' SQL ports, space-separated
#   POURD_TEST_GALERA_SOCKETS  the nodes' Unix sockets, space-separated
#   POURD_TEST_GALERA_PIDFILES the nodes' pid files (mariadbd writes them)
#   POURD_TEST_GALERA_STARTERS one script per node that starts it again in
#                              the foreground after it was stopped (it
#                              rejoins the running cluster with the same
#                              ports and datadir)
#   POURD_TEST_GALERA_DIR      the directory holding everything
#
# Usage: scripts/with-galera.sh COMMAND [ARG...]
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
provider=/usr/lib/galera/libgalera_smm.so
for tool in mariadb-install-db mariadbd mariadb rsync wsrep_sst_rsync \
            python3; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "with-galera: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done
[ -e "$provider" ] ||
  { echo "with-galera: $provider not found; run scripts/setup.sh" >&2; exit 1; }

nodes=3
dir=$(mktemp -d /tmp/pourd-galera.XXXXXX)
# The nodes run as the mysql user when this script runs as root (the rsync
# transfer cannot read a root-owned datadir), so they must reach into it.
chmod 755 "$dir"
run_as=()
owner=
if [ "$(id -u)" -eq 0 ]; then
  run_as=(--user=mysql)
  owner=mysql
fi

pidfile() { echo "$dir/node$1/mysqld.pid"; }

# Stops every node (and a state transfer's rsync daemon) whose pid file is
# in the directory: politely first, then for good.
stop_all() {
  local f p pids=()
  for f in "$dir"/node*/mysqld.pid "$dir"/node*/data/rsync_sst.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null || true)
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && pids+=("$p")
  done
  for p in ${launched[@]+"${launched[@]}"}; do
    kill -0 "$p" 2>/dev/null && pids+=("$p")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 75); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.2
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}
launched=()
cleanup() {
  stop_all
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ports nothing listens on now: all sockets are bound at once, so the
# numbers differ, and closed before the servers take them. Starting a node
# still retries with fresh ports, since another process may take one first.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

declare -a sql_port gcomm_port ist_port sst_port
pick_ports() {
  local p
  read -r -a p <<<"$(free_ports 4)"
  sql_port[$1]=${p[0]}
  gcomm_port[$1]=${p[1]}
  ist_port[$1]=${p[2]}
  sst_port[$1]=${p[3]}
}

# Writes node N's start script. `first` bootstraps a new cluster; the
# others join the nodes started before them.
write_starter() {
  local n=$1 mode=$2 peers="" i
  for i in $(seq "$nodes"); do
    [ -n "${gcomm_port[$i]:-}" ] || continue
    [ "$i" -eq "$n" ] && continue
    peers+="${peers:+,}127.0.0.1:${gcomm_port[$i]}"
  done
  local bootstrap=""
  [ "$mode" = first ] && bootstrap="--wsrep-new-cluster"
  # Short failure detection (defaults are 5 s and 15 s) so a test that
  # kills a node sees the cluster shrink within seconds.
  local provider_options="gmcast.listen_addr=tcp://127.0.0.1:${gcomm_port[$n]}"
  provider_options+=";ist.recv_addr=127.0.0.1:${ist_port[$n]}"
  provider_options+=";gcache.size=64M"
  provider_options+=";evs.keepalive_period=PT0.5S"
  provider_options+=";evs.suspect_timeout=PT3S"
  provider_options+=";evs.inactive_timeout=PT6S"
  provider_options+=";evs.inactive_check_period=PT0.5S"
  cat >"$dir/node$n/start" <<SH
#!/bin/sh
# Starts node $n of the test cluster in the foreground.
exec mariadbd --no-defaults ${run_as[*]} \\
  --datadir=$dir/node$n/data --socket=$dir/node$n/mysqld.sock \\
  --port=${sql_port[$n]} --bind-address=127.0.0.1 \\
  --pid-file=$(pidfile "$n") --log-error=$dir/node$n/error.log \\
  --skip-name-resolve --max-connections=300 \\
  --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \\
  --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \\
  --innodb-flush-log-at-trx-commit=2 \\
  --binlog-format=ROW --innodb-autoinc-lock-mode=2 \\
  --default-storage-engine=InnoDB \\
  --wsrep-on=ON --wsrep-provider=$provider \\
  --wsrep-cluster-name=pourd-test --wsrep-node-name=node$n \\
  --wsrep-node-address=127.0.0.1:${gcomm_port[$n]} \\
  --wsrep-cluster-address=gcomm://$peers \\
  --wsrep-provider-options='$provider_options' \\
  --wsrep-sst-method=rsync \\
  --wsrep-sst-receive-address=127.0.0.1:${sst_port[$n]} \\
  --wsrep-slave-threads=2 $bootstrap "\$@"
SH
  chmod 755 "$dir/node$n/start"
}

client() {
  local n=$1
  shift
  mariadb --no-defaults --socket="$dir/node$n/mysqld.sock" -uroot "$@"
}

status_of() {
  client "$1" -N -B -e "SHOW STATUS LIKE '$2'" 2>/dev/null | cut -f2
}

# Starts node N and waits until it is Synced in a cluster of N nodes;
# false when it exits first (most often because a port was taken).
start_node() {
  local n=$1
  "$dir/node$n/start" >>"$dir/node$n/stdout.log" 2>&1 &
  launched+=($!)
  local pid=$!
  # A joiner first receives the whole datadir (SST), which takes a while.
  for _ in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if [ "$(status_of "$n" wsrep_local_state_comment)" = Synced ] &&
       [ "$(status_of "$n" wsrep_cluster_size)" = "$n" ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "with-galera: node $n was not Synced within 120 s:" >&2
  tail -n 30 "$dir/node$n/error.log" >&2
  exit 1
}

for n in $(seq "$nodes"); do
  mkdir -p "$dir/node$n/data"
  [ -n "$owner" ] && chown -R "$owner:" "$dir/node$n"
done

# Only the first node gets a fresh system schema; the others receive it.
if ! mariadb-install-db --no-defaults --datadir="$dir/node1/data" \
     ${run_as[@]+"${run_as[@]}"} --auth-root-authentication-method=normal \
     --skip-test-db >"$dir/install.log" 2>&1; then
  echo "with-galera: mariadb-install-db failed:" >&2
  tail -n 20 "$dir/install.log" >&2
  exit 1
fi

started=$(date +%s)
for n in $(seq "$nodes"); do
  mode=join
  [ "$n" -eq 1 ] && mode=first
  for attempt in 1 2 3 4 5; do
    pick_ports "$n"
    write_starter "$n" "$mode"
    start_node "$n" && break
    if [ "$attempt" -eq 5 ]; then
      echo "with-galera: node $n exited:" >&2
      tail -n 30 "$dir/node$n/error.log" >&2
      exit 1
    fi
  done
done

# A node started again later must find every other node, and none may
# bootstrap a second cluster, so the starters now all name all peers.
for n in $(seq "$nodes"); do
  write_starter "$n" join
done

# A password of its own each run, so that the suite's check of every log
# for secrets finds it only where it leaked.
password=db-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
client 1 <<SQL
CREATE DATABASE pourd_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'pourd'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER 'pourd'@'localhost' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'pourd'@'127.0.0.1';
GRANT ALL ON *.* TO 'pourd'@'localhost';
SQL

urls=() ports=() sockets=() pidfiles=() starters=()
for n in $(seq "$nodes"); do
  urls+=("mysql://pourd:$password@127.0.0.1:${sql_port[$n]}/pourd_test")
  ports+=("${sql_port[$n]}")
  sockets+=("$dir/node$n/mysqld.sock")
  pidfiles+=("$(pidfile "$n")")
  starters+=("$dir/node$n/start")
done
export POURD_TEST_GALERA_URLS="${urls[*]}"
export POURD_TEST_GALERA_PORTS="${ports[*]}"
export POURD_TEST_GALERA_SOCKETS="${sockets[*]}"
export POURD_TEST_GALERA_PIDFILES="${pidfiles[*]}"
export POURD_TEST_GALERA_STARTERS="${starters[*]}"
export POURD_TEST_GALERA_DIR="$dir"
echo "with-galera: 3 nodes Synced on 127.0.0.1 ports ${ports[*]}" \
     "in $(( $(date +%s) - started )) s"
set +e
"$@"
status=$?
set -e
exit $status
