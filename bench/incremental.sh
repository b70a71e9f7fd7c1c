#!/bin/bash
# bench/incremental.sh [--arch x86_64|aarch64] [--size MIB] [--pcts "1 10 50"]
#                      [--dir /dev/shm] [--runs N]
# Incremental checkpoints (`snapvm checkpoint --parent`) against full ones,
# in the same run: bench/memtouch MIB (default 1024) PCT 5 writes every
# byte, then rewrites the same PCT% of its pages every 5 s. Per PCT: a full
# checkpoint, then (after at least one rewrite) one with --parent on it;
# printed: pause, hashing, total, wall, pages and size of each, and the
# incremental's cost as a share of the full one's (issue 17's goal: <= 5%
# of a full checkpoint at 1%). Median of N runs (default 1), each on a
# fresh VM. Times in ms. Needs jq. Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=x86_64
SIZE=1024
PCTS="1 10 50"
DIR=/dev/shm
RUNS=1
PERIOD=5
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--pcts) PCTS=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/incremental.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
SNAPVM=$BUILD_DIR/host/snapvm
MEMTOUCH=$BUILD_DIR/bench/memtouch-$ARCH
for f in "$SNAPVM" "$MEMTOUCH"; do
	[ -x "$f" ] || { echo "bench/incremental.sh: no $f (ninja -C $BUILD_DIR)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench/incremental.sh: needs jq" >&2; exit 1; }
OWN_STATE=
if [ -z "${SNAPVM_STATE_DIR:-}" ]; then
	SNAPVM_STATE_DIR=$(mktemp -d /tmp/inc-bench-state-XXXXXX)
	OWN_STATE=1
fi
export SNAPVM_STATE_DIR
TMP=$(mktemp -d /tmp/inc-bench-XXXXXX)
RAW=$TMP/raw # one line per measure: PCT KEY VALUE
FULL=$DIR/snapvm-bench-full.svs
INC=$DIR/snapvm-bench-inc.svs
cleanup() {
	"$SNAPVM" stop --all >/dev/null 2>&1 || true
	if [ -n "$OWN_STATE" ]; then
		ram=$(readlink "$SNAPVM_STATE_DIR/libvirt/ram-dir" || true)
		case $ram in /dev/shm/snapvm-*) rm -rf "$ram" ;; esac
		rm -rf "$SNAPVM_STATE_DIR"
	fi
	rm -f "$FULL"* "$INC"*
	rm -rf "$TMP"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
load() { cut -d' ' -f1 /proc/loadavg; }

# Boots a VM running memtouch SIZE PCT PERIOD and waits until all its
# memory is resident (snapvm ps). Sets VM and PID.
start_workload() {
	local mem=$((SIZE * 2 < 512 ? 512 : SIZE * 2)) json t0 ps
	VM=inc-$PCT-$1
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --memory "$mem" --name "$VM" -- \
		"$MEMTOUCH" "$SIZE" "$PCT" "$PERIOD")
	PID=$(jq -r .pid <<<"$json")
	t0=$(now_ms)
	while :; do
		sleep 1
		ps=$("$SNAPVM" ps "$VM" --json 2>/dev/null |
			jq -r --argjson p "$PID" '.[] | select(.pid == $p) | .rss_kib') || ps=0
		if [ "${ps:-0}" -ge $((SIZE * 1024)) ]; then break; fi
		if [ $(($(now_ms) - t0)) -gt 600000 ]; then
			echo "bench/incremental.sh: $VM: pid $PID never touched $SIZE MiB" >&2
			return 1
		fi
	done
}

checkpoint() { # checkpoint TAG OUT [--parent FILE]
	local tag=$1 out=$2 t0 t1 json
	shift 2
	sync
	t0=$(now_ms)
	json=$("$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$out" --json "$@")
	t1=$(now_ms)
	echo "$PCT $tag:wall $((t1 - t0))" >>"$RAW"
	for k in pause_ms hash_ms total_ms pages_present pages_stored file_size; do
		echo "$PCT $tag:$k $(jq -r .$k <<<"$json")" >>"$RAW"
	done
	printf '  %-10s %-4s pause %7.1f  hash %7.1f  total %8.1f  wall %6d ms  stored %7d of %7d pages  (load %s)\n' \
		"$VM" "$tag" "$(jq -r .pause_ms <<<"$json")" "$(jq -r .hash_ms <<<"$json")" \
		"$(jq -r .total_ms <<<"$json")" $((t1 - t0)) "$(jq -r .pages_stored <<<"$json")" \
		"$(jq -r .pages_present <<<"$json")" "$(load)"
}

med() {
	awk -v p="$1" -v k="$2" '$1 == p && $2 == k {print $3}' "$RAW" | sort -g |
		awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'
}

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $ARCH guest under TCG, memtouch $SIZE MiB, $RUNS run(s), to $DIR"
for PCT in $PCTS; do
	echo "## $PCT% of the pages rewritten"
	for run in $(seq "$RUNS"); do
		start_workload "$run"
		checkpoint full "$FULL"
		# at least one rewrite after the full checkpoint
		sleep $((PERIOD + 1))
		checkpoint inc "$INC" --parent "$FULL"
		rm -f "$FULL" "$INC"
		"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
	done
done

echo
echo "# medians (ms; MiB of file)"
printf '%-5s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n' "pct" "full ms" "inc ms" "inc/full" \
	"full wall" "inc wall" "full MiB" "inc MiB" "inc/full" "pause" "inc pause"
for PCT in $PCTS; do
	awk -v p="$PCT" -v ft="$(med "$PCT" full:total_ms)" -v it="$(med "$PCT" inc:total_ms)" \
		-v fw="$(med "$PCT" full:wall)" -v iw="$(med "$PCT" inc:wall)" \
		-v fs="$(med "$PCT" full:file_size)" -v is="$(med "$PCT" inc:file_size)" \
		-v fp="$(med "$PCT" full:pause_ms)" -v ip="$(med "$PCT" inc:pause_ms)" '
		function pc(a, b) { return (b > 0) ? sprintf("%.1f%%", 100 * a / b) : "-" }
		BEGIN { printf "%-5s %9.0f %9.0f %9s %9d %9d %9.1f %9.1f %9s %9.1f %9.1f\n", p "%", ft, it,
			pc(it, ft), fw, iw, fs / 1048576, is / 1048576, pc(is, fs), fp, ip }'
done
echo
echo "# goal (issue 17): the incremental checkpoint at 1% costs <= 5% of a full one"
