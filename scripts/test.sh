#!/usr/bin/env bash
# Sets up, builds and runs every test: SQLite always, MariaDB through a
# throwaway server that this script starts and removes. Arguments go to
# ctest (e.g. -R EngineTest).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh

export POURD_TEST_REQUIRE_MYSQL=1
(
  cd build
  ../scripts/with-mariadb.sh \
    ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
)

# A short fuzzing run of every target in its own clang build
# (fuzz/README.md); only for the whole suite, not for a selection.
# POURD_FUZZ_SECONDS sets the time per target, 0 skips it.
seconds=${POURD_FUZZ_SECONDS:-10}
if [ $# -eq 0 ] && [ "$seconds" != 0 ]; then
  scripts/fuzz.sh "$seconds"
fi
