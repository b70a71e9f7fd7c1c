#!/bin/bash
# bench/restore-size.sh [--arch x86_64|aarch64] [--sizes "64 256 1024"]
#                       [--pages host|initrd] [--no-virsh]
# `snapvm restore` of a process that has touched 64, 256 and 1024 MiB
# (bench/memtouch: every byte non-zero) in a guest of ARCH (default x86_64)
# under TCG, split
# into its steps, beside, in the same run, `virsh restore` of the whole VM
# the process ran in (saved with `virsh save` right after the checkpoint, so
# the same pages). One run per size. Steps of `snapvm restore --verbose`,
# in ms from the command's start:
#   prep    snapshot -> flat restore image -> initrd (host, /dev/shm)
#   boot    QEMU start, kernel boot (which unpacks the initrd holding the
#           image) until the agent answers
#   inject  restorer started until the process runs again as itself (its
#           comm is back: the blob sets it after every page is in place;
#           found by polling `snapvm ps --source agent`, so up to one poll
#           late)
#   total   command start to the process running
# pool0   `snapvm restore --pool` of the same snapshot into a guest `snapvm
#         pool start --prefault 0` booted beforehand (not timed): command
#         start to the process running, with no boot in the way
# p0-inj  of which: its restorer started until the process runs (staging,
#         the host's copy, the blob)
# pool    the same into a pool guest whose standby restorer pre-faulted
#         memory while it waited (pool start's default --prefault)
# p-inj   of which: the standby handed the restore until the process runs
# p-place of which: until the last page was in guest RAM (the rest is the
#         blob moving the pages into place and the comm poll)
# criu    `criu restore` of a native memtouch of the same size dumped by
#         criu, where a working one is on PATH and the arch is the host's
# virsh: `virsh restore` wall time (it returns once the domain runs). Needs
# --pages is passed to snapvm restore (host: the host writes the pages into
# guest RAM, the default; initrd: they travel in the initrd). Needs jq.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="64 256 1024"
VIRSH=1
PAGES=host
ARCH=x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=$2; shift 2 ;;
	--no-virsh) VIRSH=0; shift ;;
	--pages) PAGES=$2; shift 2 ;;
	--arch) ARCH=$2; shift 2 ;;
	-h | --help) sed -n '2,37s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/restore-size.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
MEMTOUCH=${SNAPVM_BUILD_DIR:-build}/bench/memtouch-$ARCH
COMM=memtouch-$ARCH
COMM=${COMM:0:15} # the kernel keeps 15 bytes of a name (TASK_COMM_LEN)
BENCH_TMP_BASE=/dev/shm
source bench/lib.sh
bench_init restore-size.sh "$MEMTOUCH"
ROOT=$SNAPVM_STATE_DIR/libvirt
URI="qemu:///embed?root=$ROOT"
embed_virsh() { flock "$ROOT/snapvm.lock" virsh -q -c "$URI" "$@" 2>>"$TMP/virsh.log"; }
# whole ms of the first --verbose line matching $2 in file $1
# (sed quits at the first match itself: a `| head -1` leaving early would
# fail the pipeline under pipefail)
step_ms() { sed -n "/^snapvm restore: \[ *[0-9.]* ms\] .*$2/{s/^snapvm restore: \[ *\([0-9]*\).*/\1/p;q}" "$1"; }

# Restores SNAP --detach with the arguments given; waits until the process
# runs as itself (comm back). Sets RVM (the VM) and WALL; the log in
# $TMP/restore.log.
restore_running() {
	local t0 rpid comm
	t0=$(now_ms)
	"$SNAPVM" restore --accel tcg --detach --json --verbose "$@" "$SNAP" \
		>"$TMP/restore.json" 2>"$TMP/restore.log"
	# the pid the process runs as (another when a kernel thread took its own)
	rpid=$(jq -r .pid "$TMP/restore.json")
	RVM=$(jq -r .name "$TMP/restore.json")
	while :; do
		comm=$("$SNAPVM" ps "$RVM" --source agent --json 2>/dev/null |
			jq -r --argjson p "$rpid" '.[] | select(.pid == $p) | .comm' || true)
		if [ "$comm" = "$COMM" ]; then break; fi
		if [ $(($(now_ms) - t0)) -gt 600000 ]; then
			echo "bench/restore-size.sh: $RVM: never running ($comm)" >&2
			cat "$TMP/restore.log" >&2
			exit 1
		fi
	done
	WALL=$(($(now_ms) - t0))
}

CRIU_OK=
if [ "$ARCH" = "$(uname -m)" ] && command -v criu >/dev/null && criu check >/dev/null 2>&1; then
	CRIU_OK=1
	echo "# criu: $(criu --version | sed -n 's/^Version: //p') ($(command -v criu))"
else
	echo "# criu: not measured (not on PATH, 'criu check' fails, or the guest arch is not the host's)"
fi
# criu restore of a native memtouch SIZE that criu dumped (ms), or -
criu_restore() {
	local d=$TMP/criu pid t0 ms=- rpid
	rm -rf "$d" && mkdir -p "$d"
	setsid "$MEMTOUCH" "$SIZE" >"$TMP/criu-touch.log" 2>&1 </dev/null &
	pid=$!
	disown "$pid"
	while ! grep -q touched "$TMP/criu-touch.log"; do
		kill -0 "$pid" 2>/dev/null || { echo -; return; }
		sleep 0.1
	done
	if criu dump -t "$pid" -D "$d" -o dump.log --shell-job >/dev/null 2>&1; then
		sync
		t0=$(now_ms)
		if criu restore -D "$d" -o restore.log --shell-job -d --pidfile "$d/pid" \
			>/dev/null 2>&1 </dev/null; then
			ms=$(($(now_ms) - t0))
			rpid=$(cat "$d/pid" 2>/dev/null || true)
			[ -z "$rpid" ] || kill -9 "$rpid" 2>/dev/null || true
		fi
	fi
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$d"
	echo "$ms"
}

echo "snapvm restore --pages $PAGES, $ARCH guest (ms)"
printf '%6s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %10s %6s\n' MiB prep boot inject total pool0 \
	p0-inj pool p-inj p-place criu "virsh-rst" load
for SIZE in $SIZES; do
	mem=$((SIZE * 2 < 512 ? 512 : SIZE * 2))
	VM=src-$SIZE
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --memory "$mem" --name "$VM" -- \
		"$MEMTOUCH" "$SIZE")
	PID=$(jq -r .pid <<<"$json")
	BENCH_WAIT_ASLEEP=1 bench_wait_resident "$VM" "$PID" "$SIZE" 900
	SNAP=$TMP/memtouch-$SIZE.svs
	"$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$SNAP" --leave-running 2>/dev/null
	virsh_rst=-
	if [ "$VIRSH" = 1 ]; then
		embed_virsh save "$VM" "$TMP/save.virsh" >/dev/null
		# QEMU opens the initrd again to start (migration then overwrites
		# RAM), and `snapvm run` deleted it once the VM ran: put a stand-in
		# of the same kind back (the image's initramfs), not timed.
		initrd=$(embed_virsh save-image-dumpxml "$TMP/save.virsh" |
			sed -n 's:.*<initrd>\(.*\)</initrd>.*:\1:p')
		if [ -n "$initrd" ] && [ ! -e "$initrd" ]; then
			mkdir -p "$(dirname "$initrd")"
			cp "${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}/images/$ARCH/current/initramfs.cpio" "$initrd" 2>/dev/null ||
				: >"$initrd"
		fi
		sync
		t0=$(now_ms)
		if embed_virsh restore "$TMP/save.virsh" >/dev/null; then
			virsh_rst=$(($(now_ms) - t0))
		else
			echo "bench/restore-size.sh: virsh restore failed:" >&2
			tail -3 "$TMP/virsh.log" >&2
		fi
		embed_virsh destroy "$VM" >/dev/null 2>&1 || true
		rm -f "$TMP/save.virsh"
		[ -n "$initrd" ] && rm -rf "$(dirname "$initrd")"
	fi
	"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true

	restore_running --pages "$PAGES" --name "rst-$SIZE"
	wall=$WALL
	prep=$(step_ms "$TMP/restore.log" "in the initrd")
	booted=$(step_ms "$TMP/restore.log" "guest boot done")
	boot_started=$(step_ms "$TMP/restore.log" "restorer started")
	# wall counts from before the command started: the restore's own
	# clock starts a few ms later
	"$SNAPVM" stop "$RVM" >/dev/null 2>&1 || true
	# the same snapshot into a guest booted beforehand: without
	# pre-faulted memory (pool0), then with it (pool)
	for prefault in 0 default; do
		args=()
		[ "$prefault" = default ] || args=(--prefault "$prefault")
		"$SNAPVM" pool start --arch "$ARCH" --accel tcg --memory $((SIZE + 640)) "${args[@]}" \
			>/dev/null
		restore_running --pool --no-refill
		started=$(step_ms "$TMP/restore.log" "restorer started")
		pool_inj=$((WALL - started))
		placed=$(step_ms "$TMP/restore.log" "pages in place")
		pool_place=$((placed - started))
		pool=$WALL
		grep -q "took pool guest" "$TMP/restore.log" || pool="$pool(booted)"
		if [ "$prefault" = 0 ]; then
			pool0=$pool pool0_inj=$pool_inj
		elif ! grep -q "(the standby, with its pre-faulted pages)" "$TMP/restore.log"; then
			pool="$pool(no-standby)"
		fi
		"$SNAPVM" stop "$RVM" >/dev/null 2>&1 || true
		"$SNAPVM" pool stop >/dev/null 2>&1 || true
	done
	criu=-
	[ -z "$CRIU_OK" ] || criu=$(criu_restore)
	printf '%6s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %10s %6s\n' "$SIZE" "$prep" \
		$((booted - prep)) $((wall - boot_started)) "$wall" "$pool0" "$pool0_inj" "$pool" \
		"$pool_inj" "$pool_place" "$criu" "$virsh_rst" "$(load)"
	rm -f "$SNAP"
done
