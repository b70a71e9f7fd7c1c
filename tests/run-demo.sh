#!/bin/bash
# tests/run-demo.sh ARCH - the README's first command (scripts/demo.sh) as a
# test of the meson suite `demo`: `scripts/demo.sh --no-setup --arch ARCH`
# against the build meson made (SNAPVM_BUILD_DIR and SNAPVM_SOURCE_DIR come
# from the test environment; no set-up, no rebuild of the tree under test),
# in a state dir of its own, so its VMs, libvirt root and lock are shared
# with no other test running beside it nor with the user's VMs. The exit
# status is the demo's; whatever happens, no VM of it is left behind.
set -euo pipefail
arch=${1:?usage: run-demo.sh ARCH}
src=${SNAPVM_SOURCE_DIR:?SNAPVM_SOURCE_DIR not set (run through meson test)}
build=${SNAPVM_BUILD_DIR:?SNAPVM_BUILD_DIR not set (run through meson test)}
SNAPVM_STATE_DIR=$(mktemp -d /tmp/snapvm-demo-test-XXXXXX)
export SNAPVM_STATE_DIR SNAPVM_BUILD_DIR=$build
cleanup() {
	"$build/host/snapvm" stop --all >/dev/null 2>&1 || true
	# guest RAM files live in /dev/shm, named by the libvirt root's link
	ram=$(readlink "$SNAPVM_STATE_DIR/libvirt/ram-dir" || true)
	case $ram in /dev/shm/snapvm-*) rm -rf "$ram" ;; esac
	rm -rf "$SNAPVM_STATE_DIR"
}
trap cleanup EXIT
bash "$src/scripts/demo.sh" --no-setup --arch "$arch"
