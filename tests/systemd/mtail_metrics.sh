#!/usr/bin/env bash
# monitoring/pourd.mtail turns a log captured from a real pourd run (the
# run_like_unit test's, logfmt at debug level) into the expected metrics.
# Usage: mtail_metrics.sh SOURCE_DIR LOG
# Exit 77 (skipped) when there is no log: pourd was not built.
set -euo pipefail
src=$1
log=$2

if [ ! -s "$log" ]; then
  echo "skipped: no pourd log at $log (pourd not built yet)"
  exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Only the program under test; mtail compiles every file in --progs.
cp "$src/monitoring/pourd.mtail" "$scratch/"

# mtail serves HTTP even in one-shot mode; port 0 avoids clashes.
mtail --one_shot --one_shot_format=prometheus --progs "$scratch" \
  --logs "$log" --address 127.0.0.1 --port 0 --emit_prog_label=false \
  >"$scratch/metrics" 2>"$scratch/mtail.err" || {
  echo "FAIL: mtail exited $?"
  cat "$scratch/mtail.err"
  exit 1
}
if grep -q "compile failed" "$scratch/mtail.err"; then
  echo "FAIL: pourd.mtail does not compile"
  cat "$scratch/mtail.err"
  exit 1
fi

fail=0
expect() {
  local series=$1 want=$2 got
  got=$(awk -v s="$series" '$1 == s { print $2 }' "$scratch/metrics")
  # mtail prints whole numbers plainly and fractions as floats.
  if [ "$got" != "$want" ]; then
    echo "FAIL: $series is '${got:-missing}', expected $want"
    fail=1
  else
    echo "ok: $series $got"
  fi
}

# The run: one sweep fixed the five imported orphans into two recovered
# sessions, a second found nothing; both were cron-triggered.
expect 'pourd_log_sweeps_total{result="ok",trigger="cron"}' 2
expect 'pourd_log_orphans_found_total{trigger="cron"}' 5
expect 'pourd_log_orphans_fixed_total{trigger="cron"}' 5
expect 'pourd_log_sessions_recovered_total{trigger="cron"}' 2
expect 'pourd_log_orphans_remaining' 0
expect 'pourd_log_sweep_duration_seconds_count' 2
expect 'pourd_log_requests_total{method="GET",route="/healthz",status="200"}' 2
expect 'pourd_log_requests_total{method="GET",route="/readyz",status="200"}' 1
expect 'pourd_log_requests_total{method="POST",route="/api/cron/check-orphaned-pours",status="401"}' 2
expect 'pourd_log_requests_total{method="POST",route="/api/cron/check-orphaned-pours",status="200"}' 2
expect 'pourd_log_requests_total{method="GET",route="/api/orphans",status="200"}' 1
expect 'pourd_log_requests_total{method="GET",route="/api/orphans",status="401"}' 1

# The last sweep's time comes from the log line's ts=, not from now.
last=$(grep 'event=orphan_sweep' "$log" | tail -n 1 |
  sed -n 's/^ts=\([^ ]*\) .*/\1/p')
want=$(date -u -d "$last" +%s)
got=$(awk '$1 == "pourd_log_last_sweep_timestamp_seconds" { printf "%d", $2 }' \
  "$scratch/metrics")
if [ "$got" != "$want" ]; then
  echo "FAIL: last sweep timestamp $got, expected $want ($last)"
  fail=1
else
  echo "ok: last sweep timestamp $got ($last)"
fi

if [ $fail -ne 0 ]; then
  echo "--- metrics ---"
  grep -v '^#' "$scratch/metrics"
fi
exit $fail
