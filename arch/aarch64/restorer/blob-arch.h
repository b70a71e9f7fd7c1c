/* SPDX-License-Identifier: MIT */
/*
 * blob-arch.h - the aarch64 half of the restorer blob
 * (guest/restorer/restorer-blob.c, which includes it once): svc, moving the
 * vDSO, TPIDR_EL0, the entry and the final rt_sigreturn.
 */
/* TASK_SIZE with 48-bit VAs (arch/arm64/include/asm/processor.h) */
#define USER_END (1ul << 48)

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}

/* arm64 has no ARCH_MAP_VDSO: the restorer's own [vvar] and [vdso] are
 * moved where the snapshot had them (vdso_mremap, arch/arm64/kernel/vdso.c,
 * follows the move and sets mm->context.vdso, which the default signal
 * return trampoline of setup_return uses). */
#include "guest/restorer/blob-vdso-move.h"

/* TPIDR_EL0 is writable at EL0, and the kernel keeps it across syscalls
 * (saved and reloaded only at a context switch, tls_thread_switch). */
static void arch_set_tls(const uint64_t tls[2])
{
	__asm__ volatile("msr tpidr_el0, %0" : : "r"(tls[0]) : "memory");
}

/* sys_rt_sigreturn (arch/arm64/kernel/signal.c) takes struct rt_sigframe
 * at sp, which must be 16-byte aligned: x0-x30, sp, pc, pstate, the
 * FPSIMD record, the signal mask and the altstack. */
__attribute__((noreturn)) static void arch_sigreturn(uint64_t sp)
{
	register long x8 __asm__("x8") = __NR_rt_sigreturn;
	__asm__ volatile("mov sp, %0\n\t"
			 "svc #0\n\t"
			 "brk #0"
			 :
			 : "r"(sp), "r"(x8)
			 : "memory");
	__builtin_unreachable();
}

/* First byte of the blob: the restorer jumps here with x0 = args, x1 =
 * NULL and the stack inside the region; each other thread with x1 = its
 * record and its own stack. (GCC has no naked functions on aarch64.) */
__asm__(".pushsection .text.entry, \"ax\"\n"
	".globl rst_entry\n"
	".type rst_entry, %function\n"
	"rst_entry:\n"
	"\tmov x9, sp\n"
	"\tand x9, x9, #-16\n"
	"\tmov sp, x9\n"
	"\tcbz x1, 1f\n"
	"\tmov x0, x1\n"
	"\tbl rst_thread_main\n"
	"\tbrk #0\n"
	"1:\n"
	"\tbl rst_restore\n"
	"\tbrk #0\n"
	".popsection\n");
