/* SPDX-License-Identifier: MIT */
/*
 * restore-common.c - what the per-arch halves of the guest-side restorer
 * (arch/<arch>/restorer/restore-<arch>.c) share: the embedded blob, the
 * register lookup by name, the altstack of the frame, and giving up libc's
 * rseq registration.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore.h"

/* The blob of this arch, flattened by the build (RST_BLOB_PATH). */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".globl rst_blob_start\n"
	"rst_blob_start:\n"
	".incbin \"" RST_BLOB_PATH "\"\n"
	".globl rst_blob_end\n"
	"rst_blob_end:\n"
	".popsection\n");

int rst_reg(const struct sv_rimg_header *h, const struct sv_rimg_named *regs, const char *name,
	    uint64_t *out)
{
	for (uint32_t i = 0; i < h->nregs; i++)
		if (!strncmp(regs[i].name, name, sizeof(regs[i].name))) {
			*out = regs[i].value;
			return 1;
		}
	return 0;
}

#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)

void rst_fill_altstack(struct rst_stack *st, const struct sv_rimg_header *h)
{
	if (h->sigaltstack_sp || h->sigaltstack_size) {
		st->ss_sp = h->sigaltstack_sp;
		st->ss_size = h->sigaltstack_size;
		st->ss_flags = (int32_t)(h->sigaltstack_flags & SS_AUTODISARM);
	} else {
		st->ss_flags = SS_DISABLE;
	}
}

/* rseq(2) on libc's area of the thread at thread_pointer with flags
 * (0: register; RSEQ_FLAG_UNREGISTER). 0 or -errno. */
static int rseq_call(void *thread_pointer, int flags)
{
#ifndef RSEQ_SIG
	/* a libc with no rseq signature for this arch (glibc 2.36 on riscv64)
	 * registers no rseq area */
	(void)thread_pointer;
	(void)flags;
	return 0;
#else
	if (__rseq_size == 0)
		return 0; /* libc registered none */
	void *area = (char *)thread_pointer + __rseq_offset;
	/* The kernel wants the length it was registered with: glibc 2.35-2.39
	 * register 32 bytes whatever __rseq_size says. */
	unsigned sizes[2] = { __rseq_size, 32 };
	for (int i = 0; i < 2; i++)
		if (syscall(SYS_rseq, area, sizes[i], flags, RSEQ_SIG) == 0)
			return 0;
	return -errno;
#endif
}

int rst_forget_rseq(void *thread_pointer)
{
	return rseq_call(thread_pointer, RSEQ_FLAG_UNREGISTER);
}

int rst_rejoin_rseq(void *thread_pointer)
{
	return rseq_call(thread_pointer, 0);
}

int rst_check_hwcap(unsigned long need, const char *what, char *msg, size_t cap)
{
	if ((getauxval(AT_HWCAP) & need) == need)
		return 0;
	snprintf(msg, cap,
		 "this guest CPU lacks %s, which the snapshot's state needs (restore with "
		 "--cpu naming a QEMU CPU model that has them)",
		 what);
	return -1;
}

void rst_mkdir_parents(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
}

void *rst_take(struct rst_region *rg, size_t bytes)
{
	size_t at = (rg->at + 63) & ~(size_t)63;
	if (at > rg->len || bytes > rg->len - at)
		rst_die("restorer region too small (%zu bytes more at %zu of %zu)", bytes, at,
			rg->len);
	rg->at = at + bytes;
	return rg->base + at;
}

void rst_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* An arch that does not say where its frame's instruction pointer is
 * (restore.h) */
__attribute__((weak)) size_t rst_arch_sigframe_ip_offset(void)
{
	return 0;
}
