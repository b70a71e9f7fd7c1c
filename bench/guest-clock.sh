#!/bin/bash
# bench/guest-clock.sh [--arch "A1 A2"] [--seconds N] [--load N] [--append ARGS]
# The guest's clocks against the host's under TCG: `snapvm run` of
# bench/clock-probe in a fresh guest of each ARCH (default x86_64), once
# with the host as it is ("as is") and once with N (default 3) spinning
# processes started before the guest boots and killed (by pid) after it
# ends ("+N spin"). The host stamps each line the probe prints once a
# second with its own clocks; from the first third of the lines to the
# last (the line of each that came the fastest): how far the guest's
# CLOCK_MONOTONIC moved against the host's (ppm), and the guest's
# CLOCK_REALTIME minus the host's at the last line (s; the line's transit
# is in it). Also the guest's clocksource
# and what a clock_gettime(CLOCK_MONOTONIC) costs in it, through the vDSO
# and as a system call. --append: extra guest kernel parameters.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=x86_64
SECONDS_=10
SPIN=3
APPEND=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCHES=$2; shift 2 ;;
	--seconds) SECONDS_=$2; shift 2 ;;
	--load) SPIN=$2; shift 2 ;;
	--append) APPEND=$2; shift 2 ;;
	-h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/guest-clock.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
source bench/lib.sh
probes=()
for a in $ARCHES; do probes+=("${SNAPVM_BUILD_DIR:-build}/bench/clock-probe-$a"); done
bench_init guest-clock.sh "${probes[@]}"
command -v python3 >/dev/null || bench_die "needs python3"

SPINNERS=()
spin_stop() {
	local p
	for p in "${SPINNERS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SPINNERS[@]}"; do wait "$p" 2>/dev/null || true; done
	SPINNERS=()
}
bench_cleanup() { spin_stop; }

# Reads the probe's lines on stdin, stamping each; prints one row.
summarise() {
	python3 -c '
import sys, time
rows, source, vdso, sysc = [], "-", "-", "-"
for line in sys.stdin:
    mono, real = time.monotonic_ns(), time.time_ns()
    p = line.split()
    if p[:2] == ["clock-probe:", "source"]:
        source = p[2]
    elif p[:2] == ["clock-probe:", "at"]:
        rows.append((mono, real, int(p[2]), int(p[3])))
    elif p[:2] == ["clock-probe:", "gettime"]:
        vdso, sysc = p[2], p[3]
if len(rows) < 2:
    print("%-18s %12s %10s %8s %8s" % (source, "-", "-", vdso, sysc))
    sys.exit(0)
# the line of the first third, and of the last, that came the fastest
# (the least host time beyond its guest time): transit jitter left out
third = max(1, len(rows) // 3)
h0, _, g0, _ = min(rows[:third], key=lambda r: r[0] - r[2])
h1, _, g1, _ = min(rows[-third:], key=lambda r: r[0] - r[2])
_, hr1, _, gr1 = rows[-1]
ppm = ((g1 - g0) / (h1 - h0) - 1) * 1e6
print("%-18s %12.0f %10.3f %8s %8s" % (source, ppm, (gr1 - hr1) / 1e9, vdso, sysc))
'
}

echo "guest clocks against the host's over $SECONDS_ s under TCG${APPEND:+ (--append $APPEND)}"
printf '%-8s %-9s %6s | %-18s %12s %10s %8s %8s\n' arch host load source drift-ppm real-off-s vdso-ns sys-ns
for arch in $ARCHES; do
	for mode in "as is" "+$SPIN spin"; do
		if [ "$mode" != "as is" ]; then
			for _ in $(seq "$SPIN"); do
				(while :; do :; done) &
				SPINNERS+=($!)
			done
		fi
		args=(--arch "$arch" --accel tcg)
		[ -z "$APPEND" ] || args+=(--append "$APPEND")
		l=$(load)
		row=$("$SNAPVM" run "${args[@]}" -- "${SNAPVM_BUILD_DIR:-build}/bench/clock-probe-$arch" \
			"$SECONDS_" 2>"$TMP/run.err" | summarise) ||
			bench_die "snapvm run failed ($arch): $(tail -n 2 "$TMP/run.err")"
		spin_stop
		printf '%-8s %-9s %6s | %s\n' "$arch" "$mode" "$l" "$row"
	done
done
