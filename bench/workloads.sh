#!/bin/bash
# bench/workloads.sh [--runs N] [--workloads "counter fpu"] [ARCH...]
# Checkpoint and restore times of the test workloads (counter, fpu, tls,
# sleeper by default: small static programs, tests/workloads/) per guest arch (default:
# x86_64 aarch64), under TCG, median of N runs (default 1). Each workload
# runs in a guest of its own (100 steps, 50 ms apart), is checkpointed
# 1.5 s in (--kill) and restored in a fresh guest. Columns, ms:
#   pause   the VM paused (as the checkpoint reports it)
#   ckpt    the checkpoint as it reports it (total_ms)
#   ckwall  the whole `snapvm checkpoint` command
#   boot    `snapvm restore --verbose`: command start to the guest's agent up
#   rstwall command start to the process running as itself again (its comm
#           is back; found by polling `snapvm ps --source agent`, so up to
#           one poll late)
# Needs jq. Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=1
WORKLOADS="counter fpu tls sleeper"
ARCHES=()
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--workloads) WORKLOADS=$2; shift 2 ;;
	-h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "bench/workloads.sh: unknown argument $1" >&2; exit 2 ;;
	*) ARCHES+=("$1"); shift ;;
	esac
done
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)
source bench/lib.sh
bench_init workloads.sh
RAW=$TMP/raw # ARCH WORKLOAD KEY VALUE
# (sed quits at the first match itself: a `| head -1` leaving early would
# fail the pipeline under pipefail)
step_ms() { sed -n "/^snapvm restore: \[ *[0-9.]* ms\] .*$2/{s/^snapvm restore: \[ *\([0-9]*\).*/\1/p;q}" "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }
med() { awk -v a="$1" -v w="$2" -v k="$3" '$1 == a && $2 == w && $3 == k {print $4}' "$RAW" | median; }

echo "# $(date -u +%FT%TZ), $(nproc) host CPUs, load $(cut -d' ' -f1 /proc/loadavg), $RUNS run(s)"
for ARCH in "${ARCHES[@]}"; do
	for run in $(seq "$RUNS"); do
		for W in $WORKLOADS; do
			prog=$BUILD_DIR/tests/workloads/$W-$ARCH
			VM=src-$ARCH-$W
			json=$("$SNAPVM" run --arch "$ARCH" --accel tcg --detach --json --name "$VM" -- \
				"$prog" 100 50)
			PID=$(jq -r .pid <<<"$json")
			sleep 1.5
			snap=$TMP/$W.svs
			t0=$(now_ms)
			cj=$("$SNAPVM" checkpoint "$VM" --pid "$PID" -o "$snap" --kill --json)
			echo "$ARCH $W ckwall $(($(now_ms) - t0))" >>"$RAW"
			echo "$ARCH $W pause $(jq -r .pause_ms <<<"$cj")" >>"$RAW"
			echo "$ARCH $W ckpt $(jq -r .total_ms <<<"$cj")" >>"$RAW"
			"$SNAPVM" stop "$VM" >/dev/null 2>&1 || true
			RVM=rst-$ARCH-$W
			comm=$W-$ARCH
			comm=${comm:0:15}
			t0=$(now_ms)
			"$SNAPVM" restore --accel tcg --detach --json --verbose --name "$RVM" "$snap" \
				>"$TMP/r.json" 2>"$TMP/r.log"
			# the pid it runs as (another when a kernel thread took its own)
			RPID=$(jq -r .pid "$TMP/r.json")
			while :; do
				c=$("$SNAPVM" ps "$RVM" --source agent --json 2>/dev/null |
					jq -r --argjson p "$RPID" '.[] | select(.pid == $p) | .comm' || true)
				[ "$c" != "$comm" ] || break
				if [ $(($(now_ms) - t0)) -gt 300000 ]; then
					echo "bench/workloads.sh: $RVM never ran ($c)" >&2
					cat "$TMP/r.log" >&2
					exit 1
				fi
			done
			echo "$ARCH $W rstwall $(($(now_ms) - t0))" >>"$RAW"
			echo "$ARCH $W boot $(step_ms "$TMP/r.log" "guest boot done")" >>"$RAW"
			"$SNAPVM" stop "$RVM" >/dev/null 2>&1 || true
			rm -f "$snap"
		done
	done
done
printf '%-8s %-8s %8s %8s %8s %8s %8s\n' arch workload pause ckpt ckwall boot rstwall
for ARCH in "${ARCHES[@]}"; do
	for W in $WORKLOADS; do
		printf '%-8s %-8s %8s %8s %8s %8s %8s\n' "$ARCH" "$W" "$(med "$ARCH" "$W" pause)" \
			"$(med "$ARCH" "$W" ckpt)" "$(med "$ARCH" "$W" ckwall)" \
			"$(med "$ARCH" "$W" boot)" "$(med "$ARCH" "$W" rstwall)"
	done
done
