#!/bin/bash
# bench/restore-zeroing.sh [--arch x86_64|aarch64] [--mib N] [--cpus "M1 M2"]
#                          [--variants "V1;V2"]
# How fast the guest kernel under TCG zeroes fresh pages - the guest's
# side of a restore without a pool: its staging area is N MiB (default
# 1024) of fresh pages, each zeroed by the kernel at its fault
# (clear_page) before the host writes the snapshot's pages over it. Runs
# bench/zero-pages in a guest of each CPU model (default: the arch's
# default model) with each kernel command-line variant (default on x86_64:
# none, so ERMS's `rep stosb`; clearcpuid=erms, the restore's own, so
# REP_GOOD's `rep stosq`; clearcpuid=erms,rep_good, the unrolled loop;
# on aarch64: none, `dc zva`). Prints ms and MB/s for huge pages, 4 KiB
# pages and a user-space memset, and the flags the guest kernel kept.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=x86_64
MIB=1024
CPUS=
VARIANTS=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--mib) MIB=$2; shift 2 ;;
	--cpus) CPUS=$2; shift 2 ;;
	--variants) VARIANTS=$2; shift 2 ;;
	-h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench/restore-zeroing.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$VARIANTS" ]; then
	case $ARCH in
	x86_64) VARIANTS="none;clearcpuid=erms;clearcpuid=erms,rep_good" ;;
	*) VARIANTS="none" ;;
	esac
fi
ZERO=${SNAPVM_BUILD_DIR:-build}/bench/zero-pages-$ARCH
source bench/lib.sh
bench_init restore-zeroing.sh "$ZERO"

echo "guest kernel zeroing $MIB MiB under TCG, $ARCH (ms, MB/s)"
printf '%-22s %-32s %-20s %14s %14s %14s %6s\n' cpu cmdline flags fault-huge fault-4k memset load
IFS=';' read -r -a variants <<<"$VARIANTS"
for cpu in ${CPUS:-default}; do
	for v in "${variants[@]}"; do
		args=(--arch "$ARCH" --accel tcg --memory $((MIB + 512)))
		[ "$cpu" = default ] || args+=(--cpu "$cpu")
		[ "$v" = none ] || args+=(--append "$v")
		out=$("$SNAPVM" run "${args[@]}" -- "$ZERO" "$MIB" 2>"$TMP/run.err") ||
			bench_die "snapvm run failed ($cpu, $v): $(tail -n 2 "$TMP/run.err")"
		fig() { sed -n "s/^zero-pages: $1 \([0-9]*\) ms \([0-9]*\) MB\/s/\1 ms \2/p" <<<"$out"; }
		flags=$(sed -n 's/^zero-pages: flags *//p' <<<"$out")
		printf '%-22s %-32s %-20s %14s %14s %14s %6s\n' "$cpu" "$v" "${flags:--}" \
			"$(fig fault-huge)" "$(fig fault-4k)" "$(fig memset)" "$(load)"
	done
done
