#!/bin/bash
# scripts/demo.sh [--arch x86_64|aarch64|riscv64|ppc64le] [--no-setup] - the main job on a
# fresh Debian 12 machine: set-up (packages, build, guest images; cached),
# then the whole story in fresh guests of ARCH (default x86_64) under TCG:
#   1. snapvm run: a test workload runs, its output streamed here and
#      checked to be the same as a native run's;
#   2. snapvm checkpoint --kill: the same workload, run detached, is
#      checkpointed mid-run from outside the guest and killed; the snapshot
#      is verified (snapvm inspect --verify);
#   3. snapvm restore: a fresh guest carries it on from where it stopped -
#      and its output is checked to be exactly the rest of an
#      uninterrupted run (some lines, not all of them: it neither starts
#      over nor stops early), with the same exit status.
# Exits 0 only if every check holds; prints its wall time at the end.
#
#   --no-setup, SNAPVM_SKIP_SETUP=1  skip scripts/setup.sh: use the build in
#                     SNAPVM_BUILD_DIR (default build/) and the images in
#                     SNAPVM_CACHE_DIR as they are (the meson `demo` suite
#                     runs the demo this way: meson has just built it, and a
#                     test must not rebuild the tree it is testing)
#   SNAPVM_BUILD_DIR  build directory (default: build)
#   SNAPVM_STATE_DIR  where VMs live (snapvm's default: /var/lib/snapvm)
set -euo pipefail
cd "$(dirname "$0")/.."
start_ms=$(date +%s%3N)
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
SNAPVM="$BUILD_DIR/host/snapvm"
ARCH=x86_64
SETUP=1
[ "${SNAPVM_SKIP_SETUP:-0}" = 0 ] || SETUP=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--no-setup) SETUP=; shift ;;
	-h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "scripts/demo.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
COUNTER="$BUILD_DIR/tests/workloads/counter-$ARCH"
# the uninterrupted run, natively: the workloads print nothing arch-specific
NATIVE="$BUILD_DIR/tests/workloads/counter-x86_64"
if [ -n "$SETUP" ]; then
	scripts/setup.sh
fi
for f in "$SNAPVM" "$COUNTER" "$NATIVE"; do
	[ -x "$f" ] || { echo "scripts/demo.sh: no $f (run scripts/setup.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
vm=demo-$$
keep_work=
cleanup() {
	"$SNAPVM" stop "$vm" >/dev/null 2>&1 || true
	[ -n "$keep_work" ] || rm -rf "$work"
	local ms=$(($(date +%s%3N) - start_ms))
	printf '== demo (%s) wall time: %d.%03d s\n' "$ARCH" $((ms / 1000)) $((ms % 1000)) >&2
}
trap cleanup EXIT
fail() {
	echo "== FAILED: $* (files kept in $work)" >&2
	keep_work=1
	exit 1
}

# The workload is deterministic: its native run is the uninterrupted run.
"$NATIVE" 10 0 >"$work/native-10"
"$NATIVE" 40 0 >"$work/uninterrupted"

echo "== snapvm run --arch $ARCH --accel tcg -- counter 10 200" >&2
# tee shows the output as it streams; PIPESTATUS keeps snapvm's own status
# (pipefail alone would give tee's if tee failed, and set -e would end the
# demo before it could say what went wrong).
set +e
"$SNAPVM" run --arch "$ARCH" --accel tcg --verbose -- "$COUNTER" 10 200 | tee "$work/run-10"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || fail "snapvm run exited $status"
cmp -s "$work/native-10" "$work/run-10" || fail "snapvm run's output differs from the native run's"
echo "== run OK: the same $(wc -l <"$work/run-10") lines as a native run" >&2

echo "== snapvm run --detach -- counter 40 100; checkpoint it mid-run" >&2
json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "$vm" -- "$COUNTER" 40 100)
pid=$(sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p' <<<"$json")
[[ $pid =~ ^[0-9]+$ ]] || fail "no pid in snapvm run's answer: $json"
sleep 2
"$SNAPVM" checkpoint "$vm" --pid "$pid" -o "$work/counter.svs" --kill
"$SNAPVM" stop "$vm" >/dev/null
# inspect into a file, then show its head: `inspect | head -3` under
# pipefail fails the demo when head exits first and inspect dies of
# SIGPIPE, and a real failure of inspect would be hidden by head's status
# without pipefail.
"$SNAPVM" inspect --verify "$work/counter.svs" >"$work/inspect" ||
	fail "snapvm inspect --verify refused the snapshot"
head -n 3 "$work/inspect"

echo "== snapvm restore counter.svs (a fresh guest)" >&2
set +e
"$SNAPVM" restore --accel tcg --verbose "$work/counter.svs" | tee "$work/restored"
status=${PIPESTATUS[0]}
set -e
# The restored process must carry on the uninterrupted run: its output is
# exactly the last N lines of it, with 0 < N < all (N = all would be the
# workload starting over, 0 a process that never ran again), and it ends
# with the same exit status as the uninterrupted run (0).
total=$(wc -l <"$work/uninterrupted")
lines=$(wc -l <"$work/restored")
[ "$status" = 0 ] || fail "the restored process exited $status, the uninterrupted run 0"
[ "$lines" -gt 0 ] || fail "the restored process printed nothing"
[ "$lines" -lt "$total" ] ||
	fail "the restored process printed all $lines lines: it started over instead of carrying on"
tail -n "$lines" "$work/uninterrupted" >"$work/expected"
if ! cmp -s "$work/expected" "$work/restored"; then
	diff "$work/expected" "$work/restored" | sed -n 1,20p >&2 || true
	fail "the restored output is not the rest of the uninterrupted run"
fi
echo "== restore OK: its $lines lines are exactly the last $lines of an uninterrupted run of $total (exit $status)" >&2
