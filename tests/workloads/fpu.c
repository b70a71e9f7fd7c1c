/* SPDX-License-Identifier: MIT */
/*
 * fpu [steps] [interval_ms]: a floating-point accumulator whose live value
 * sits only in SIMD registers while the program sleeps: each step loads it
 * into vector registers, makes the nanosleep syscall from inside the same
 * asm block (the kernel keeps user vector state across a syscall), then
 * updates and stores it. A checkpoint taken during the sleep must carry the
 * FPU/SIMD state - AVX (ymm) and SSE (xmm) on x86_64, NEON (v) on aarch64 -
 * or the output changes. Both arches do the same IEEE double operations in
 * the same order, so their outputs are identical.
 */
#include <string.h>
#include <sys/syscall.h>

#include "workload.h"

static const double inc[4] = { 0.5, 0.25, 0.125, 1.0 / 3.0 };
static const double scale[4] = { 1.0009765625, 0.9990234375, 1.5, 0.75 };

#if defined(__x86_64__)
/* acc = (acc + inc) * scale, lanes 0-3 in ymm8 (AVX); lane 0 again in xmm10
 * through scalar SSE, as a cross-check of the legacy state. */
__attribute__((target("avx2"))) static void step(double acc[4], double *sse,
						 const struct timespec *ts)
{
	__asm__ volatile("vmovupd (%[acc]), %%ymm8\n\t"
			 "vmovupd (%[inc]), %%ymm9\n\t"
			 "vmovupd (%[scale]), %%ymm11\n\t"
			 "movsd (%[sse]), %%xmm10\n\t"
			 "movq %[ts], %%rdi\n\t"
			 "xorl %%esi, %%esi\n\t"
			 "movl %[nr], %%eax\n\t"
			 "syscall\n\t"
			 "vaddpd %%ymm9, %%ymm8, %%ymm8\n\t"
			 "vmulpd %%ymm11, %%ymm8, %%ymm8\n\t"
			 "vmovupd %%ymm8, (%[acc])\n\t"
			 "addsd (%[inc]), %%xmm10\n\t"
			 "mulsd (%[scale]), %%xmm10\n\t"
			 "movsd %%xmm10, (%[sse])\n\t"
			 "vzeroupper\n\t"
			 :
			 : [acc] "r"(acc), [inc] "r"(inc), [scale] "r"(scale), [sse] "r"(sse),
			   [ts] "r"(ts), [nr] "i"(SYS_nanosleep)
			 : "rax", "rdi", "rsi", "rcx", "r11", "xmm8", "xmm9", "xmm10", "xmm11",
			   "memory");
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
/* The same arithmetic in NEON: lanes 0-1 in v16, 2-3 in v17; lane 0 again
 * as a scalar in d18. */
static void step(double acc[4], double *sse, const struct timespec *ts)
{
	register long x0 __asm__("x0") = (long)ts;
	register long x1 __asm__("x1") = 0;
	register long x8 __asm__("x8") = SYS_nanosleep;
	__asm__ volatile("ld1 {v16.2d, v17.2d}, [%[acc]]\n\t"
			 "ld1 {v19.2d, v20.2d}, [%[inc]]\n\t"
			 "ld1 {v21.2d, v22.2d}, [%[scale]]\n\t"
			 "ldr d18, [%[sse]]\n\t"
			 "svc #0\n\t"
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
			   "r"(x8)
			 : "v16", "v17", "v18", "v19", "v20", "v21", "v22", "memory");
}

static int check_cpu(void)
{
	return 0;
}
#else
#error "fpu workload: no SIMD code for this arch"
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
		step(acc, &scalar, &ts);
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
