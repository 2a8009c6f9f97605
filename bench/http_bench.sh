#!/usr/bin/env bash
# HTTP pour creation and pourd's resources, each next to the raw limit of
# the same database measured in the same run.
#
#   bench/http_bench.sh [--quick] [BUILD_DIR]
#
# Rows: pours/s through HTTP at 16 and 64 connections on MariaDB next to
# sysbench oltp_write_only at the same concurrency on the same server;
# pours/s on SQLite next to raw single-row insert transactions; peak and
# idle memory; time from start to READY. The MariaDB rows need
# POURD_TEST_MYSQL_URL and POURD_TEST_MYSQL_SOCKET (scripts/with-mariadb.sh).
# The MariaDB rows alternate pourd and sysbench in ROUNDS rounds of
# DURATION seconds each and give the medians: the server's fsync latency
# on a shared machine moves sysbench's rate by half within minutes, and
# loads measured far apart would compare two different machines.
# --quick runs each load for seconds so CI keeps the script working.
set -euo pipefail

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
bin=$build/bin
duration=10; rounds=3; users=200
if [ $quick -eq 1 ]; then duration=2; rounds=1; users=20; fi

for tool in wrk curl python3; do
  command -v $tool >/dev/null || { echo "http_bench: $tool missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/pourd-http-bench.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A port nothing listens on now (the kernel picks it).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=bench-$RANDOM$RANDOM
base=http://127.0.0.1:$port

start_pourd() {
  rm -rf "$work/state"
  "$bin/pourd" --database="$1" --state-dir="$work/state" \
    --listen=127.0.0.1:$port --admin-token=$token --sweep-interval=0 \
    --log-level=warn >>"$work/pourd.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -fs $base/healthz >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "http_bench: pourd did not start:" >&2
  tail -n 20 "$work/pourd.log" >&2
  exit 1
}

stop_pourd() {
  kill -TERM "$pid"
  wait "$pid" || { echo "http_bench: pourd exited $?" >&2; exit 1; }
  pid=
}

# Users 1..N with bottle N each, so the wrk script can pick them by number.
seed() {
  for i in $(seq "$users"); do
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
      -d "{\"email\":\"bench$i@example.com\",\"time_zone\":\"Europe/Oslo\"}" \
      $base/api/users
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
      -d "{\"user_id\":$i,\"name\":\"House\",\"price\":40}" \
      $base/api/bottles
  done
}

kb() { awk -v k="$1:" '$1 == k {print $2}' /proc/$pid/status; }

# wrk CONNECTIONS -> "requests/s p50_ms p99_ms errors"
load() {
  POURD_BENCH_USERS=$users POURD_BENCH_TOKEN=$token \
    wrk -t2 -c"$1" -d"${duration}s" --latency -s "$here/pour.lua" $base \
    >"$work/wrk.txt"
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
      if (v ~ /s$/) return v * 1000; return v
    }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { errors += $NF }
    /Socket errors/ { for (i = 4; i <= NF; i += 2) errors += $i }
    END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, errors }
  ' "$work/wrk.txt"
}

row() { printf '%-40s %12s %12s %8s  %s\n' "$@"; }

# alternate CONNECTIONS BASELINE...: ROUNDS rounds of the wrk load and of
# the BASELINE command (which prints transactions/s), into $work/rounds.
alternate() {
  local c=$1; shift
  : >"$work/rounds"
  for _ in $(seq "$rounds"); do
    read -r rps p50 p99 errors < <(load "$c")
    echo "$rps $p50 $p99 $errors $("$@")" >>"$work/rounds"
  done
}

# report LABEL RATIO-TARGET P99-TARGET: the medians of $work/rounds.
report() {
  median() {
    awk -v k="$1" '{print $k}' "$work/rounds" | sort -n |
      awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
  }
  local rps p50 p99 tps errors ratio
  rps=$(median 1); p50=$(median 2); p99=$(median 3); tps=$(median 5)
  errors=$(awk '{n += $4} END {print n}' "$work/rounds")
  ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN {printf "%.2f", a / b}')
  row "$1" "$rps" "$tps tx/s" "$ratio" ">= $2"
  row "  p50 / p99 latency ms" "$p50 / $p99" "" "" "${3:+p99 < $3}"
  row "  errors" "$errors" "" "" "0"
  if [ "$rounds" -gt 1 ]; then
    row "  rounds, pourd / baseline" "$(awk '{printf "%s/%s ", $1, $5}' "$work/rounds")"
  fi
}

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "== pourd $("$bin/pourd" --version 2>&1 | head -n1), wrk $(wrk -v 2>&1 |
     head -n1 | awk '{print $2}'), ${duration}s per load, $rounds rounds, $users users"
row "row" "pourd" "baseline" "ratio" "target"

if [ -n "${POURD_TEST_MYSQL_URL:-}" ]; then
  command -v sysbench >/dev/null || { echo "http_bench: sysbench missing" >&2; exit 1; }
  sql() { mariadb --no-defaults --socket="$POURD_TEST_MYSQL_SOCKET" -uroot -e "$1"; }
  db=pourd_http_$$; sb=sbtest_$$
  sql "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
       CREATE DATABASE $sb"
  sysbench_args=(oltp_write_only --db-driver=mysql
    --mysql-socket="$POURD_TEST_MYSQL_SOCKET" --mysql-user=root
    --mysql-db=$sb --tables=4 --table-size=10000)
  sysbench "${sysbench_args[@]}" prepare >/dev/null

  start_pourd "${POURD_TEST_MYSQL_URL%/*}/$db"
  seed
  idle=$(kb VmRSS)
  sysbench_tps() {
    sysbench "${sysbench_args[@]}" --threads="$1" --time=$duration run |
      awk -F'[(]' '/transactions:/ {print $2+0}'
  }
  for c in 16 64; do
    alternate $c sysbench_tps $c
    report "MariaDB pours/s, $c connections" 0.60 "$([ $c = 64 ] && echo 50)"
  done
  peak=$(kb VmHWM)
  stop_pourd
  row "peak RSS under load, MiB" "$((peak / 1024))" "" "" "<= 64"
  row "idle RSS, MiB" "$((idle / 1024))" "" "" "<= 16"
  sql "DROP DATABASE $db; DROP DATABASE $sb"
else
  echo "(MariaDB rows skipped: no POURD_TEST_MYSQL_URL)"
fi

start_pourd "sqlite://$work/state/pourd.db"
seed
sqlite_tps() {
  rm -f "$work"/raw.db*
  "$bin/sqlite_raw_bench" "$work/raw.db" "$duration"
}
alternate 16 sqlite_tps
stop_pourd
report "SQLite pours/s, 16 connections" 0.50 ""

rm -rf "$work/ready"
ready=$(python3 "$here/ready_time.py" "$bin/pourd" \
          --database="sqlite://$work/ready.db" --state-dir="$work/ready" \
          --listen=127.0.0.1:$port --sweep-interval=0)
row "start to READY on SQLite, ms" "$ready" "" "" "< 200"
