#!/bin/bash
# scripts/setup.sh - everything snapvm needs on a fresh Debian 12 machine:
# apt packages (host and the guest arches' cross compilers), the meson build,
# and a guest image per arch (riscv64's from Debian 13, fetched and verified
# by images/fetch-debian-deb.py). Idempotent and cached: a second run only rebuilds what changed.
#
#   SNAPVM_BUILD_DIR  build directory (default: build)
#   SNAPVM_CACHE_DIR  downloaded packages and guest images (default: $XDG_CACHE_HOME/snapvm, else ~/.cache/snapvm, as snapvm itself)
#   SNAPVM_TEST_HOOKS 1: build the agent with the requests only tests send
#                     (meson option test_hooks; scripts/test.sh sets it);
#                     otherwise the production agent. Applied to an existing
#                     build dir too: the images are of the agent it makes
#                     (keyed by its hash, so both kinds stay in the cache).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
export SNAPVM_CACHE_DIR=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}
ARCHES=(x86_64 aarch64 riscv64 ppc64le)

log() { printf '[setup %5ss] %s\n' "$SECONDS" "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt can fail transiently ("mirror sync in progress", one arch's index
# missing): retry, and go on if what we need resolves anyway.
apt_retry() {
	local i
	for i in 1 2 3 4 5; do
		if as_root env DEBIAN_FRONTEND=noninteractive "$@"; then return 0; fi
		log "apt failed (try $i), retrying in $((i * 5)) s"
		sleep $((i * 5))
	done
	return 1
}

HOST_PACKAGES=(
	build-essential meson ninja-build pkg-config
	libglib2.0-dev libjson-glib-dev libvirt-dev libxxhash-dev libzstd-dev
	libbpf-dev
	clang clang-format libclang-rt-14-dev
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients
	qemu-system-x86 qemu-system-arm qemu-utils
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	qemu-system-misc opensbi gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
	qemu-system-ppc gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
	gpgv debian-archive-keyring python3
	busybox-static cpio xz-utils zstd kmod file binutils jq
	mmdebstrap e2fsprogs
	# snapvm lab's tests: a private Slurm cluster, the HTML report in a
	# headless browser, the manifest schema
	slurm-wlm munge chromium python3-jsonschema
	# iasl: the kvm board's ACPI tables disassembled in test-kvm-acpi
	acpica-tools
)

# (No `cmd | grep -q` here: under pipefail, grep -q leaving at its match
# while cmd still writes makes cmd die of SIGPIPE and the test fail.)
missing_packages() {
	local p
	for p in "${HOST_PACKAGES[@]}"; do
		case $(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null) in
		*"install ok installed"*) ;;
		*) echo "$p" ;;
		esac
	done
}

install_packages() {
	# The arm64 guest image is made of arm64 .debs, downloaded (never installed).
	local foreign
	foreign=$(dpkg --print-foreign-architectures)
	if ! grep -qx arm64 <<<"$foreign"; then
		log "adding the arm64 package architecture (for guest image downloads)"
		as_root dpkg --add-architecture arm64
		NEED_UPDATE=1
	fi
	local missing
	missing=$(missing_packages)
	if [ -n "$missing" ] || [ -n "${NEED_UPDATE:-}" ] ||
		! apt-cache show 'linux-image-arm64:arm64' >/dev/null 2>&1; then
		log "apt-get update"
		apt_retry apt-get update -o Acquire::Retries=3 ||
			log "apt-get update reported errors; continuing with what resolves"
	fi
	if [ -n "$missing" ]; then
		log "installing:" $missing
		# shellcheck disable=SC2086
		apt_retry apt-get install -y --no-install-recommends $missing
	fi
}

build() {
	local hooks=false configured
	[ "${SNAPVM_TEST_HOOKS:-0}" = 0 ] || hooks=true
	if [ ! -f "$BUILD_DIR/build.ninja" ]; then
		log "meson setup $BUILD_DIR -Dtest_hooks=$hooks"
		meson setup "$BUILD_DIR" -Dtest_hooks="$hooks" >/dev/null
	else
		configured=$(meson introspect --buildoptions "$BUILD_DIR" |
			jq -r '.[] | select(.name == "test_hooks") | .value')
		if [ "$configured" != "$hooks" ]; then
			log "meson configure $BUILD_DIR -Dtest_hooks=$hooks"
			meson configure "$BUILD_DIR" -Dtest_hooks="$hooks" >/dev/null
		fi
	fi
	log "building"
	ninja -C "$BUILD_DIR" >/dev/null
}

build_images() {
	local arch
	for arch in "${ARCHES[@]}"; do
		log "guest image for $arch"
		images/build-image.sh --arch "$arch" \
			--agent "$BUILD_DIR/guest/agent/snapvm-agent-$arch" \
			--cache "$SNAPVM_CACHE_DIR" >/dev/null
	done
}

# aarch64 with Debian 13's 6.12 kernel too, into images-trixie/: the
# checkpoint-aarch64-6.12 and restore-aarch64-6.12 tests boot it.
build_trixie_image() {
	log "guest image for aarch64, 6.12 kernel"
	images/build-image.sh --arch aarch64 --kernel trixie \
		--agent "$BUILD_DIR/guest/agent/snapvm-agent-aarch64" \
		--cache "$SNAPVM_CACHE_DIR" >/dev/null
}

install_packages
build
build_images
build_trixie_image
log "ready: $BUILD_DIR/host/snapvm, images in $SNAPVM_CACHE_DIR/images"
