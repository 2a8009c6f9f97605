#!/usr/bin/env bash
# Sets up, builds and starts pourd in the foreground on its embedded
# default: SQLite in ./var, listening on 127.0.0.1:8787, an admin token
# generated into ./var/admin-token. Arguments go to pourd (--log-level=debug).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh pourd pourctl
mkdir -p var
exec build/bin/pourd --state-dir=./var "$@"
