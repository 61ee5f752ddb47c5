#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every test (unit and
# integration, against real nginx, backends, PostgreSQL and the agent).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# Warnings are errors here (CUTOVER_WERROR): what CI runs, a warning cannot land.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUTOVER_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 "$@"
