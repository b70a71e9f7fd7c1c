#!/bin/bash
# bench/boot-baseline.sh [--runs N] [--trivial] [ARCH...] - the fastest plain
# QEMU boot of the same kernel and initramfs snapvm uses: wall time from
# starting QEMU to the agent's "snapvm-agent: ready" line on the serial
# console (the agent prints it once it has opened its virtio-serial port),
# median of N runs (default 3), per machine variant. QEMU is killed at the
# marker. No libvirt, no snapvm: this is the floor snapvm's own path is
# compared to. --trivial adds, per variant, the same kernel and machine with
# an initramfs holding only a static /init that prints one line (built here
# with the arch's cross compiler): the kernel's own floor, without the
# agent's module loading. Prints figures; never pass/fail. Images come from
# ${SNAPVM_IMAGE_DIR:-${SNAPVM_CACHE_DIR:-~/.cache/snapvm}/images}/<arch>/current.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
TRIVIAL=
ARCHES=()
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--trivial) TRIVIAL=1; shift ;;
	-h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) ARCHES+=("$1"); shift ;;
	esac
done
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)
CACHE=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}
IMAGES=${SNAPVM_IMAGE_DIR:-$CACHE/images}
TMP=$(mktemp -d /tmp/snapvm-baseline-XXXXXX)
QEMU_PID=
# Never leave a QEMU behind, whatever way this script ends.
cleanup() {
	[ -z "$QEMU_PID" ] || kill -9 "$QEMU_PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# One boot: ms from starting QEMU to the marker (or "fail"/"timeout").
boot_ms() {
	local log=$TMP/console.log t0 r=
	: >"$log"
	rm -f "$TMP/agent.sock"
	t0=$(now_ms)
	# The agent waits for its virtio-serial port; give it one, backed by a
	# socket nobody connects to (wait=off: QEMU does not block on it).
	"$@" -serial "file:$log" -chardev "socket,id=agent,path=$TMP/agent.sock,server=on,wait=off" \
		>"$TMP/qemu.err" 2>&1 &
	QEMU_PID=$!
	while ! grep -q "$MARKER" "$log" 2>/dev/null; do
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then r=fail; break; fi
		if [ $(($(now_ms) - t0)) -gt 120000 ]; then r=timeout; break; fi
		sleep 0.01
	done
	[ -n "$r" ] || r=$(($(now_ms) - t0))
	kill -9 "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
	if [ "$r" = fail ] || [ "$r" = timeout ]; then
		# Say why, once, on stderr; the figure line still gets printed.
		{ echo "  [$r] last console lines:"; tail -n 3 "$log"; head -n 3 "$TMP/qemu.err"; } |
			sed 's/^/    /' >&2
	fi
	echo "$r"
}

# Median of the runs that reached the marker ("-" if none did); failed
# runs still show in the list of runs.
median() { grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }

# measure LABEL QEMU-ARGS... : with the image's initramfs up to the agent's
# marker, then (--trivial) with the one-line init up to its line.
measure() {
	local label=$1 samples=() init
	shift
	for init in agent ${TRIVIAL:+trivial}; do
		if [ "$init" = agent ]; then
			INITRD=$IMG/initramfs.cpio MARKER='snapvm-agent: ready'
		else
			trivial_initramfs || continue
			INITRD=$TMP/trivial-$ARCH.cpio MARKER='snapvm-baseline: trivial init'
			label="$label, trivial init"
		fi
		samples=()
		for _ in $(seq "$RUNS"); do samples+=("$(boot_ms "$@" -initrd "$INITRD")"); done
		printf '%-8s %-56s %6s ms   (runs: %s)\n' "$ARCH" "$label" \
			"$(printf '%s\n' "${samples[@]}" | median)" "${samples[*]}"
	done
}

# $TMP/trivial-$ARCH.cpio: a static /init that prints the marker on the
# console and waits (its exit would panic the kernel).
trivial_initramfs() {
	local cc dir=$TMP/trivial-$ARCH
	[ -f "$TMP/trivial-$ARCH.cpio" ] && return 0
	case $ARCH in
	ppc64le) cc=powerpc64le-linux-gnu-gcc ;;
	*) cc=$ARCH-linux-gnu-gcc ;;
	esac
	if ! command -v "$cc" >/dev/null; then
		echo "# no $cc: no trivial-init floor for $ARCH" >&2
		return 1
	fi
	mkdir -p "$dir"
	cat >"$dir/init.c" <<'INIT'
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
int main(void)
{
	static const char line[] = "snapvm-baseline: trivial init\n";
	/* the kernel gives init /dev/console as fds 0-2 when the node exists */
	int fd = 1;
	if (write(fd, line, sizeof(line) - 1) < 0) {
		mkdir("/dev", 0755);
		mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
		fd = open("/dev/console", O_WRONLY);
		if (write(fd, line, sizeof(line) - 1) < 0)
			return 1;
	}
	for (;;)
		pause();
}
INIT
	"$cc" -static -O2 -o "$dir/init" "$dir/init.c"
	(cd "$dir" && echo init | cpio --quiet -o -H newc -R 0:0 >"../trivial-$ARCH.cpio")
}

# (sed -n 1p, not head -1: it reads to the end, so QEMU never writes into a
# closed pipe)
echo "# $(qemu-system-x86_64 --version | sed -n 1p), $(nproc) host CPUs, $RUNS runs, median ms to 'snapvm-agent: ready'${TRIVIAL:+ (trivial init: to its line)}"
for ARCH in "${ARCHES[@]}"; do
	IMG=$IMAGES/$ARCH/current
	if [ ! -f "$IMG/manifest.json" ]; then
		echo "# no $ARCH image in $IMAGES (images/build-image.sh or scripts/setup.sh)" >&2
		continue
	fi
	KERNEL=$IMG/$(cat "$IMG/boot-kernel")
	AGENT_SHA=$(sed -n 's/.*"agent_sha256": "\([0-9a-f]\{12\}\).*/\1/p' "$IMG/manifest.json")
	echo "# $ARCH image $(readlink -f "$IMG"), kernel $(cat "$IMG/kernel-release") (agent sha256 $AGENT_SHA...)"
	PORT="virtserialport,chardev=agent,name=org.snapvm.agent.0"
	# Kernel options common to all variants: no KASLR and (x86) 4-level paging
	# so introspection sees fixed, known layouts; quiet, because every line on
	# an emulated UART costs; panic=-1 so a failed boot ends at once.
	# cryptomgr.notests skips the crypto self-tests (~0.2-0.3 s under TCG),
	# which a throwaway guest does not need. Mitigations stay at the default.
	CMDLINE="nokaslr quiet panic=-1 cryptomgr.notests"
	case $ARCH in
	x86_64)
		# Haswell minus what QEMU 7.2's TCG cannot emulate (it would warn and
		# drop them anyway): AVX2 + XSAVE (XCR0 = x87|SSE|AVX), no AVX-512.
		# Same model and list as arch/x86_64's default.
		CPU=Haswell-noTSX-IBRS,-pcid,-x2apic,-tsc-deadline,-invpcid,-spec-ctrl
		COMMON=(qemu-system-x86_64 -accel tcg -cpu "$CPU" -m 512 -nodefaults -nographic
			-no-reboot -kernel "$KERNEL")
		X86_CMDLINE="console=ttyS0 no5lvl $CMDLINE"
		# QEMU boots the ELF vmlinux through its PVH entry on both boards.
		measure "-M pc, SeaBIOS, PVH vmlinux" "${COMMON[@]}" -M pc \
			-append "$X86_CMDLINE" -device virtio-serial-pci -device "$PORT"
		measure "-M pc, qboot, PVH vmlinux" "${COMMON[@]}" -M pc \
			-bios /usr/share/qemu/qboot.rom \
			-append "$X86_CMDLINE" -device virtio-serial-pci -device "$PORT"
		# microvm has no PIT/HPET to calibrate the TSC against: without
		# tsc_early_khz the kernel hangs. The host's TSC rate is good enough.
		KHZ=$(awk '/cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
		measure "-M microvm, PVH vmlinux, tsc_early_khz" "${COMMON[@]}" -M microvm \
			-append "$X86_CMDLINE tsc_early_khz=$KHZ" \
			-device virtio-serial-device -device "$PORT"
		;;
	aarch64)
		# cortex-a57: no pointer authentication (QEMU's PAuth emulation is
		# slow: -cpu max took 7.9 s to the marker here, cortex-a57 1.2 s) and no SVE.
		measure "-M virt -cpu cortex-a57, Image" qemu-system-aarch64 -M virt -accel tcg \
			-cpu cortex-a57 -m 512 -nodefaults -nographic -no-reboot \
			-kernel "$KERNEL" \
			-append "console=ttyAMA0 $CMDLINE" \
			-device virtio-serial-pci -device "$PORT"
		;;
	riscv64)
		# rv64 (RV64GC, no V), OpenSBI as QEMU's default firmware, the Image
		# loaded 2 MiB into RAM: the same as arch/riscv64's board.
		measure "-M virt -cpu rv64, OpenSBI, Image" qemu-system-riscv64 -M virt -accel tcg \
			-cpu rv64 -m 512 -nodefaults -nographic -no-reboot \
			-kernel "$KERNEL" \
			-append "console=ttyS0 $CMDLINE" \
			-device virtio-serial-pci -device "$PORT"
		;;
	ppc64le)
		# POWER9 on pseries with QEMU's virtual Open Firmware (x-vof=on)
		# instead of SLOF, the vmlinux ELF: the same as arch/ppc64le's board.
		measure "-M pseries,x-vof=on -cpu power9, vmlinux" qemu-system-ppc64 \
			-M pseries,x-vof=on -accel tcg -cpu power9 -m 512 -nodefaults -nographic \
			-no-reboot -kernel "$KERNEL" \
			-append "console=hvc0 $CMDLINE" \
			-device virtio-serial-pci -device "$PORT"
		;;
	*) echo "# unknown arch $ARCH" >&2 ;;
	esac
done
