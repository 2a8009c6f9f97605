#!/usr/bin/env bash
# Configures and builds pourd into ./build (Release, warnings as errors).
# Extra arguments go to the configure step, e.g. -DCMAKE_BUILD_TYPE=Debug.
set -euo pipefail
cd "$(dirname "$0")/.."

# ccache matches compiles across checkouts in other folders.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPOURD_WERROR=ON "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B build "$@"
fi
cmake --build build -j "$(nproc)"
