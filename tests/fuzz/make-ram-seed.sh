#!/bin/bash
# make-ram-seed.sh BUILD_DIR - prints the directory of a RAM seed for
# fuzz-introspect (see ram-seed.h), making it on first use: boots a 128 MiB
# x86_64 guest from the current image, runs the memory workload (every kind
# of mapping: heap, anonymous, PROT_NONE guard, sparse, private and shared
# file), lets it set up, pauses the guest, saves its RAM (dump-ram-seed) and
# stops it (about 10 s). Cached under $SNAPVM_CACHE_DIR/fuzz-seeds/ by a
# hash of what the dump depends on (the image, the workload, this script,
# the dumper and the seed format); older seeds are removed. Exits 77 (skip)
# with a reason when there is no x86_64 image.
set -euo pipefail
# set -e inside $(...) too: without it a failing step of the key's
# { ...; } below (a missing manifest or workload) was silently left out of
# the hash instead of stopping the script.
shopt -s inherit_errexit
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${SNAPVM_CACHE_DIR:-$HOME/.cache/snapvm}
if ! image=$(readlink -e "$cache/images/x86_64/current"); then
	echo "make-ram-seed: no x86_64 guest image in $cache/images (scripts/setup.sh builds it)" >&2
	exit 77
fi
workload=$build/tests/workloads/memory-x86_64
key=$({
	echo "$image"
	cat "$image/manifest.json"
	sha256sum <"$workload"
	sha256sum <"$here/make-ram-seed.sh"
	sha256sum <"$here/dump-ram-seed.c"
	sha256sum <"$here/ram-seed.h" # the seed's format
} | sha256sum | cut -c1-16)
seeds=$cache/fuzz-seeds
seed=$seeds/$key
if [ -f "$seed/seed.ini" ]; then
	echo "$seed"
	exit 0
fi
mkdir -p "$seeds"
tmp=$(mktemp -d "$seeds/.new-XXXXXX")
state=$(mktemp -d /tmp/snapvm-seed-state-XXXXXX)
cleanup() {
	SNAPVM_STATE_DIR=$state "$build/host/snapvm" stop --all >/dev/null 2>&1 || true
	rm -rf "$state" "$tmp"
}
trap cleanup EXIT
export SNAPVM_STATE_DIR=$state
json=$("$build/host/snapvm" run --detach --json --memory 128 --name seed -- "$workload" 100000 100)
pid=$(echo "$json" | sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p')
[ -n "$pid" ] || { echo "make-ram-seed: no pid in: $json" >&2; exit 1; }
sleep 3 # the workload maps everything in its first step, well within this
"$build/tests/fuzz/dump-ram-seed" seed "$pid" "$tmp" >&2
# one seed at a time (each is 128 MiB), and no leftovers of killed runs
find "$seeds" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -exec rm -rf {} +
find "$seeds" -mindepth 1 -maxdepth 1 -type d -name '.new-*' -mmin +60 -exec rm -rf {} +
mv "$tmp" "$seed"
echo "$seed"
