# shellcheck shell=bash
# bench/lib.sh - the start every bench shares, sourced after its options:
#   bench_init NAME [FILE...]  BUILD_DIR and SNAPVM; refuses to go on
#       without snapvm and each FILE built, or without jq; a private snapvm
#       state dir unless SNAPVM_STATE_DIR is set (the caller's is used and
#       kept); TMP, a scratch dir under $BENCH_TMP_BASE (default /tmp). On
#       exit: every VM stopped, the bench's own bench_cleanup run if it
#       defines one, the private state dir (and its guest RAM dir) and TMP
#       removed.
#   bench_die MSG...          prints "bench/NAME: MSG" and exits 1
#   now_ms, load              the clock in ms; the 1-minute load average
#   bench_wait_resident VM PID MIB TIMEOUT_S
#       polls `snapvm ps` until pid PID in VM has MIB MiB resident (its
#       memory all touched; a detached VM's output stays in the guest, so
#       this is how a bench knows), and is asleep if BENCH_WAIT_ASLEEP=1.
BENCH_NAME=bench
BENCH_OWN_STATE=

bench_die() {
	echo "bench/$BENCH_NAME: $*" >&2
	exit 1
}

now_ms() { date +%s%3N; }
load() { cut -d' ' -f1 /proc/loadavg; }

bench_exit() {
	"$SNAPVM" stop --all >/dev/null 2>&1 || true
	if declare -F bench_cleanup >/dev/null; then bench_cleanup || true; fi
	if [ -n "$BENCH_OWN_STATE" ]; then
		local ram
		ram=$(readlink "$SNAPVM_STATE_DIR/libvirt/ram-dir" || true)
		case $ram in /dev/shm/snapvm-*) rm -rf "$ram" ;; esac
		rm -rf "$SNAPVM_STATE_DIR"
	fi
	rm -rf "$TMP"
}

bench_init() {
	BENCH_NAME=$1
	shift
	BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
	SNAPVM=$BUILD_DIR/host/snapvm
	local f base=${BENCH_NAME%.sh}
	for f in "$SNAPVM" "$@"; do
		[ -x "$f" ] || bench_die "no $f (ninja -C $BUILD_DIR)"
	done
	command -v jq >/dev/null || bench_die "needs jq"
	if [ -z "${SNAPVM_STATE_DIR:-}" ]; then
		SNAPVM_STATE_DIR=$(mktemp -d "/tmp/$base-state-XXXXXX")
		BENCH_OWN_STATE=1
	fi
	export SNAPVM_STATE_DIR
	TMP=$(mktemp -d "${BENCH_TMP_BASE:-/tmp}/$base-XXXXXX")
	trap bench_exit EXIT
}

bench_wait_resident() {
	local vm=$1 pid=$2 mib=$3 timeout_s=$4 t0 ps
	t0=$(now_ms)
	while :; do
		sleep 1
		# a failing `snapvm ps` would end the bench with no word (set -e):
		# it is polled again, and its last error shown on timeout
		ps=$("$SNAPVM" ps "$vm" --json 2>"$TMP/ps.err" |
			jq -r --argjson p "$pid" '.[] | select(.pid == $p) | "\(.state) \(.rss_kib)"') ||
			ps="(snapvm ps failed: $(tail -n 1 "$TMP/ps.err"))"
		set -- $ps
		if [ "${2:-0}" -ge $((mib * 1024)) ] &&
			{ [ "${BENCH_WAIT_ASLEEP:-0}" != 1 ] || [ "${1:-}" = S ]; }; then
			return 0
		fi
		if [ $(($(now_ms) - t0)) -gt $((timeout_s * 1000)) ]; then
			bench_die "$vm: pid $pid never touched $mib MiB in $timeout_s s ($ps)"
		fi
	done
}
