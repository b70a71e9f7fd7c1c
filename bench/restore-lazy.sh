#!/bin/bash
# bench/restore-lazy.sh [--arch x86_64|aarch64] [--sizes "256 1024"] [--criu PATH]
# `snapvm restore` eager against `restore --lazy` (the process runs before
# its anonymous memory is in place; guest/restorer/lazy-pager.c), booting
# a guest and into a pool guest booted beforehand (`pool start`, its
# standby restorer's pre-faulted memory; not timed), of `bench/memtouch
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
# --criu) works and the arch is the host's. Needs jq. Prints figures;
# never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="256 1024"
ARCH=x86_64
CRIU=$(command -v criu || true)
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=$2; shift 2 ;;
	--arch) ARCH=$2; shift 2 ;;
	--criu) CRIU=$2; shift 2 ;;
	-h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
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

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $ARCH guest under TCG; ms from the command's start: run/first/last/exit"
printf '%5s %-6s %-23s %-23s %-23s %-23s %6s %5s\n' MiB "" "eager, booting" "lazy, booting" \
	"eager, pool" "lazy, pool" criu load
for SIZE in $SIZES; do
	VM=src-$SIZE
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "$VM" \
		--memory $((SIZE * 2 < 512 ? 512 : SIZE * 2)) -- "$MEMTOUCH" "$SIZE" scan)
	PID=$(jq -r .pid <<<"$json")
	BENCH_WAIT_ASLEEP=1 bench_wait_resident "$VM" "$PID" "$SIZE" 900
	SNAP=$TMP/memtouch-$SIZE.svs
	"$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$SNAP" --kill >/dev/null 2>&1
	"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
	cols=()
	for where in boot pool; do
		for how in eager lazy; do
			args=()
			[ "$how" = eager ] || args+=(--lazy)
			if [ "$where" = pool ]; then
				"$SNAPVM" pool start --arch "$ARCH" --accel tcg \
					--memory $((SIZE + 640)) >/dev/null
				args+=(--pool --no-refill)
			fi
			cols+=("$(restore "${args[@]}" | tr ' ' /)")
			[ "$where" = boot ] || "$SNAPVM" pool stop >/dev/null 2>&1 || true
		done
	done
	criu=-
	[ -z "$CRIU_OK" ] || criu=$(criu_ms)
	printf '%5s %-6s %-23s %-23s %-23s %-23s %6s %5s\n' "$SIZE" "" "${cols[@]}" "$criu" "$(load)"
	rm -f "$SNAP"
done
