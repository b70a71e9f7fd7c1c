/* SPDX-License-Identifier: MIT */
/*
 * spin [steps] [interval_ms]: loads every general-purpose and vector
 * register it may with a known value, then spins in a one-instruction loop
 * that changes none of them, for steps * interval_ms ms (a timer signal
 * ends it). Caught on its vCPU in user mode at any moment, it holds the
 * same registers it will hold when ptrace stops it later: the test for
 * registers read live from a vCPU (test-checkpoint's oracle). x86_64 also
 * leaves two values on the x87 stack (TOP 6, two tags set) and a
 * non-default MXCSR; aarch64 a non-default FPCR and FPSR; riscv64 a
 * non-default fcsr.
 */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "workload.h"

/* vector register i, 64-bit lane q: distinct and never zero */
#define LANE(i, q) (0xa5a5000000000000ull | (uint64_t)(i) << 16 | (uint64_t)(q) << 8 | 0x5a)
/* clang-format off */
#define VEC(i) { LANE(i, 0), LANE(i, 1), LANE(i, 2), LANE(i, 3) }
static const uint64_t vectors[32][4] __attribute__((aligned(32))) = {
	VEC(0),  VEC(1),  VEC(2),  VEC(3),  VEC(4),  VEC(5),  VEC(6),  VEC(7),
	VEC(8),  VEC(9),  VEC(10), VEC(11), VEC(12), VEC(13), VEC(14), VEC(15),
	VEC(16), VEC(17), VEC(18), VEC(19), VEC(20), VEC(21), VEC(22), VEC(23),
	VEC(24), VEC(25), VEC(26), VEC(27), VEC(28), VEC(29), VEC(30), VEC(31),
};
/* clang-format on */

static void done(int sig)
{
	static const char msg[] = "spin done\n";
	(void)sig;
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(0);
}

#if defined(__x86_64__)
/* rsp stays as it is; every other GPR gets 0x5eed0000000000NN */
#define SET(reg, n) "movabs $0x5eed0000000000" #n ", %%" #reg "\n\t"
__attribute__((target("avx2"), noreturn)) static void spin(void)
{
	static const uint32_t mxcsr = 0x3f80; /* all masked, round toward -inf */
	/* clang-format off: the SET() runs are laid out as register tables */
	__asm__ volatile("vmovdqu 0(%0), %%ymm0\n\t"
			 "vmovdqu 32(%0), %%ymm1\n\t"
			 "vmovdqu 64(%0), %%ymm2\n\t"
			 "vmovdqu 96(%0), %%ymm3\n\t"
			 "vmovdqu 128(%0), %%ymm4\n\t"
			 "vmovdqu 160(%0), %%ymm5\n\t"
			 "vmovdqu 192(%0), %%ymm6\n\t"
			 "vmovdqu 224(%0), %%ymm7\n\t"
			 "vmovdqu 256(%0), %%ymm8\n\t"
			 "vmovdqu 288(%0), %%ymm9\n\t"
			 "vmovdqu 320(%0), %%ymm10\n\t"
			 "vmovdqu 352(%0), %%ymm11\n\t"
			 "vmovdqu 384(%0), %%ymm12\n\t"
			 "vmovdqu 416(%0), %%ymm13\n\t"
			 "vmovdqu 448(%0), %%ymm14\n\t"
			 "vmovdqu 480(%0), %%ymm15\n\t"
			 "ldmxcsr %1\n\t"
			 "fld1\n\t"
			 "fldpi\n\t" SET(rax, 01) SET(rbx, 02) SET(rcx, 03) SET(rdx, 04)
				 SET(rsi, 05) SET(rdi, 06) SET(rbp, 07) SET(r8, 08) SET(r9, 09)
					 SET(r10, 10) SET(r11, 11) SET(r12, 12) SET(r13, 13)
						 SET(r14, 14) SET(r15, 15) "1: jmp 1b\n\t"
			 :
			 : "r"(vectors), "m"(mxcsr)
			 : "memory");
	/* clang-format on */
	__builtin_unreachable();
}
#elif defined(__aarch64__)
/* sp stays as it is; every other GPR gets 0x5eed0000000000NN */
#define SET(n) "movz x" #n ", #0x5eed, lsl #48\n\tmovk x" #n ", #" #n "\n\t"
__attribute__((noreturn)) static void spin(void)
{
	register const void *v __asm__("x0") = vectors;
	/* FPCR: round toward +inf (RMode 01); FPSR: inexact (IXC) set */
	register uint64_t fpcr __asm__("x1") = 1u << 22, fpsr __asm__("x2") = 1u << 4;
	/* clang-format off: the SET() runs are laid out as register tables */
	__asm__ volatile("msr fpcr, x1\n\t"
			 "msr fpsr, x2\n\t"
			 /* v0-v31 take lanes 0-1 of vectors[0..31] */
			 "ldr q0, [x0], #32\n\tldr q1, [x0], #32\n\t"
			 "ldr q2, [x0], #32\n\tldr q3, [x0], #32\n\t"
			 "ldr q4, [x0], #32\n\tldr q5, [x0], #32\n\t"
			 "ldr q6, [x0], #32\n\tldr q7, [x0], #32\n\t"
			 "ldr q8, [x0], #32\n\tldr q9, [x0], #32\n\t"
			 "ldr q10, [x0], #32\n\tldr q11, [x0], #32\n\t"
			 "ldr q12, [x0], #32\n\tldr q13, [x0], #32\n\t"
			 "ldr q14, [x0], #32\n\tldr q15, [x0], #32\n\t"
			 "ldr q16, [x0], #32\n\tldr q17, [x0], #32\n\t"
			 "ldr q18, [x0], #32\n\tldr q19, [x0], #32\n\t"
			 "ldr q20, [x0], #32\n\tldr q21, [x0], #32\n\t"
			 "ldr q22, [x0], #32\n\tldr q23, [x0], #32\n\t"
			 "ldr q24, [x0], #32\n\tldr q25, [x0], #32\n\t"
			 "ldr q26, [x0], #32\n\tldr q27, [x0], #32\n\t"
			 "ldr q28, [x0], #32\n\tldr q29, [x0], #32\n\t"
			 "ldr q30, [x0], #32\n\tldr q31, [x0], #32\n\t" SET(0) SET(1) SET(2) SET(3)
				 SET(4) SET(5) SET(6) SET(7) SET(8) SET(9) SET(10) SET(11) SET(12)
					 SET(13) SET(14) SET(15) SET(16) SET(17) SET(18) SET(19)
						 SET(20) SET(21) SET(22) SET(23) SET(24) SET(25)
							 SET(26) SET(27) SET(28) SET(29)
								 SET(30) "1: b 1b\n\t"
			 : "+r"(v)
			 : "r"(fpcr), "r"(fpsr)
			 : "memory");
	/* clang-format on */
	__builtin_unreachable();
}
#elif defined(__riscv)
/* sp, gp and tp stay as they are (the timer's handler needs them); every
 * other GPR gets 0x5eed0000000000NN */
#define SET(n) "li x" #n ", (0x5eed << 48) | " #n "\n\t"
#define FLD(n) "fld f" #n ", " #n "*32(t0)\n\t"
__attribute__((noreturn)) static void spin(void)
{
	/* clang-format off: the SET() runs are laid out as register tables */
	__asm__ volatile("mv t0, %0\n\t"
			 /* f0-f31 take lane 0 of vectors[0..31] */
			 FLD(0) FLD(1) FLD(2) FLD(3) FLD(4) FLD(5) FLD(6) FLD(7) FLD(8) FLD(9)
				 FLD(10) FLD(11) FLD(12) FLD(13) FLD(14) FLD(15) FLD(16) FLD(17)
					 FLD(18) FLD(19) FLD(20) FLD(21) FLD(22) FLD(23) FLD(24)
						 FLD(25) FLD(26) FLD(27) FLD(28) FLD(29) FLD(30)
							 FLD(31)
			 /* fcsr: round toward +inf (frm 3), inexact (NX) set */
			 "li t1, 0x61\n\tfscsr t1\n\t" SET(1) SET(5) SET(6) SET(7) SET(8) SET(9)
				 SET(10) SET(11) SET(12) SET(13) SET(14) SET(15) SET(16) SET(17)
					 SET(18) SET(19) SET(20) SET(21) SET(22) SET(23) SET(24)
						 SET(25) SET(26) SET(27) SET(28) SET(29) SET(30)
							 SET(31) "1: j 1b\n\t"
			 :
			 : "r"(vectors)
			 : "memory");
	/* clang-format on */
	__builtin_unreachable();
}
#elif defined(__powerpc64__)
/* r1 (sp), r2 (TOC) and r13 (thread pointer) stay as they are; every other
 * GPR gets 0x5eed00NN */
#define SET(n) "li " #n ", " #n "\n\toris " #n ", " #n ", 0x5eed\n\t"
#define LFD(n) "lfd " #n ", " #n "*32(9)\n\t"
__attribute__((noreturn)) static void spin(void)
{
	/* clang-format off: the SET() runs are laid out as register tables */
	__asm__ volatile("mr 9, %0\n\t"
			 /* f0-f31 take lane 0 of vectors[0..31] */
			 LFD(0) LFD(1) LFD(2) LFD(3) LFD(4) LFD(5) LFD(6) LFD(7) LFD(8) LFD(9)
				 LFD(10) LFD(11) LFD(12) LFD(13) LFD(14) LFD(15) LFD(16) LFD(17)
					 LFD(18) LFD(19) LFD(20) LFD(21) LFD(22) LFD(23) LFD(24)
						 LFD(25) LFD(26) LFD(27) LFD(28) LFD(29) LFD(30)
							 LFD(31)
			 /* FPSCR: round toward +inf (RN 2) */
			 "mtfsfi 7, 2\n\t" SET(0) SET(3) SET(4) SET(5) SET(6) SET(7) SET(8) SET(9)
				 SET(10) SET(11) SET(12) SET(14) SET(15) SET(16) SET(17) SET(18)
					 SET(19) SET(20) SET(21) SET(22) SET(23) SET(24) SET(25)
						 SET(26) SET(27) SET(28) SET(29) SET(30)
							 SET(31) "1: b 1b\n\t"
			 :
			 : "b"(vectors)
			 : "memory");
	/* clang-format on */
	__builtin_unreachable();
}
#else
#error "spin workload: no register code for this arch"
#endif

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	long ms = a.steps * a.interval_ms;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = done;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
	if (ms <= 0)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("spin registers set\n");
	spin();
}
