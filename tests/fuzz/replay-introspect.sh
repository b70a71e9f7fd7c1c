#!/bin/bash
# replay-introspect.sh BUILD_DIR - hostile-guest tests on a real guest's RAM
# (the RAM seed, made on first use by make-ram-seed.sh: one guest boot).
# First every input in introspect-regressions/ replayed through
# fuzz-introspect's target (the fuzzer's finds: found on another seed, here
# they only have to run cleanly), then test-introspect-hostile, whose
# corruptions are placed by meaning and hold on any seed (TAP). Skips when
# there is no x86_64 image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rc=0
seed=$("$here/make-ram-seed.sh" "$1") || rc=$?
if [ "$rc" = 77 ]; then
	echo "1..0 # SKIP no x86_64 guest image to make a RAM seed from"
	exit 0
fi
[ "$rc" = 0 ] || exit "$rc"
export SNAPVM_FUZZ_RAM_SEED=$seed
"$1/tests/fuzz/replay-introspect" "$here/introspect-regressions" >&2
exec "$1/tests/fuzz/test-introspect-hostile" --tap
