#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/lab/run-as-user.sh - snapvm as an ordinary user, as a lab user on a
# cluster node is: a user made for the test (useradd; skipped unless root)
# with a copy of the snapvm binary, a workload and the x86_64 guest image
# in a directory it can read, runs the story run --detach -> ps ->
# checkpoint --kill -> restore, then a one-cell `snapvm lab run`. The
# restored output must end as a native run of the same workload does.
# Exit 77 (skipped) with the reason when it cannot run here.
set -euo pipefail
build=${SNAPVM_BUILD_DIR:?SNAPVM_BUILD_DIR not set (run through meson test)}
if [[ $(id -u) != 0 ]]; then
	echo "skipped: needs root to create a test user (useradd)"
	exit 77
fi
cache=${SNAPVM_CACHE_DIR:-$HOME/.cache/snapvm}
image=$(readlink -f "$cache/images/x86_64/current" || true)
if [[ ! -d $image ]]; then
	echo "no x86_64 guest image in $cache (bash scripts/setup.sh builds it)" >&2
	exit 1
fi
user=snapvm-lab-user
# short: libvirt's sockets under ~/.local/state/snapvm/libvirt must fit a UNIX path
tmp=$(mktemp -d /tmp/svuXXXX)
chmod 755 "$tmp"
made_user=0
cleanup() {
	if id "$user" >/dev/null 2>&1; then
		su "$user" -c "$tmp/snapvm stop --all" >/dev/null 2>&1 || true
		# its guest RAM files, named after its libvirt root (see libvirt-worker.c)
		rm -rf "/dev/shm/snapvm-$(id -u "$user")-"* || true
	fi
	if [[ $made_user == 1 ]]; then userdel "$user" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
if ! id "$user" >/dev/null 2>&1; then
	# kvm: what a user needs for --accel kvm (this test runs TCG guests)
	useradd --home-dir "$tmp/h" --create-home --shell /bin/sh \
		$(getent group kvm >/dev/null && echo --groups kvm) "$user"
	made_user=1
fi
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home" && chown "$user:" "$home"

# a readable build and a copy of the images, as a user would have them
install -m 755 "$build/host/snapvm" "$tmp/snapvm"
install -m 755 "$build/tests/workloads/counter-x86_64" "$tmp/counter-x86_64"
mkdir -p "$tmp/cache/images/x86_64"
cp -a "$image" "$tmp/cache/images/x86_64/"
ln -s "$(basename "$image")" "$tmp/cache/images/x86_64/current"
chmod -R a+rX "$tmp/cache"

as_user() {
	su "$user" -s /bin/bash -c "cd ~ && export SNAPVM_CACHE_DIR=$tmp/cache && $*"
}
want=$("$tmp/counter-x86_64" 40 100 | tail -1)

detached=$(as_user "$tmp/snapvm run --accel tcg --arch x86_64 --detach --json --name asuser -- $tmp/counter-x86_64 40 100")
pid=$(echo "$detached" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
sleep 2
as_user "$tmp/snapvm ps asuser --json" | python3 -c '
import json, sys
procs = json.load(sys.stdin)
assert any(p["pid"] == int(sys.argv[1]) for p in procs), "workload not in ps"' "$pid"
as_user "$tmp/snapvm checkpoint asuser --pid $pid -o snap.svs --kill"
as_user "$tmp/snapvm stop asuser"
got=$(as_user "$tmp/snapvm restore --accel tcg snap.svs" | tail -1)
if [[ $got != "$want" ]]; then
	echo "restored run as $user ended with '$got', a native run with '$want'" >&2
	exit 1
fi
echo "ok: run, ps, checkpoint --kill and restore as $user"

cat >"$tmp/m.json" <<JSON
{"experiment": "as-user", "reference_runs": 1,
 "workloads": [{"name": "counter", "program": "$tmp/counter-x86_64", "args": ["24", "100"]}],
 "matrix": {"arch": ["x86_64"], "checkpoint_at": [{"after_lines": 4}]}}
JSON
chmod 644 "$tmp/m.json"
as_user "$tmp/snapvm lab run $tmp/m.json -o results -q"
as_user "$tmp/snapvm lab report results --json" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["counts"]["bitwise"] == 1, r["counts"]
assert r["cells"][0]["provenance"]["host"], "no provenance"'
echo "ok: snapvm lab run as $user, the cell bitwise"
