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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
