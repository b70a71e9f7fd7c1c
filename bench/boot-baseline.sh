#!/bin/bash
# bench/boot-baseline.sh [--runs N] [ARCH...] - the fastest plain QEMU boot
# of the same kernel and initramfs snapvm uses: process start to the agent's
# "snapvm-agent: ready" line on the serial console (printed once the agent
# opened its virtio-serial port), median of N runs (default 3), per variant.
# No libvirt, no snapvm: this is the floor snapvm's own path is compared to.
# Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
if [ "${1:-}" = --runs ]; then RUNS=$2; shift 2; fi
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)
CACHE=${SNAPVM_CACHE_DIR:-$HOME/.cache/snapvm}
TMP=$(mktemp -d /tmp/snapvm-baseline-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# One boot: ms from starting QEMU to the marker; QEMU is killed after it.
boot_ms() {
	local log=$TMP/console.log t0 pid
	: >"$log"
	t0=$(date +%s%3N)
	"$@" -serial "file:$log" -chardev "socket,id=agent,path=$TMP/agent.sock,server=on,wait=off" \
		>/dev/null 2>&1 &
	pid=$!
	while ! grep -q 'snapvm-agent: ready' "$log" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then echo "failed"; return; fi
		if [ $(($(date +%s%3N) - t0)) -gt 120000 ]; then echo "timeout"; kill -9 "$pid"; return; fi
		sleep 0.01
	done
	echo $(($(date +%s%3N) - t0))
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # measure LABEL QEMU-ARGS...
	local label=$1 samples=() i
	shift
	for i in $(seq "$RUNS"); do samples+=("$(boot_ms "$@")"); done
	printf '%-8s %-34s %s (%s)\n' "$ARCH" "$label" "$(printf '%s\n' "${samples[@]}" | median)" \
		"${samples[*]}"
}

for ARCH in "${ARCHES[@]}"; do
	IMG=$CACHE/images/$ARCH/current
	[ -f "$IMG/manifest.json" ] || { echo "no $ARCH image in $CACHE (run scripts/setup.sh)" >&2; exit 1; }
	KERNEL=$IMG/$(cat "$IMG/boot-kernel")
	PORT="virtserialport,chardev=agent,name=org.snapvm.agent.0"
	case $ARCH in
	x86_64)
		COMMON=(-accel tcg -cpu Haswell-noTSX-IBRS -m 512 -nodefaults -nographic -no-reboot
			-kernel "$KERNEL" -initrd "$IMG/initramfs.cpio")
		measure "qemu -M pc, PVH vmlinux" qemu-system-x86_64 -M pc "${COMMON[@]}" \
			-append "console=ttyS0 nokaslr quiet panic=-1" \
			-device virtio-serial-pci -device "$PORT"
		# microvm needs a TSC frequency up front or the kernel hangs (design.md)
		KHZ=$(awk '/cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
		measure "qemu -M microvm, PVH, tsc_early_khz" qemu-system-x86_64 -M microvm "${COMMON[@]}" \
			-append "console=ttyS0 nokaslr quiet panic=-1 tsc_early_khz=$KHZ" \
			-device virtio-serial-device -device "$PORT"
		;;
	aarch64)
		measure "qemu -M virt -cpu cortex-a57" qemu-system-aarch64 -M virt -accel tcg \
			-cpu cortex-a57 -m 512 -nodefaults -nographic -no-reboot \
			-kernel "$KERNEL" -initrd "$IMG/initramfs.cpio" \
			-append "console=ttyAMA0 nokaslr quiet panic=-1" \
			-device virtio-serial-pci -device "$PORT"
		;;
	esac
done
