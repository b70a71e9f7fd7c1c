#!/bin/bash
# bench/first-output.sh [--runs N] [--trivial] [ARCH...] - wall time from `snapvm run`
# to the workload's first output line, per arch, median of N runs (default 3),
# printed beside the fastest plain QEMU boot of the same kernel and
# initramfs (bench/boot-baseline.sh) measured in the same sitting.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
BASELINE_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--trivial) BASELINE_ARGS+=(--trivial); shift ;; # passed on to boot-baseline.sh
	*) break ;;
	esac
done
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
SNAPVM=$BUILD_DIR/host/snapvm
# (assigned, then exported: `export X=$(...)` hides a failing mktemp)
SNAPVM_STATE_DIR=$(mktemp -d /tmp/snapvm-bench-XXXXXX)
export SNAPVM_STATE_DIR
cleanup() {
	"$SNAPVM" stop --all >/dev/null 2>&1 || true
	ram=$(readlink "$SNAPVM_STATE_DIR/libvirt/ram-dir" || true)
	case $ram in /dev/shm/snapvm-*) rm -rf "$ram" ;; esac
	rm -rf "$SNAPVM_STATE_DIR"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# One run: ms from starting snapvm to the first line on its stdout; the rest
# of the output is drained so the run ends normally. A process substitution's
# status is lost unless waited for: a failed run (no output, or an error after
# it) is reported and not counted as a figure.
first_line_ms() {
	local arch=$1 t0 line ms rc=0
	t0=$(now_ms)
	{
		IFS= read -r line || true
		ms=$(($(now_ms) - t0))
		cat >/dev/null
	} < <("$SNAPVM" run --arch "$arch" -- "$BUILD_DIR/tests/workloads/counter-$arch" 3 0)
	wait $! || rc=$?
	if [ "$rc" != 0 ] || [ -z "$line" ]; then
		echo "bench/first-output.sh: snapvm run --arch $arch failed (exit $rc)" >&2
		echo fail
		return
	fi
	echo "$ms"
}

# median of the runs that worked ("-" if none did)
median() { awk '/^[0-9]+$/' | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }

# Warm libvirt's capability cache for this state dir, as any second run has it.
"$SNAPVM" run --arch "${ARCHES[0]}" -- "$BUILD_DIR/tests/workloads/counter-${ARCHES[0]}" 1 0 >/dev/null

printf '%-8s %-34s %s\n' arch measure "median ms (runs)"
for arch in "${ARCHES[@]}"; do
	samples=()
	for _ in $(seq "$RUNS"); do samples+=("$(first_line_ms "$arch")"); done
	printf '%-8s %-34s %s (%s)\n' "$arch" "snapvm run -> first output line" \
		"$(printf '%s\n' "${samples[@]}" | median)" "${samples[*]}"
done
if [ -x bench/boot-baseline.sh ]; then
	bench/boot-baseline.sh --runs "$RUNS" ${BASELINE_ARGS[@]+"${BASELINE_ARGS[@]}"} "${ARCHES[@]}"
fi
