/* SPDX-License-Identifier: MIT */
/*
 * lazy-pager.c - `snapvm restore --lazy`, the guest's half: the process
 * resumes before the pages of its private anonymous mappings are in
 * place; a pager brings them in as they are touched, the rest in the
 * background (SV_RIMG_LAZY, include/snapvm/restore-image-format.h).
 *
 * Design.
 *  - The restorer makes a userfaultfd before anything of the process is
 *    mapped (its mm is the process's: the blob only unmaps and maps), and
 *    forks the pager - a child of the agent (CLONE_PARENT), never of the
 *    process - which keeps nothing of it but that fd, stderr and a pipe.
 *    The blob registers every SV_RIMG_VMA_LAZY mapping in MISSING mode
 *    right after mapping it (before the kernel or the blob could touch a
 *    page of it: rseq registration writes into the process's memory) and
 *    closes the process's copy of the fd with the restorer's others.
 *  - The pager locks a buffer (a control page and slots) and the
 *    restorer tells the host its frames. The host writes pages into the
 *    slots as it writes staged pages into guest RAM (pwrite, place-pages.c)
 *    and the pager moves them into the process with UFFDIO_COPY (which
 *    allocates the page and copies: nothing is zeroed first). A fault on a
 *    page not here yet is posted to the host as a "want" (it sends that
 *    page's neighbourhood next); a fault on a page the snapshot holds as
 *    zero (none of the lazy runs, or memory the process made since) gets
 *    UFFDIO_ZEROPAGE. Both sides poll the control page: no agent
 *    round trip on the way of a fault.
 *  - What the process may do meanwhile, each a userfaultfd event the
 *    kernel holds it on until read (UFFD_FEATURE_EVENT_*): munmap and
 *    madvise(DONTNEED/FREE/REMOVE) of a range (its pages are gone: never
 *    placed, a later fault there is fresh zero memory); mremap (pages not
 *    placed yet follow the move: a per-mm list of these operations maps a
 *    snapshot address to where it is now, and back); fork (the child's mm
 *    gets a userfaultfd of its own, with the parent's list; every page
 *    from then on goes into both). A page is never placed where the
 *    process has unmapped, discarded or moved away from: UFFDIO_COPY into
 *    a range no longer registered fails (ENOENT) and is skipped.
 *  - When every page is placed the pager closes the userfaultfds (the
 *    kernel unregisters the ranges and wakes any waiter) and exits.
 *  - Failures are loud: the host gives up (FAILED in the control page) or
 *    sends nothing for SV_LAZY_STALL_S while a thread waits, or a
 *    placement fails - the pager says why on the process's stderr and
 *    kills it. If the pager itself dies, its guard takes over: a child
 *    sharing the pager's fd table (CLONE_FILES), so that every
 *    userfaultfd the pager holds - the process's, and each forked
 *    child's from the moment the kernel put it there on the read of the
 *    fork event, with no hand-over to miss - outlives the pager, and
 *    faults keep waiting rather than being filled with zeroes by the
 *    kernel. The guard sees the pager end (its pidfd) without its last
 *    word, says so and kills the process (by its pidfd: the pid may name
 *    another process by then); then each forked child as it faults on a
 *    page never placed (the fault names its thread:
 *    UFFD_FEATURE_THREAD_ID), until every child's memory is gone.
 *  - A checkpoint of a process still being paged in is refused (its
 *    mappings are userfaultfd-registered, which the checkpoint names).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

#define PAGE 4096ul
#define CLONE_PARENT 0x00008000ul
#ifndef CLONE_FILES
#define CLONE_FILES 0x00000400ul
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#define SV_LAZY_STALL_S 120 /* a thread waits, the host sends nothing: give up */
#define MAX_CTX 64	    /* the process and its forked children */
#define MAX_WAITS 256
#define NONE 0ull

enum { OP_DISCARD, OP_REMAP };
struct op {
	uint32_t kind;
	uint64_t a, b, len; /* DISCARD [a, a+len); REMAP [a, a+len) -> [b, b+len) */
};
struct ctx {
	int fd;
	uint32_t nops, cap; /* ops grows as the process needs: cap of them */
	struct op *ops;
	int main; /* the process's own mm (not a forked child's) */
};

static struct {
	const struct sv_rimg_run *runs;
	uint32_t nruns;
	uint64_t *first; /* page index of each run's first page */
	uint64_t total, placed;
	uint8_t *done; /* a bit per lazy page: its slot was placed */
	struct ctx ctx[MAX_CTX];
	int nctx;
	struct sv_rimg_lazy_ctl *ctl;
	uint8_t *slots;
	pid_t pid;
	int pidfd; /* the process's: its pid may be another's once it is gone */
	int guard; /* the write end of the guard's last-word pipe */
	struct {
		int ctx;
		uint64_t addr, snap;
	} waits[MAX_WAITS];
	int nwaits;
} P = { .pidfd = -1, .guard = -1 };

/* SIGKILL to the process: by its pidfd once there is one (the process may
 * have ended while its forked children were still paged, and its pid
 * been given to another); before, it is the restorer, alive. */
static void kill_process(void)
{
	if (P.pidfd >= 0)
		syscall(SYS_pidfd_send_signal, P.pidfd, SIGKILL, NULL, 0);
	else
		kill(P.pid, SIGKILL);
}

__attribute__((format(printf, 1, 2), noreturn)) static void give_up(const char *fmt, ...)
{
	char buf[400];
	int n = snprintf(buf, sizeof(buf), "snapvm restore --lazy: ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 80, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 81) /* cut short: what vsnprintf wrote */
		n = (int)sizeof(buf) - 81;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		      "; process %d killed (restore without --lazy)\n", (int)P.pid);
	(void)!write(STDERR_FILENO, buf, (size_t)n);
	kill_process();
	if (P.ctl)
		__atomic_store_n(&P.ctl->pager_state, SV_RIMG_LAZY_FAILED, __ATOMIC_RELEASE);
	(void)!write(P.guard, "K", 1); /* said and done: the guard stays quiet */
	_exit(1);
}

/* The index of the lazy page at snapshot address s, or -1 if none. */
static int64_t page_index(uint64_t s)
{
	uint32_t lo = 0, hi = P.nruns;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (P.runs[mid].vaddr + P.runs[mid].npages * PAGE <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == P.nruns || P.runs[lo].vaddr > s)
		return -1;
	return (int64_t)(P.first[lo] + (s - P.runs[lo].vaddr) / PAGE);
}

static int placed(int64_t i)
{
	return P.done[i / 8] & (1u << (i % 8));
}

/* Where snapshot page s is now in c's mm (NONE: discarded or unmapped). */
static uint64_t forward(const struct ctx *c, uint64_t s)
{
	for (uint32_t i = 0; i < c->nops; i++) {
		const struct op *o = &c->ops[i];
		if (s - o->a >= o->len)
			continue;
		if (o->kind == OP_DISCARD)
			return NONE;
		s = s - o->a + o->b;
	}
	return s;
}

/* The snapshot page now at x in c's mm; NONE for memory made since. */
static uint64_t inverse(const struct ctx *c, uint64_t x)
{
	for (uint32_t i = c->nops; i-- > 0;) {
		const struct op *o = &c->ops[i];
		if (o->kind == OP_REMAP && x - o->b < o->len)
			x = x - o->b + o->a;
		else if (x - o->a < o->len) /* discarded, or moved away from */
			return NONE;
	}
	return x;
}

/* Room for need ops in c, growing by doubling (malloc arena trims during
 * paging can make many); 0, or -1 when memory is out. */
static int ops_reserve(struct ctx *c, uint32_t need)
{
	if (need <= c->cap)
		return 0;
	uint32_t cap = c->cap ? c->cap : 256;
	while (cap < need) {
		if (cap > UINT32_MAX / 2)
			return -1;
		cap *= 2;
	}
	struct op *o = realloc(c->ops, (size_t)cap * sizeof(*o));
	if (!o)
		return -1;
	c->ops = o;
	c->cap = cap;
	return 0;
}

static void add_op(struct ctx *c, uint32_t kind, uint64_t a, uint64_t b, uint64_t len)
{
	struct op *last = c->nops ? &c->ops[c->nops - 1] : NULL;
	/* a discard touching or overlapping the one before (nothing moved
	 * in between) is one: a heap trimmed again and again costs one op */
	if (kind == OP_DISCARD && last && last->kind == OP_DISCARD && a <= last->a + last->len &&
	    last->a <= a + len) {
		uint64_t end = a + len > last->a + last->len ? a + len : last->a + last->len;
		last->a = a < last->a ? a : last->a;
		last->len = end - last->a;
		return;
	}
	if (ops_reserve(c, c->nops + 1) < 0)
		give_up("out of memory to follow the process's unmaps, discards and moves "
			"(%u of them while its pages were arriving)",
			c->nops);
	c->ops[c->nops++] = (struct op){ kind, a, b, len };
}

static void wake(const struct ctx *c, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { start, len };
	ioctl(c->fd, UFFDIO_WAKE, &r);
}

/* A zero page at x (a page the snapshot holds as zero, or memory the
 * process made since); one already there (placed meanwhile) is woken. */
static void zero_page(const struct ctx *c, uint64_t x, int must_be_absent_ok)
{
	struct uffdio_zeropage z = { .range = { x, PAGE } };
	if (ioctl(c->fd, UFFDIO_ZEROPAGE, &z) == 0) {
		if (!must_be_absent_ok)
			give_up("page 0x%llx was placed, yet the process faults on it again",
				(unsigned long long)x);
		return;
	}
	/* EEXIST: there already; EAGAIN: an event first (the thread faults
	 * again); ENOENT/ESRCH: gone - waking lets the thread see it */
	wake(c, x, PAGE);
}

static void post_want(uint64_t s)
{
	uint64_t head = __atomic_load_n(&P.ctl->want_head, __ATOMIC_RELAXED);
	P.ctl->want[head % SV_RIMG_LAZY_WANTS] = s;
	__atomic_store_n(&P.ctl->want_head, head + 1, __ATOMIC_RELEASE);
}

static void on_fault(int ci, uint64_t x)
{
	struct ctx *c = &P.ctx[ci];
	P.ctl->faults++;
	uint64_t s = inverse(c, x);
	int64_t i = s == NONE ? -1 : page_index(s);
	if (i < 0 || forward(c, s) != x) {
		P.ctl->zero_faults++;
		zero_page(c, x, 1);
		return;
	}
	if (placed(i)) {
		zero_page(c, x, 0); /* EEXIST expected: wakes it */
		return;
	}
	post_want(s);
	if (P.nwaits < MAX_WAITS)
		P.waits[P.nwaits++] = (typeof(P.waits[0])){ ci, x, s };
}

static void drop_ctx(int ci)
{
	close(P.ctx[ci].fd);
	free(P.ctx[ci].ops);
	P.ctx[ci] = P.ctx[--P.nctx];
	for (int w = 0; w < P.nwaits; w++)
		if (P.waits[w].ctx == ci)
			P.waits[w--] = P.waits[--P.nwaits];
		else if (P.waits[w].ctx == P.nctx)
			P.waits[w].ctx = ci;
}

static void on_event(int ci, const struct uffd_msg *m)
{
	struct ctx *c = &P.ctx[ci];
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		on_fault(ci, m->arg.pagefault.address & ~(PAGE - 1));
		break;
	case UFFD_EVENT_FORK: {
		if (P.nctx == MAX_CTX)
			give_up("the process forked more than %d times while its pages were "
				"arriving",
				MAX_CTX - 1);
		struct ctx *n = &P.ctx[P.nctx++];
		*n = (struct ctx){ .fd = (int)m->arg.fork.ufd };
		if (ops_reserve(n, c->nops) < 0)
			give_up("out of memory for a forked child");
		n->nops = c->nops;
		if (c->nops)
			memcpy(n->ops, c->ops, c->nops * sizeof(struct op));
		break; /* the guard shares the fd table: it holds n->fd already */
	}
	case UFFD_EVENT_REMAP:
		add_op(c, OP_REMAP, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		wake(c, m->arg.remap.from, m->arg.remap.len);
		break;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		add_op(c, OP_DISCARD, m->arg.remove.start, 0,
		       m->arg.remove.end - m->arg.remove.start);
		wake(c, m->arg.remove.start, m->arg.remove.end - m->arg.remove.start);
		break;
	}
}

/* Reads and handles every event queued on ctx ci. */
static void drain(int ci)
{
	struct uffd_msg msgs[32];
	for (;;) {
		ssize_t n = read(P.ctx[ci].fd, msgs, sizeof(msgs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: none left */
		for (size_t k = 0; k < (size_t)n / sizeof(msgs[0]); k++)
			on_event(ci, &msgs[k]);
	}
}

/* Copies pages [s, s + n pages) from src into ctx ci where they are now;
 * 0, or -1 when its mm is gone. */
static int copy_into(int ci, uint64_t s, const uint8_t *src, uint64_t n)
{
	int one = 0; /* page by page from here on */
	for (uint64_t k = 0; k < n;) {
		struct ctx *c = &P.ctx[ci];
		uint64_t x = forward(c, s + k * PAGE);
		if (x == NONE) {
			k++;
			continue;
		}
		uint64_t m = 1;
		while (!one && k + m < n && forward(c, s + (k + m) * PAGE) == x + m * PAGE)
			m++;
		struct uffdio_copy cp = { .dst = x,
					  .src = (uint64_t)(uintptr_t)(src + k * PAGE),
					  .len = m * PAGE };
		if (ioctl(c->fd, UFFDIO_COPY, &cp) == 0) {
			k += m;
			continue;
		}
		int err = errno;
		if (cp.copy > 0)
			k += (uint64_t)cp.copy / PAGE;
		if (err == EAGAIN) {
			drain(ci); /* an unmap, move or fork first: where is it now? */
		} else if (err == ENOENT && m > 1) {
			/* the range is not inside one mapping: the process split
			 * it (mprotect, mlock or madvise of a part, which make
			 * no event). Skipping page k would leave it missing yet
			 * taken as placed: a thread waiting there would get a
			 * zero page once the pager has gone. Page by page. */
			one = 1;
		} else if (err == ESRCH) {
			return -1;
		} else if (err == EEXIST || err == ENOENT || err == EFAULT) {
			k++; /* there already, or no longer registered there: not ours */
		} else {
			give_up("placing page 0x%llx: %s", (unsigned long long)x, strerror(err));
		}
	}
	return 0;
}

/* Places slot k's pages into every mm, marks them placed and the slot
 * free. */
static void place_slot(int k, uint64_t seq)
{
	const struct sv_rimg_lazy_slot *sl = &P.ctl->slot[k];
	uint64_t s = sl->vaddr, n = sl->npages;
	int64_t i = page_index(s);
	if (n == 0 || n > SV_RIMG_LAZY_SLOT_PAGES || i < 0 || page_index(s + (n - 1) * PAGE) < 0 ||
	    (uint64_t)(page_index(s + (n - 1) * PAGE) - i) != n - 1)
		give_up("the host sent pages at 0x%llx (%llu) that are not one lazy run",
			(unsigned long long)s, (unsigned long long)n);
	const uint8_t *src = P.slots + (uint64_t)k * SV_RIMG_LAZY_SLOT_PAGES * PAGE;
	if (sv_rimg_lazy_sum(src, n, s, seq) != sl->sum)
		give_up("the pages for 0x%llx (%llu) in buffer slot %d do not match their "
			"checksum: a frame of the locked buffer moved, or the slot was read "
			"before the host had written it",
			(unsigned long long)s, (unsigned long long)n, k);
	for (int ci = 0; ci < P.nctx; ci++)
		if (copy_into(ci, s, src, n) < 0)
			drop_ctx(ci--);
	for (uint64_t j = 0; j < n; j++)
		if (!placed(i + (int64_t)j)) {
			P.done[(i + (int64_t)j) / 8] |= (uint8_t)(1u << ((i + (int64_t)j) % 8));
			P.placed++;
		}
	for (int w = 0; w < P.nwaits; w++)
		if (P.waits[w].snap - s < n * PAGE)
			P.waits[w--] = P.waits[--P.nwaits];
	__atomic_store_n(&P.ctl->consumed[k], seq, __ATOMIC_RELEASE);
}

/* Nothing left to serve: every page placed, every mm gone, or the
 * process gone and no forked child left (main_gone: its pidfd says so).
 * Not while a child is: a daemon's parent exits, its child runs on and
 * its pages still come - closing the child's userfaultfd would leave them
 * zero. */
static int finished(int main_gone)
{
	return P.placed == P.total || P.nctx == 0 || (main_gone && P.nctx == 1 && P.ctx[0].main);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void serve(void)
{
	double last_progress = now_s(), last_repost = 0;
	for (;;) {
		int progress = 0;
		for (int ci = 0; ci < P.nctx; ci++)
			drain(ci);
		/* one slot a round, a waited-for one first: events are read
		 * between slots, and a fault never waits behind the stream */
		int best = -1;
		uint64_t best_seq = 0;
		for (int k = 0; k < SV_RIMG_LAZY_SLOTS; k++) {
			uint64_t seq = __atomic_load_n(&P.ctl->slot[k].seq, __ATOMIC_ACQUIRE);
			if (seq != P.ctl->consumed[k] &&
			    (best < 0 || (P.ctl->slot[k].wanted && !P.ctl->slot[best].wanted))) {
				best = k;
				best_seq = seq;
			}
		}
		if (best >= 0) {
			place_slot(best, best_seq);
			progress = 1;
		}
		struct pollfd pid_gone = { P.pidfd, POLLIN, 0 };
		int main_gone = poll(&pid_gone, 1, 0) == 1;
		if (finished(main_gone))
			break;
		if (__atomic_load_n(&P.ctl->host_state, __ATOMIC_ACQUIRE) == SV_RIMG_LAZY_FAILED)
			give_up("the host stopped sending pages (it says why)");
		double t = now_s();
		if (progress || !P.nwaits)
			last_progress = t;
		else if (t - last_progress > SV_LAZY_STALL_S)
			give_up("no page came from the host for %d s while a thread waited for "
				"0x%llx",
				SV_LAZY_STALL_S, (unsigned long long)P.waits[0].addr);
		/* a want the host may have missed (its ring wrapped): again */
		if (P.nwaits && t - last_repost > 0.05) {
			post_want(P.waits[0].snap);
			last_repost = t;
		}
		if (progress)
			continue;
		struct pollfd fds[MAX_CTX];
		for (int ci = 0; ci < P.nctx; ci++)
			fds[ci] = (struct pollfd){ P.ctx[ci].fd, POLLIN, 0 };
		poll(fds, (nfds_t)P.nctx, 1);
	}
	for (int ci = 0; ci < P.nctx; ci++)
		close(P.ctx[ci].fd); /* unregisters; wakes anyone still waiting */
	__atomic_store_n(&P.ctl->pager_state, SV_RIMG_LAZY_DONE, __ATOMIC_RELEASE);
	(void)!write(P.guard, "D", 1);
	_exit(0);
}

/* Whether the memory behind userfaultfd fd has gone (every process using
 * it exited or exec'd): a UFFDIO_COPY fails with ESRCH then, and only
 * then (ioctl_userfaultfd(2): "the faulting process has exited"). The
 * copy asked for here places nothing: its source, the guard's own
 * PROT_NONE page, cannot be read, so it fails with EFAULT where a page
 * is missing, EEXIST where one is there, ENOENT outside a registered
 * mapping, EAGAIN while an event waits; all of these mean the memory is
 * still there, and so does any other error: holding a userfaultfd too
 * long costs nothing, letting it go early leaves a child zero pages. */
static int mm_gone(int fd, const void *unreadable)
{
	struct uffdio_copy cp = { .dst = 1ul << 20,
				  .src = (uint64_t)(uintptr_t)unreadable,
				  .len = PAGE,
				  .mode = UFFDIO_COPY_MODE_DONTWAKE };
	return ioctl(fd, UFFDIO_COPY, &cp) < 0 && errno == ESRCH;
}

/* The guard's userfaultfds, growing as forks come (a child the guard
 * could not hold would fault forever, or read zeroes if let go). */
struct held {
	int *fd;
	struct pollfd *pf;
	int n, cap;
};

static void hold(struct held *h, int fd)
{
	if (h->n == h->cap) {
		int cap = h->cap ? h->cap * 2 : MAX_CTX;
		int *f = realloc(h->fd, (size_t)cap * sizeof(int));
		struct pollfd *pf = f ? realloc(h->pf, (size_t)cap * sizeof(*pf)) : NULL;
		if (f)
			h->fd = f;
		if (!pf) { /* out of memory: its faults wait, never read zero */
			dprintf(STDERR_FILENO, "snapvm restore --lazy: the pager's guard is out of "
					       "memory: a forked child's faults will wait\n");
			return;
		}
		h->pf = pf;
		h->cap = cap;
	}
	h->fd[h->n++] = fd;
}

/* Every userfaultfd in the fd table the guard shared with the pager. */
static void hold_table(struct held *h)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		dprintf(STDERR_FILENO, "snapvm restore --lazy: the pager's guard cannot list its "
				       "fds (/proc): forked children's faults will wait\n");
		return;
	}
	int own = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[sizeof("/proc/self/fd/") + sizeof(e->d_name)], link[64];
		int fd = atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(path, link, sizeof(link) - 1);
		if (fd == own || k < 0)
			continue;
		link[k] = '\0';
		if (!strcmp(link, "anon_inode:[userfaultfd]"))
			hold(h, fd);
	}
	closedir(d);
}

/* The userfaultfds the dead pager held (their registrations stay, so
 * their missing pages keep faulting instead of reading zero): each thread
 * that faults on one is killed, saying so, until every one's memory is
 * gone. The thread is named by the fault, and held in it by this very
 * fd: it cannot have ended and left its tid to another. */
static void guard_uffds(struct held *h)
{
	void *unreadable = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	while (h->n > 0) {
		for (int i = 0; i < h->n; i++)
			h->pf[i] = (struct pollfd){ h->fd[i], POLLIN, 0 };
		poll(h->pf, (nfds_t)h->n, 1000);
		for (int i = 0; i < h->n; i++) {
			struct uffd_msg m[16];
			ssize_t r;
			while ((r = read(h->fd[i], m, sizeof(m))) > 0)
				for (size_t k = 0; k < (size_t)r / sizeof(m[0]); k++) {
					if (m[k].event == UFFD_EVENT_FORK) {
						hold(h, (int)m[k].arg.fork.ufd);
					} else if (m[k].event == UFFD_EVENT_PAGEFAULT) {
						pid_t t = (pid_t)m[k].arg.pagefault.feat.ptid;
						dprintf(STDERR_FILENO,
							"snapvm restore --lazy: the pager died; "
							"process %d's child (thread %d) waits for "
							"a page that will not come: killed\n",
							(int)P.pid, (int)t);
						kill(t, SIGKILL);
					}
				}
			if (unreadable != MAP_FAILED && mm_gone(h->fd[i], unreadable)) {
				close(h->fd[i]);
				h->fd[i--] = h->fd[--h->n];
			}
		}
	}
}

/* Waits until pidfd's process has ended (SIGKILLed: promptly). */
static void wait_gone(int pidfd)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };
	while (pidfd >= 0 && poll(&pf, 1, -1) != 1)
		;
}

/* The guard (see the top): waits for the pager's end, the fd table shared
 * with it (CLONE_FILES). Its last word 'D' (done: nothing left to serve)
 * ends the guard; 'K' (it gave up, said why and killed the process) and
 * no word (it died) leave the forked children to guard. */
__attribute__((noreturn)) static void guard_main(int pager, int word)
{
	prctl(PR_SET_NAME, "snapvm-pager-guard");
	char said = 0;
	for (;;) {
		struct pollfd pf[2] = { { word, POLLIN, 0 }, { pager, POLLIN, 0 } };
		poll(pf, 2, -1);
		if (read(word, &said, 1) == 1 || pf[1].revents)
			break;
	}
	if (said == 'D')
		_exit(0);
	wait_gone(pager); /* the table is the guard's alone from here */
	if (!said) {
		dprintf(STDERR_FILENO,
			"snapvm restore --lazy: the pager died before the last page was placed; "
			"process %d killed (restore without --lazy)\n",
			(int)P.pid);
		kill_process();
	}
	wait_gone(P.pidfd); /* its mm gone: only its children's fault on */
	struct held h = { 0 };
	hold_table(&h);
	guard_uffds(&h);
	_exit(0);
}

/* Starts the guard (see the top), sharing this pager's fd table; P.guard
 * is where the pager's last word goes. */
static void start_guard(void)
{
	int word[2];
	if (pipe2(word, O_CLOEXEC | O_NONBLOCK) < 0)
		give_up("cannot make the guard's pipe: %s", strerror(errno));
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (self < 0)
		give_up("pidfd_open: %s", strerror(errno));
	long g = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	if (g < 0)
		give_up("cannot start the pager's guard: %s", strerror(errno));
	if (g == 0)
		guard_main(self, word[0]);
	P.guard = word[1];
}

/* Locks the buffer and writes its frames, as one message, to report. */
static void lock_buffer(int report)
{
	uint64_t len = SV_RIMG_LAZY_BUFFER_PAGES * PAGE;
	uint8_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		give_up("cannot map the pager's buffer: %s", strerror(errno));
	rst_pin_frames_setup();
	if (mlock(b, len) < 0)
		give_up("cannot lock the pager's buffer: %s", strerror(errno));
	static uint64_t ent[SV_RIMG_LAZY_BUFFER_PAGES];
	static struct sv_rimg_pfn_run runs[SV_RIMG_LAZY_BUFFER_PAGES];
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0 ||
	    pread(pm, ent, sizeof(ent), (off_t)((uintptr_t)b / PAGE * 8)) != (ssize_t)sizeof(ent))
		give_up("cannot read the buffer's frames: %s", strerror(errno));
	close(pm);
	uint64_t nruns = 0;
	for (uint64_t k = 0; k < SV_RIMG_LAZY_BUFFER_PAGES; k++) {
		uint64_t pfn = ent[k] & ((1ull << 55) - 1);
		if (!(ent[k] >> 63) || !pfn)
			give_up("the pager's buffer page %llu is not in RAM",
				(unsigned long long)k);
		if (nruns && runs[nruns - 1].pfn + runs[nruns - 1].npages == pfn) {
			runs[nruns - 1].npages++;
			continue;
		}
		runs[nruns++] =
			(struct sv_rimg_pfn_run){ .staging_page = k, .pfn = pfn, .npages = 1 };
	}
	struct sv_rimg_lazy_header hdr = { .nruns = nruns,
					   .buffer_pages = SV_RIMG_LAZY_BUFFER_PAGES };
	memcpy(hdr.magic, SV_RIMG_LAZY_MAGIC, 8);
	if (write(report, &hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    write(report, runs, nruns * sizeof(runs[0])) != (ssize_t)(nruns * sizeof(runs[0])))
		give_up("cannot tell the restorer the buffer's frames: %s", strerror(errno));
	close(report);
	P.ctl = (struct sv_rimg_lazy_ctl *)b;
	P.slots = b + PAGE;
}

/* Waits until the blob has registered the lazy mappings (a byte on
 * ready): a page copied before would find no registered mapping and be
 * lost. The restorer gone first (EOF): the restore failed, and said why;
 * the host, which serves until the pager's last word, is told (FAILED). */
static void wait_registered(int ready)
{
	char byte;
	ssize_t n;
	while ((n = read(ready, &byte, 1)) < 0 && errno == EINTR)
		;
	close(ready);
	if (n != 1) {
		__atomic_store_n(&P.ctl->pager_state, SV_RIMG_LAZY_FAILED, __ATOMIC_RELEASE);
		(void)!write(P.guard, "D", 1);
		_exit(0);
	}
}

/* Closes every fd but fds[0..n) and the process's stderr (a pipe end
 * held here would keep its reader waiting; the others are the
 * process's), whatever their numbers: the restorer may have been started
 * with 0, 1 or 2 closed (the uffd or a pipe end is one of those then) or
 * hold fds above 1023. fds[] come back as 3, 4, ...; 0 and 1 - and 2 if
 * it was one of fds[], not a stderr - become /dev/null, so that no later
 * fd takes a number give_up writes to. */
static void keep_only(int *fds, int n)
{
	int high[8], err_taken = 0;
	for (int i = 0; i < n; i++) {
		err_taken |= fds[i] == STDERR_FILENO;
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n); /* above 3..3+n */
		if (high[i] < 0)
			give_up("cannot keep the pager's fd %d: %s", fds[i], strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (dup3(high[i], 3 + i, O_CLOEXEC) < 0)
			give_up("cannot move the pager's fd %d: %s", fds[i], strerror(errno));
		fds[i] = 3 + i;
	}
	if (syscall(SYS_close_range, 3 + n, ~0u, 0) < 0) /* Linux < 5.9 */
		for (long fd = 3 + n, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
			close((int)fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++)
		if ((fd < 2 || err_taken) && fd != null) {
			if (null < 0 || dup3(null, fd, O_CLOEXEC) < 0)
				close(fd);
		}
	if (null > 2)
		close(null);
}

/* The lazy runs copied out of the restore image, which is unmapped: the
 * pager needs nothing else of it, and would keep its memory (a file in
 * the guest's RAM, or the standby's mailbox) until the last page. */
static const struct sv_rimg_run *own_runs(const struct sv_rimg_header *h,
					  const struct sv_rimg_run *runs)
{
	size_t len = (size_t)h->nlazy_runs * sizeof(*runs);
	struct sv_rimg_run *own = malloc(len ? len : 1);
	if (!own)
		give_up("out of memory for %u lazy runs", h->nlazy_runs);
	memcpy(own, runs, len);
	uintptr_t start = (uintptr_t)h & ~(PAGE - 1);
	munmap((void *)start, ((uintptr_t)h + h->file_size - start + PAGE - 1) & ~(PAGE - 1));
	return own;
}

__attribute__((noreturn)) static void pager_main(int uffd, int report, int ready,
						 const struct sv_rimg_run *runs, uint32_t nruns)
{
	prctl(PR_SET_NAME, "snapvm-pager");
	/* first: the guard kills the process by it */
	P.pidfd = (int)syscall(SYS_pidfd_open, P.pid, 0);
	if (P.pidfd < 0)
		give_up("pidfd_open: %s", strerror(errno));
	start_guard();
	P.runs = runs;
	P.nruns = nruns;
	P.first = calloc(nruns + 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < nruns; i++)
		P.first[i + 1] = P.first[i] + runs[i].npages;
	P.total = P.first[nruns];
	P.done = calloc(P.total / 8 + 1, 1);
	P.ctx[0] = (struct ctx){ .fd = uffd, .main = 1 };
	P.nctx = 1;
	if (!P.first || !P.done || ops_reserve(&P.ctx[0], 1) < 0)
		give_up("out of memory for %llu pages", (unsigned long long)P.total);
	lock_buffer(report);
	wait_registered(ready);
	serve();
}

int rst_lazy_start(const struct sv_rimg_header *h, const struct sv_rimg_run *runs, int *ret_report,
		   int *ret_ready)
{
	for (uint32_t i = 0; i < h->nlazy_runs; i++)
		if (runs[i].npages == 0 || runs[i].vaddr % PAGE ||
		    (i && runs[i].vaddr < runs[i - 1].vaddr + runs[i - 1].npages * PAGE))
			rst_die("corrupt restore image: lazy run %u", i);
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		rst_die("--lazy needs userfaultfd, which this guest kernel refuses: %s (restore "
			"without --lazy)",
			strerror(errno));
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
					      UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
					      UFFD_FEATURE_THREAD_ID };
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		rst_die("--lazy: this guest kernel's userfaultfd lacks the events the pager "
			"follows (fork, mremap, munmap, madvise): %s (restore without --lazy)",
			strerror(errno));
	int report[2], ready[2];
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		rst_die("cannot make the pager's pipe: %s", strerror(errno));
	P.pid = getpid();
	P.guard = -1;
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		rst_die("cannot start the pager: %s", strerror(errno));
	if (pid == 0) {
		int keep[3] = { uffd, report[1], ready[0] };
		keep_only(keep, 3);
		uint32_t n = h->nlazy_runs; /* h is gone next */
		const struct sv_rimg_run *own = own_runs(h, runs);
		pager_main(keep[0], keep[1], keep[2], own, n);
	}
	close(report[1]);
	close(ready[0]);
	*ret_report = report[0];
	*ret_ready = ready[1];
	return uffd;
}

void rst_lazy_announce(int report)
{
	static uint8_t msg[sizeof(struct sv_rimg_lazy_header) +
			   SV_RIMG_LAZY_BUFFER_PAGES * sizeof(struct sv_rimg_pfn_run)];
	size_t got = 0;
	ssize_t n;
	while ((n = read(report, msg + got, sizeof(msg) - got)) > 0 || (n < 0 && errno == EINTR))
		got += n > 0 ? (size_t)n : 0;
	close(report);
	if (got < sizeof(struct sv_rimg_lazy_header))
		rst_die("the pager did not start (it says why above)");
	for (size_t done = 0; done < got;) {
		n = write(STDOUT_FILENO, msg + done, got - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rst_die("cannot write to the host: %s", strerror(errno));
		done += (size_t)n;
	}
}
