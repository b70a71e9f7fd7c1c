#!/bin/bash
# SPDX-License-Identifier: MIT
# slurm-cluster.sh start|stop|env DIR - a private single-node Slurm 22.05
# cluster in DIR, for `snapvm lab run --engine slurm` tests and for trying
# the engine on one machine: munged with its own key and socket, slurmctld
# and slurmd from DIR/slurm.conf on free ports (proctrack/linuxproc,
# task/none, no accounting), the node offering the features the lab asks
# for with --constraint (x86_64, aarch64, tcg, and kvm when /dev/kvm opens).
# Needs root (slurmd starts jobs as their users) and the Debian packages
# slurm-wlm and munge. Everything lives in DIR; `stop DIR` ends exactly
# the daemons `start` recorded there, by pid.
#
#   bash tests/lab/slurm-cluster.sh start /tmp/slurm
#   export SLURM_CONF=/tmp/slurm/slurm.conf
#   snapvm lab run manifest.json --engine slurm
#   bash tests/lab/slurm-cluster.sh stop /tmp/slurm
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
	echo "usage: $0 start|stop|env DIR" >&2
	exit 2
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_pid() { # name: the pid file DIR/NAME.pid
	local f=$dir/$1.pid pid
	[[ -s $f ]] || return 0
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

case $cmd in
start)
	for tool in munged slurmctld slurmd sbatch; do
		if ! command -v "$tool" >/dev/null; then
			echo "slurm-cluster: $tool missing: apt-get install slurm-wlm munge" >&2
			exit 3
		fi
	done
	if [[ $(id -u) != 0 ]]; then
		echo "slurm-cluster: needs root (slurmd runs jobs as their users)" >&2
		exit 3
	fi
	mkdir -p "$dir"/{state,spool,munge}
	chmod 700 "$dir" "$dir/munge"
	dir=$(cd "$dir" && pwd)
	head -c 1024 /dev/urandom >"$dir/munge/munge.key"
	chmod 400 "$dir/munge/munge.key"
	# --force: the socket's parent (/tmp) is world-writable, which munged
	# refuses by default; the socket's own directory is private
	munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
		--pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
		--seed-file="$dir/munge/munge.seed" 2>"$dir/munged.err"
	features=x86_64,aarch64,tcg
	if [[ -r /dev/kvm && -w /dev/kvm ]]; then features+=,kvm; fi
	node=$(hostname -s)
	cat >"$dir/slurm.conf" <<CONF
ClusterName=snapvmlab
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
DependencyParameters=kill_invalid_depend
ReturnToService=2
MpiDefault=none
SlurmdTimeout=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) Features=$features State=UNKNOWN
PartitionName=lab Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF=$dir/slurm.conf
	slurmctld -c -f "$SLURM_CONF"
	slurmd -f "$SLURM_CONF" -N "$node"
	for _ in $(seq 150); do
		if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
			echo "slurm-cluster: up; export SLURM_CONF=$SLURM_CONF"
			exit 0
		fi
		sleep 0.2
	done
	echo "slurm-cluster: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
	exit 1
	;;
stop)
	stop_pid slurmd
	stop_pid slurmctld
	stop_pid munged
	;;
env)
	echo "export SLURM_CONF=$(cd "$dir" && pwd)/slurm.conf"
	;;
*)
	echo "usage: $0 start|stop|env DIR" >&2
	exit 2
	;;
esac
