#!/bin/bash
# scripts/demo.sh - the main job on a fresh Debian 12 machine: set-up
# (packages, build, guest images; cached), then a test workload run in a
# fresh x86_64 guest under TCG, its output streamed here, its exit status
# snapvm's. (Checkpoint and restore join this story as they land.)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SNAPVM_BUILD_DIR:-build}
scripts/setup.sh
echo "== snapvm run --arch x86_64 --accel tcg -- counter 10 200" >&2
exec "$BUILD_DIR/vmm/snapvm" run --arch x86_64 --accel tcg --verbose -- \
	"$BUILD_DIR/tests/workloads/counter-x86_64" 10 200
