/* SPDX-License-Identifier: MIT */
/*
 * blob-arch.h - the riscv64 half of the restorer blob
 * (guest/restorer/restorer-blob.c, which includes it once): ecall, the end
 * of user space, moving the vDSO, the entry and the final rt_sigreturn.
 */
static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long a7 __asm__("a7") = nr;
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a3 __asm__("a3") = d;
	register long a4 __asm__("a4") = e;
	register long a5 __asm__("a5") = f;
	__asm__ volatile("ecall"
			 : "+r"(a0)
			 : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
			 : "memory");
	return a0;
}

/* Where user space ends depends on the paging mode the kernel chose:
 * TASK_SIZE is 2^38 with Sv39, 2^47 with Sv48, 2^56 with Sv57 - but there,
 * too, nothing is mapped above 2^47. */
#include "guest/restorer/blob-user-end.h"
#define USER_END probe_user_end(1ul << 38, 1ul << 47)

/* riscv has no ARCH_MAP_VDSO either: the vDSO is moved (vdso_mremap in
 * arch/riscv/kernel/vdso.c updates mm->context.vdso, whose rt_sigreturn
 * the kernel makes every handler return through). */
#include "guest/restorer/blob-vdso-move.h"

/* tp (x4) is a general register: rt_sigreturn loads it with the rest. */
static void arch_set_tls(const uint64_t tls[2])
{
	(void)tls;
}

/* sys_rt_sigreturn (arch/riscv/kernel/signal.c) takes struct rt_sigframe
 * at sp: the user registers, the F/D state, the signal mask and the
 * altstack. */
__attribute__((noreturn)) static void arch_sigreturn(uint64_t sp)
{
	register long a7 __asm__("a7") = __NR_rt_sigreturn;
	__asm__ volatile("mv sp, %0\n\t"
			 "ecall\n\t"
			 "ebreak"
			 :
			 : "r"(sp), "r"(a7)
			 : "memory");
	__builtin_unreachable();
}

/* First byte of the blob: the restorer jumps here with a0 = args, a1 =
 * NULL and the stack inside the region; each other thread with a1 = its
 * record and its own stack. */
__asm__(".pushsection .text.entry, \"ax\"\n"
	".globl rst_entry\n"
	".type rst_entry, @function\n"
	"rst_entry:\n"
	"\tandi sp, sp, -16\n"
	"\tbeqz a1, 1f\n"
	"\tmv a0, a1\n"
	"\tcall rst_thread_main\n"
	"\tebreak\n"
	"1:\n"
	"\tcall rst_restore\n"
	"\tebreak\n"
	".popsection\n");
