/* SPDX-License-Identifier: MIT */
/*
 * blob.c - the x86_64 restorer blob: the last stage of `snapvm restore` in
 * the guest, CRIU-style (criu/pie/restorer.c does the same job; this is our
 * own, smaller code).
 *
 * The restorer program (guest-agent/restore-main.c) is a static non-PIE
 * binary at 0x400000 - exactly where the target's own code goes. So it
 * copies this blob (freestanding, position-independent, raw syscalls, no
 * libc, no relocations: built -fpie -nostdlib and flattened with objcopy)
 * into a region no mapping of the snapshot uses, switches its stack there
 * and jumps to the first byte. From then on only this region is needed:
 * the blob unmaps everything else (the restorer, its heap, stack, vDSO),
 * maps every VMA of the snapshot at its address, reads the stored pages
 * into place from the image file, restores mm fields, TLS, vDSO position,
 * signal state, rseq, robust list and tid address, and finally loads every
 * register and the FPU/AVX state with rt_sigreturn over a frame the
 * restorer built. The region itself stays mapped (one small anonymous
 * mapping more than the original had): unmapping the code that runs the
 * final sigreturn would need a tracer, as CRIU uses.
 *
 * Errors: a message on fd 2 (still the agent's pipe) and exit_group(125).
 */
#include <stddef.h>
#include <stdint.h>

#include "guest-agent/restore-args.h"

#pragma GCC visibility push(hidden)

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_mremap 25
#define NR_munlock 150
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_rt_sigreturn 15
#define NR_pread64 17
#define NR_getpid 39
#define NR_exit_group 231
#define NR_prctl 157
#define NR_arch_prctl 158
#define NR_gettid 186
#define NR_tgkill 234
#define NR_set_tid_address 218
#define NR_set_robust_list 273
#define NR_rt_sigqueueinfo 129
#define NR_rt_tgsigqueueinfo 297
#define NR_rseq 334
#define NR_close_range 436

#define PROT_WRITE 2
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x0100
#define MAP_NORESERVE 0x4000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define PR_SET_NAME 15
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_MAP_VDSO_64 0x2003
#define SA_RESTORER 0x04000000
#define PAGE 4096ul
/* The end of a 4-level user address space (TASK_SIZE_MAX); a snapshot
 * from a 5-level guest with mappings above it is refused by the host. */
#define USER_END 0x7ffffffff000ul

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
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
	sys(NR_write, 2, s, slen(s));
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
		sys(NR_exit_group, SV_RIMG_EXIT_FAILED, 0, 0);
}

static void check(long r, const char *what, uint64_t addr)
{
	if (r < 0 && r > -4096)
		fail(what, addr, r);
}

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
		long flags = MAP_FIXED | ((v->flags & SV_RIMG_VMA_SHARED) ? MAP_SHARED : MAP_PRIVATE);
		if (v->fd < 0)
			flags |= MAP_ANONYMOUS;
		if (v->flags & SV_RIMG_VMA_NORESERVE)
			flags |= MAP_NORESERVE;
		if (v->flags & SV_RIMG_VMA_GROWSDOWN)
			flags |= MAP_GROWSDOWN;
		long prot = v->prot | (v->fill ? PROT_WRITE : 0);
		long r = sys6(NR_mmap, (long)v->start, (long)(v->end - v->start), prot, flags,
			      v->fd, v->fd < 0 ? 0 : (long)(v->pgoff * PAGE));
		check(r, "mmap", v->start);
		if ((uint64_t)r != v->start)
			fail("mmap landed elsewhere", v->start, -22);
	}
}

/* Reads the stored pages into place: each run cut at VMA edges, skipping
 * VMAs that are not filled (shared file mappings: the file is the truth). */
static void fill_pages(const struct rst_args *a)
{
	for (uint32_t i = 0; i < a->nruns; i++) {
		const struct rst_run *run = &a->runs[i];
		uint64_t end = run->vaddr + run->len;
		for (uint32_t k = 0; k < a->nvmas; k++) {
			const struct rst_vma *v = &a->vmas[k];
			if (!v->fill || v->end <= run->vaddr || v->start >= end)
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
					long r = sys6(NR_mremap, (long)src, (long)(hi - lo),
						      (long)(hi - lo), MREMAP_MAYMOVE | MREMAP_FIXED,
						      (long)lo, 0);
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
				long r = sys6(NR_pread64, a->image_fd, (long)lo, (long)n, (long)off, 0, 0);
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
			check(sys(NR_mprotect, v->start, v->end - v->start, v->prot), "mprotect",
			      v->start);
	}
	if (a->staging_len)
		check(sys(NR_munmap, a->staging_start, a->staging_len, 0), "munmap staging",
		      a->staging_start);
}

static void signals(const struct rst_args *a)
{
	for (uint32_t i = 0; i < a->nsigactions; i++) {
		const struct sv_rimg_sigaction *s = &a->sigactions[i];
		if (s->signo == 9 || s->signo == 19)
			continue;
		/* struct kernel_sigaction on x86_64: handler, flags, restorer, mask */
		uint64_t ksa[4] = { s->handler, s->flags, s->restorer, s->mask };
		check(sys6(NR_rt_sigaction, s->signo, (long)ksa, 0, 8, 0, 0), "rt_sigaction",
		      s->signo);
	}
	/* Queued signals go back with their siginfo; they stay pending (all
	 * are blocked) until rt_sigreturn installs the process's own mask. */
	long pid = sys(NR_getpid, 0, 0, 0), tid = sys(NR_gettid, 0, 0, 0);
	uint64_t queued = 0;
	for (uint32_t i = 0; i < a->nsigqueue; i++) {
		const struct sv_rimg_sigqueue *q = &a->sigqueue[i];
		long r = q->shared ? sys(NR_rt_sigqueueinfo, pid, q->signo, q->info)
				   : sys6(NR_rt_tgsigqueueinfo, pid, tid, q->signo, (long)q->info, 0, 0);
		check(r, "requeueing a signal", q->signo);
		queued |= 1ull << (q->signo - 1);
	}
	uint64_t rest = (a->sigpending | a->sigpending_shared) & ~queued;
	for (int sig = 1; sig <= 64; sig++)
		if (rest & (1ull << (sig - 1)))
			check(sys(NR_tgkill, pid, tid, sig), "tgkill", (uint64_t)sig);
}

__attribute__((noreturn, used, noipa)) void rst_restore(struct rst_args *a)
{
	/* Everything but this region goes: the restorer's code, data, heap,
	 * stack, its vDSO. */
	/* Kept: the region, and the staging area (unlocked: moved pages must
	 * not carry VM_LOCKED into the process). */
	uint64_t keep[2][2] = { { a->region_start, a->region_end },
				{ a->staging_start, a->staging_start + a->staging_len } };
	int nkeep = a->staging_len ? 2 : 1;
	if (nkeep == 2 && keep[1][0] < keep[0][0]) {
		uint64_t t0 = keep[0][0], t1 = keep[0][1];
		keep[0][0] = keep[1][0];
		keep[0][1] = keep[1][1];
		keep[1][0] = t0;
		keep[1][1] = t1;
	}
	uint64_t from = 0;
	for (int k = 0; k < nkeep; k++) {
		if (keep[k][0] > from)
			check(sys(NR_munmap, from, keep[k][0] - from, 0), "munmap", from);
		from = keep[k][1];
	}
	check(sys(NR_munmap, from, USER_END - from, 0), "munmap above", from);
	if (a->staging_len)
		check(sys(NR_munlock, a->staging_start, a->staging_len, 0), "munlock",
		      a->staging_start);
	if (a->vdso_vvar_start)
		check(sys(NR_arch_prctl, ARCH_MAP_VDSO_64, a->vdso_vvar_start, 0), "mapping the vDSO",
		      a->vdso_vvar_start);
	map_vmas(a);
	fill_pages(a);
	check(sys6(NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&a->mm, sizeof(a->mm), 0, 0),
	      "prctl(PR_SET_MM_MAP)", a->mm.start_code);
	check(sys6(NR_prctl, PR_SET_NAME, (long)a->comm, 0, 0, 0, 0), "prctl(PR_SET_NAME)", 0);
	check(sys(NR_arch_prctl, ARCH_SET_FS, a->fs_base, 0), "arch_prctl(ARCH_SET_FS)", a->fs_base);
	check(sys(NR_arch_prctl, ARCH_SET_GS, a->gs_base, 0), "arch_prctl(ARCH_SET_GS)", a->gs_base);
	sys(NR_set_tid_address, a->clear_child_tid, 0, 0);
	check(sys(NR_set_robust_list, a->robust_list, 24, 0), "set_robust_list", a->robust_list);
	if (a->rseq)
		check(sys6(NR_rseq, (long)a->rseq, a->rseq_len, 0, a->rseq_sig, 0, 0), "rseq",
		      a->rseq);
	signals(a);
	/* The image and the mapped files are no longer needed; the process's
	 * own fds are all below them (restore-files.c). */
	check(sys(NR_close_range, a->close_from, ~0u, 0), "close_range", a->close_from);
	/* rt_sigreturn takes the frame at sp - 8: registers, flags, the FPU
	 * image (with its XSAVE magic), the signal mask and the altstack. */
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "movl %1, %%eax\n\t"
			 "syscall\n\t"
			 "hlt"
			 :
			 : "r"(a->sigframe_sp), "i"(NR_rt_sigreturn)
			 : "memory");
	__builtin_unreachable();
}

/* First byte of the blob: the restorer jumps here with rdi = args and the
 * stack inside the region. */
__attribute__((section(".text.entry"), naked, noreturn)) void rst_entry(void)
{
	__asm__ volatile("andq $-16, %rsp\n\t"
			 "call rst_restore\n\t"
			 "hlt");
}

#pragma GCC visibility pop
