/* SPDX-License-Identifier: MIT */
/*
 * restore-process.c - what the process sees of the kernel around it
 * (restore-image-format.h: SV_RIMG_PRCTL, SV_RIMG_UTS, SV_RIMG_CLOCKS,
 * SV_RIMG_LOGINUID): prctl state, the UTS names, its clocks, and its audit
 * login uid and session id.
 *
 * The clocks: the restore guest booted seconds ago, so its CLOCK_MONOTONIC
 * and CLOCK_BOOTTIME are far behind the ones the process read before the
 * checkpoint. A time namespace (Linux 5.6, CONFIG_TIME_NS) shifts both for
 * the tasks in it: unshare(CLONE_NEWTIME) makes one for our children, its
 * offsets are written to /proc/self/timens_offsets before any task is in
 * it, and setns() with /proc/self/ns/time_for_children moves this task
 * itself in (allowed while it is single-threaded; it also points the vDSO's
 * vvar at the namespace's page). No fork is needed: this task becomes the
 * process. The offsets are the checkpoint's clocks minus this guest's now,
 * so the process's clocks carry on from where they were when it stopped;
 * the time spent checkpointed is not seen (CLOCK_REALTIME, which follows
 * the host, shows it).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int64_t now_ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t) < 0)
		rst_die("clock_gettime: %s", strerror(errno));
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* "name sec nsec" with nsec in [0, 1e9), as the kernel parses it. */
static void write_offset(int fd, const char *name, int64_t off)
{
	int64_t sec = off / 1000000000, nsec = off % 1000000000;
	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %lld %lld\n", name, (long long)sec,
			 (long long)nsec);
	if (write(fd, line, (size_t)n) != n)
		rst_die("cannot set the %s clock's time namespace offset: %s", name,
			strerror(errno));
}

/* the offsets of the time namespace this task entered (0, 0: none) */
static int64_t ns_offset_mono, ns_offset_boot;

int64_t rst_timens_offset(clockid_t clock)
{
	return clock == CLOCK_MONOTONIC	 ? ns_offset_mono
	       : clock == CLOCK_BOOTTIME ? ns_offset_boot
					 : 0;
}

static void enter_time_namespace(const struct sv_rimg_header *h)
{
	int64_t mono = (int64_t)h->clock_monotonic - now_ns(CLOCK_MONOTONIC);
	int64_t boot = (int64_t)h->clock_boottime - now_ns(CLOCK_BOOTTIME);
	if (unshare(CLONE_NEWTIME) < 0)
		rst_die("cannot make a time namespace to continue the process's clocks (the "
			"guest kernel needs CONFIG_TIME_NS): %s",
			strerror(errno));
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		rst_die("cannot open /proc/self/timens_offsets: %s", strerror(errno));
	write_offset(fd, "monotonic", mono);
	write_offset(fd, "boottime", boot);
	close(fd);
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		rst_die("cannot enter the process's time namespace: %s", strerror(errno));
	close(fd);
	ns_offset_mono = mono;
	ns_offset_boot = boot;
}

static void set_uts_names(const struct sv_rimg_header *h)
{
	size_t node = strnlen(h->nodename, sizeof(h->nodename));
	size_t domain = strnlen(h->domainname, sizeof(h->domainname));
	if (node == sizeof(h->nodename) || domain == sizeof(h->domainname))
		rst_die("corrupt restore image: a UTS name is not terminated");
	/* a namespace of its own: the guest (and its agent) keep their names */
	if (unshare(CLONE_NEWUTS) < 0 || sethostname(h->nodename, node) < 0 ||
	    setdomainname(h->domainname, domain) < 0)
		rst_die("cannot give the process its host name %s and domain name %s: %s",
			h->nodename, h->domainname, strerror(errno));
}

static void set_prctl_state(const struct sv_rimg_header *h)
{
	if (h->dumpable > 1 || h->pdeath_signal > 64)
		rst_die("corrupt restore image: dumpable %u, parent-death signal %u", h->dumpable,
			h->pdeath_signal);
	if (prctl(PR_SET_THP_DISABLE, h->thp_disable ? 1 : 0, 0, 0, 0) < 0)
		rst_die("prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
	if (prctl(PR_SET_PDEATHSIG, h->pdeath_signal, 0, 0, 0) < 0)
		rst_die("prctl(PR_SET_PDEATHSIG, %u): %s", h->pdeath_signal, strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, h->child_subreaper ? 1 : 0, 0, 0, 0) < 0)
		rst_die("prctl(PR_SET_CHILD_SUBREAPER, %u): %s", h->child_subreaper,
			strerror(errno));
	if (prctl(PR_SET_DUMPABLE, h->dumpable, 0, 0, 0) < 0)
		rst_die("prctl(PR_SET_DUMPABLE, %u): %s", h->dumpable, strerror(errno));
	/* it cannot be unset; nothing the restorer does later execs */
	if (h->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rst_die("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
}

static void set_oom_score_adj(int adj)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d", adj);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)n) != n)
		rst_die("cannot set oom_score_adj to %d: %s", adj, strerror(errno));
	close(fd);
}

/* The process's membarrier registrations, made again with the commands
 * that made them (bit by bit): they belong to the mm, which is this one. */
static void register_membarrier(uint32_t cmds)
{
	for (int bit = 0; bit < 32; bit++)
		if ((cmds & (1u << bit)) && syscall(SYS_membarrier, 1u << bit, 0, 0) < 0)
			rst_die("cannot register for membarrier again (command %u): %s", 1u << bit,
				strerror(errno));
}

/* /proc/thread-self/sessionid, read through fd */
static uint32_t session_id(int fd)
{
	char text[16] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		rst_die("cannot read /proc/thread-self/sessionid: %s",
			n < 0 ? strerror(errno) : "empty");
	return (uint32_t)strtoul(text, NULL, 10);
}

/* The audit login uid and session id (SV_RIMG_LOGINUID). Writing the uid
 * takes CAP_AUDIT_CONTROL once one is set (the restorer is root until
 * the blob switches the credentials, last) and gives this task the next
 * id of the kernel's session counter, which nothing else sets: so the uid
 * is written until that id is the process's. A fresh guest's counter
 * starts at 0; one past the id already stops the restore. The threads,
 * made later, inherit both. */
static void set_loginuid(const struct sv_rimg_header *h)
{
	if (h->loginuid == UINT32_MAX || !h->sessionid || h->sessionid == UINT32_MAX)
		rst_die("corrupt restore image: login uid %u, session id %u", h->loginuid,
			h->sessionid);
	int uid_fd = open("/proc/thread-self/loginuid", O_WRONLY | O_CLOEXEC);
	int sid_fd = open("/proc/thread-self/sessionid", O_RDONLY | O_CLOEXEC);
	if (uid_fd < 0 || sid_fd < 0)
		rst_die("cannot open /proc/thread-self/loginuid and sessionid: %s",
			strerror(errno));
	char text[16];
	int n = snprintf(text, sizeof(text), "%u", h->loginuid);
	for (;;) {
		if (pwrite(uid_fd, text, (size_t)n, 0) != n)
			rst_die("cannot set the audit login uid to %u: %s", h->loginuid,
				strerror(errno));
		uint32_t sid = session_id(sid_fd);
		if (sid == h->sessionid)
			break;
		if (sid > h->sessionid)
			rst_die("cannot give the process its audit session id %u: this guest has "
				"given out %u already (restore into a fresh guest)",
				h->sessionid, sid);
	}
	close(uid_fd);
	close(sid_fd);
}

void rst_process_restore(const struct sv_rimg_header *h)
{
	if (h->flags & SV_RIMG_LOGINUID)
		set_loginuid(h);
	if (h->flags & SV_RIMG_CLOCKS)
		enter_time_namespace(h);
	if (h->flags & SV_RIMG_UTS)
		set_uts_names(h);
	if (h->flags & SV_RIMG_PRCTL) {
		set_prctl_state(h);
		register_membarrier(h->membarrier_cmds);
	}
	if (h->flags & SV_RIMG_OOM_SCORE_ADJ)
		set_oom_score_adj(h->oom_score_adj);
}
