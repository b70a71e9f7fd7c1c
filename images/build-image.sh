#!/bin/bash
# images/build-image.sh --arch x86_64|aarch64|riscv64|ppc64le --agent PATH
#                       [--kernel bookworm|trixie] [--cache DIR]
#
# Builds a bootable guest image from Debian packages (see images/README.md)
# into $CACHE/images/<arch>/<key>/ and points $CACHE/images/<arch>/current at
# it. --kernel trixie (or SNAPVM_GUEST_KERNEL=trixie) takes Debian 13's 6.12
# kernel instead of Debian 12's 6.1 for x86_64 and aarch64, into
# $CACHE/images-trixie/<arch>/ (point SNAPVM_IMAGE_DIR there to use it);
# riscv64 and ppc64le exist only with trixie (Debian 12 has no riscv64 kernel,
# and its ppc64el one no BTF). Trixie's .debs are fetched directly from the
# archive and checked against its signed index (images/fetch-debian-deb.py):
# apt here knows only bookworm. The key is a hash of every input, so a changed input makes a new image
# and an unchanged one is reused. The last line on stdout is the image dir.
set -euo pipefail
# pipefail fails a pipeline when its writer dies of SIGPIPE because a reader
# left early (head, grep -q): no such reader follows a writer here; output
# is captured first, or the last reader reads to the end (sed -n 1p).
export PATH=$PATH:/usr/sbin:/sbin # modinfo

usage() {
	echo "usage: $0 --arch x86_64|aarch64|riscv64|ppc64le --agent PATH [--kernel bookworm|trixie] [--cache DIR]" >&2
	exit 2
}
ARCH='' AGENT='' CACHE=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm} SUITE=${SNAPVM_GUEST_KERNEL:-}
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--agent) AGENT=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--kernel) SUITE=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ -n "$ARCH" ] && [ -n "$AGENT" ] || usage
log() { echo "build-image[$ARCH]: $*" >&2; }
die() { log "error: $*"; exit 1; }
[ -f "$AGENT" ] || die "no agent binary at $AGENT (build it first: meson setup build && ninja -C build)"

# DEBARCH: Debian's name; FLAVOUR: the kernel's (linux-image-FLAVOUR; the
# 4 KiB-page one on ppc64el); DEFAULT_SUITE: where its kernel comes from.
case $ARCH in
x86_64) DEBARCH=amd64 FLAVOUR=amd64 DEFAULT_SUITE=bookworm ;;
aarch64) DEBARCH=arm64 FLAVOUR=arm64 DEFAULT_SUITE=bookworm ;;
riscv64) DEBARCH=riscv64 FLAVOUR=riscv64 DEFAULT_SUITE=trixie ;;
ppc64le) DEBARCH=ppc64el FLAVOUR=powerpc64le DEFAULT_SUITE=trixie ;;
*) die "unknown arch $ARCH (x86_64, aarch64, riscv64 or ppc64le)" ;;
esac
SUITE=${SUITE:-$DEFAULT_SUITE}
case $SUITE in
bookworm) [ "$DEFAULT_SUITE" = bookworm ] || die "Debian 12 (bookworm) has no usable $ARCH kernel: use --kernel trixie" ;;
trixie) ;;
*) die "unknown kernel suite $SUITE (bookworm or trixie)" ;;
esac
# The default kernel's images keep their place; another's go beside them.
IMAGES=$CACHE/images
[ "$SUITE" = "$DEFAULT_SUITE" ] || IMAGES=$CACHE/images-$SUITE
# The kernel modules the agent channel needs that are not built in: the
# virtio-serial driver and what it depends on (resolved below with modinfo),
# on PCI (QEMU pc and virt boards) and on MMIO (microvm, and our own VMM).
MODULES=(virtio_console virtio_pci virtio_mmio)
# this script and the module helper it sources
SELF_SHA=$(cat "$0" "$(dirname "$0")/kernel-modules.sh" | sha256sum | cut -d' ' -f1)
# shellcheck source=images/kernel-modules.sh
. "$(dirname "$0")/kernel-modules.sh"

# apt can fail transiently ("mirror sync in progress"): retry a few times.
retry() {
	local i
	for i in 1 2 3 4; do
		if "$@"; then return 0; fi
		log "'$*' failed (try $i); retrying"
		sleep $((i * 3))
	done
	return 1
}

# apt-cache takes a second or two per call here: ask once per package and
# read the fields from the saved record.
# (pkg_load runs in this shell, not in a $(...) subshell, so the record stays.)
declare -A PKG_RECORD
pkg_load() { PKG_RECORD[$1]=$(apt-cache show --no-all-versions "$1" 2>/dev/null || true); }
pkg_field() { # pkg_field PKG:ARCH FIELD - from the record pkg_load saved
	sed -n "/^$2: /{s///p;q}" <<<"${PKG_RECORD[$1]:-}" # the first such line
}

DEBS=$CACHE/debs
mkdir -p "$DEBS"
# PACKAGES: what the image is made of, by name:arch, kernel first.
PACKAGES=()
declare -A DEB_FILE DEB_SHA DEB_VER

# From Debian 13, which apt here does not know: fetched and verified by
# fetch-debian-deb.py (signed InRelease -> Packages.xz -> .deb sha256).
trixie_deb() { # trixie_deb --kernel FLAVOUR | --package NAME
	local out deb ver sha name
	out=$("$(dirname "$0")/fetch-debian-deb.py" --suite trixie --arch "$DEBARCH" \
		--cache "$CACHE" "$@") || die "cannot fetch $2 from trixie"
	read -r deb ver sha <<<"$out"
	name=$(dpkg-deb -f "$deb" Package):$DEBARCH
	PACKAGES+=("$name")
	DEB_FILE[$name]=$deb DEB_SHA[$name]=$sha DEB_VER[$name]=$ver
}

apt_deb() { # apt_deb NAME:ARCH - through apt, from the configured bookworm
	local p=$1
	pkg_load "$p"
	ver=$(pkg_field "$p" Version)
	sha=$(pkg_field "$p" SHA256)
	file=$(pkg_field "$p" Filename)
	[ -n "$ver" ] && [ -n "$sha" ] || die "apt cannot resolve $p"
	deb=$DEBS/$(basename "$file")
	if [ ! -f "$deb" ] || [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$sha" ]; then
		log "downloading $p $ver"
		# apt-get download names files its own way (epochs as %3a): fetch
		# into an empty dir and take whatever single file arrives.
		tmp=$(mktemp -d "$DEBS/.dl-XXXXXX")
		# apt's failure counts (pipefail); only grep's "nothing left to show"
		# (status 1) is not one.
		if ! (cd "$tmp" && retry apt-get download -q "$p=$ver" 2>&1 |
			{ grep -v -e unsandboxed -e '^Get:' -e '^Fetched' >&2 || [ $? = 1 ]; }); then
			rm -rf "$tmp"
			die "download of $p failed"
		fi
		got=$(find "$tmp" -name '*.deb' -print -quit)
		[ -n "$got" ] || { rm -rf "$tmp"; die "download of $p gave no .deb"; }
		mv "$got" "$deb"
		rm -rf "$tmp"
		[ "$(sha256sum "$deb" | cut -d' ' -f1)" = "$sha" ] || die "$deb: sha256 does not match apt's"
	fi
	PACKAGES+=("$p")
	DEB_FILE[$p]=$deb DEB_SHA[$p]=$sha DEB_VER[$p]=$ver
}

if [ "$SUITE" = trixie ]; then
	trixie_deb --kernel "$FLAVOUR"
else
	FOREIGN=$(dpkg --print-foreign-architectures)
	if [ "$DEBARCH" != "$(dpkg --print-architecture)" ] && ! grep -qx "$DEBARCH" <<<"$FOREIGN"; then
		die "the $DEBARCH package architecture is not configured; run:
    dpkg --add-architecture $DEBARCH && apt-get update"
	fi
	# The metapackage names the current ABI's kernel; its -unsigned twin
	# holds the same files without the signing wrapper.
	META=linux-image-$DEBARCH:$DEBARCH
	pkg_load "$META"
	KPKG=$(pkg_field "$META" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | sed -n 1p)
	[ -n "$KPKG" ] || die "apt knows no $META (run apt-get update; for arm64 also dpkg --add-architecture arm64)"
	apt_deb "${KPKG%-unsigned}-unsigned:$DEBARCH"
fi
# busybox from apt where apt has this arch (the image's userland stays
# bookworm's beside either kernel), else from trixie
if [ "$DEFAULT_SUITE" = bookworm ]; then
	apt_deb "busybox-static:$DEBARCH"
else
	trixie_deb --package busybox-static
fi

AGENT_SHA=$(sha256sum "$AGENT" | cut -d' ' -f1)
# Packages in PACKAGES order, not associative-array order (which is bash's
# hash order and not promised to be stable).
KEY=$(for p in "${PACKAGES[@]}"; do echo "${DEB_SHA[$p]}"; done |
	cat <(printf '%s\n' "$SELF_SHA" "$AGENT_SHA" "${MODULES[@]}") - | sha256sum | cut -c1-16)
OUT=$IMAGES/$ARCH/$KEY
# Point "current" at an image by renaming a fresh symlink over it: readers
# never see it missing (ln -sfn unlinks first).
set_current() {
	ln -sfn "$KEY" "$IMAGES/$ARCH/.current-$$"
	mv -T "$IMAGES/$ARCH/.current-$$" "$IMAGES/$ARCH/current"
}
if [ -f "$OUT/manifest.json" ]; then
	# Nothing to build. "current" is still re-pointed: it must name the image
	# of the agent asked for last (setup.sh after a test build), not the one
	# built last.
	set_current
	log "up to date: $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$IMAGES/$ARCH"
WORK=$(mktemp -d "$IMAGES/$ARCH/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "building $OUT"
dpkg-deb -x "${DEB_FILE[${PACKAGES[0]}]}" "$WORK/kernel"
dpkg-deb -x "${DEB_FILE[busybox-static:$DEBARCH]}" "$WORK/busybox"
# trixie's packages are merged-/usr: modules under usr/lib
MODROOT=$WORK/kernel/lib/modules
[ -d "$MODROOT" ] || MODROOT=$WORK/kernel/usr/lib/modules
RELEASE=$(ls "$MODROOT")
MODDIR=$MODROOT/$RELEASE
IMG=$WORK/image
mkdir -p "$IMG"
# vmlinuz on most arches; riscv64 and ppc64el ship an uncompressed vmlinux
for f in vmlinuz vmlinux; do
	[ ! -f "$WORK/kernel/boot/$f-$RELEASE" ] || cp "$WORK/kernel/boot/$f-$RELEASE" "$IMG/$f"
done
cp "$WORK/kernel/boot/config-$RELEASE" "$IMG/config"
echo "$RELEASE" >"$IMG/kernel-release"

case $ARCH in
x86_64)
	# QEMU boots the uncompressed ELF through its PVH entry, skipping the
	# bzImage decompressor: much faster under TCG. The payload is XZ (6.1)
	# or zstd (trixie's 6.12) (Documentation/x86/boot.rst: setup_sects at
	# 0x1F1, payload_offset and payload_length at 0x248/0x24C; the last 4
	# bytes are the size).
	python3 - "$IMG/vmlinuz" "$WORK/payload" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup_sects = d[0x1f1] or 4
off, length = struct.unpack('<II', d[0x248:0x250])
start = (setup_sects + 1) * 512 + off
payload = d[start:start + length - 4]
if not (payload.startswith(b'\xfd7zXZ\x00') or payload.startswith(b'\x28\xb5\x2f\xfd')):
    sys.exit('bzImage payload is neither XZ nor zstd')
open(sys.argv[2], 'wb').write(payload)
PY
	case $(head -c 2 "$WORK/payload" | od -An -tx1 | tr -d ' ') in
	fd37) xz -dc "$WORK/payload" >"$IMG/vmlinux" ;;
	*) zstd -qdc "$WORK/payload" >"$IMG/vmlinux" ;;
	esac || die "cannot decompress the kernel payload"
	# QEMU's -kernel only takes the PVH path for an ELF carrying
	# XEN_ELFNOTE_PHYS32_ENTRY (type 0x12; readelf prints it as unknown).
	[ "$(head -c 4 "$IMG/vmlinux")" = $'\x7fELF' ] || die "decompressed kernel is not an ELF"
	# (readelf's output captured first: grep -q leaving at the first match
	# while readelf still writes made the pipeline fail under pipefail)
	NOTES=$(readelf -n "$IMG/vmlinux") || die "readelf -n vmlinux failed"
	grep -q 'Xen.*(0x00000012)' <<<"$NOTES" ||
		die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"
	echo vmlinux >"$IMG/boot-kernel"
	;;
aarch64)
	# Debian's arm64 vmlinuz is an uncompressed Image already.
	[ "$(dd if="$IMG/vmlinuz" bs=1 skip=56 count=4 2>/dev/null)" = $'ARM\x64' ] ||
		die "arm64 vmlinuz lacks the Image magic"
	ln "$IMG/vmlinuz" "$IMG/Image"
	echo Image >"$IMG/boot-kernel"
	;;
riscv64)
	# Debian's riscv64 "vmlinux" is the Image (an EFI stub in front of the
	# RISC-V boot header: "RISCV" at 48, "RSC\x05" at 56), which QEMU's
	# virt board loads as it is after OpenSBI.
	[ "$(dd if="$IMG/vmlinux" bs=1 skip=56 count=4 2>/dev/null)" = $'RSC\x05' ] ||
		die "riscv64 vmlinux lacks the RISC-V Image magic"
	mv "$IMG/vmlinux" "$IMG/Image"
	echo Image >"$IMG/boot-kernel"
	;;
ppc64le)
	# an ELF, which pseries' firmware (or QEMU's VOF) loads directly
	[ "$(head -c 4 "$IMG/vmlinux")" = $'\x7fELF' ] || die "ppc64el vmlinux is not an ELF"
	echo vmlinux >"$IMG/boot-kernel"
	;;
esac

# initramfs: the agent as /init, busybox for debugging, the channel modules.
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,workload,lib/modules}
install -m 0755 "$AGENT" "$ROOT/init"
BUSYBOX=$WORK/busybox/bin/busybox
[ -f "$BUSYBOX" ] || BUSYBOX=$WORK/busybox/usr/bin/busybox # merged-/usr (trixie)
install -m 0755 "$BUSYBOX" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# The kernel opens /dev/console for init's stdio before anything mounts
# devtmpfs; without the node init starts with no console at all.
mknod -m 600 "$ROOT/dev/console" c 5 1 || die "mknod /dev/console failed (run as root)"
MOD_OUT=$ROOT/lib/modules
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${MOD_ORDER[@]}" >"$ROOT/lib/modules/load-order"
# Reproducible: sorted names, fixed times, root-owned.
find "$ROOT" -exec touch -h -d @0 {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner 0:0 --reproducible --quiet) >"$IMG/initramfs.cpio"

# The manifest is written last: its presence marks a complete image.
(
	cd "$IMG"
	files=$(ls | LC_ALL=C sort)
	image_sha=$(sha256sum $files | sha256sum | cut -d' ' -f1)
	echo "{"
	echo "  \"arch\": \"$ARCH\","
	echo "  \"kernel_release\": \"$RELEASE\","
	echo "  \"boot_kernel\": \"$(cat boot-kernel)\","
	echo "  \"inputs\": {"
	echo "    \"packages\": ["
	sep=
	for p in "${PACKAGES[@]}"; do
		printf '%s      {"name": "%s", "version": "%s", "deb": "%s", "sha256": "%s"}' \
			"$sep" "$p" "${DEB_VER[$p]}" "$(basename "${DEB_FILE[$p]}")" "${DEB_SHA[$p]}"
		sep=$',\n'
	done
	echo
	echo "    ],"
	echo "    \"agent_sha256\": \"$AGENT_SHA\","
	echo "    \"builder_sha256\": \"$SELF_SHA\","
	echo "    \"modules\": [$(printf '"%s",' "${MOD_ORDER[@]}" | sed 's/,$//')]"
	echo "  },"
	echo "  \"files\": ["
	sep=
	for f in $files; do
		# assigned first: a $(...) inside printf's arguments loses its status
		size=$(stat -c %s "$f")
		sha=$(sha256sum "$f" | cut -d' ' -f1)
		printf '%s    {"name": "%s", "size": %s, "sha256": "%s"}' "$sep" "$f" "$size" "$sha"
		sep=$',\n'
	done
	echo
	echo "  ],"
	echo "  \"image_sha256\": \"$image_sha\""
	echo "}"
) >"$WORK/manifest.json"
mv "$WORK/manifest.json" "$IMG/manifest.json"
# Atomic publish. mv -T refuses to move into an existing directory: if a
# concurrent build of the same key won, its image is as good as ours. A
# leftover without manifest.json (from a killed older builder) is replaced.
[ -f "$OUT/manifest.json" ] || rm -rf "$OUT"
mv -T "$IMG" "$OUT" 2>/dev/null || [ -f "$OUT/manifest.json" ] || die "cannot publish $OUT"
set_current
log "built $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
