#!/bin/bash
# images/build-rootfs.sh --arch x86_64|aarch64 --packages P1,P2,... --base DIR [--cache DIR]
#
# Builds a guest root filesystem from Debian 12 packages (the listed ones and
# what they depend on) for `snapvm run --image` (see images/README.md):
#   rootfs.ext4    read-only ext4 made with mke2fs -d (no root needed)
#   files.tsv      sha256, size, mtime and path of every regular file in it
#   modules.cpio   the kernel modules that mount it (virtio_blk, ext4,
#                  overlay and what they need), for the base image's kernel,
#                  appended to the initramfs only when a run uses the disk
#   manifest.json  requested packages, every resolved package with version
#                  and sha256, the files with sha256, image_sha256 (over
#                  files.tsv and modules.cpio: the same packages give the
#                  same image_sha256); written last (a directory without it
#                  is incomplete)
# into $CACHE/rootfs/<arch>/<key>/, key = hash of the inputs (this script,
# the arch, the sorted package list, the base image's kernel). The last line
# on stdout is that directory; a second build of the same inputs is instant.
#
# Packages are only unpacked (mmdebstrap --variant=extract), never
# configured: foreign maintainer scripts would need qemu-user under
# binfmt_misc, which a CI container often lacks, and unpacking is the same
# on every arch. The one thing of theirs a program needs to start, the
# alternatives symlinks (libblas.so.3 for numpy), is made here from their
# update-alternatives --install lines. What a user notices: no dpkg
# database, no ld.so.cache (ld.so searches the default multiarch dirs), no
# byte-compiled .pyc until Python writes them (into the RAM overlay), and
# the users and groups of postinst scripts are missing (/etc/passwd holds
# root and nobody only).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # mke2fs, modinfo

usage() {
	echo "usage: $0 --arch x86_64|aarch64 --packages P1,P2,... --base DIR [--cache DIR]" >&2
	exit 2
}
ARCH='' PKGS='' BASE='' CACHE=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=$2; shift 2 ;;
	--packages) PKGS=$2; shift 2 ;;
	--base) BASE=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ -n "$ARCH" ] && [ -n "$PKGS" ] && [ -n "$BASE" ] || usage
log() { echo "build-rootfs[$ARCH]: $*" >&2; }
die() { log "error: $*"; exit 1; }
case $ARCH in
x86_64) DEBARCH=amd64 ;;
aarch64) DEBARCH=arm64 ;;
*) die "unknown arch $ARCH (x86_64 or aarch64)" ;;
esac
command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
command -v mke2fs >/dev/null || die "mke2fs is not installed (apt-get install e2fsprogs)"
[ -f "$BASE/manifest.json" ] || die "no base image at $BASE (run scripts/setup.sh)"

# The modules that mount the root: the block driver, the filesystems, and
# crc32c, which ext4 asks the crypto API for by name (a request_module that
# finds no modprobe in the guest, so it must be loaded first).
MODULES=(virtio_blk crc32c_generic ext4 overlay)
# Package names as apt spells them; sorted and deduplicated for the key.
mapfile -t PACKAGES < <(tr ',' '\n' <<<"$PKGS" | sed 's/^ *//; s/ *$//' | grep -v '^$' | LC_ALL=C sort -u)
for p in "${PACKAGES[@]}"; do
	[[ $p =~ ^[a-z0-9][a-z0-9+.-]*$ ]] || die "'$p' is not a Debian package name"
done
[ ${#PACKAGES[@]} -gt 0 ] || die "no packages given"

KDEB=$(jq -r '.inputs.packages[] | select(.name | startswith("linux-image-")) | .deb' "$BASE/manifest.json")
KSHA=$(jq -r '.inputs.packages[] | select(.name | startswith("linux-image-")) | .sha256' "$BASE/manifest.json")
[ -f "$CACHE/debs/$KDEB" ] || die "the base image's kernel package $KDEB is not in $CACHE/debs (run scripts/setup.sh)"

SELF_SHA=$(cat "$0" "$(dirname "$0")/kernel-modules.sh" | sha256sum | cut -d' ' -f1)
KEY=$(printf '%s\n' "$SELF_SHA" "$ARCH" "$KSHA" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
OUT=$CACHE/rootfs/$ARCH/$KEY
if [ -f "$OUT/manifest.json" ]; then
	log "up to date: $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE/rootfs/$ARCH"
WORK=$(mktemp -d "$CACHE/rootfs/$ARCH/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "building $OUT from: ${PACKAGES[*]}"
ROOT=$WORK/root
# Files this build makes (directories, .pyc, links, accounts) get time 0
# at the end, so the same inputs give the same bytes; packaged files keep
# their package's times (Python checks them against the .pyc).
touch "$WORK/.start"
# The downloaded .debs are kept (skip cleanup/apt/cache) so their names,
# versions and sha256 go into the manifest; removed from the root after.
retry=0
until mmdebstrap --quiet --mode=root --variant=extract --architectures="$DEBARCH" \
	--include="$(IFS=,; echo "${PACKAGES[*]}")" --skip=cleanup/apt/cache \
	bookworm "$ROOT" >&2; do
	retry=$((retry + 1))
	[ $retry -lt 3 ] || die "mmdebstrap failed (a package name apt does not know? the mirror?)"
	log "mmdebstrap failed (try $retry); retrying"
	rm -rf "$ROOT"
	sleep $((retry * 5))
done
ARCHIVES=$ROOT/var/cache/apt/archives
for deb in "$ARCHIVES"/*.deb; do
	printf '%s\t%s\t%s\t%s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
		"$(dpkg-deb -f "$deb" Architecture)" "$(sha256sum "$deb" | cut -d' ' -f1)"
done | LC_ALL=C sort >"$WORK/packages.tsv"
# Alternatives: what postinst scripts would register with update-alternatives
# --install (libblas.so.3 for numpy, for instance), the highest priority of
# each name linked directly (no /etc/alternatives; literal arguments only).
for deb in "$ARCHIVES"/*.deb; do
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst 2>/dev/null || true
done | python3 -c '
import os, re, sys
root = sys.argv[1]
text = re.sub(r"\\\n", " ", sys.stdin.read())
best = {}
pat = re.compile(r"update-alternatives\s+(?:--quiet\s+)?--install\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)((?:\s+--slave\s+\S+\s+\S+\s+\S+)*)")
for m in pat.finditer(text):
    link, name, path, prio, slaves = m.groups()
    pairs = [(link, path)] + [(a, c) for a, _, c in re.findall(r"--slave\s+(\S+)\s+(\S+)\s+(\S+)", slaves)]
    if any("$" in x for p in pairs for x in p):
        continue
    if name not in best or int(prio) > best[name][0]:
        best[name] = (int(prio), pairs)
for name, (prio, pairs) in sorted(best.items()):
    for link, path in pairs:
        full = root + link
        if os.path.lexists(full) or not os.path.exists(root + path):
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.symlink(path, full)
        print(f"build-rootfs: alternative {link} -> {path}", file=sys.stderr)
' "$ROOT"
# Byte-compiled Python, which postinst (py3compile) would have made: without
# it every run compiles each module it imports, under TCG for seconds
# (numpy). Bytecode does not depend on the arch, so the host's python3
# compiles it when it is the image's version.
PYVER=$([ -d "$ROOT/usr/bin" ] && find "$ROOT/usr/bin" -maxdepth 1 -regex '.*/python3\.[0-9]+' -printf '%f\n' | sort | tail -n 1 || true)
if [ -n "$PYVER" ] && command -v "$PYVER" >/dev/null; then
	for d in "$ROOT/usr/lib/$PYVER" "$ROOT/usr/lib/python3/dist-packages"; do
		[ -d "$d" ] || continue
		"$PYVER" -m compileall -q -j 0 -s "$ROOT" -p / "$d" >/dev/null 2>&1 ||
			log "some modules in ${d#"$ROOT"} did not compile (they compile when imported)"
	done
elif [ -n "$PYVER" ]; then
	log "no host $PYVER: the image's Python modules compile when first imported"
fi
# What a run does not need: package caches and lists, documentation.
rm -rf "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc \
	"$ROOT"/usr/share/man "$ROOT"/usr/share/info
# No postinst ran: the accounts the guest's programs look up (getpwuid).
[ -s "$ROOT/etc/passwd" ] || printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$ROOT/etc/passwd"
[ -s "$ROOT/etc/group" ] || printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$ROOT/etc/group"
# Mount points the agent uses when it switches into this root, and /work,
# the default working directory of a run.
mkdir -p "$ROOT"/{proc,sys,dev,run,tmp,root,work,workload}
chmod 1777 "$ROOT/tmp"


find "$ROOT" -newer "$WORK/.start" -exec touch -h -d @0 {} +
find "$ROOT" -type d -exec touch -h -d @0 {} +

# The index of the image's regular files (sha256, size, mtime in seconds,
# path; sorted by path): a snapshot references a file of the image by its
# path and sha256 instead of carrying it, and checks by size and mtime that
# the guest's file is still the image's.
python3 -c '
import hashlib, os, sys
root = sys.argv[1]
rows = []
for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        st = os.lstat(p)
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        with open(p, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        rows.append((p[len(root):], sha, st.st_size, int(st.st_mtime)))
for path, sha, size, mtime in sorted(rows):
    print(f"{sha}\t{size}\t{mtime}\t{path}")
' "$ROOT" >"$WORK/files.tsv"

# Read-only ext4, sized to the content plus room for metadata; fixed UUID,
# hash seed and time so the same tree gives the same bytes.
KB=$(du -sk --apparent-size "$ROOT" | cut -f1)
INODES=$(($(find "$ROOT" | wc -l) + 1024))
SIZE_KB=$((KB + KB / 5 + INODES / 4 + 16384))
UUID=$(printf '%s' "$KEY" | sha256sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
E2FSPROGS_FAKE_TIME=1 mke2fs -q -F -t ext4 -b 4096 -m 0 -N "$INODES" -L snapvm-root -U "$UUID" \
	-E "hash_seed=$UUID,root_owner=0:0" -O ^has_journal -d "$ROOT" \
	"$WORK/rootfs.ext4" "${SIZE_KB}k" >&2 || die "mke2fs failed"

# The modules, for the base image's kernel.
dpkg-deb --fsys-tarfile "$CACHE/debs/$KDEB" | tar -x -C "$WORK" ./lib/modules
RELEASE=$(cat "$BASE/kernel-release")
MODDIR=$WORK/lib/modules/$RELEASE
[ -d "$MODDIR" ] || die "$KDEB has no modules for $RELEASE"
MROOT=$WORK/mods
MOD_OUT=$MROOT/lib/modules/disk
mkdir -p "$MOD_OUT"
# shellcheck source=images/kernel-modules.sh
. "$(dirname "$0")/kernel-modules.sh"
# what the base initramfs loads already (the virtio core on x86_64)
for m in $(jq -r '.inputs.modules[]' "$BASE/manifest.json"); do
	m=${m%.ko}
	MOD_SEEN[${m//-/_}]=1
done
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${MOD_ORDER[@]}" >"$MOD_OUT/load-order"
find "$MROOT" -exec touch -h -d @0 {} +
(cd "$MROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner 0:0 --reproducible --quiet) >"$WORK/modules.cpio"

IMG=$WORK/image
mkdir "$IMG"
mv "$WORK/rootfs.ext4" "$WORK/modules.cpio" "$WORK/files.tsv" "$IMG/"
(
	cd "$IMG"
	# The image's identity is what the guest gets - every file's contents,
	# size and mtime (files.tsv) and the modules - not the ext4's bytes:
	# mke2fs 1.47.0 copies the unpacked files' ctime and atime, so two
	# builds of the same packages differ there. rootfs.ext4 is checked by
	# its own sha256 in "files".
	image_sha=$(sha256sum files.tsv modules.cpio | sha256sum | cut -d' ' -f1)
	jq -n --arg arch "$ARCH" --arg key "$KEY" --arg release "$RELEASE" \
		--arg builder "$SELF_SHA" --arg image_sha "$image_sha" \
		--argjson requested "$(printf '%s\n' "${PACKAGES[@]}" | jq -R . | jq -s .)" \
		--argjson packages "$(jq -R 'split("\t") | {name: .[0], version: .[1], arch: .[2], sha256: .[3]}' \
			"$WORK/packages.tsv" | jq -s .)" \
		--argjson modules "$(printf '%s\n' "${MOD_ORDER[@]}" | jq -R . | jq -s .)" \
		--argjson files "$(for f in files.tsv modules.cpio rootfs.ext4; do
			jq -n --arg n "$f" --argjson s "$(stat -c %s "$f")" \
				--arg h "$(sha256sum "$f" | cut -d' ' -f1)" '{name: $n, size: $s, sha256: $h}'
		done | jq -s .)" \
		'{kind: "rootfs", arch: $arch, key: $key, kernel_release: $release,
		  variant: "extract", builder_sha256: $builder, requested: $requested,
		  packages: $packages, modules: $modules, files: $files, image_sha256: $image_sha}'
) >"$WORK/manifest.json"
mv "$WORK/manifest.json" "$IMG/manifest.json"
[ -f "$OUT/manifest.json" ] || rm -rf "$OUT"
mv -T "$IMG" "$OUT" 2>/dev/null || [ -f "$OUT/manifest.json" ] || die "cannot publish $OUT"
log "built $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
