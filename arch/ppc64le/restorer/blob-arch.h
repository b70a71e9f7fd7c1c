/* SPDX-License-Identifier: MIT */
/*
 * blob-arch.h - the ppc64le half of the restorer blob
 * (guest/restorer/restorer-blob.c, which includes it once): sc, the end of
 * user space, moving the vDSO, the entry (which finds its own TOC) and the
 * final rt_sigreturn.
 */

/* uapi asm/mman.h: powerpc's differs from the generic 0x4000 */
#define MAP_NORESERVE 0x40

/* sc: number in r0, arguments in r3-r8, the result in r3 - an error as a
 * positive errno with CR0.SO set, turned here into the -errno the blob
 * checks for. r9-r12, CR0, CTR and XER are the kernel's to clobber. */
static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r0 __asm__("r0") = nr;
	register long r3 __asm__("r3") = a;
	register long r4 __asm__("r4") = b;
	register long r5 __asm__("r5") = c;
	register long r6 __asm__("r6") = d;
	register long r7 __asm__("r7") = e;
	register long r8 __asm__("r8") = f;
	__asm__ volatile("sc\n\t"
			 "bns+ 1f\n\t"
			 "neg %1, %1\n"
			 "1:"
			 : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8)
			 :
			 : "r9", "r10", "r11", "r12", "cr0", "ctr", "xer", "memory");
	return r3;
}

/* TASK_SIZE on Book3S-64 (asm/task_size_64.h): 64 TiB with 4 KiB pages (the
 * Debian kernel), 4 PiB with 64 KiB pages, whose mmap window still ends at
 * 128 TiB. */
#include "guest/restorer/blob-user-end.h"
#define USER_END probe_user_end(1ul << 46, 1ul << 47)

/* powerpc has no ARCH_MAP_VDSO either: the vDSO is moved (vdso_mremap in
 * arch/powerpc/kernel/vdso.c updates mm->context.vdso, where signal
 * handlers return through). */
#include "guest/restorer/blob-vdso-move.h"

/* r13 is the thread pointer, a general register: rt_sigreturn loads it. */
static void arch_set_tls(const uint64_t tls[2])
{
	(void)tls;
}

/* sys_rt_sigreturn (arch/powerpc/kernel/signal_64.c) takes struct
 * rt_sigframe at r1 (restore-ppc64le.c). */
__attribute__((noreturn)) static void arch_sigreturn(uint64_t sp)
{
	register long r0 __asm__("r0") = __NR_rt_sigreturn;
	__asm__ volatile("mr 1, %0\n\t"
			 "sc\n\t"
			 "trap"
			 :
			 : "r"(sp), "r"(r0)
			 : "memory");
	__builtin_unreachable();
}

/* First byte of the blob: the restorer jumps here with r3 = args, r4 =
 * NULL and the stack inside the region; each other thread with r4 = its
 * record and its own stack. The blob runs wherever it was copied, so the
 * TOC pointer (r2) is found relative to this code (bcl 20,31 is the form
 * that leaves the return-address predictor alone), and calls go to the
 * functions' local entries, which take r2 as it is. */
__asm__(".pushsection .text.entry, \"ax\"\n"
	".globl rst_entry\n"
	".type rst_entry, @function\n"
	"rst_entry:\n"
	"\tbcl 20, 31, 0f\n"
	"0:\n"
	"\tmflr 12\n"
	"\taddis 2, 12, (.TOC. - 0b)@ha\n"
	"\taddi 2, 2, (.TOC. - 0b)@l\n"
	"\tclrrdi 1, 1, 4\n"
	"\tli 0, 0\n"
	"\tstdu 0, -32(1)\n"
	"\tcmpdi 4, 0\n"
	"\tbeq 1f\n"
	"\tmr 3, 4\n"
	"\tbl rst_thread_main\n"
	"\tnop\n"
	"\ttrap\n"
	"1:\n"
	"\tbl rst_restore\n"
	"\tnop\n"
	"\ttrap\n"
	".popsection\n");
