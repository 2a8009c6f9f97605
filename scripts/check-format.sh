#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format)
# makes of it; lists those files. scripts/check-format.sh --fix rewrites
# them instead.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=(--dry-run --Werror)
[ "${1:-}" = "--fix" ] && mode=(-i)
files=$(git ls-files '*.cpp' '*.hpp' | grep -v '^orm/model.hxx$' || true)
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
clang-format "${mode[@]}" $files
