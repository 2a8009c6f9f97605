#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in their own clang build
# (./build-fuzz: -fsanitize=fuzzer,address,undefined), replays every saved
# regression input, then fuzzes each target for SECONDS (default 10) from
# its seed corpus. Prints the executions per target; fails on any crash,
# leak, sanitizer report, timeout or out-of-memory.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: http json_body
#        csv_import json_import config; default all)
# New inputs go to build-fuzz/corpus/<target>, findings to
# build-fuzz/findings/<target>; the committed corpus is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http json_body csv_import json_import config)

for tool in clang clang++; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "fuzz: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done

export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  mkdir -p build-fuzz
  if ! cmake -S . -B build-fuzz "${generator[@]}" \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
       -DPOURD_FUZZ=ON -DPOURD_BUILD_TESTS=OFF >build-fuzz/configure.log 2>&1; then
    tail -n 30 build-fuzz/configure.log >&2
    rm -f build-fuzz/CMakeCache.txt
    exit 1
  fi
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
# Quiet unless it fails: clang warns at length about ODB's pragmas.
if ! cmake --build build-fuzz -j "$(nproc)" "${build_targets[@]}" \
     >build-fuzz/build.log 2>&1; then
  grep -E 'error|FAILED' build-fuzz/build.log | head -n 40 >&2
  echo "fuzz: build failed; see build-fuzz/build.log" >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
  bin=build-fuzz/bin/fuzz/fuzz_$t
  out=build-fuzz/findings/$t
  corpus=build-fuzz/corpus/$t
  mkdir -p "$out" "$corpus"
  options=(-timeout=20 -rss_limit_mb=2048 -print_final_stats=1
           "-artifact_prefix=$out/")
  [ -f "fuzz/dict/$t.dict" ] && options+=("-dict=fuzz/dict/$t.dict")

  # Saved crashes first: each file runs once and must pass.
  mapfile -t saved < <(find "fuzz/regressions/$t" -type f ! -name '.*' 2>/dev/null | sort)
  if [ ${#saved[@]} -gt 0 ]; then
    if ! "$bin" "${options[@]}" "${saved[@]}" >"$out/regressions.log" 2>&1; then
      echo "fuzz: $t: a saved regression input fails again:" >&2
      grep -E 'Running:|ERROR|failed|SUMMARY' "$out/regressions.log" | tail -n 20 >&2
      status=1
      summary+=("$t: regression inputs FAIL")
      continue
    fi
  fi

  log=$out/fuzz.log
  if "$bin" "${options[@]}" -max_total_time="$seconds" \
       "$corpus" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    echo "fuzz: $t failed; the input is in $out/:" >&2
    grep -E 'ERROR|fuzz check failed|runtime error|SUMMARY|Test unit written' \
      "$log" | head -n 20 >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)
  summary+=("$t: ${runs:-?} executions in ${seconds}s, ${#saved[@]} saved inputs, $result")
done

printf 'fuzz: %s\n' "${summary[@]}"
exit $status
