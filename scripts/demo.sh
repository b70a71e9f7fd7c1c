#!/bin/bash
# scripts/demo.sh [--arch x86_64|aarch64] - the main job on a fresh Debian
# 12 machine: set-up (packages, build, guest images; cached), then the whole
# story in fresh guests of ARCH (default x86_64) under TCG:
#   1. snapvm run: a test workload runs, its output streamed here;
#   2. snapvm checkpoint --kill: the same workload, run detached, is
#      checkpointed mid-run from outside the guest and killed;
#   3. snapvm restore: a fresh guest carries it on from where it stopped -
#      and its output is checked to be exactly the rest of an
#      uninterrupted run, with the same exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
SNAPVM="$BUILD_DIR/vmm/snapvm"
ARCH=x86_64
if [ "${1:-}" = --arch ]; then
	ARCH=$2
fi
COUNTER="$BUILD_DIR/tests/workloads/counter-$ARCH"
# the uninterrupted run, natively: the workloads print nothing arch-specific
NATIVE="$BUILD_DIR/tests/workloads/counter-x86_64"
scripts/setup.sh

echo "== snapvm run --arch $ARCH --accel tcg -- counter 10 200" >&2
"$SNAPVM" run --arch "$ARCH" --accel tcg --verbose -- "$COUNTER" 10 200

work=$(mktemp -d)
vm=demo-$$
cleanup() {
	"$SNAPVM" stop "$vm" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== snapvm run --detach -- counter 40 100; checkpoint it mid-run" >&2
pid=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "$vm" -- \
	"$COUNTER" 40 100 | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
sleep 2
"$SNAPVM" checkpoint "$vm" --pid "$pid" -o "$work/counter.svs" --kill
"$SNAPVM" stop "$vm" >/dev/null
"$SNAPVM" inspect "$work/counter.svs" | head -3

echo "== snapvm restore counter.svs (a fresh guest)" >&2
set +e
"$SNAPVM" restore --accel tcg --verbose "$work/counter.svs" | tee "$work/restored"
status=${PIPESTATUS[0]}
set -e
# The workload is deterministic: its native run is the uninterrupted run.
"$NATIVE" 40 0 >"$work/uninterrupted"
lines=$(wc -l <"$work/restored")
if [ "$lines" -gt 0 ] && [ "$status" = 0 ] &&
	tail -n "$lines" "$work/uninterrupted" | cmp -s - "$work/restored"; then
	echo "== restore OK: its $lines lines are exactly the last $lines of an uninterrupted run (exit $status)" >&2
else
	echo "== restore MISMATCH (exit $status): see $work" >&2
	trap - EXIT
	exit 1
fi
