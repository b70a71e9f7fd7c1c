#!/bin/bash
# scripts/test.sh - the whole test suite on a fresh Debian 12 machine: set-up
# (packages, build, guest images; cached), then every suite: unit tests and
# integration tests that boot real x86_64 and aarch64 guests under TCG.
# Extra arguments go to `meson test` (e.g. --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
start=$SECONDS
scripts/setup.sh
# TCG guests are slow on a loaded 2-core machine: the timeouts in
# tests/meson.build are generous; a multiplier stretches them further.
meson test -C "$BUILD_DIR" --print-errorlogs --timeout-multiplier "${SNAPVM_TIMEOUT_MULTIPLIER:-1}" "$@"
echo "test suite wall time: $((SECONDS - start)) s"
