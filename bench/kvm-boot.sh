#!/bin/bash
# bench/kvm-boot.sh [--runs N] - the kvm backend beside QEMU with KVM, in the
# nested set-up CI has: an L1 guest under QEMU TCG (-cpu max,+svm) with
# kvm-amd loaded (images/build-l1-image.sh) boots the same x86_64 kernel and
# initramfs N times each way (default 3) and prints, in L1 seconds
# (/proc/uptime, 10 ms steps):
#   snapvm run --accel kvm: start to the agent's "ready" line on the guest
#     console and to the workload's first output line; the VMM's VmRSS
#   qemu-system-x86_64 -accel kvm -M microvm (PVH vmlinux, virtio-serial
#     port for the agent): start to the same "ready" line; QEMU's VmRSS
# and, last, lines of code of host/kvm. Also, if this host's /dev/kvm opens,
# the same snapvm run directly on it. Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "kvm-boot.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
CACHE=${SNAPVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snapvm}
IMG=$CACHE/images/x86_64/current
TMP=$(mktemp -d /tmp/snapvm-kvm-boot-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ -x build/host/snapvm ] || { echo "kvm-boot.sh: build first (ninja -C build)" >&2; exit 1; }

cat >"$TMP/job.sh" <<EOF
#!/bin/sh
up() { cut -d' ' -f1 /proc/uptime; }
for i in \$(seq $RUNS); do
	t0=\$(up)
	snapvm run --accel kvm --name b\$i --image /l2 -- /workload/counter 5 200 >/tmp/s.out 2>/dev/null &
	sp=\$!
	log=/tmp/state/vms/b\$i/console.log
	while ! grep -q 'snapvm-agent: ready' \$log 2>/dev/null; do
		kill -0 \$sp 2>/dev/null || break
		sleep 0.05
	done
	t1=\$(up)
	while [ ! -s /tmp/s.out ]; do kill -0 \$sp 2>/dev/null || break; sleep 0.05; done
	t2=\$(up)
	pid=\$(cat /tmp/state/vms/b\$i/vmm.pid 2>/dev/null)
	rss=\$(grep VmRSS /proc/\$pid/status 2>/dev/null | tr -s ' ' | cut -d' ' -f2)
	wait \$sp
	echo "BENCH snapvm ready \$t0 \$t1 first_output \$t2 rss_kb \$rss"
done
KHZ=\$(grep -m1 'cpu MHz' /proc/cpuinfo | awk '{printf "%d", \$4 * 1000}')
for i in \$(seq $RUNS); do
	rm -f /tmp/q.log
	t0=\$(up)
	qemu-system-x86_64 -L /usr/share/qemu -accel kvm -cpu host -M microvm -m 512 -nodefaults -nographic \\
		-no-reboot -kernel /l2/vmlinux -initrd /l2/initramfs.cpio \\
		-append "console=ttyS0 nokaslr quiet panic=-1 tsc_early_khz=\$KHZ" \\
		-serial file:/tmp/q.log -device virtio-serial-device \\
		-chardev socket,id=agent,path=/tmp/q.sock,server=on,wait=off \\
		-device virtserialport,chardev=agent,name=org.snapvm.agent.0 2>/tmp/q.err &
	qp=\$!
	while ! grep -q 'snapvm-agent: ready' /tmp/q.log 2>/dev/null; do
		kill -0 \$qp 2>/dev/null || break
		sleep 0.05
	done
	t1=\$(up)
	rss=\$(grep VmRSS /proc/\$qp/status | tr -s ' ' | cut -d' ' -f2)
	kill -9 \$qp; wait \$qp 2>/dev/null
	grep -q 'snapvm-agent: ready' /tmp/q.log && echo "BENCH qemu ready \$t0 \$t1 rss_kb \$rss" ||
		{ echo "BENCH qemu failed"; head -3 /tmp/q.err; tail -3 /tmp/q.log; }
done
EOF
images/build-l1-image.sh --snapvm build/host/snapvm --out "$TMP/l1.cpio" --with-qemu \
	--add "$TMP/job.sh=/job.sh" --add build/tests/workloads/counter-x86_64=/workload/counter
T0=$(date +%s)
qemu-system-x86_64 -accel tcg -M pc -cpu max,+svm -m 3072 -nodefaults -nographic -no-reboot \
	-kernel "$IMG/vmlinux" -initrd "$TMP/l1.cpio" \
	-append "console=ttyS0 nokaslr quiet loglevel=3 panic=-1" -serial "file:$TMP/l1.log" \
	>/dev/null 2>&1
echo "# nested: L1 = QEMU $(qemu-system-x86_64 --version | awk 'NR == 1 {print $4}') TCG -cpu max,+svm on $(nproc) host CPUs; whole L1 run $(( $(date +%s) - T0 )) s of host time"
tr -d '\r' <"$TMP/l1.log" | awk '
	/^BENCH snapvm/ { n++; t = $5 - $4; s += t; f += $7 - $4; r += $9; printf "snapvm run --accel kvm   agent ready  %6.2f s   first output %6.2f s   VMM RSS %6d KiB\n", t, $7 - $4, $9 }
	/^BENCH qemu ready/ { m++; t = $5 - $4; q += t; qr += $7; printf "qemu -accel kvm microvm  agent ready  %6.2f s   QEMU RSS %5d KiB\n", t, $7 }
	/^BENCH qemu failed/ { print; getline; print }
	END { if (n && m) printf "mean to agent ready: snapvm %.2f s (first output %.2f s, RSS %d KiB), qemu %.2f s (RSS %d KiB); ratio snapvm/qemu %.2f\n", s/n, f/n, r/n, q/m, qr/m, (s/n)/(q/m) }'

if [ -r /dev/kvm ] && exec 3<>/dev/kvm 2>/dev/null; then
	exec 3>&-
	echo "# directly on this host's /dev/kvm"
	export SNAPVM_STATE_DIR=$TMP/state
	t0=$(date +%s%3N)
	if timeout 300 build/host/snapvm run --accel kvm -- build/tests/workloads/counter-x86_64 1 0 >/dev/null 2>"$TMP/direct.err"; then
		echo "snapvm run --accel kvm (whole run) $(( $(date +%s%3N) - t0 )) ms"
	else
		echo "snapvm run --accel kvm failed after $(( $(date +%s%3N) - t0 )) ms: $(awk '!/^(XMM|FPR)/ && n++ < 3' "$TMP/direct.err" | tr '\n' ' ')"
	fi
fi
echo "# host/kvm: $(cat host/kvm/*.c host/kvm/*.h | wc -l) lines ($(cat host/kvm/*.c host/kvm/*.h | grep -cv '^\s*$\|^\s*/\?\*') without comments and blank lines)"
