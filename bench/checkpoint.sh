#!/bin/bash
# bench/checkpoint.sh [--arch x86_64|aarch64] [--runs N] [--sizes "64 256 1024"]
#                     [--dirs "/dev/shm /tmp"] [--no-virsh] [--before BUILD_DIR]
# `snapvm checkpoint` of a process that has touched 64, 256 and 1024 MiB
# (bench/memtouch: every byte non-zero) in a guest of ARCH (default
# x86_64) under TCG, median
# of N runs (default 3), beside, in the same run: memcpy of the same bytes
# on the host (build/bench/memcpy-limit, the limit: into warm, fresh and
# huge-page memory, and as capture copies, from a fresh mapping of a
# /dev/shm file) and `virsh save` of the same VM (libvirt's whole-VM save,
# through snapvm's embedded libvirt root; it ends the VM, so it comes last
# and each run boots a fresh VM). criu is added where a working one is
# installed and the guest arch is the host's. Each checkpoint writes into every DIR (default /dev/shm, a
# tmpfs, and /tmp, the disk here), in an order that turns with each run;
# virsh save writes to the first DIR. (QMP `migrate` to exec: is no
# alternative: libvirt's seccomp sandbox kills QEMU when it spawns the
# command.) Times in ms; "wall" is the whole `snapvm checkpoint` command
# (process start to exit), "total" what it reports (total_ms); MB/s is
# touched bytes (10^6) / total. The load average is printed with each
# figure: the figures are only as quiet as the machine. Every measure
# (checkpoint, virsh save, criu dump) runs right after the same warm-up:
# SIZE MiB and a little more written into its DIR and removed, so each gets
# the same recently freed host pages. --before BUILD_DIR: also
# checkpoints with BUILD_DIR/host/snapvm (say, a build of the commit a
# change starts from) on the same VM, beside each checkpoint (which goes
# first turns with each run), after the same warm-up, and prints its
# medians and ratios as "(before)" rows: a change against its base in the
# same load. Needs jq.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
SIZES="64 256 1024"
DIRS="/dev/shm /tmp"
VIRSH=1
ARCH=x86_64
BEFORE=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--dirs) DIRS=$2; shift 2 ;;
	--no-virsh) VIRSH=0; shift ;;
	--arch) ARCH=$2; shift 2 ;;
	--before) BEFORE=$2; shift 2 ;;
	-h | --help) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/checkpoint.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
MEMTOUCH=${SNAPVM_BUILD_DIR:-build}/bench/memtouch-$ARCH
MEMCPY=${SNAPVM_BUILD_DIR:-build}/bench/memcpy-limit
source bench/lib.sh
bench_init checkpoint.sh "$MEMTOUCH" "$MEMCPY" ${BEFORE:+"$BEFORE/host/snapvm"}
ROOT=$SNAPVM_STATE_DIR/libvirt
URI="qemu:///embed?root=$ROOT"
RAW=$TMP/raw # one line per measure: SIZE KEY VALUE
bench_cleanup() {
	for d in $DIRS; do rm -f "$d"/snapvm-bench-ckpt.svs* "$d"/snapvm-bench-save.* "$d"/snapvm-bench-warm 2>/dev/null || true; done
}
# virsh on snapvm's embedded root, holding snapvm's own root lock so no
# snapvm process opens the root meanwhile.
embed_virsh() { flock "$ROOT/snapvm.lock" virsh -q -c "$URI" "$@" 2>>"$TMP/virsh.log"; }
put() { echo "$SIZE $1 $2" >>"$RAW"; }

# Boots a VM running memtouch SIZE; waits until introspection shows the
# workload asleep with all its memory resident (it prints a line then, but
# a detached VM's output is kept in the guest). Sets VM and PID.
start_workload() {
	local mem=$((SIZE * 2 < 512 ? 512 : SIZE * 2)) json
	VM=ckpt-$SIZE-$1
	json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --memory "$mem" --name "$VM" -- \
		"$MEMTOUCH" "$SIZE")
	PID=$(jq -r .pid <<<"$json")
	BENCH_WAIT_ASLEEP=1 bench_wait_resident "$VM" "$PID" "$SIZE" 600
}

# Both sides write SIZE MiB of fresh pages into DIR. This machine may be a
# VM whose own memory is backed lazily: pages freed a moment ago are
# handed out again at once, pages nobody touched for long cost an exit to
# the outer hypervisor each. memcpy-limit frees 3 x SIZE just before criu
# dumps, so criu got recently freed pages and snapvm whatever was left:
# each measure now runs right after the same allocation and release of
# the room it is about to fill.
warm_room() { # warm_room DIR
	head -c $(((SIZE + SIZE / 16 + 8) << 20)) /dev/zero >"$1/snapvm-bench-warm"
	rm -f "$1/snapvm-bench-warm"
}

checkpoint() { # checkpoint DIR [before]: with $SNAPVM, or with --before's
	local out=$1/snapvm-bench-ckpt.svs t0 t1 json bin=$SNAPVM tag=ckpt:$1
	if [ "${2:-}" = before ]; then
		bin=$BEFORE/host/snapvm
		tag=before:$1
	fi
	warm_room "$1"
	sync
	t0=$(now_ms)
	json=$("$bin" checkpoint "$VM" --pid "$PID" -o "$out" --json 2>>"$TMP/ckpt.log")
	t1=$(now_ms)
	rm -f "$out"
	put "$tag:wall" $((t1 - t0))
	for k in prepare_ms pause_ms copy_ms write_ms total_ms file_size pages_present pages_stored; do
		put "$tag:$k" "$(jq -r .$k <<<"$json")"
	done
	put "$tag:load" "$(load)"
	printf '  %-9s checkpoint -> %-9s pause %7.1f  total %7.1f  wall %6d ms  (load %s)%s\n' \
		"$VM" "$1" "$(jq -r .pause_ms <<<"$json")" "$(jq -r .total_ms <<<"$json")" \
		$((t1 - t0)) "$(load)" "${2:+ $2}"
}

virsh_save() { # virsh_save DIR (ends the VM)
	local out=$1/snapvm-bench-save.virsh t0 t1 rc=0
	warm_room "$1"
	sync
	t0=$(now_ms)
	embed_virsh save "$VM" "$out" >/dev/null || rc=$?
	t1=$(now_ms)
	if [ $rc = 0 ]; then
		put "virsh:ms" $((t1 - t0))
		put "virsh:size" "$(stat -c %s "$out")"
	fi
	rm -f "$out"
	printf '  %-9s virsh save -> %-9s rc %d %6d ms  (load %s)\n' "$VM" "$1" $rc $((t1 - t0)) "$(load)"
}

# criu, where a working one is installed: dump a native process that has
# touched the same memory (the host-side reference of the issue).
# criu_probe sets CRIU_OK, so it must run in this shell: called as
# `criu_probe | sed ...` it ran in a pipeline's subshell and CRIU_OK was
# never set here, so criu was never measured. It prints its "# " lines itself.
CRIU_OK=
criu_probe() {
	if [ "$ARCH" != "$(uname -m)" ]; then
		echo "# criu: not comparable (the guest runs $ARCH, criu dumps host processes)"
		return
	fi
	if ! command -v criu >/dev/null; then
		echo "# criu: not usable here (not installed; Debian's 3.17 does not start on kernels 6.13+)"
		return
	fi
	local v
	# the version is only shown: a criu that cannot say it is still probed
	v=$(criu --version 2>/dev/null | sed -n 's/^Version: //p') || v='(no version)'
	if ! criu check >"$TMP/criu-check.log" 2>&1; then
		echo "# criu: not usable here (criu $v: 'criu check' fails: $(tail -n 1 "$TMP/criu-check.log"))"
		return
	fi
	CRIU_OK=1
	echo "# criu: $v ($(command -v criu))"
}
criu_dump() { # criu_dump DIR
	local d=$1/snapvm-bench-criu t0 t1 pid rc=0
	rm -rf "$d" && mkdir -p "$d"
	setsid "$MEMTOUCH" "$SIZE" >"$TMP/criu-touch.log" 2>&1 </dev/null &
	pid=$!
	# out of bash's job table: criu dump kills it, and bash would print its
	# own "Killed" notice for the job (bash still reaps it)
	disown "$pid"
	while ! grep -q touched "$TMP/criu-touch.log"; do
		# a memtouch that died (mmap failed) would keep this loop waiting forever
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "  criu dump $SIZE MiB: memtouch died: $(cat "$TMP/criu-touch.log")" >&2
			return 0
		fi
		sleep 0.1
	done
	warm_room "$1"
	sync
	t0=$(now_ms)
	criu dump -t "$pid" -D "$d" -o dump.log --shell-job >/dev/null 2>&1 || rc=$?
	t1=$(now_ms)
	# criu dump kills the dumped process itself; this is for a failed dump.
	# Gone before the next measure, so its memory is free again.
	kill -9 "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	if [ $rc = 0 ]; then
		put "criu:ms" $((t1 - t0))
	else
		# say why (-o: criu logs into the image dir, removed below)
		tail -n 3 "$d/dump.log" 2>/dev/null | sed 's/^/    criu: /' >&2 || true
	fi
	rm -rf "$d"
	printf '  criu dump %s MiB -> %s rc %d %6d ms  (load %s)\n' "$SIZE" "$1" $rc $((t1 - t0)) "$(load)"
}

median() { sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }
med() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k {print $3}' "$RAW" | median; }
all() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k {print $3}' "$RAW" | paste -sd/; }

FIRST_DIR=${DIRS%% *}
# (sed -n 1p, not head -1: it reads to the end, so QEMU never writes into a
# closed pipe)
echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, $(qemu-system-"$ARCH" --version | sed -n 1p)"
echo "# $ARCH guest under TCG, $RUNS runs per size, memtouch (every byte non-zero)"
criu_probe
for SIZE in $SIZES; do
	echo "## $SIZE MiB"
	for run in $(seq "$RUNS"); do
		start_workload "$run"
		# The first checkpoint of a run pays for host memory nobody has
		# touched yet (slow on a VM whose own memory is lazily backed): the
		# order of the DIRs turns with each run so no DIR always goes first.
		order=$(tr ' ' '\n' <<<"$DIRS" | grep . | awk -v k="$run" '{a[NR]=$0} END {for (i = 0; i < NR; i++) print a[(i + k - 1) % NR + 1]}')
		for d in $order; do
			if [ -z "$BEFORE" ]; then
				checkpoint "$d"
			elif [ $((run % 2)) = 1 ]; then
				checkpoint "$d"
				checkpoint "$d" before
			else
				checkpoint "$d" before
				checkpoint "$d"
			fi
		done
		read -r warm fresh thp shm shmopt <<<"$("$MEMCPY" "$SIZE" 3)"
		put memcpy:warm "$warm"
		put memcpy:fresh "$fresh"
		put memcpy:thp "$thp"
		put memcpy:shm "$shm"
		put memcpy:shmopt "$shmopt"
		printf '  memcpy %s MiB: warm dst %s, fresh dst %s, THP dst %s; from a fresh /dev/shm mapping %s, populated + THP %s ms  (load %s)\n' \
			"$SIZE" "$warm" "$fresh" "$thp" "$shm" "$shmopt" "$(load)"
		if [ $VIRSH = 1 ]; then
			virsh_save "$FIRST_DIR"
		fi
		"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
		[ -z "$CRIU_OK" ] || criu_dump "$FIRST_DIR"
	done
done

echo
echo "# medians of $RUNS runs (ms; MB = 10^6 bytes of touched memory)"
printf '%-6s %-16s %8s %8s %8s %8s %8s %8s %8s %8s %6s\n' MiB dir prepare pause copy write total \
	wall "MB/s" "size MiB" load
for SIZE in $SIZES; do
	for t in $(for d in $DIRS; do echo "ckpt:$d"; [ -z "$BEFORE" ] || echo "before:$d"; done); do
		d=${t#*:}
		[ "${t%%:*}" = ckpt ] || d="$d(before)"
		total=$(med "$SIZE" "$t:total_ms")
		printf '%-6s %-16s %8.1f %8.1f %8.1f %8.1f %8.1f %8s %8.0f %8.1f %6s\n' "$SIZE" "$d" \
			"$(med "$SIZE" "$t:prepare_ms")" \
			"$(med "$SIZE" "$t:pause_ms")" "$(med "$SIZE" "$t:copy_ms")" \
			"$(med "$SIZE" "$t:write_ms")" "$total" "$(med "$SIZE" "$t:wall")" \
			"$(awk -v s="$SIZE" -v t="$total" 'BEGIN {print s * 1048576 / 1e6 / (t / 1000)}')" \
			"$(awk -v b="$(med "$SIZE" "$t:file_size")" 'BEGIN {print b / 1048576}')" \
			"$(all "$SIZE" "$t:load")"
	done
done
echo
echo "# memcpy of the same bytes (ms): warm/fresh/THP destination; shm: as capture copies,"
echo "# from a fresh read-only mapping of a /dev/shm file into fresh memory; shm+: the same"
echo "# with MADV_POPULATE_READ on the source and MADV_HUGEPAGE on the destination"
printf '%-6s %8s %8s %8s %8s %8s %10s %10s %10s\n' MiB "warm" "fresh" "THP" "shm" "shm+" \
	"virsh ms" "virsh MiB" "criu ms"
for SIZE in $SIZES; do
	printf '%-6s %8s %8s %8s %8s %8s %10s %10s %10s\n' "$SIZE" "$(med "$SIZE" memcpy:warm)" \
		"$(med "$SIZE" memcpy:fresh)" "$(med "$SIZE" memcpy:thp)" "$(med "$SIZE" memcpy:shm)" \
		"$(med "$SIZE" memcpy:shmopt)" \
		"$(med "$SIZE" virsh:ms)" \
		"$(awk -v b="$(med "$SIZE" virsh:size)" 'BEGIN {if (b == "-") print "-"; else printf "%.0f", b / 1048576}')" \
		"$(med "$SIZE" criu:ms)"
done
echo
echo "# ratios (checkpoint to $FIRST_DIR; memcpy = warm destination, the strict limit)"
printf '%-12s %14s %16s %16s %14s %12s %12s\n' MiB "total/memcpy" "pause/memcpy" "pause/shm cp" \
	"total/virsh" "wall/criu" "total/criu"
for row in $(for SIZE in $SIZES; do echo "$SIZE:ckpt"; [ -z "$BEFORE" ] || echo "$SIZE:before"; done); do
	SIZE=${row%%:*}
	t=${row#*:}:$FIRST_DIR
	label=$SIZE
	[ "${row#*:}" = ckpt ] || label="$SIZE(before)"
	awk -v tot="$(med "$SIZE" "$t:total_ms")" -v pause="$(med "$SIZE" "$t:pause_ms")" \
		-v w="$(med "$SIZE" memcpy:warm)" -v f="$(med "$SIZE" memcpy:shm)" \
		-v v="$(med "$SIZE" virsh:ms)" -v c="$(med "$SIZE" criu:ms)" \
		-v wall="$(med "$SIZE" "$t:wall")" -v s="$label" '
		function r(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
		BEGIN { printf "%-12s %14s %16s %16s %14s %12s %12s\n", s, r(tot, w), r(pause, w), r(pause, f),
			r(tot, v), r(wall, c), r(tot, c) }'
done
echo
echo "# goals (issue 4; issue 17 goal 2: the whole command, wall, no slower than criu dump)"
for SIZE in $SIZES; do
	t=ckpt:$FIRST_DIR
	awk -v wall="$(med "$SIZE" "$t:wall")" -v c="$(med "$SIZE" criu:ms)" -v s="$SIZE" -v d="$FIRST_DIR" \
		'BEGIN { if (c != "-") printf "%s MiB -> %s: wall %.0f ms vs criu dump %.0f ms: %s\n", s, d, wall, c,
			 wall <= c ? "met" : "MISSED" }'
	awk -v pause="$(med "$SIZE" "$t:pause_ms")" -v w="$(med "$SIZE" memcpy:warm)" -v s="$SIZE" \
		'BEGIN { printf "%s MiB: pause %.1f ms vs 1.5x memcpy %.1f ms: %s\n", s, pause, 1.5 * w,
			 pause <= 1.5 * w ? "met" : "MISSED" }'
	if [ "$SIZE" = 1024 ]; then
		for d in $DIRS; do
			awk -v t="$(med 1024 "ckpt:$d:total_ms")" -v wall="$(med 1024 "ckpt:$d:wall")" -v d="$d" \
				'BEGIN { printf "1 GiB end to end -> %s: total %.0f ms, wall %.0f ms vs 650 ms: %s\n",
					 d, t, wall, wall < 650 ? "met" : (t < 650 ? "met by total_ms, not by wall" : "MISSED") }'
		done
	fi
done
