#!/bin/bash
# bench/incremental.sh [--arch x86_64|aarch64] [--size MIB] [--pcts "1 10 50"]
#                      [--pattern block|spread] [--dir /dev/shm] [--runs N]
# Incremental and pre-copy checkpoints against full ones, in the same run:
# bench/memtouch MIB (default 1024) PCT 5 PATTERN writes every byte, then
# rewrites the same PCT% of its pages every 5 s (block: the first PCT% of
# them, the default; spread: evenly over all, so every huge page is hit).
# Per PCT, on one VM: a full checkpoint (which arms the soft-dirty bits),
# then after a rewrite two with --parent on it, one hashing every page
# (--no-soft-dirty) and one by the soft-dirty bits (x86_64), then one with
# --precopy (x86_64: it needs the bits); printed: pause, hashing, total, wall, pages and size of each,
# and each one's cost as a share of the full one's (issue 17's goals: the
# incremental at 1% <= 5% of a full checkpoint; the pre-copy pause at
# 1 GiB <= 20 ms). With a working criu on PATH (x86_64), the same for a
# native memtouch: `criu pre-dump --track-mem` (the process runs on), then
# after a rewrite `criu dump --track-mem --prev-images-dir` on it. Median
# of N runs (default 1), each on a fresh VM. Times in ms. Needs jq. Prints
# figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=x86_64
SIZE=1024
PCTS="1 10 50"
PATTERN=block
DIR=/dev/shm
RUNS=1
PERIOD=5
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--pcts) PCTS=$2; shift 2 ;;
	--pattern) PATTERN=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/incremental.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
MEMTOUCH=${SNAPVM_BUILD_DIR:-build}/bench/memtouch-$ARCH
source bench/lib.sh
bench_init incremental.sh "$MEMTOUCH"
RAW=$TMP/raw # one line per measure: PCT KEY VALUE
FULL=$DIR/snapvm-bench-full.svs
INC=$DIR/snapvm-bench-inc.svs
PRE=$DIR/snapvm-bench-pre.svs
CRIU_DIR=$DIR/snapvm-bench-criu
bench_cleanup() {
	rm -f "$FULL"* "$INC"* "$PRE"*
	rm -rf "$CRIU_DIR"
}

# Boots a VM running memtouch SIZE PCT PERIOD and waits until all its
# memory is resident (snapvm ps). Sets VM and PID.
start_workload() {
	local mem=$((SIZE * 2 < 512 ? 512 : SIZE * 2)) json
	VM=inc-$PCT-$1
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --memory "$mem" --name "$VM" -- \
		"$MEMTOUCH" "$SIZE" "$PCT" "$PERIOD" "$PATTERN")
	PID=$(jq -r .pid <<<"$json")
	bench_wait_resident "$VM" "$PID" "$SIZE" 600
}

checkpoint() { # checkpoint TAG OUT [--parent FILE]
	local tag=$1 out=$2 t0 t1 json
	shift 2
	sync
	t0=$(now_ms)
	json=$("$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$out" --json "$@")
	t1=$(now_ms)
	echo "$PCT $tag:wall $((t1 - t0))" >>"$RAW"
	for k in prepare_ms pause_ms hash_ms total_ms pages_present pages_stored file_size profile_ms carry_ms \
		parent_ms track_ms capture_ms copy_ms pause_files_ms hashes_ms write_ms finish_ms parent_wait_ms writer_ms; do
		echo "$PCT $tag:$k $(jq -r .$k <<<"$json")" >>"$RAW"
	done
	printf '  %-10s %-4s %-10s prepare %7.1f  pause %7.1f  hash %7.1f  write %7.1f  total %8.1f  wall %6d ms  stored %7d of %7d pages  (load %s)\n' \
		"$VM" "$tag" "$(jq -r .dirty_tracking <<<"$json")" "$(jq -r .prepare_ms <<<"$json")" "$(jq -r .pause_ms <<<"$json")" \
		"$(jq -r .hash_ms <<<"$json")" "$(jq -r .write_ms <<<"$json")" "$(jq -r .total_ms <<<"$json")" $((t1 - t0)) \
		"$(jq -r .pages_stored <<<"$json")" "$(jq -r .pages_present <<<"$json")" "$(load)"
	# the fixed cost around the pages: the guest kernel's profile and the
	# VM's RAM view, the parent's hashes, soft-dirty through the agent,
	# the capture in the pause (of it the copy), the files read in the
	# pause, the new page hashes, carrying the files, the file's tables
	printf '  %-10s %-4s fixed: profile %.1f  new file %.1f  parent %.1f (waited for %.1f)  dirty tracking %.1f  capture %.1f (copy %.1f)  pause files %.1f  hashes %.1f  files %.1f  finish %.1f ms (%s of %s carried files the parent had; %s bytes from the page cache, %s through the agent)\n' \
		"$VM" "$tag" "$(jq -r .profile_ms <<<"$json")" "$(jq -r .writer_ms <<<"$json")" "$(jq -r .parent_ms <<<"$json")" \
		"$(jq -r .parent_wait_ms <<<"$json")" "$(jq -r .track_ms <<<"$json")" \
		"$(jq -r .capture_ms <<<"$json")" "$(jq -r .copy_ms <<<"$json")" "$(jq -r .pause_files_ms <<<"$json")" \
		"$(jq -r .hashes_ms <<<"$json")" "$(jq -r .carry_ms <<<"$json")" "$(jq -r .finish_ms <<<"$json")" \
		"$(jq -r .files_from_parent <<<"$json")" "$(jq -r .files <<<"$json")" \
		"$(jq -r .files_page_cache_bytes <<<"$json")" "$(jq -r .files_agent_bytes <<<"$json")"
	if [ "$(jq -r .precopy_rounds <<<"$json")" != 0 ]; then
		printf '  %-10s %-4s rounds %s: %s pages copied running (last round %s) in %.0f ms, process held %.1f ms, VM paused %.1f ms for walks, pause took %s of %s from them\n' \
			"$VM" "$tag" "$(jq -r .precopy_rounds <<<"$json")" "$(jq -r .precopy_pages <<<"$json")" \
			"$(jq -r .precopy_last_round_pages <<<"$json")" "$(jq -r .precopy_ms <<<"$json")" \
			"$(jq -r .precopy_held_ms <<<"$json")" "$(jq -r .precopy_paused_ms <<<"$json")" \
			"$(jq -r .pages_from_precopy <<<"$json")" "$(jq -r .pages_present <<<"$json")"
	fi
}

med() {
	awk -v p="$1" -v k="$2" '$1 == p && $2 == k {print $3}' "$RAW" | sort -g |
		awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'
}

# criu, where a working one is on PATH and the guest arch is the host's:
# pre-dump a native memtouch (it runs on), then after a rewrite dump it
# incrementally on that.
CRIU_OK=
CRIU_TRACK=
if [ "$ARCH" = "$(uname -m)" ] && command -v criu >/dev/null && criu check >/dev/null 2>&1; then
	CRIU_OK=1
	NATIVE=$TMP/memtouch-native
	cc -O2 -static -o "$NATIVE" bench/memtouch.c 2>/dev/null || cc -O2 -o "$NATIVE" bench/memtouch.c
	# pre-dump needs the host kernel's soft-dirty bits
	if criu check --feature mem_dirty_track >/dev/null 2>&1; then CRIU_TRACK=1; fi
fi
# Starts the native memtouch with these arguments, out of the job table
# (criu kills it), and prints its pid once all its memory is written.
start_native() {
	local pid
	setsid "$NATIVE" "$@" >"$TMP/criu-touch.log" 2>&1 </dev/null &
	pid=$!
	disown "$pid"
	while ! grep -q touched "$TMP/criu-touch.log"; do
		kill -0 "$pid" 2>/dev/null || { echo "  criu: memtouch died" >&2; return 1; }
		sleep 0.1
	done
	sync
	echo "$pid"
}
criu_run() {
	local pid t0=0 t1=0 rc=0
	[ -n "$CRIU_TRACK" ] || { criu_full; return; }
	rm -rf "$CRIU_DIR" && mkdir -p "$CRIU_DIR/pre" "$CRIU_DIR/inc"
	pid=$(start_native "$SIZE" "$PCT" "$PERIOD" "$PATTERN") || return 0
	t0=$(now_ms)
	criu pre-dump -t "$pid" -D "$CRIU_DIR/pre" -o pre.log --shell-job --track-mem >/dev/null 2>&1 || rc=$?
	t1=$(now_ms)
	[ $rc = 0 ] && echo "$PCT criu-full:ms $((t1 - t0))" >>"$RAW"
	printf '  criu pre-dump %s MiB rc %d %6d ms\n' "$SIZE" $rc $((t1 - t0))
	sleep $((PERIOD + 1))
	sync
	t0=$(now_ms)
	criu dump -t "$pid" -D "$CRIU_DIR/inc" -o dump.log --shell-job --track-mem \
		--prev-images-dir ../pre >/dev/null 2>&1 || rc=$?
	t1=$(now_ms)
	[ $rc = 0 ] && echo "$PCT criu-inc:ms $((t1 - t0))" >>"$RAW"
	printf '  criu dump --prev-images-dir rc %d %6d ms, %s MiB of pages\n' $rc $((t1 - t0)) \
		"$(du -sm "$CRIU_DIR/inc" | cut -f1)"
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$CRIU_DIR"
	return 0
}

# Without memory tracking on the host: a full criu dump only.
criu_full() {
	local pid t0=0 t1=0 rc=0
	rm -rf "$CRIU_DIR" && mkdir -p "$CRIU_DIR"
	pid=$(start_native "$SIZE") || return 0
	t0=$(now_ms)
	criu dump -t "$pid" -D "$CRIU_DIR" -o dump.log --shell-job >/dev/null 2>&1 || rc=$?
	t1=$(now_ms)
	[ $rc = 0 ] && echo "$PCT criu-full:ms $((t1 - t0))" >>"$RAW"
	printf '  criu dump %s MiB rc %d %6d ms\n' "$SIZE" $rc $((t1 - t0))
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$CRIU_DIR"
	return 0
}

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $ARCH guest under TCG, memtouch $SIZE MiB ($PATTERN), $RUNS run(s), to $DIR"
if [ -n "$CRIU_OK" ]; then
	echo "# criu: $(criu --version | sed -n 's/^Version: //p') ($(command -v criu))$([ -n "$CRIU_TRACK" ] ||
		echo ": the host kernel has no memory tracking for it (criu check --feature mem_dirty_track), so a full dump only")"
fi
for PCT in $PCTS; do
	echo "## $PCT% of the pages rewritten"
	for run in $(seq "$RUNS"); do
		start_workload "$run"
		checkpoint full "$FULL"
		# at least one rewrite after the full checkpoint
		sleep $((PERIOD + 1))
		checkpoint hash "$INC" --parent "$FULL" --no-soft-dirty
		rm -f "$INC"
		checkpoint inc "$INC" --parent "$FULL"
		# pre-copy finds what was written between rounds by soft-dirty
		# bits, which only x86_64 guests keep (README)
		if [ "$ARCH" = x86_64 ]; then checkpoint pre "$PRE" --precopy; fi
		rm -f "$FULL" "$INC" "$PRE"
		"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
		[ -z "$CRIU_OK" ] || criu_run
	done
done

echo
echo "# medians (ms; MiB of file); inc = by soft-dirty bits where the arch keeps them (x86_64)"
printf '%-5s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' "pct" "full ms" "hash ms" \
	"hash/f" "inc ms" "inc/f" "full MiB" "inc MiB" "full pse" "pre pse" "pre/f" "criu ms" \
	"criu inc" "inc/criu"
for PCT in $PCTS; do
	awk -v p="$PCT" -v ft="$(med "$PCT" full:total_ms)" -v ht="$(med "$PCT" hash:total_ms)" \
		-v it="$(med "$PCT" inc:total_ms)" -v fs="$(med "$PCT" full:file_size)" \
		-v is="$(med "$PCT" inc:file_size)" -v fp="$(med "$PCT" full:pause_ms)" \
		-v pp="$(med "$PCT" pre:pause_ms)" -v cf="$(med "$PCT" criu-full:ms)" \
		-v ci="$(med "$PCT" criu-inc:ms)" '
		function pc(a, b) { return (a != "-" && b > 0) ? sprintf("%.1f%%", 100 * a / b) : "-" }
		function f1(a) { return a != "-" ? sprintf("%.1f", a) : "-" }
		BEGIN { printf "%-5s %8.0f %8.0f %8s %8.0f %8s %8.1f %8.1f %8.1f %8s %8s %8s %8s %8s\n", p "%",
			ft, ht, pc(ht, ft), it, pc(it, ft), fs / 1048576, is / 1048576, fp, f1(pp), pc(pp, fp),
			cf, ci, pc(it, ci != "-" ? ci : cf) }'
done
echo
echo "# medians of where the soft-dirty incremental's ms go (inc; hash where the arch has no soft-dirty)"
printf '%-5s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' "pct" "total" "profile" "parent" "track" \
	"prepare" "pause" "capture" "copy" "hashes" "files" "finish"
for PCT in $PCTS; do
	t=inc
	[ "$(med "$PCT" inc:total_ms)" != "-" ] || t=hash
	printf '%-5s' "$PCT%"
	for k in total_ms profile_ms parent_ms track_ms prepare_ms pause_ms capture_ms copy_ms hashes_ms carry_ms finish_ms; do
		printf ' %8s' "$(med "$PCT" "$t:$k")"
	done
	echo
done
echo
echo "# goals (issue 17): the incremental checkpoint at 1% costs <= 5% of a full one (inc/f);"
echo "# the pre-copy checkpoint's final pause at 1 GiB <= 20 ms (pre pse)"
