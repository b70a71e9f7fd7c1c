#!/bin/bash
# scripts/test.sh - the whole test suite on a fresh Debian 12 machine: set-up
# (packages, build, guest images; cached), then every suite: unit tests and
# integration tests that boot real x86_64 and aarch64 guests under TCG, and
# the README's demo (scripts/demo.sh, suite demo) on both arches.
# Extra arguments go to `meson test` (e.g. --suite unit).
# The build dir is configured with the agent's test hooks on (meson option
# test_hooks: the ORACLE and MEMPATTERN requests the integration tests
# need); scripts/setup.sh or scripts/demo.sh switch it back to the
# production agent.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
start=$SECONDS
SNAPVM_TEST_HOOKS=1 scripts/setup.sh
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
# libFuzzer over the snapshot reader, bounded, from seeds made by make-seeds.
FUZZ_DIR=${BUILD_DIR}-fuzz
fuzz_ok=0 fuzz_failed=0
if [ ! -f "$FUZZ_DIR/build.ninja" ]; then
	CC=clang meson setup "$FUZZ_DIR" -Dfuzzing=true -Db_sanitize=address -Db_lundef=false >/dev/null
fi
ninja -C "$FUZZ_DIR" tests/fuzz/fuzz-snapshot-reader tests/fuzz/make-seeds >/dev/null
rm -rf "$FUZZ_DIR/corpus" "$FUZZ_DIR/seeds"
mkdir -p "$FUZZ_DIR/corpus"
"$FUZZ_DIR/tests/fuzz/make-seeds" "$FUZZ_DIR/seeds"
if "$FUZZ_DIR/tests/fuzz/fuzz-snapshot-reader" -max_total_time="${SNAPVM_FUZZ_SECONDS:-60}" \
	-rss_limit_mb=2048 -print_final_stats=1 "$FUZZ_DIR/corpus" "$FUZZ_DIR/seeds" \
	>"$FUZZ_DIR/fuzz.log" 2>&1; then
	echo "fuzz-snapshot-reader: $(grep -o 'Done [0-9]* runs.*' "$FUZZ_DIR/fuzz.log")"
	fuzz_ok=1
else
	tail -40 "$FUZZ_DIR/fuzz.log"
	echo "fuzz-snapshot-reader: FAILED (crash input saved in the working directory)"
	fuzz_failed=1
	rc=1
fi
# libFuzzer over introspection and checkpoint capture on a real guest's RAM
# with patches aimed at what they read (tests/fuzz/fuzz-introspect.c); the
# RAM comes from one 128 MiB guest boot, cached by input hash beside the
# images (tests/fuzz/make-ram-seed.sh). The crashers fixed so far
# (tests/fuzz/introspect-regressions/) run first, as seeds.
ninja -C "$FUZZ_DIR" tests/fuzz/fuzz-introspect >/dev/null
seed_rc=0
seed=$(tests/fuzz/make-ram-seed.sh "$BUILD_DIR" 2>"$FUZZ_DIR/ram-seed.log") || seed_rc=$?
if [ "$seed_rc" = 77 ]; then
	echo "fuzz-introspect: skipped: $(tail -1 "$FUZZ_DIR/ram-seed.log")"
elif [ "$seed_rc" != 0 ]; then
	tail -20 "$FUZZ_DIR/ram-seed.log"
	echo "fuzz-introspect: FAILED making the RAM seed"
	fuzz_failed=$((fuzz_failed + 1))
	rc=1
else
	rm -rf "$FUZZ_DIR/corpus-introspect"
	mkdir -p "$FUZZ_DIR/corpus-introspect"
	if SNAPVM_FUZZ_RAM_SEED=$seed "$FUZZ_DIR/tests/fuzz/fuzz-introspect" \
		-max_total_time="${SNAPVM_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
		-max_len=256 -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/introspect-" \
		"$FUZZ_DIR/corpus-introspect" tests/fuzz/introspect-regressions \
		>"$FUZZ_DIR/fuzz-introspect.log" 2>&1; then
		echo "fuzz-introspect: $(grep -o 'Done [0-9]* runs.*' "$FUZZ_DIR/fuzz-introspect.log")"
		fuzz_ok=$((fuzz_ok + 1))
	else
		tail -40 "$FUZZ_DIR/fuzz-introspect.log"
		echo "fuzz-introspect: FAILED (input saved as $FUZZ_DIR/introspect-*; replay it with" \
			"SNAPVM_FUZZ_RAM_SEED=$seed $FUZZ_DIR/tests/fuzz/fuzz-introspect FILE)"
		fuzz_failed=$((fuzz_failed + 1))
		rc=1
	fi
fi

# (suites arches-long, every restore case of the slower arches, and
# integration-long, the 18,600-mapping restore, are run by hand: meson test
# -C build --suite arches-long --suite integration-long)
meson test -C "$BUILD_DIR" --print-errorlogs --timeout-multiplier "${SNAPVM_TIMEOUT_MULTIPLIER:-1}" \
	--no-suite arches-long --no-suite integration-long "$@" |
	tee "$BUILD_DIR/meson-test.out" || rc=$?
cat "$ASAN_DIR/meson-test.out" >>"$BUILD_DIR/meson-test.out"
echo "test suite wall time: $((SECONDS - start)) s"
# One plain closing line for whoever reads the log: test programs passed and
# failed, over all passes (sanitized unit tests, the fuzzers, the whole suite).
ok=$(awk '/^Ok:/ {n += $2} END {print n + 0}' "$BUILD_DIR/meson-test.out")
failed=0
for field in Fail Timeout "Unexpected Pass"; do
	n=$(awk -v f="$field:" 'index($0, f) == 1 {n += $NF} END {print n + 0}' "$BUILD_DIR/meson-test.out")
	failed=$((failed + ${n:-0}))
done
echo "$((ok + fuzz_ok)) passed, $((failed + fuzz_failed)) failed"
exit "$rc"
