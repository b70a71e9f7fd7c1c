/* SPDX-License-Identifier: MIT */
/*
 * restorer-blob.c - the restorer blob: the last stage of `snapvm restore` in
 * the guest, CRIU-style (criu/pie/restorer.c does the same job; this is our
 * own, smaller code). Built once per guest arch with that arch's
 * arch/<arch>/restorer/blob-arch.h, which holds all that differs: the
 * syscall instruction, the top of the user address space, how the vDSO is
 * placed, the thread pointer, the entry and the final rt_sigreturn.
 *
 * The restorer program (guest/restorer/restore-main.c) is a static non-PIE
 * binary at 0x400000 - exactly where the target's own code goes. So it
 * copies this blob (freestanding, position-independent, raw syscalls, no
 * libc, no relocations: built -fpie -nostdlib and flattened with objcopy)
 * into a region no mapping of the snapshot uses, switches its stack there
 * and jumps to the first byte. From then on only this region is needed:
 * the blob unmaps everything else (the restorer, its heap, stack, and its
 * vDSO where the arch can map a new one),
 * maps every VMA of the snapshot at its address, reads the stored pages
 * into place from the image file, restores mm fields, TLS, vDSO position,
 * signal state, rseq, robust list and tid address; lets every other thread
 * (created by the restorer with its tid, parked until now) set its own
 * per-thread state and waits until all are in place; and finally every
 * thread loads its registers and FPU/SIMD state with rt_sigreturn over a
 * frame the restorer built for it. The region itself cannot unmap the code
 * that runs those sigreturns: the unmapper (region-unmap.c), a tracer as
 * CRIU's restoring process is, takes it away once every thread is out.
 *
 * Errors: a message on fd 2 (still the agent's pipe) and exit_group(125).
 */
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h> /* __NR_*: the guest arch's own numbers */
#include <asm/signal.h> /* SA_RESTORER: whether struct sigaction has sa_restorer */
#include <linux/ioctl.h>
#include <linux/userfaultfd.h> /* UFFDIO_REGISTER (only constants and structs) */

#include "guest/restorer/restore-args.h"

#pragma GCC visibility push(hidden)

/* uapi mman.h and prctl.h: the same on every arch restore supports */
#define PROT_WRITE 2
#define PROT_EXEC 4
#define SHM_RDONLY 010000
#define SHM_REMAP 040000
#define SHM_EXEC 0100000
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x0100
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define PR_SET_NAME 15
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define MLOCK_ONFAULT 1
#define PAGE 4096ul

/* What the arch's half uses of this file, and its entry calls. */
__attribute__((noreturn)) static void fail(const char *what, uint64_t addr, long err);
static void check(long r, const char *what, uint64_t addr);
__attribute__((noreturn)) void rst_restore(struct rst_args *a);
__attribute__((noreturn)) void rst_thread_main(struct rst_thread *t);

/* sys6(), USER_END, rst_entry() and the arch_*() steps */
#include "blob-arch.h"

/* uapi asm-generic/mman.h; an arch whose value differs defines it in its
 * blob-arch.h (powerpc) */
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0x4000
#endif

#define sys(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void put(const char *s)
{
	sys(__NR_write, 2, s, slen(s));
}

static void put_hex(uint64_t v)
{
	char b[19] = "0x";
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	put(b);
}

static void put_dec(long v)
{
	char b[24];
	int i = 23;
	b[i] = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do
		b[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 1);
	if (v < 0)
		b[--i] = '-';
	put(b + i);
}

__attribute__((noreturn)) static void fail(const char *what, uint64_t addr, long err)
{
	put("snapvm restore: in the guest: ");
	put(what);
	put(" at ");
	put_hex(addr);
	put(" failed: errno ");
	put_dec(-err);
	put("\n");
	for (;;)
		sys(__NR_exit_group, SV_RIMG_EXIT_FAILED, 0, 0);
}

static void check(long r, const char *what, uint64_t addr)
{
	if (r < 0 && r > -4096)
		fail(what, addr, r);
}

#include "blob-creds.h" /* take_creds, after sys and check */

/* Page-aligned copy, a word at a time (there is no libc here). */
static void copy_pages(uint64_t dst, uint64_t src, uint64_t len)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	for (uint64_t i = 0; i < len / 8; i++)
		d[i] = s[i];
}

static void map_vmas(const struct rst_args *a)
{
	for (uint32_t i = 0; i < a->nvmas; i++) {
		const struct rst_vma *v = &a->vmas[i];
		if (v->flags & (SV_RIMG_VMA_VDSO | SV_RIMG_VMA_VVAR))
			continue;
		long flags = MAP_FIXED |
			     ((v->flags & SV_RIMG_VMA_SHARED) ? MAP_SHARED : MAP_PRIVATE);
		if (v->fd < 0)
			flags |= MAP_ANONYMOUS;
		if (v->flags & SV_RIMG_VMA_NORESERVE)
			flags |= MAP_NORESERVE;
		if (v->flags & SV_RIMG_VMA_GROWSDOWN)
			flags |= MAP_GROWSDOWN;
		long prot = v->prot | (v->fill ? PROT_WRITE : 0);
		if (v->flags & SV_RIMG_VMA_SYSV) {
			/* an attachment again, so shmdt and nattch work: fd is
			 * the segment's id */
			long shmflg = SHM_REMAP | ((v->prot & PROT_WRITE) ? 0 : SHM_RDONLY) |
				      ((v->prot & PROT_EXEC) ? SHM_EXEC : 0);
			long r = sys(__NR_shmat, v->fd, v->start, shmflg);
			check(r, "shmat", v->start);
			if ((uint64_t)r != v->start)
				fail("shmat landed elsewhere", v->start, -22);
			continue;
		}
		long r = sys6(__NR_mmap, (long)v->start, (long)(v->end - v->start), prot, flags,
			      v->fd, v->fd < 0 ? 0 : (long)(v->pgoff * PAGE));
		check(r, "mmap", v->start);
		if ((uint64_t)r != v->start)
			fail("mmap landed elsewhere", v->start, -22);
	}
}

/* SV_RIMG_LAZY: every lazy mapping registered with the process's
 * userfaultfd (guest/restorer/lazy-pager.c) right after it is mapped,
 * before anything - the blob, or the kernel for it (rseq's registration
 * writes into the process's memory) - could touch a page of it: a page
 * touched first would be a zero page the pager could no longer fill. */
static void register_lazy(const struct rst_args *a)
{
	for (uint32_t i = 0; i < a->nvmas && a->uffd >= 0; i++) {
		const struct rst_vma *v = &a->vmas[i];
		if (!(v->flags & SV_RIMG_VMA_LAZY))
			continue;
		struct uffdio_register r = { .range = { v->start, v->end - v->start },
					     .mode = UFFDIO_REGISTER_MODE_MISSING };
		check(sys(__NR_ioctl, a->uffd, UFFDIO_REGISTER, (long)&r),
		      "userfaultfd registration of a lazy mapping", v->start);
	}
	/* the pager may place pages from now on */
	if (a->uffd >= 0 && sys(__NR_write, a->lazy_ready, "R", 1) != 1)
		fail("telling the pager the lazy mappings are registered", 0,
		     -32 /* EPIPE: it is gone */);
}

/* Reads the stored pages into place: each run cut at VMA edges, skipping
 * VMAs that are not filled (shared file mappings: the file is the truth). */
static void fill_pages(const struct rst_args *a)
{
	/* runs and VMAs are both sorted (restore-main.c checked): the VMAs a
	 * run meets start at the first one not below it, so the walk over
	 * both is linear, not runs times VMAs */
	uint32_t first = 0;
	for (uint32_t i = 0; i < a->nruns; i++) {
		const struct rst_run *run = &a->runs[i];
		uint64_t end = run->vaddr + run->len;
		while (first < a->nvmas && a->vmas[first].end <= run->vaddr)
			first++;
		for (uint32_t k = first; k < a->nvmas && a->vmas[k].start < end; k++) {
			const struct rst_vma *v = &a->vmas[k];
			if (!v->fill)
				continue;
			uint64_t lo = v->start > run->vaddr ? v->start : run->vaddr;
			uint64_t hi = v->end < end ? v->end : end;
			uint64_t off = run->data_off + (lo - run->vaddr);
			if (a->staging_len) {
				uint64_t src = a->staging_start + off;
				if (off > a->staging_len || hi - lo > a->staging_len - off)
					fail("page run outside the staging area", lo, -22);
				/* A private anonymous mapping wholly staged takes
				 * the staged pages as they are (mremap replaces it
				 * with them, one VMA as before); a part of one, or
				 * a file's or the stack's mapping (which must keep
				 * their kind), is copied, so no VMA is split. */
				if (v->fd < 0 && lo == v->start && hi == v->end &&
				    !(v->flags & (SV_RIMG_VMA_SHARED | SV_RIMG_VMA_GROWSDOWN))) {
					long r = sys6(__NR_mremap, (long)src, (long)(hi - lo),
						      (long)(hi - lo),
						      MREMAP_MAYMOVE | MREMAP_FIXED, (long)lo, 0);
					check(r, "mremap of staged pages", lo);
				} else {
					copy_pages(lo, src, hi - lo);
				}
				continue;
			}
			while (lo < hi) {
				uint64_t n = hi - lo;
				if (n > (1ul << 30))
					n = 1ul << 30;
				long r = sys6(__NR_pread64, a->image_fd, (long)lo, (long)n,
					      (long)off, 0, 0);
				check(r, "reading pages", lo);
				if (r == 0)
					fail("image ends early reading pages", lo, -5);
				lo += (uint64_t)r;
				off += (uint64_t)r;
			}
		}
	}
	/* every filled VMA: moved pieces came with the staging area's
	 * protection, the rest was mapped writable to be filled */
	for (uint32_t i = 0; i < a->nvmas; i++) {
		const struct rst_vma *v = &a->vmas[i];
		if (v->fill)
			check(sys(__NR_mprotect, v->start, v->end - v->start, v->prot), "mprotect",
			      v->start);
	}
	if (a->staging_len)
		check(sys(__NR_munmap, a->staging_start, a->staging_len, 0), "munmap staging",
		      a->staging_start);
}

/* The advice and locks the process had put on its mappings, once every
 * page is in place (an mremap of staged pages replaces a VMA, and with it
 * any flag set before). uapi/asm-generic/mman-common.h numbers. */
static void advise_vmas(const struct rst_args *a)
{
	static const struct {
		uint32_t flag;
		int advice;
	} advice[] = {
		{ SV_RIMG_VMA_DONTFORK, 10 },	{ SV_RIMG_VMA_DONTDUMP, 16 },
		{ SV_RIMG_VMA_WIPEONFORK, 18 }, { SV_RIMG_VMA_HUGEPAGE, 14 },
		{ SV_RIMG_VMA_NOHUGEPAGE, 15 }, { SV_RIMG_VMA_MERGEABLE, 12 },
		{ SV_RIMG_VMA_SEQUENTIAL, 2 },	{ SV_RIMG_VMA_RANDOM, 1 },
	};
	for (uint32_t i = 0; i < a->nvmas; i++) {
		const struct rst_vma *v = &a->vmas[i];
		if (v->flags & (SV_RIMG_VMA_VDSO | SV_RIMG_VMA_VVAR))
			continue;
		for (uint32_t k = 0; k < sizeof(advice) / sizeof(advice[0]); k++)
			if (v->flags & advice[k].flag)
				check(sys(__NR_madvise, v->start, v->end - v->start,
					  advice[k].advice),
				      "madvise", v->start);
		if (v->flags & SV_RIMG_VMA_LOCKED)
			check(sys(__NR_mlock2, v->start, v->end - v->start,
				  (v->flags & SV_RIMG_VMA_LOCKONFAULT) ? MLOCK_ONFAULT : 0),
			      "mlock2", v->start);
	}
}

static void signal_actions(const struct rst_args *a)
{
	for (uint32_t i = 0; i < a->nsigactions; i++) {
		const struct sv_rimg_sigaction *s = &a->sigactions[i];
		if (s->signo == 9 || s->signo == 19)
			continue;
			/* the kernel's struct sigaction: handler, flags, restorer
		 * where the arch has SA_RESTORER (not riscv: there the mask
		 * follows the flags), mask */
#ifdef SA_RESTORER
		uint64_t ksa[4] = { s->handler, s->flags, s->restorer, s->mask };
#else
		uint64_t ksa[3] = { s->handler, s->flags, s->mask };
#endif
		check(sys6(__NR_rt_sigaction, s->signo, (long)ksa, 0, 8, 0, 0), "rt_sigaction",
		      s->signo);
	}
}

/* Queued signals go back with their siginfo, to the calling thread or (the
 * shared ones) to the process, and the other pending ones by tgkill; they
 * stay pending (all are blocked) until rt_sigreturn installs the thread's
 * own mask. */
static void requeue_signals(const struct sv_rimg_sigqueue *queue, uint32_t n, uint64_t pending)
{
	long pid = sys(__NR_getpid, 0, 0, 0), tid = sys(__NR_gettid, 0, 0, 0);
	uint64_t queued = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct sv_rimg_sigqueue *q = &queue[i];
		long r = q->shared ? sys(__NR_rt_sigqueueinfo, pid, q->signo, q->info)
				   : sys6(__NR_rt_tgsigqueueinfo, pid, tid, q->signo, (long)q->info,
					  0, 0);
		check(r, "requeueing a signal", q->signo);
		queued |= 1ull << (q->signo - 1);
	}
	uint64_t rest = pending & ~queued;
	for (int sig = 1; sig <= 64; sig++)
		if (rest & (1ull << (sig - 1)))
			check(sys(__NR_tgkill, pid, tid, sig), "tgkill", (uint64_t)sig);
}

/* uapi linux/rseq.h: struct rseq's rseq_cs pointer, and what it points
 * to */
#define RSEQ_CS_OFFSET 8
struct rseq_cs_desc {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
};

/* n bytes of this process's memory at addr, or 0 where they are not
 * readable (process_vm_readv on itself fails instead of faulting) */
static int read_own(uint64_t addr, void *out, uint64_t n)
{
	struct {
		uint64_t base, len;
	} local = { (uint64_t)(uintptr_t)out, n }, remote = { addr, n };
	long pid = sys(__NR_getpid, 0, 0, 0);
	return sys6(__NR_process_vm_readv, pid, (long)&local, 1, (long)&remote, 1, 0) == (long)n;
}

/* A thread caught inside an rseq critical section goes on at its abort
 * handler, as the kernel sends it there once it was preempted in one
 * (kernel/rseq.c, rseq_ip_fixup) - it may run on another CPU now. The
 * kernel cannot do it here: registering the area runs its check against
 * this code's address, which only clears the descriptor. Nothing is moved
 * for a descriptor the kernel would refuse (then it kills the thread, as
 * it would have). */
static void rseq_abort_inside(uint64_t rseq, uint32_t rseq_sig, uint64_t frame_ip)
{
	uint64_t cs, ip;
	struct rseq_cs_desc d;
	uint32_t sig;
	if (!rseq || !frame_ip || !read_own(rseq + RSEQ_CS_OFFSET, &cs, 8) || !cs ||
	    !read_own(cs, &d, sizeof(d)) || d.version != 0 ||
	    d.abort_ip - d.start_ip < d.post_commit_offset || !read_own(d.abort_ip - 4, &sig, 4) ||
	    sig != rseq_sig)
		return;
	ip = *(uint64_t *)(uintptr_t)frame_ip;
	if (ip - d.start_ip < d.post_commit_offset)
		*(uint64_t *)(uintptr_t)frame_ip = d.abort_ip;
}

/* What the kernel keeps per thread: name, thread pointer, tid address,
 * robust futex list, rseq area (frame_ip: the slot of the thread's
 * instruction pointer in its rt_sigreturn frame, for rseq_abort_inside). */
static void thread_identity(const char *comm, const uint64_t tls[2], uint64_t clear_child_tid,
			    uint64_t robust_list, uint64_t rseq, uint32_t rseq_len,
			    uint32_t rseq_sig, uint64_t frame_ip)
{
	check(sys6(__NR_prctl, PR_SET_NAME, (long)comm, 0, 0, 0, 0), "prctl(PR_SET_NAME)", 0);
	arch_set_tls(tls);
	sys(__NR_set_tid_address, clear_child_tid, 0, 0);
	check(sys(__NR_set_robust_list, robust_list, 24, 0), "set_robust_list", robust_list);
	rseq_abort_inside(rseq, rseq_sig, frame_ip);
	if (rseq)
		check(sys6(__NR_rseq, (long)rseq, rseq_len, 0, rseq_sig, 0, 0), "rseq", rseq);
}

/* uapi futex.h */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

/* Waits until *word is at least value. */
static void wait_until(uint32_t *word, uint32_t value)
{
	uint32_t now;
	while ((now = __atomic_load_n(word, __ATOMIC_ACQUIRE)) < value)
		sys6(__NR_futex, (long)word, FUTEX_WAIT_PRIVATE, now, 0, 0, 0);
}

static void set_and_wake(uint32_t *word, uint32_t value)
{
	__atomic_store_n(word, value, __ATOMIC_RELEASE);
	sys6(__NR_futex, (long)word, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

/* Each other thread enters the blob here (rst_entry, from its parking
 * place in the restorer): it says it is in the region, waits for the
 * process's memory, becomes the snapshot's thread, says so, waits for
 * every other one, and returns to the process's code through its own
 * frame. */
__attribute__((noreturn, used)) void rst_thread_main(struct rst_thread *t)
{
	set_and_wake(&t->ready, RST_THREAD_IN_REGION);
	wait_until(t->stage, RST_STAGE_MEMORY);
	/* per thread in Linux, set by the restorer for the leader only */
	check(sys(__NR_personality, t->personality, 0, 0), "personality", t->personality);
	check(sys(__NR_setgroups, t->ngroups, t->groups, 0), "setgroups", t->ngroups);
	thread_identity(t->comm, t->tls, t->clear_child_tid, t->robust_list, t->rseq, t->rseq_len,
			t->rseq_sig, t->sigframe_ip);
	requeue_signals(t->sigqueue, t->nsigqueue, t->sigpending);
	set_and_wake(&t->ready, RST_THREAD_READY);
	wait_until(t->stage, RST_STAGE_GO);
	if (t->creds->set)
		take_creds(t->creds);
	arch_sigreturn(t->sigframe_sp);
}

/* Waits until every other thread has reached state. */
static void wait_threads(struct rst_args *a, uint32_t state)
{
	for (uint32_t i = 0; i < a->nthreads; i++)
		wait_until(&a->threads[i].ready, state);
}

/* Hands the region to the unmapper (region-unmap.c) and waits until it
 * traces every thread: from here on it holds each on its way out of its
 * rt_sigreturn and, once all are out, unmaps the region. */
static void call_unmapper(const struct rst_args *a)
{
	uint64_t region[2] = { a->region_start, a->region_end - a->region_start };
	int32_t err = -1;
	if (sys(__NR_write, a->unmapper_go, region, sizeof(region)) != (long)sizeof(region) ||
	    sys(__NR_read, a->unmapper_ack, &err, sizeof(err)) != (long)sizeof(err))
		fail("handing the restorer's region to its unmapper", a->region_start,
		     -32 /* EPIPE: it is gone */);
	/* EPERM: Yama (ptrace_scope 3 refuses even root) or a tracer already
	 * attached; ESRCH: a thread gone */
	if (err == 1)
		fail("tracing the threads to unmap the restorer's region (ptrace refused: "
		     "Yama's kernel.yama.ptrace_scope must be below 3, and no debugger "
		     "may trace the process)",
		     a->region_start, -err);
	if (err)
		fail("tracing the threads to unmap the restorer's region", a->region_start, -err);
}

/* Unmaps the whole user address space but the kept ranges (any order,
 * empty ones ignored). */
static void unmap_all_but(uint64_t keep[][2], int n)
{
	for (int i = 1; i < n; i++) /* sort by start: n is at most 3 */
		for (int k = i; k > 0 && keep[k][0] < keep[k - 1][0]; k--) {
			uint64_t t0 = keep[k][0], t1 = keep[k][1];
			keep[k][0] = keep[k - 1][0];
			keep[k][1] = keep[k - 1][1];
			keep[k - 1][0] = t0;
			keep[k - 1][1] = t1;
		}
	uint64_t from = 0;
	for (int k = 0; k < n; k++) {
		if (keep[k][0] == keep[k][1])
			continue;
		if (keep[k][0] > from)
			check(sys(__NR_munmap, from, keep[k][0] - from, 0), "munmap", from);
		from = keep[k][1];
	}
	check(sys(__NR_munmap, from, USER_END - from, 0), "munmap above", from);
}

__attribute__((noreturn, used, noipa)) void rst_restore(struct rst_args *a)
{
	/* the other threads leave the restorer's code for the region first */
	wait_threads(a, RST_THREAD_IN_REGION);
	/* Everything else goes: the restorer's code, data, heap, stack.
	 * Kept: the region, the staging area (unlocked: moved pages must not
	 * carry VM_LOCKED into the process), and the vDSO where the arch can
	 * only move it, not map a new one. */
	uint64_t keep[3][2] = { { a->region_start, a->region_end },
				{ a->staging_start, a->staging_start + a->staging_len },
				{ 0, 0 } };
	if (arch_vdso_kept())
		keep[2][0] = a->vdso_now_start, keep[2][1] = a->vdso_now_end;
	unmap_all_but(keep, 3);
	if (a->staging_len)
		check(sys(__NR_munlock, a->staging_start, a->staging_len, 0), "munlock",
		      a->staging_start);
	if (a->vdso_vvar_start)
		arch_place_vdso(a);
	map_vmas(a);
	register_lazy(a);
	fill_pages(a);
	advise_vmas(a);
	for (uint32_t i = 0; i < a->nseeks; i++)
		check(sys(__NR_lseek, a->seeks[i].fd, a->seeks[i].pos, 0 /* SEEK_SET */),
		      "lseek of a /proc file", a->seeks[i].pos);
	check(sys6(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&a->mm, sizeof(a->mm), 0, 0),
	      "prctl(PR_SET_MM_MAP)", a->mm.start_code);
	thread_identity(a->comm, a->tls, a->clear_child_tid, a->robust_list, a->rseq, a->rseq_len,
			a->rseq_sig, a->sigframe_ip);
	signal_actions(a);
	requeue_signals(a->sigqueue, a->nsigqueue, a->sigpending | a->sigpending_shared);
	set_and_wake(&a->stage, RST_STAGE_MEMORY);
	wait_threads(a, RST_THREAD_READY);
	call_unmapper(a);
	/* The image, the mapped files and the unmapper's pipes are no longer
	 * needed; the process's own fds are all below them (restore-files.c). */
	check(sys(__NR_close_range, a->close_from, ~0u, 0), "close_range", a->close_from);
	/* POSIX locks only now: that close dropped any the process held on
	 * the same files (restore-locks.c) */
	for (uint32_t i = 0; i < a->nposix_locks; i++)
		check(sys(__NR_fcntl, a->posix_locks[i].fd, 6 /* F_SETLK */,
			  (long)&a->posix_locks[i].type),
		      "fcntl(F_SETLK) of a POSIX lock", (uint64_t)a->posix_locks[i].fd);
	if (a->creds.set)
		take_creds(&a->creds);
	/* every thread goes on from here, none before all are in place */
	set_and_wake(&a->stage, RST_STAGE_GO);
	arch_sigreturn(a->sigframe_sp);
}

#pragma GCC visibility pop
