/* SPDX-License-Identifier: MIT */
/*
 * restore-pid.c - the pid a restored process gets. The restorer is started
 * like any workload (fork and exec in workloads.c), so the agent stays its
 * parent and forwards its output and exit. To give it the pid it had, the
 * agent sets /proc/sys/kernel/ns_last_pid to pid - 1 right before that
 * fork: the kernel then allocates pid next (CONFIG_CHECKPOINT_RESTORE, the
 * mechanism CRIU used before clone3's set_tid). Nothing else forks in the
 * agent in between; a kernel thread created at that moment could take the
 * pid, which the host then reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "snapvm/restore-image-format.h"
#include "agent.h"

void restore_claim_pid(uint32_t pid)
{
	if (pid < 2 || pid > 0x3fffffff)
		return;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return; /* taken: the process gets another one */
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		agent_log("cannot open ns_last_pid: %s", strerror(errno));
		return;
	}
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", pid - 1);
	if (write(fd, buf, (size_t)n) != n)
		agent_log("cannot set ns_last_pid: %s", strerror(errno));
	close(fd);
}

/* Is pid a standby restorer ("... --standby MIB"), which waits for the
 * signal? Any other process would die of it. */
static bool is_standby(uint32_t pid)
{
	char path[32], cmd[256];
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	size_t first = strlen(cmd) + 1;
	return (size_t)n > first && !strcmp(cmd + first, "--standby");
}

int restore_standby_go(uint32_t standby, uint32_t pid, bool mail)
{
	if (standby < 2 || standby > 0x3fffffff || pid < 2 || pid > 0x3fffffff)
		return -EINVAL;
	if (!is_standby(standby))
		return -ESRCH;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return -EEXIST; /* taken: the host restores the usual way */
	int e = workloads_hand_over((pid_t)standby, (pid_t)pid);
	if (e)
		return e;
	union sigval v = { .sival_int = (int)(pid | (mail ? SV_RIMG_STANDBY_GO_MAIL : 0)) };
	if (sigqueue((pid_t)standby, SV_RIMG_STANDBY_SIGNAL, v) < 0) {
		e = -errno;
		workloads_hand_back((pid_t)pid, (pid_t)standby);
		return e;
	}
	return 0;
}
