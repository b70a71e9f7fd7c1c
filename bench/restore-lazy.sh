#!/bin/bash
# bench/restore-lazy.sh [--arch x86_64|aarch64] [--sizes "256 1024"] [--runs N]
#                        [--where "boot pool base"] [--criu PATH]
# `snapvm restore` eager against `restore --lazy` (the process runs before
# its anonymous memory is in place; guest/restorer/lazy-pager.c), booting
# a guest, into a pool guest booted beforehand (`pool start`, its
# standby restorer's pre-faulted memory; not timed), and from a saved base
# (`restore --base`: that pool guest's state saved by `pool save` once per
# size, whose time and size on disk a comment line gives), of `bench/memtouch
# SIZE scan`: it touched SIZE MiB, and once restored prints a line at
# once, then reads every word back and exits. From `restore --json` (ms
# from the command's start):
#   run     the process running (lazy: its restorer needs nothing more
#           from the host but pages)
#   first   its first output ("restored": before it reads its memory)
#   last    the last page placed (lazy; eager: = run)
#   exit    the command's end (the scan done, the VM stopped)
# criu: `criu restore -d` of a native `memtouch SIZE scan` that criu
# dumped, until it returns (the process running), where criu (PATH, or
# --criu) works and the arch is the host's. With --runs N, each figure is
# the median of N runs (each column's runs back to back). Needs jq.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="256 1024"
ARCH=x86_64
CRIU=$(command -v criu || true)
RUNS=1
WHERE="boot pool base"
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=$2; shift 2 ;;
	--arch) ARCH=$2; shift 2 ;;
	--criu) CRIU=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--where) WHERE=$2; shift 2 ;;
	-h | --help) sed -n '2,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/restore-lazy.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
MEMTOUCH=${SNAPVM_BUILD_DIR:-build}/bench/memtouch-$ARCH
BENCH_TMP_BASE=/dev/shm
source bench/lib.sh
bench_init restore-lazy.sh "$MEMTOUCH"

# restore [ARGS...]: `snapvm restore --json ARGS $SNAP`; prints
# "run first last exit" (ms), checking the output is memtouch scan's whole
# second half
restore() {
	local t0 json
	t0=$(now_ms)
	"$SNAPVM" restore --accel tcg --json "$@" "$SNAP" >"$TMP/out" 2>"$TMP/err" ||
		bench_die "restore $* failed: $(tail -3 "$TMP/err")"
	local end=$(($(now_ms) - t0))
	grep -q "^memtouch: scanned $SIZE MiB" "$TMP/out" ||
		bench_die "restore $*: memtouch did not scan its memory: $(cat "$TMP/out")"
	json=$(grep '^{' "$TMP/err" | tail -1)
	jq -r --arg wall "$end" '"\(.running_ms) \(.first_output_ms) \(.last_page_ms // .running_ms) \($wall)"' <<<"$json"
}

CRIU_OK=
if [ "$ARCH" = "$(uname -m)" ] && [ -n "$CRIU" ] && "$CRIU" check >/dev/null 2>&1; then
	CRIU_OK=1
	echo "# criu: $("$CRIU" --version | sed -n 's/^Version: //p') ($CRIU)"
else
	echo "# criu: not measured (none given or on PATH, 'criu check' fails, or another arch)"
fi
# ms `criu restore -d` took for a native memtouch SIZE scan criu dumped, or -
criu_ms() {
	local d=$TMP/criu pid ms=- t0
	rm -rf "$d" && mkdir -p "$d"
	setsid "$MEMTOUCH" "$SIZE" scan >"$d.log" 2>&1 </dev/null &
	pid=$!
	disown "$pid"
	until grep -q touched "$d.log"; do
		kill -0 "$pid" 2>/dev/null || { echo -; return; }
		sleep 0.1
	done
	if "$CRIU" dump -t "$pid" -D "$d" -o dump.log --shell-job >/dev/null 2>&1; then
		sync
		t0=$(now_ms)
		"$CRIU" restore -D "$d" -o restore.log --shell-job -d --pidfile "$d/pid" \
			>/dev/null 2>&1 </dev/null && ms=$(($(now_ms) - t0))
		[ ! -s "$d/pid" ] || kill -9 "$(cat "$d/pid")" 2>/dev/null || true
	fi
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$d" "$d.log"
	echo "$ms"
}

# the median of numbers on stdin, one a line
median() { sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }
# "run/first/last/exit" medians of RUNS runs of restore ARGS (one run's
# figures a line)
restore_medians() {
	local r samples=()
	for ((r = 0; r < RUNS; r++)); do
		samples+=("$(restore "$@")")
	done
	local f out=()
	for f in 1 2 3 4; do
		out+=("$(printf '%s\n' "${samples[@]}" | cut -d' ' -f"$f" | median)")
	done
	(IFS=/; echo "${out[*]}")
}

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $ARCH guest under TCG, $RUNS run(s) each (medians); ms from the command's start: run/first/last/exit"
cols_head=()
for where in $WHERE; do
	case $where in
	boot) cols_head+=("eager, booting" "lazy, booting") ;;
	pool) cols_head+=("eager, pool" "lazy, pool") ;;
	base) cols_head+=("eager, base" "lazy, base") ;;
	*) bench_die "--where: boot, pool or base, not $where" ;;
	esac
done
printf '%5s' MiB
printf ' %-23s' "${cols_head[@]}"
printf ' %6s %5s\n' criu load
for SIZE in $SIZES; do
	VM=src-$SIZE
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "$VM" \
		--memory $((SIZE * 2 < 512 ? 512 : SIZE * 2)) -- "$MEMTOUCH" "$SIZE" scan)
	PID=$(jq -r .pid <<<"$json")
	BENCH_WAIT_ASLEEP=1 bench_wait_resident "$VM" "$PID" "$SIZE" 900
	SNAP=$TMP/memtouch-$SIZE.svs
	"$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$SNAP" --kill >/dev/null 2>&1
	"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
	load0=$(load)
	cols=()
	for where in $WHERE; do
		if [ "$where" = base ]; then
			base=$("$SNAPVM" pool save --arch "$ARCH" --accel tcg \
				--memory $((SIZE + 640)) --json 2>/dev/null) ||
				bench_die "pool save failed"
			echo "# $SIZE MiB: base of $((SIZE + 640)) MiB saved: $(jq -r '"\(.bytes_on_disk / 1048576 | floor) MiB on disk, boot \(.boot_ms | floor) ms + save \(.save_ms | floor) ms"' <<<"$base")"
		fi
		for how in eager lazy; do
			args=()
			[ "$how" = eager ] || args+=(--lazy)
			case $where in
			pool) args+=(--pool --no-refill) ;;
			base) args+=(--base --no-refill) ;;
			esac
			if [ "$where" = pool ]; then
				samples=()
				for ((r = 0; r < RUNS; r++)); do
					"$SNAPVM" pool start --arch "$ARCH" --accel tcg \
						--memory $((SIZE + 640)) >/dev/null
					samples+=("$(restore "${args[@]}")")
					"$SNAPVM" pool stop >/dev/null 2>&1 || true
				done
				out=()
				for f in 1 2 3 4; do
					out+=("$(printf '%s\n' "${samples[@]}" | cut -d' ' -f"$f" | median)")
				done
				cols+=("$(IFS=/; echo "${out[*]}")")
			else
				cols+=("$(restore_medians "${args[@]}")")
			fi
		done
	done
	criu=-
	if [ -n "$CRIU_OK" ]; then
		samples=()
		for ((r = 0; r < RUNS; r++)); do
			samples+=("$(criu_ms)")
		done
		criu=$(printf '%s\n' "${samples[@]}" | grep -E '^[0-9]+$' | median)
	fi
	printf '%5s' "$SIZE"
	printf ' %-23s' "${cols[@]}"
	printf ' %6s %5s\n' "$criu" "$load0-$(load)"
	rm -f "$SNAP"
done
