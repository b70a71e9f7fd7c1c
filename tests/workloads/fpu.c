/* SPDX-License-Identifier: MIT */
/*
 * fpu [steps] [interval_ms]: a floating-point accumulator whose live value
 * sits only in SIMD registers while the program sleeps: each step loads it
 * into vector registers, makes the nanosleep syscall from inside the same
 * asm block (the kernel keeps user vector state across a syscall), then
 * updates and stores it. A checkpoint taken during the sleep must carry the
 * FPU/SIMD state - AVX (ymm) and SSE (xmm) on x86_64, NEON (v) on aarch64,
 * the D extension's f registers on riscv64 - or the output changes. All do the same IEEE double operations in
 * the same order, so their outputs are identical.
 *
 * Across the same sleep each arch also keeps what zdtm's fpu00, sse00 and
 * mmx00 leave there besides vector data: a rounding mode and a sticky
 * exception flag not the defaults (x86_64 MXCSR and the x87 control word,
 * aarch64 FPCR and FPSR, riscv64 fcsr, ppc64le FPSCR) and, on x86_64, two
 * values on the x87 stack. They are read back right after the syscall,
 * before the defaults are put back for the arithmetic, and any difference
 * stops the program with what it found.
 */
#include <string.h>
#include <sys/syscall.h>

#include "workload.h"

static const double inc[4] = { 0.5, 0.25, 0.125, 1.0 / 3.0 };
static const double scale[4] = { 1.0009765625, 0.9990234375, 1.5, 0.75 };

#if defined(__x86_64__)
/* What the x86_64 step finds after the syscall: MXCSR, the x87 control and
 * status words, and ST(0), ST(1) as 80-bit values (fstpt). */
struct fp_modes {
	uint32_t mxcsr;
	uint16_t fcw, fsw;
	uint8_t st[2][10];
};

/* MXCSR: round toward zero (RC 11), every exception masked, the precision
 * flag (PE) set; FCW: round down (RC 01), 53-bit precision (PC 10), all
 * masked. The defaults are 0x1f80 and 0x037f. */
static const uint32_t mxcsr_set = 0x7fa0, mxcsr_default = 0x1f80;
static const uint16_t fcw_set = 0x067f, fcw_default = 0x037f;

/* acc = (acc + inc) * scale, lanes 0-3 in ymm8 (AVX); lane 0 again in xmm10
 * through scalar SSE, as a cross-check of the legacy state. pi and 1 sit on
 * the x87 stack and MXCSR/FCW hold mxcsr_set/fcw_set during the sleep. */
__attribute__((target("avx2"))) static void step(double acc[4], double *sse,
						 const struct timespec *ts, struct fp_modes *m)
{
	__asm__ volatile(
		"fld1\n\t"
		"fldpi\n\t"
		"fldcw %[fcw_set]\n\t"
		"ldmxcsr %[mx_set]\n\t"
		"vmovupd (%[acc]), %%ymm8\n\t"
		"vmovupd (%[inc]), %%ymm9\n\t"
		"vmovupd (%[scale]), %%ymm11\n\t"
		"movsd (%[sse]), %%xmm10\n\t"
		"movq %[ts], %%rdi\n\t"
		"xorl %%esi, %%esi\n\t"
		"movl %[nr], %%eax\n\t"
		"syscall\n\t"
		"stmxcsr 0(%[m])\n\t"
		"fnstcw 4(%[m])\n\t"
		"fnstsw 6(%[m])\n\t"
		"fstpt 8(%[m])\n\t"
		"fstpt 18(%[m])\n\t"
		"fldcw %[fcw_def]\n\t"
		"ldmxcsr %[mx_def]\n\t"
		"vaddpd %%ymm9, %%ymm8, %%ymm8\n\t"
		"vmulpd %%ymm11, %%ymm8, %%ymm8\n\t"
		"vmovupd %%ymm8, (%[acc])\n\t"
		"addsd (%[inc]), %%xmm10\n\t"
		"mulsd (%[scale]), %%xmm10\n\t"
		"movsd %%xmm10, (%[sse])\n\t"
		"vzeroupper\n\t"
		:
		: [acc] "r"(acc), [inc] "r"(inc), [scale] "r"(scale), [sse] "r"(sse), [ts] "r"(ts),
		  [nr] "i"(SYS_nanosleep), [m] "r"(m), [fcw_set] "m"(fcw_set),
		  [mx_set] "m"(mxcsr_set), [fcw_def] "m"(fcw_default), [mx_def] "m"(mxcsr_default)
		: "rax", "rdi", "rsi", "rcx", "r11", "xmm8", "xmm9", "xmm10", "xmm11", "st",
		  "st(1)", "memory");
}

/* PKRU, where the kernel enabled protection keys (CPUID.7.ECX.OSPKE: --cpu
 * max, not the default model): 0 without them. */
static int pkru_now(uint32_t *ret)
{
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	if (a < 7)
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	if (!(c & (1u << 4)))
		return 0;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0)); /* rdpkru */
	*ret = a;
	return 1;
}

/* This program never changes PKRU, so wherever there is one it holds the
 * rights the kernel gives every process (init_pkru_value: keys 1-15
 * access-disabled), after a restore too, whatever CPU the snapshot came
 * from. */
#define PKRU_DEFAULT 0x55555554u

/* NULL, or what differs from what the step set before its syscall. */
static const char *modes_lost(const struct fp_modes *m, char *msg, size_t cap)
{
	uint32_t pkru;
	if (pkru_now(&pkru) && pkru != PKRU_DEFAULT) {
		snprintf(msg, cap, "PKRU 0x%x, not the kernel's default 0x%x", pkru, PKRU_DEFAULT);
		return msg;
	}
	uint8_t pi[10], one[10];
	__asm__ volatile("fldpi\n\tfstpt %0\n\tfld1\n\tfstpt %1" : "=m"(pi), "=m"(one));
	unsigned top = (m->fsw >> 11) & 7;
	if (m->mxcsr == mxcsr_set && m->fcw == fcw_set && top == 6 && !memcmp(m->st[0], pi, 10) &&
	    !memcmp(m->st[1], one, 10))
		return NULL;
	snprintf(msg, cap,
		 "MXCSR 0x%x (set 0x%x), FCW 0x%x (set 0x%x), x87 TOP %u (want 6), ST(0) %s pi, "
		 "ST(1) %s 1",
		 m->mxcsr, mxcsr_set, m->fcw, fcw_set, top,
		 memcmp(m->st[0], pi, 10) ? "is not" : "is",
		 memcmp(m->st[1], one, 10) ? "is not" : "is");
	return msg;
}

static int check_cpu(void)
{
	if (!__builtin_cpu_supports("avx2")) {
		fprintf(stderr, "fpu: this CPU has no AVX2 (use a CPU model that has it)\n");
		return 3;
	}
	return 0;
}
#elif defined(__aarch64__)
/* What the aarch64 step finds after the syscall. */
struct fp_modes {
	uint64_t fpcr, fpsr;
};

/* FPCR: round toward zero (RMode 11); FPSR: the inexact flag (IXC) and
 * saturation (QC). The defaults are 0 and 0. */
static const uint64_t fpcr_set = 0xc00000, fpsr_set = 0x8000010;

/* The same arithmetic in NEON: lanes 0-1 in v16, 2-3 in v17; lane 0 again
 * as a scalar in d18. FPCR and FPSR hold fpcr_set/fpsr_set during the
 * sleep. */
static void step(double acc[4], double *sse, const struct timespec *ts, struct fp_modes *m)
{
	register long x0 __asm__("x0") = (long)ts;
	register long x1 __asm__("x1") = 0;
	register long x8 __asm__("x8") = SYS_nanosleep;
	__asm__ volatile("ld1 {v16.2d, v17.2d}, [%[acc]]\n\t"
			 "ld1 {v19.2d, v20.2d}, [%[inc]]\n\t"
			 "ld1 {v21.2d, v22.2d}, [%[scale]]\n\t"
			 "ldr d18, [%[sse]]\n\t"
			 "msr fpcr, %[fpcr_set]\n\t"
			 "msr fpsr, %[fpsr_set]\n\t"
			 "svc #0\n\t"
			 "mrs x9, fpcr\n\t"
			 "str x9, [%[m]]\n\t"
			 "mrs x9, fpsr\n\t"
			 "str x9, [%[m], #8]\n\t"
			 "msr fpcr, xzr\n\t"
			 "msr fpsr, xzr\n\t"
			 "fadd v16.2d, v16.2d, v19.2d\n\t"
			 "fadd v17.2d, v17.2d, v20.2d\n\t"
			 "fmul v16.2d, v16.2d, v21.2d\n\t"
			 "fmul v17.2d, v17.2d, v22.2d\n\t"
			 "st1 {v16.2d, v17.2d}, [%[acc]]\n\t"
			 "fadd d18, d18, d19\n\t"
			 "fmul d18, d18, d21\n\t"
			 "str d18, [%[sse]]\n\t"
			 : "+r"(x0), "+r"(x1)
			 : [acc] "r"(acc), [inc] "r"(inc), [scale] "r"(scale), [sse] "r"(sse),
			   "r"(x8), [m] "r"(m), [fpcr_set] "r"(fpcr_set), [fpsr_set] "r"(fpsr_set)
			 : "x9", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "memory");
}

static const char *modes_lost(const struct fp_modes *m, char *msg, size_t cap)
{
	if (m->fpcr == fpcr_set && m->fpsr == fpsr_set)
		return NULL;
	snprintf(msg, cap, "FPCR 0x%llx (set 0x%llx), FPSR 0x%llx (set 0x%llx)",
		 (unsigned long long)m->fpcr, (unsigned long long)fpcr_set,
		 (unsigned long long)m->fpsr, (unsigned long long)fpsr_set);
	return msg;
}
#elif defined(__riscv) || defined(__powerpc64__)
/* What the riscv64 (fcsr) or ppc64le (FPSCR) step finds after the syscall. */
struct fp_modes {
	uint64_t control;
};

/* riscv64 fcsr: round toward zero (frm 001) and the inexact flag (NX);
 * ppc64le FPSCR: round toward zero (RN 01), the inexact exception (XX) and
 * its summary (FX). Both default to 0. */
#if defined(__riscv)
static const uint64_t control_set = 0x21;
#else
static const uint64_t control_set = 0x82000001;
#endif

static const char *modes_lost(const struct fp_modes *m, char *msg, size_t cap)
{
	if (m->control == control_set)
		return NULL;
	snprintf(msg, cap, "%s 0x%llx (set 0x%llx)",
#if defined(__riscv)
		 "fcsr",
#else
		 "FPSCR",
#endif
		 (unsigned long long)m->control, (unsigned long long)control_set);
	return msg;
}
#else
#error "fpu workload: no SIMD code for this arch"
#endif

#if defined(__riscv)
/* The same arithmetic in the D extension, lane by lane: acc in fs0-fs3,
 * lane 0 again in fs4 (callee-saved registers across the ecall). */
static void step(double acc[4], double *sse, const struct timespec *ts, struct fp_modes *m)
{
	register long a0 __asm__("a0") = (long)ts;
	register long a1 __asm__("a1") = 0;
	register long a7 __asm__("a7") = SYS_nanosleep;
	__asm__ volatile("fld fs0, 0(%[acc])\n\tfld fs1, 8(%[acc])\n\t"
			 "fld fs2, 16(%[acc])\n\tfld fs3, 24(%[acc])\n\t"
			 "fld fs4, 0(%[sse])\n\t"
			 "fld fs5, 0(%[inc])\n\tfld fs6, 8(%[inc])\n\t"
			 "fld fs7, 16(%[inc])\n\tfld fs8, 24(%[inc])\n\t"
			 "fld fs9, 0(%[scale])\n\tfld fs10, 8(%[scale])\n\t"
			 "fld fs11, 16(%[scale])\n\tfld ft0, 24(%[scale])\n\t"
			 "fscsr %[set]\n\t"
			 "ecall\n\t"
			 "frcsr t0\n\t"
			 "sd t0, 0(%[m])\n\t"
			 "fscsr zero\n\t"
			 "fadd.d fs0, fs0, fs5\n\tfadd.d fs1, fs1, fs6\n\t"
			 "fadd.d fs2, fs2, fs7\n\tfadd.d fs3, fs3, fs8\n\t"
			 "fmul.d fs0, fs0, fs9\n\tfmul.d fs1, fs1, fs10\n\t"
			 "fmul.d fs2, fs2, fs11\n\tfmul.d fs3, fs3, ft0\n\t"
			 "fadd.d fs4, fs4, fs5\n\tfmul.d fs4, fs4, fs9\n\t"
			 "fsd fs0, 0(%[acc])\n\tfsd fs1, 8(%[acc])\n\t"
			 "fsd fs2, 16(%[acc])\n\tfsd fs3, 24(%[acc])\n\t"
			 "fsd fs4, 0(%[sse])\n\t"
			 : "+r"(a0), "+r"(a1)
			 : [acc] "r"(acc), [inc] "r"(inc), [scale] "r"(scale), [sse] "r"(sse),
			   "r"(a7), [m] "r"(m), [set] "r"(control_set)
			 : "t0", "fs0", "fs1", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8",
			   "fs9", "fs10", "fs11", "ft0", "memory");
}
#elif defined(__powerpc64__)
/* The same arithmetic in the FPRs, lane by lane: acc in f14-f17, lane 0
 * again in f18 (non-volatile registers across the sc). */
static void step(double acc[4], double *sse, const struct timespec *ts, struct fp_modes *m)
{
	static const uint64_t zero = 0;
	register long r0 __asm__("r0") = SYS_nanosleep;
	register long r3 __asm__("r3") = (long)ts;
	register long r4 __asm__("r4") = 0;
	__asm__ volatile("lfd 14, 0(%[acc])\n\tlfd 15, 8(%[acc])\n\t"
			 "lfd 16, 16(%[acc])\n\tlfd 17, 24(%[acc])\n\t"
			 "lfd 18, 0(%[sse])\n\t"
			 "lfd 19, 0(%[inc])\n\tlfd 20, 8(%[inc])\n\t"
			 "lfd 21, 16(%[inc])\n\tlfd 22, 24(%[inc])\n\t"
			 "lfd 23, 0(%[scale])\n\tlfd 24, 8(%[scale])\n\t"
			 "lfd 25, 16(%[scale])\n\tlfd 26, 24(%[scale])\n\t"
			 "lfd 27, 0(%[set])\n\tmtfsf 0xff, 27\n\t"
			 "sc\n\t"
			 "mffs 27\n\tstfd 27, 0(%[m])\n\t"
			 "lfd 27, 0(%[zero])\n\tmtfsf 0xff, 27\n\t"
			 "fadd 14, 14, 19\n\tfadd 15, 15, 20\n\t"
			 "fadd 16, 16, 21\n\tfadd 17, 17, 22\n\t"
			 "fmul 14, 14, 23\n\tfmul 15, 15, 24\n\t"
			 "fmul 16, 16, 25\n\tfmul 17, 17, 26\n\t"
			 "fadd 18, 18, 19\n\tfmul 18, 18, 23\n\t"
			 "stfd 14, 0(%[acc])\n\tstfd 15, 8(%[acc])\n\t"
			 "stfd 16, 16(%[acc])\n\tstfd 17, 24(%[acc])\n\t"
			 "stfd 18, 0(%[sse])\n\t"
			 : "+r"(r0), "+r"(r3), "+r"(r4)
			 : [acc] "b"(acc), [inc] "b"(inc), [scale] "b"(scale), [sse] "b"(sse),
			   [m] "b"(m), [set] "b"(&control_set), [zero] "b"(&zero)
			 : "fr14", "fr15", "fr16", "fr17", "fr18", "fr19", "fr20", "fr21", "fr22",
			   "fr23", "fr24", "fr25", "fr26", "fr27", "r5", "r6", "r7", "r8", "r9",
			   "r10", "r11", "r12", "cr0", "ctr", "xer", "memory");
}
#endif

#if !defined(__x86_64__)
/* every CPU model snapvm offers for the other arches has the FPU used */
static int check_cpu(void)
{
	return 0;
}
#endif

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	int rc = check_cpu();
	if (rc)
		return rc;
	double acc[4] = { 1.0, 2.0, 3.0, 4.0 };
	double scalar = 1.0;
	struct timespec ts = { a.interval_ms / 1000, (a.interval_ms % 1000) * 1000000L };
	for (long i = 0; i < a.steps; i++) {
		struct fp_modes m;
		char msg[200];
		step(acc, &scalar, &ts, &m);
		if (modes_lost(&m, msg, sizeof(msg))) {
			printf("fpu FAILED at step %ld: %s\n", i, msg);
			return 1;
		}
		if (scalar != acc[0]) {
			printf("fpu FAILED at step %ld: scalar %a, vector lane 0 %a\n", i, scalar,
			       acc[0]);
			return 1;
		}
		printf("fpu step %ld %a %a %a %a\n", i, acc[0], acc[1], acc[2], acc[3]);
	}
	printf("fpu done %ld\n", a.steps);
	return 0;
}
