#!/bin/bash
# images/build-l1-image.sh --snapvm PATH --out FILE [--image DIR] [--cache DIR]
#                          [--with-qemu] [--add SRC=DEST]...
#
# Builds the initramfs of an "L1" guest for testing the kvm backend on hosts
# without /dev/kvm: QEMU TCG boots the image's own kernel with -cpu max,+svm,
# this initramfs loads kvm.ko and kvm-amd.ko (with irqbypass.ko and ccp.ko)
# from the same Debian kernel package, so L1 has /dev/kvm, and runs
# /job.sh, which can `snapvm run --accel kvm` an L2 guest from the x86_64
# image carried in /l2. Everything the job prints goes to the L1 serial
# console, ended by "L1-JOB-END rc=N".
#
# Carries: busybox (from the image's initramfs), snapvm and the shared
# libraries ldd names, the image (/l2), the modules, and with --with-qemu
# qemu-system-x86_64 with its libraries and firmware (for the benchmark
# beside QEMU). --add copies more files in (workloads, /job.sh).
# Prints nothing but errors; the output is a newc cpio (uncompressed).
set -euo pipefail
SNAPVM=
OUT=
IMAGE=
CACHE=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}
WITH_QEMU=
ADDS=()
while [ $# -gt 0 ]; do
	case $1 in
	--snapvm) SNAPVM=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--image) IMAGE=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--with-qemu) WITH_QEMU=1; shift ;;
	--add) ADDS+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build-l1-image.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$SNAPVM" ] && [ -n "$OUT" ] || { echo "usage: $0 --snapvm PATH --out FILE ..." >&2; exit 2; }
IMAGE=$(readlink -f "${IMAGE:-$CACHE/images/x86_64/current}")
[ -f "$IMAGE/manifest.json" ] || { echo "build-l1-image.sh: no complete x86_64 image at $IMAGE (scripts/setup.sh builds it)" >&2; exit 1; }
# the first match; sed quits itself (a `| head -1` that leaves early fails
# the pipeline under pipefail)
DEB=$(sed -n '/"deb": "linux-image-/{s/.*"deb": "\(linux-image-[^"]*\.deb\)".*/\1/p;q}' "$IMAGE/manifest.json")
[ -f "$CACHE/debs/$DEB" ] || { echo "build-l1-image.sh: kernel package $CACHE/debs/$DEB missing (re-run images/build-image.sh)" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/snapvm-l1-XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,lib/modules,l2,workload,root}
mknod "$ROOT/dev/console" c 5 1

# busybox from the image's own initramfs
(cd "$ROOT" && cpio -i --quiet -d bin/busybox <"$IMAGE/initramfs.cpio")

# the KVM modules, in load order
MODS=$ROOT/tmp/mods
mkdir -p "$MODS"
dpkg-deb --fsys-tarfile "$CACHE/debs/$DEB" |
	tar -x -C "$MODS" --wildcards '*/virt/lib/irqbypass.ko' '*/crypto/ccp/ccp.ko' \
		'*/kvm/kvm.ko' '*/kvm/kvm-amd.ko'
for m in irqbypass ccp kvm kvm-amd; do
	find "$MODS" -name "$m.ko" -exec cp {} "$ROOT/lib/modules/" \;
	[ -f "$ROOT/lib/modules/$m.ko" ] || { echo "build-l1-image.sh: $m.ko not in $DEB" >&2; exit 1; }
done
rm -rf "$MODS"

# a dynamically linked program with every library ldd names
copy_with_libs() { # SRC DEST
	cp "$1" "$ROOT$2"
	ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}
copy_with_libs "$SNAPVM" /bin/snapvm
if [ -n "$WITH_QEMU" ]; then
	copy_with_libs "$(command -v qemu-system-x86_64)" /bin/qemu-system-x86_64
	mkdir -p "$ROOT/usr/share/qemu"
	for f in bios-microvm.bin bios-256k.bin pvh.bin linuxboot_dma.bin kvmvapic.bin qboot.rom; do
		# Debian's SeaBIOS (bios-256k.bin) lives in /usr/share/seabios,
		# which the host's QEMU also searches; L1's finds all in one place
		for d in /usr/share/qemu /usr/share/seabios; do
			if [ -e "$d/$f" ]; then cp -L "$d/$f" "$ROOT/usr/share/qemu/"; break; fi
		done
	done
fi

# the L2 image, as snapvm's --image expects it: config for introspection
# (ps, checkpoint), and the kallsyms cache when there is one (keyed by the
# kernel's size and mtime, hence -p: decoding it under TCG takes seconds)
KERNEL=$(cat "$IMAGE/boot-kernel")
for f in manifest.json boot-kernel kernel-release initramfs.cpio config "$KERNEL"; do
	cp -p "$IMAGE/$f" "$ROOT/l2/"
done
if [ -f "$IMAGE/$KERNEL.kallsyms" ]; then cp -p "$IMAGE/$KERNEL.kallsyms" "$ROOT/l2/"; fi

for a in "${ADDS[@]}"; do
	mkdir -p "$ROOT$(dirname "${a#*=}")"
	cp "${a%%=*}" "$ROOT${a#*=}"
done

cat >"$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in irqbypass ccp kvm kvm-amd; do
	insmod /lib/modules/$m.ko || echo "L1: insmod $m failed"
done
export HOME=/root PATH=/bin SNAPVM_STATE_DIR=/tmp/state SNAPVM_CACHE_DIR=/tmp/cache
echo "L1: up $(cut -d' ' -f1 /proc/uptime) s, $(ls /dev/kvm 2>&1)"
rc=127
[ -x /job.sh ] && { /job.sh; rc=$?; }
echo "L1-JOB-END rc=$rc"
poweroff -f
EOF
chmod 755 "$ROOT/init"
[ ! -f "$ROOT/job.sh" ] || chmod 755 "$ROOT/job.sh"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
