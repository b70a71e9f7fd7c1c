/* SPDX-License-Identifier: MIT */
/*
 * procstate [steps] [interval_ms]: the per-process kernel state a program
 * sets with prctl and sethostname and reads back any time: its own UTS
 * namespace's host and domain names (unshare(CLONE_NEWUTS), so the machine
 * keeps its own; needs root, as everything in the guest has), not dumpable,
 * no_new_privs, a parent-death signal, a child subreaper, an
 * oom_score_adj of 400 (zdtm's oom_score_adj), a membarrier registration
 * (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: without it the command gets
 * EPERM, zdtm's membarrier). Checked every step; a restore that loses one
 * fails here, naming it.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "workload.h"

#define NODENAME "snapvm-procstate"
#define DOMAINNAME "fidelity.example"
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_ (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_ (1 << 4)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	if (unshare(CLONE_NEWUTS) || sethostname(NODENAME, strlen(NODENAME)) ||
	    setdomainname(DOMAINNAME, strlen(DOMAINNAME))) {
		printf("procstate: UTS names: %s (run as root)\n", strerror(errno));
		return 1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_PDEATHSIG, SIGWINCH, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		printf("procstate: prctl: %s\n", strerror(errno));
		return 1;
	}
	FILE *oom = fopen("/proc/self/oom_score_adj", "r+");
	if (!oom || fprintf(oom, "400") < 0 || fclose(oom) != 0) {
		printf("procstate: oom_score_adj: %s\n", strerror(errno));
		return 1;
	}
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_, 0, 0)) {
		printf("procstate: membarrier: %s\n", strerror(errno));
		return 1;
	}
	uint32_t h = 0;
	for (long step = 0; step < a.steps; step++) {
		struct utsname u;
		int sig = 0, subreaper = 0;
		uname(&u);
		prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
		prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
		int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), adj = 0;
		FILE *o = fopen("/proc/self/oom_score_adj", "r");
		if (!o || fscanf(o, "%d", &adj) != 1 || fclose(o) != 0 || adj != 400) {
			printf("procstate FAILED at step %ld: oom_score_adj %d\n", step, adj);
			return 1;
		}
		if (strcmp(u.nodename, NODENAME) || strcmp(u.domainname, DOMAINNAME) ||
		    dumpable != 0 || nnp != 1 || sig != SIGWINCH || subreaper != 1) {
			printf("procstate FAILED at step %ld: nodename '%s' domainname '%s' "
			       "dumpable %d no_new_privs %d pdeathsig %d child_subreaper %d\n",
			       step, u.nodename, u.domainname, dumpable, nnp, sig, subreaper);
			return 1;
		}
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_, 0, 0)) {
			printf("procstate FAILED at step %ld: membarrier: %s\n", step,
			       strerror(errno));
			return 1;
		}
		h = workload_hash(h, &step, sizeof(step));
		printf("procstate step %ld %s.%s hash %08x\n", step, u.nodename, u.domainname, h);
		workload_sleep_ms(a.interval_ms);
	}
	printf("procstate done %ld\n", a.steps);
	return 0;
}
