#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/lab/run-as-user.sh - snapvm as an ordinary user, as a lab user on a
# cluster node is: a user made for the test (useradd; skipped unless root)
# with a copy of the snapvm binary, a workload and the x86_64 guest image
# in a directory it can read, runs the story run --detach -> ps ->
# checkpoint --kill -> restore, then a one-cell `snapvm lab run`, locally
# and on a private two-node Slurm (tests/lab/slurm-cluster.sh, started as
# root, the jobs submitted by and run as the user: same verdict, restored
# on the other node). The restored output must end as a native run of the
# same workload does. Where /dev/kvm exists, the user without access to it
# asks for --accel kvm and is told what to do about it (here /dev/kvm is
# root's, on CI there is none: that part is skipped saying so).
# Exit 77 (skipped) with the reason when it cannot run here.
set -euo pipefail
build=${SNAPVM_BUILD_DIR:?SNAPVM_BUILD_DIR not set (run through meson test)}
source=${SNAPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
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
cluster=$tmp/slurm
cleanup() {
	if [[ -e $cluster/slurm.conf ]]; then
		bash "$source/tests/lab/slurm-cluster.sh" stop "$cluster" || true
	fi
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
want=$("$tmp/counter-x86_64" 80 100 | tail -1)

detached=$(as_user "$tmp/snapvm run --accel tcg --arch x86_64 --detach --json --name asuser -- $tmp/counter-x86_64 80 100")
pid=$(echo "$detached" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
# 8 s of work: long enough for ps and checkpoint on a loaded machine
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

# KVM as a user: the user as a fresh login without the kvm group would be
# (setpriv: its own uid and gid, no supplementary groups)
if [[ ! -e /dev/kvm ]]; then
	echo "skipped kvm-as-user: this machine has no /dev/kvm"
elif setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups test -w /dev/kvm; then
	echo "skipped kvm-as-user: every user may open /dev/kvm here"
else
	if out=$(cd "$home" && setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		env -i HOME="$home" USER="$user" PATH=/usr/bin:/bin SNAPVM_CACHE_DIR="$tmp/cache" \
		"$tmp/snapvm" run --accel kvm --arch x86_64 -- "$tmp/counter-x86_64" 2 100 2>&1); then
		echo "snapvm run --accel kvm as $user without access to /dev/kvm succeeded" >&2
		exit 1
	fi
	if [[ $out != *"/dev/kvm cannot be opened (Permission denied)"* || $out != *"group kvm"* ]]; then
		echo "snapvm run --accel kvm as $user: the refusal does not say what to do: $out" >&2
		exit 1
	fi
	echo "ok: --accel kvm as $user refused: ${out##*$'\n'}"
fi

# Slurm as a user: the jobs are the user's, on the nodes
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
	echo "skipped slurm-as-user: slurm-wlm or munge not installed (apt-get install slurm-wlm munge)"
	exit 0
fi
bash "$source/tests/lab/slurm-cluster.sh" start "$cluster" 2 >/dev/null
as_user "export SLURM_CONF=$cluster/slurm.conf && $tmp/snapvm lab run $tmp/m.json -o results-slurm --engine slurm -q"
as_user "$tmp/snapvm lab report results --json" >"$tmp/local.json"
as_user "$tmp/snapvm lab report results-slurm --json" >"$tmp/slurm.json"
python3 - "$tmp/local.json" "$tmp/slurm.json" "$user" <<'PY'
import json, sys
local, slurm = (json.load(open(p)) for p in sys.argv[1:3])
want = {c["id"]: c["verdict"] for c in local["cells"]}
got = {c["id"]: c["verdict"] for c in slurm["cells"]}
assert got == want, f"slurm verdicts {got} != local {want}"
for c in slurm["cells"]:
    p = c["provenance"]
    assert p["slurm_job_id"], "not run by Slurm"
    assert p["checkpoint_slurm_node"] != p["slurm_node"], \
        f"{c['id']}: checkpoint and restore both on {p['slurm_node']}"
PY
owner=$(stat -c %U "$home/results-slurm/cells/$(ls "$home/results-slurm/cells" | grep -v '^ref-' | head -1)/result.json")
if [[ $owner != "$user" ]]; then
	echo "the Slurm jobs' results belong to $owner, not to $user who submitted them" >&2
	exit 1
fi
echo "ok: snapvm lab run --engine slurm as $user: verdicts as the local engine's, restored on another node"
