#!/bin/bash
# bench/restore-first-output.sh [--arch x86_64|aarch64] [--runs N]
# Time from `snapvm restore` to the restored process's first line of
# output, booting a guest for it and taking one `snapvm pool start` booted
# beforehand (`restore --pool --no-refill`; the pool's boot is not timed),
# in the same run: the tests' counter workload (one line every 50 ms),
# checkpointed with --kill a second into its run. Median of N runs
# (default 3), ms. Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=x86_64
RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/restore-first-output.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
COUNTER=${SNAPVM_BUILD_DIR:-build}/tests/workloads/counter-$ARCH
BENCH_TMP_BASE=/dev/shm
source bench/lib.sh
bench_init restore-first-output.sh "$COUNTER"

# ms from the command's start to its first line on stdout (the rest of the
# run is waited for, not timed)
first_line_ms() {
	local t0 line
	t0=$(now_ms)
	{
		IFS= read -r line
		echo $(($(now_ms) - t0)) >"$TMP/first"
		cat >/dev/null
	} < <("$SNAPVM" restore --accel tcg "$@" "$TMP/counter.svs" 2>/dev/null)
	cat "$TMP/first"
}

median() { sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $ARCH guest under TCG, counter (a line every 50 ms), $RUNS runs"
: >"$TMP/boot"
: >"$TMP/pool"
for run in $(seq "$RUNS"); do
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "src-$run" -- \
		"$COUNTER" 100 50)
	pid=$(jq -r .pid <<<"$json")
	sleep 1
	"$SNAPVM" checkpoint "src-$run" --pid "$pid" -o "$TMP/counter.svs" --kill >/dev/null
	"$SNAPVM" stop "src-$run" >/dev/null
	boot=$(first_line_ms)
	"$SNAPVM" pool start --arch "$ARCH" --accel tcg --memory 512 >/dev/null
	pool=$(first_line_ms --pool --no-refill)
	"$SNAPVM" pool stop >/dev/null 2>&1 || true
	echo "$boot" >>"$TMP/boot"
	echo "$pool" >>"$TMP/pool"
	printf '  run %d: booting %6d ms, from the pool %6d ms  (load %s)\n' "$run" "$boot" "$pool" \
		"$(cut -d' ' -f1 /proc/loadavg)"
done
printf '# medians: restore to first output, booting %s ms, from the pool %s ms\n' \
	"$(median <"$TMP/boot")" "$(median <"$TMP/pool")"
