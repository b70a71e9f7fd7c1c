/* SPDX-License-Identifier: MIT */
/*
 * region-unmap.c - takes the blob's region (code, arguments, frames,
 * stacks) out of the restored process, so that its /proc/PID/maps is the
 * original's, with no mapping more.
 *
 * The process cannot do it itself: the region holds the code that issues
 * each thread's final rt_sigreturn, so whatever thread unmapped it would
 * return from munmap into nothing, and no instruction outside it can be
 * relied on for the last steps (x86_64's vDSO has no sigreturn trampoline;
 * the process's code is its own). So, as CRIU unmaps its restorer from the
 * outside (criu/cr-restore.c: it stops every task at its rt_sigreturn,
 * then makes one run munmap), a tracer does it: the unmapper, a process of
 * its own (its own memory: the blob's unmapping does not touch it), forked
 * before the region exists, as a child of the agent (CLONE_PARENT: never
 * the process's child, which the process could wait for). It keeps only
 * its two pipes and stderr, and waits.
 *
 * The blob's leader, once every thread is ready, sends it the region and
 * waits for its answer (rst_restore). It seizes every thread, interrupts
 * each so that their system calls are followed from then on, answers, and
 * lets them go: the leader closes the restorer's fds and sets GO, each
 * thread enters its rt_sigreturn and is held on its way out of it, its
 * registers and mask now the process's. When every thread is out, one
 * runs a last system call: munmap of the region, issued from the very
 * instruction that issued its rt_sigreturn (still mapped then; the tracer
 * catches the thread on its way out of munmap, before it could return
 * there), with every signal blocked so that none is delivered meanwhile.
 * Its registers and mask go back as they were (and what the registers do
 * not carry, per arch: rst_arch_syscall_regs.after_call), and every
 * thread is let go. The process sees nothing of it but a few ptrace stops.
 *
 * When it cannot seize the threads (ptrace refused: Yama's ptrace_scope 3),
 * the restore fails, saying so, before the process resumes. A failure
 * after that - which leaves the region mapped - is said on stderr, the
 * process's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "restore.h"

#define CLONE_PARENT 0x00008000ul /* uapi sched.h */
#define NT_PRSTATUS 1		  /* uapi elf.h: the general registers */

/* A traced thread: the last system call it entered and where from. */
struct tracee {
	pid_t tid;
	int state; /* TRACED, OUT (held after its rt_sigreturn), GONE */
	uint64_t nr, ip;
	int pass; /* a signal that stopped it meanwhile, handed on as it goes */
};
enum { TRACED, OUT, GONE };

/* The unmapper's own complaint, on the stderr it kept. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

/* Closes every fd but 2 and the two given (fds the process or the
 * restorer has: a pipe end held here would keep its reader waiting). */
static void close_all_but(int a, int b)
{
	/* in order: a pipe end can be below 2 when the restorer was started
	 * with stdin or stdout closed */
	int keep[3] = { 2, a, b };
	for (int i = 1; i < 3; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int x = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = x;
		}
	int from = 0;
	for (int i = 0; i < 3; i++) {
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

/* Seizes and interrupts every thread: from their interrupt stops on, the
 * follow loop sees each system call. 0, or an errno. */
static int seize_all(struct tracee *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (ptrace(PTRACE_SEIZE, t[i].tid, 0, PTRACE_O_TRACESYSGOOD) < 0)
			return errno;
	for (uint32_t i = 0; i < n; i++)
		if (ptrace(PTRACE_INTERRUPT, t[i].tid, 0, 0) < 0)
			return errno;
	return 0;
}

static struct tracee *find(struct tracee *t, uint32_t n, pid_t tid)
{
	for (uint32_t i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

/* Runs the threads on until each is out of its rt_sigreturn (or gone);
 * signals that stop one on the way are delivered as they came. */
static void follow(struct tracee *t, uint32_t n)
{
	uint32_t left = n;
	while (left) {
		int st;
		pid_t tid = waitpid(-1, &st, __WALL);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			return;
		struct tracee *x = find(t, n, tid);
		if (!x || x->state != TRACED)
			continue;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			x->state = GONE;
			left--;
			continue;
		}
		int sig = WSTOPSIG(st), pass = 0;
		if (sig == (SIGTRAP | 0x80)) {
			struct __ptrace_syscall_info info;
			memset(&info, 0, sizeof(info));
			ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info);
			if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
				x->nr = info.entry.nr;
				x->ip = info.instruction_pointer;
			} else if (info.op == PTRACE_SYSCALL_INFO_EXIT &&
				   x->nr == __NR_rt_sigreturn) {
				x->state = OUT;
				left--;
				continue;
			}
		} else if (!(st >> 16)) {
			pass = sig; /* a signal-delivery stop */
		}
		/* else an event stop (our interrupt, a group stop): on */
		if (ptrace(PTRACE_SYSCALL, tid, 0, pass) < 0 && errno == ESRCH) {
			x->state = GONE;
			left--;
		}
	}
}

/* Waits for x's next syscall stop, resuming it from there; 0 if it came,
 * else the wait status that came instead. */
static int next_syscall_stop(struct tracee *x)
{
	int st;
	if (ptrace(PTRACE_SYSCALL, x->tid, 0, 0) < 0)
		return -1;
	while (waitpid(x->tid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	return WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80) ? 0 : (st ? st : -1);
}

/* call: the registers saved (n bytes) changed so that the thread runs
 * munmap(start, len) from the instruction that ended at ip. -1 if the
 * arch's slots are not all in n bytes. */
static int munmap_regs(uint64_t *call, const uint64_t *saved, size_t n, uint64_t ip, uint64_t start,
		       uint64_t len)
{
	const struct rst_arch_syscall_regs *r = &rst_arch_syscall_regs;
	unsigned slots[4] = { r->ip, r->nr, r->arg0, r->arg1 };
	for (int i = 0; i < 4; i++)
		if ((slots[i] + 1) * 8 > n)
			return -1;
	memcpy(call, saved, n);
	call[r->ip] = ip - r->insn_len;
	call[r->nr] = __NR_munmap;
	call[r->arg0] = start;
	call[r->arg1] = len;
	return 0;
}

/* x, held after its rt_sigreturn, runs munmap(start, len) from the
 * instruction that issued it, with every signal blocked, and gets its
 * registers and mask back. 0, or -1 having said why. */
static int unmap_through(struct tracee *x, uint64_t start, uint64_t len)
{
	uint64_t saved[128], call[128];
	struct iovec iov = { saved, sizeof(saved) };
	uint64_t mask = 0, all = ~0ull;
	if (ptrace(PTRACE_GETREGSET, x->tid, NT_PRSTATUS, &iov) < 0 ||
	    ptrace(PTRACE_GETSIGMASK, x->tid, sizeof(mask), &mask) < 0) {
		say("snapvm restore: the restorer's region at 0x%llx stays mapped: cannot read "
		    "thread %d's registers: %s",
		    (unsigned long long)start, x->tid, strerror(errno));
		return -1;
	}
	size_t len_regs = iov.iov_len;
	if (munmap_regs(call, saved, len_regs, x->ip, start, len) < 0) {
		say("snapvm restore: the restorer's region at 0x%llx stays mapped: thread %d's "
		    "registers are %zu bytes, too few for this arch's system call",
		    (unsigned long long)start, x->tid, len_regs);
		return -1;
	}
	struct iovec civ = { call, len_regs };
	int err = 0, st = 0;
	if (ptrace(PTRACE_SETSIGMASK, x->tid, sizeof(all), &all) < 0 ||
	    ptrace(PTRACE_SETREGSET, x->tid, NT_PRSTATUS, &civ) < 0)
		err = errno;
	else if ((st = next_syscall_stop(x)) == 0)
		st = next_syscall_stop(x);
	struct __ptrace_syscall_info info;
	memset(&info, 0, sizeof(info));
	if (!err && !st) {
		ptrace(PTRACE_GET_SYSCALL_INFO, x->tid, sizeof(info), &info);
		if (info.op != PTRACE_SYSCALL_INFO_EXIT)
			err = EPROTO;
		else if (info.exit.is_error)
			err = (int)-info.exit.rval;
	}
	/* back as it was, whatever happened (a thread that is gone fails
	 * here, and nothing is left to mind) */
	iov.iov_len = len_regs;
	ptrace(PTRACE_SETREGSET, x->tid, NT_PRSTATUS, &iov);
	if (rst_arch_syscall_regs.after_call)
		rst_arch_syscall_regs.after_call(x->tid);
	ptrace(PTRACE_SETSIGMASK, x->tid, sizeof(mask), &mask);
	if (st > 0 && WIFSTOPPED(st) && !(st >> 16))
		x->pass = WSTOPSIG(st); /* SIGSTOP: the only one not blocked */
	if (st) {
		say("snapvm restore: the restorer's region at 0x%llx stays mapped: thread %d "
		    "stopped otherwise than in its munmap (wait status 0x%x)",
		    (unsigned long long)start, x->tid, st);
		return -1;
	}
	if (err) {
		say("snapvm restore: the restorer's region at 0x%llx stays mapped: munmap in "
		    "thread %d: %s",
		    (unsigned long long)start, x->tid, strerror(err));
		return -1;
	}
	return 0;
}

__attribute__((noreturn)) static void unmapper_main(int go, int ack, struct tracee *t, uint32_t n)
{
	close_all_but(go, ack);
	prctl(PR_SET_NAME, "snapvm-unmapper"); /* in ps meanwhile: not the process */
	uint64_t region[2];
	if (read(go, region, sizeof(region)) != (ssize_t)sizeof(region))
		_exit(0); /* the restore ended before its last step */
	int32_t err = seize_all(t, n);
	if (write(ack, &err, sizeof(err)) != (ssize_t)sizeof(err) || err)
		_exit(1); /* exiting lets go of any thread seized */
	follow(t, n);
	/* the leader if it is there, else any thread still held */
	struct tracee *by = NULL;
	for (uint32_t i = n; i-- > 0;)
		if (t[i].state == OUT)
			by = &t[i];
	if (by)
		unmap_through(by, region[0], region[1]);
	for (uint32_t i = 0; i < n; i++)
		if (t[i].state == OUT)
			ptrace(PTRACE_DETACH, t[i].tid, 0, t[i].pass);
	_exit(0);
}

void rst_unmapper_start(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
			int *ret_go, int *ret_ack)
{
	int go[2], ack[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0)
		rst_die("cannot make the pipes to the region's unmapper: %s", strerror(errno));
	uint32_t n = h->nthreads + 1;
	struct tracee *t = calloc(n, sizeof(*t));
	if (!t)
		rst_die("out of memory for %u threads", n);
	t[0].tid = getpid(); /* the leader first: it runs the munmap */
	for (uint32_t i = 0; i < h->nthreads; i++)
		t[i + 1].tid = (pid_t)threads[i].tid;
	/* a plain fork but for CLONE_PARENT; it runs only system calls
	 * (libc's view of its thread is the restorer's) */
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		rst_die("cannot start the region's unmapper: %s", strerror(errno));
	if (pid == 0)
		unmapper_main(go[0], ack[1], t, n);
	free(t);
	close(go[0]);
	close(ack[1]);
	*ret_go = go[1];
	*ret_ack = ack[0];
}
