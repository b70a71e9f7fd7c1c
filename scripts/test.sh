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
# The unit tests (parsers of untrusted bytes among them) run once more under
# AddressSanitizer, LeakSanitizer and UBSan.
ASAN_DIR=${BUILD_DIR}-asan
if [ ! -f "$ASAN_DIR/build.ninja" ]; then
	meson setup "$ASAN_DIR" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$ASAN_DIR" >/dev/null
rc=0
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C "$ASAN_DIR" --suite unit --print-errorlogs | tee "$ASAN_DIR/meson-test.out" || rc=$?
meson test -C "$BUILD_DIR" --print-errorlogs --timeout-multiplier "${SNAPVM_TIMEOUT_MULTIPLIER:-1}" "$@" |
	tee "$BUILD_DIR/meson-test.out" || rc=$?
cat "$ASAN_DIR/meson-test.out" >>"$BUILD_DIR/meson-test.out"
echo "test suite wall time: $((SECONDS - start)) s"
# One plain closing line for whoever reads the log: test programs passed and
# failed, over both passes (sanitized unit tests, then the whole suite).
ok=$(awk '/^Ok:/ {n += $2} END {print n + 0}' "$BUILD_DIR/meson-test.out")
failed=0
for field in Fail Timeout "Unexpected Pass"; do
	n=$(awk -v f="$field:" 'index($0, f) == 1 {n += $NF} END {print n + 0}' "$BUILD_DIR/meson-test.out")
	failed=$((failed + ${n:-0}))
done
echo "${ok:-0} passed, $failed failed"
exit "$rc"
