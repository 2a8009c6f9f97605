#!/usr/bin/env bash
# Runs the benchmarks and prints their tables.
#
#   bench/run.sh [--quick] [BUILD_DIR]
#
# --quick runs every benchmark for seconds, not minutes, so CI keeps the
# scripts working; the figures it prints are not the published ones. The
# full run (docs/performance.md) needs a MariaDB: run it under
# scripts/with-mariadb.sh, which sets POURD_TEST_MYSQL_URL.
set -euo pipefail

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
bin=$build/bin

pours=1000000; users=10000; min_time=0.5
if [ $quick -eq 1 ]; then pours=5000; users=50; min_time=0.01; fi

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)"
echo "== session rule decision (Google Benchmark)"
"$bin/rule_bench" --benchmark_min_time=$min_time

work=$(mktemp -d /tmp/pourd-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== orphan sweep, SQLite"
"$bin/sweep_bench" --database="sqlite://$work/sweep.db" \
  --pours=$pours --users=$users

if [ -n "${POURD_TEST_MYSQL_URL:-}" ]; then
  echo "== orphan sweep, MariaDB $(mariadb --version | awk '{print $5}')"
  db=pourd_bench_$$
  mariadb --no-defaults --socket="$POURD_TEST_MYSQL_SOCKET" -uroot \
    -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  "$bin/sweep_bench" --database="${POURD_TEST_MYSQL_URL%/*}/$db" \
    --pours=$pours --users=$users
  mariadb --no-defaults --socket="$POURD_TEST_MYSQL_SOCKET" -uroot \
    -e "DROP DATABASE $db"
else
  echo "== orphan sweep, MariaDB: skipped (no POURD_TEST_MYSQL_URL)"
fi

echo "== HTTP pour creation and resources"
if [ $quick -eq 1 ]; then
  "$here/http_bench.sh" --quick "$build"
else
  "$here/http_bench.sh" "$build"
fi
