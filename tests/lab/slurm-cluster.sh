#!/bin/bash
# SPDX-License-Identifier: MIT
# slurm-cluster.sh start DIR [NODES] | stop DIR | env DIR - a private Slurm
# 22.05 cluster of NODES nodes (default 2) on this one machine in DIR, for
# `snapvm lab run --engine slurm` tests and for trying the engine: munged
# with its own key and socket, slurmctld and one slurmd per node from
# DIR/slurm.conf on free ports (proctrack/linuxproc, task/none, no
# accounting), every node offering the features the lab asks for with
# --constraint (x86_64, aarch64, tcg, and kvm when /dev/kvm opens).
#
# The nodes lab1..labN are separate slurmds on one host, each its own
# NodeName with its own Port, spool, pid and log file (%n), started with
# `slurmd -N labI`: Debian's Slurm runs several slurmds on a host that way,
# so no network namespaces are needed, and to Slurm they are different
# nodes (a job pinned to one, --exclude'd from another, SLURMD_NODENAME).
# The machine's CPUs are shared out between them, so the cluster runs as
# many tasks at once as one node with every CPU would.
# The results directory of a lab run is on the file system both see.
#
# Needs root (slurmd starts jobs as their users) and the Debian packages
# slurm-wlm and munge; any user may submit (DIR and munged's socket are
# world-readable, its key is root's). Everything lives in DIR; `stop DIR`
# ends exactly the daemons `start` recorded there, by pid.
#
#   bash tests/lab/slurm-cluster.sh start /tmp/slurm
#   export SLURM_CONF=/tmp/slurm/slurm.conf
#   snapvm lab run manifest.json --engine slurm
#   bash tests/lab/slurm-cluster.sh stop /tmp/slurm
set -euo pipefail

cmd=${1:-}
dir=${2:-}
nodes=${3:-2}
if [[ ! $nodes =~ ^[1-9][0-9]*$ ]]; then
	echo "slurm-cluster: NODES must be a number of nodes, not '$nodes'" >&2
	exit 2
fi
if [[ -z $cmd || -z $dir ]]; then
	echo "usage: $0 start DIR [NODES] | stop DIR | env DIR" >&2
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
	# users submit too: they read slurm.conf and talk to munged's socket
	chmod 755 "$dir" "$dir/munge"
	dir=$(cd "$dir" && pwd)
	head -c 1024 /dev/urandom >"$dir/munge/munge.key"
	chmod 400 "$dir/munge/munge.key"
	# --force: the socket's parent (/tmp) is world-writable, which munged
	# refuses by default; the socket's own directory is root's
	munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
		--pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
		--seed-file="$dir/munge/munge.seed" 2>"$dir/munged.err"
	features=x86_64,aarch64,tcg
	if [[ -r /dev/kvm && -w /dev/kvm ]]; then features+=,kvm; fi
	host=$(hostname -s)
	cpus=$(($(nproc) / nodes))
	((cpus > 0)) || cpus=1
	cat >"$dir/slurm.conf" <<CONF
ClusterName=snapvmlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
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
CONF
	for i in $(seq "$nodes"); do
		echo "NodeName=lab$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$(free_port)" \
			"CPUs=$cpus Features=$features State=UNKNOWN"
	done >>"$dir/slurm.conf"
	echo "PartitionName=lab Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
	export SLURM_CONF=$dir/slurm.conf
	slurmctld -c -f "$SLURM_CONF"
	for i in $(seq "$nodes"); do
		slurmd -f "$SLURM_CONF" -N "lab$i"
	done
	for _ in $(seq 150); do
		if [[ $(sinfo -h -N -o %T 2>/dev/null | grep -cx idle) == "$nodes" ]]; then
			echo "slurm-cluster: up; export SLURM_CONF=$SLURM_CONF"
			exit 0
		fi
		sleep 0.2
	done
	echo "slurm-cluster: not every node came up; see $dir/slurmctld.log and $dir/slurmd-*.log" >&2
	exit 1
	;;
stop)
	for f in "$dir"/slurmd-*.pid; do
		[[ -e $f ]] && stop_pid "$(basename "$f" .pid)"
	done
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
