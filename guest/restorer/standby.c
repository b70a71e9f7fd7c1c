/* SPDX-License-Identifier: MIT */
/*
 * standby.c - `restore --standby MIB` (snapvm pool): the restorer started
 * while its guest is idle, holding MIB of anonymous memory already faulted
 * in and locked, so that a restore's staging area takes those pages
 * instead of faulting fresh ones (under TCG the guest kernel zeroing 1 GiB
 * of huge pages is seconds, most of a pool restore).
 *
 * The restoring process must have the snapshot's pid, which is known only
 * at restore time (SV_MSG_STANDBY_GO brings it as the value of
 * SV_RIMG_STANDBY_SIGNAL). The standby makes it with clone3's set_tid,
 * CLONE_PARENT (the agent's child, as a restorer it starts would be) and
 * vfork's semantics (CLONE_VM | CLONE_VFORK, no stack of its own): the new
 * process runs on in this very address space, pool included, while the
 * standby sleeps in the kernel until the new process kills it - it never
 * runs again, and the memory is then the new process's alone. No page is
 * copied or shared copy-on-write (a fork would leave every huge page
 * write-protected, and a page the kernel cannot prove unshared at the
 * first write is copied: seconds per GiB under TCG), and the pool stays
 * locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif
#ifndef CLONE_VFORK
#define CLONE_VFORK 0x00004000
#endif

/* A standby's pool at most: more than a guest's RAM is refused anyway. */
#define MAX_POOL_MIB (1ul << 20)

struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size, cgroup;
};

static uint64_t pool_at, pool_len;
static uint8_t *mailbox; /* SV_RIMG_STANDBY_MAILBOX bytes, locked; NULL: none */
static bool mail_coming; /* the hand-over said the host writes the image there */

/* Maps and locks (which faults every page in) mib MiB, 2 MiB-aligned so
 * that the kernel backs it with huge pages. */
static void fill_pool(uint64_t mib)
{
	uint64_t len = mib << 20;
	uint8_t *p = mmap(NULL, len + rst_arch_huge_page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		rst_die("standby: cannot map %llu MiB: %s", (unsigned long long)mib,
			strerror(errno));
	uint64_t start = (uint64_t)(uintptr_t)p,
		 at = (start + rst_arch_huge_page - 1) & ~(rst_arch_huge_page - 1);
	if (at > start) /* what is left of the 2 MiB slack below and above */
		munmap(p, at - start);
	munmap((void *)(uintptr_t)(at + len), start + rst_arch_huge_page - at);
	rst_pin_frames_setup();
	if (mlock((void *)(uintptr_t)at, len) < 0)
		rst_die("standby: cannot lock %llu MiB: %s", (unsigned long long)mib,
			strerror(errno));
	pool_at = at;
	pool_len = len;
}

/* Maps and locks the mailbox (restore-image-format.h) and writes the
 * ready line naming its frames; without one (no memory, too many runs)
 * the plain ready line: the host then sends the image as a file. */
static void say_ready(void)
{
	static const char plain[] = SV_RIMG_STANDBY_READY;
	static struct sv_rimg_pfn_run runs[SV_RIMG_STANDBY_MAILBOX / 4096];
	static char
		line[sizeof(SV_RIMG_STANDBY_READY_MAILBOX) + SV_RIMG_STANDBY_MAILBOX_RUNS * 40 + 2];
	const char *say = plain;
	uint8_t *p = mmap(NULL, SV_RIMG_STANDBY_MAILBOX, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (p != MAP_FAILED && pm >= 0 && mlock(p, SV_RIMG_STANDBY_MAILBOX) == 0) {
		uint64_t n = rst_frame_runs(pm, (uint64_t)(uintptr_t)p, 0,
					    SV_RIMG_STANDBY_MAILBOX / 4096, runs);
		if (n <= SV_RIMG_STANDBY_MAILBOX_RUNS) {
			size_t at = (size_t)snprintf(line, sizeof(line), "%s",
						     SV_RIMG_STANDBY_READY_MAILBOX);
			for (uint64_t i = 0; i < n; i++)
				at += (size_t)snprintf(line + at, sizeof(line) - at, " %llx+%llu",
						       (unsigned long long)runs[i].pfn,
						       (unsigned long long)runs[i].npages);
			snprintf(line + at, sizeof(line) - at, "\n");
			mailbox = p;
			say = line;
		}
	}
	if (pm >= 0)
		close(pm);
	if (!mailbox && p != MAP_FAILED)
		munmap(p, SV_RIMG_STANDBY_MAILBOX);
	size_t len = strlen(say);
	if (write(STDOUT_FILENO, say, len) != (ssize_t)len)
		rst_die("standby: cannot write to the host: %s", strerror(errno));
}

bool rst_standby_image(const uint8_t **ret_img, size_t *ret_size)
{
	struct sv_rimg_mailbox m;
	if (!mailbox || !mail_coming)
		return false;
	/* The host writes the mailbox only after the hand-over, while the
	 * frames are surely ours, the header last: wait for it. */
	for (unsigned ms = 0;; ms++) {
		memcpy(&m, (const void *)(volatile uint8_t *)mailbox, sizeof(m));
		if (!memcmp(m.magic, SV_RIMG_MAILBOX_MAGIC, 8))
			break;
		if (ms >= SV_RIMG_MAILBOX_WAIT_MS)
			rst_die("standby: the host did not write the restore image into the "
				"mailbox within %u s",
				SV_RIMG_MAILBOX_WAIT_MS / 1000);
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the image was written before it */
	if (m.image_bytes > SV_RIMG_STANDBY_MAILBOX - SV_RIMG_MAILBOX_IMAGE_AT)
		rst_die("standby: the mailbox's header says %llu bytes, more than it holds",
			(unsigned long long)m.image_bytes);
	*ret_img = mailbox + SV_RIMG_MAILBOX_IMAGE_AT;
	*ret_size = (size_t)m.image_bytes;
	return true;
}

/* The pid to restore as, from the agent (SV_MSG_STANDBY_GO), with
 * SV_RIMG_STANDBY_GO_MAIL beside it when the image comes in the mailbox;
 * all signals are blocked (main). */
static int wait_for_go(void)
{
	sigset_t go;
	sigemptyset(&go);
	sigaddset(&go, SV_RIMG_STANDBY_SIGNAL);
	for (;;) {
		siginfo_t si;
		if (sigwaitinfo(&go, &si) < 0) {
			if (errno == EINTR)
				continue;
			rst_die("standby: sigwaitinfo: %s", strerror(errno));
		}
		/* only the agent's, carrying a pid */
		if (si.si_code == SI_QUEUE && si.si_pid == 1 && si.si_value.sival_int > 1)
			return si.si_value.sival_int;
	}
}

void rst_standby(const char *mib_arg)
{
	char *end;
	errno = 0;
	unsigned long long mib = strtoull(mib_arg, &end, 10);
	if (errno || end == mib_arg || *end || mib == 0 || mib > MAX_POOL_MIB)
		rst_die("standby: pool size '%s' is not 1..%lu MiB", mib_arg, MAX_POOL_MIB);
	fill_pool(mib);
	say_ready();
	int go = wait_for_go();
	mail_coming = (go & SV_RIMG_STANDBY_GO_MAIL) != 0;
	pid_t pid = go & ~(int)SV_RIMG_STANDBY_GO_MAIL;
	pid_t self = getpid();
	int self_fd = (int)syscall(SYS_pidfd_open, self, 0);
	if (self_fd < 0)
		rst_die("standby: pidfd_open: %s", strerror(errno));
	int64_t want = pid;
	struct clone3_args a = { .flags = CLONE_PARENT | CLONE_VM | CLONE_VFORK,
				 .set_tid = (uint64_t)(uintptr_t)&want,
				 .set_tid_size = 1 };
	/* Returns here in the new process; in the standby only when clone3
	 * failed (it sleeps in the kernel until the new process kills it
	 * below, never back on a stack the new process has used). */
	long r = syscall(SYS_clone3, &a, sizeof(a));
	if (r < 0)
		rst_die("standby: cannot make pid %d to restore as: %s", (int)pid, strerror(errno));
	/* The new process: the standby ends here, never back in user space,
	 * and the address space is ours alone once it has (pidfd readable). */
	kill(self, SIGKILL);
	struct pollfd pf = { .fd = self_fd, .events = POLLIN };
	if (poll(&pf, 1, 30000) != 1)
		rst_die("standby: the standby restorer did not end");
	close(self_fd);
	/* CLONE_VM leaves the new process without the rseq registration libc
	 * made at start (and later unregisters before the jump) */
	int err = rst_rejoin_rseq(rst_arch_thread_pointer());
	if (err)
		rst_die("standby: cannot register libc's rseq area again: %s", strerror(-err));
	setsid(); /* its own session, as the agent gives a restorer it starts */
	/* the pids after ours next, as after the agent's start of a restorer
	 * (set_tid leaves the kernel's cursor behind the standby's pid) */
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "%d", (int)pid);
		close(fd);
	}
}

bool rst_standby_take(uint64_t at, uint64_t len)
{
	if (!pool_len)
		return false;
	/* One mapping, grown past the pool when it is smaller: the blob
	 * moves each page run out of the staging area with one mremap,
	 * which cannot span two mappings (and the pool's and a fresh one's
	 * would not merge: each has its own anon_vma). */
	uint64_t n = pool_len < len ? pool_len : len;
	void *p = mremap((void *)(uintptr_t)pool_at, n, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			 (void *)(uintptr_t)at);
	if (p == MAP_FAILED)
		rst_die("cannot move %llu bytes of pre-faulted pages: %s", (unsigned long long)n,
			strerror(errno));
	pool_at += n;
	pool_len -= n;
	return true;
}

void rst_standby_dontfork(bool dontfork)
{
	rst_frames_dontfork(pool_at, pool_len, dontfork, "the pre-faulted pages");
}

void rst_standby_drop(void)
{
	if (pool_len)
		munmap((void *)(uintptr_t)pool_at, pool_len);
	pool_len = 0;
}
