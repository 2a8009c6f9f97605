#!/usr/bin/env bash
# Configures ./build once (Release, warnings as errors) and builds the
# given targets, or everything. Set POURD_CMAKE_ARGS for more configure
# options, e.g. POURD_CMAKE_ARGS=-DCMAKE_BUILD_TYPE=Debug.
#
# Usage: scripts/build.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

# ccache matches compiles across checkouts in other folders.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
# shellcheck disable=SC2206
extra=(${POURD_CMAKE_ARGS:-})
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPOURD_WERROR=ON "${extra[@]}"
elif [ ${#extra[@]} -gt 0 ]; then
  cmake -S . -B build "${extra[@]}"
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
