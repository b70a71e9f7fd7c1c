/* SPDX-License-Identifier: MIT */
/*
 * blob-arch.h - the x86_64 half of the restorer blob
 * (guest/restorer/restorer-blob.c, which includes it once): the syscall
 * instruction, the vDSO, the TLS bases, the entry and the final
 * rt_sigreturn.
 */
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_MAP_VDSO_64 0x2003
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

/* The restorer's own vDSO goes with everything else: ARCH_MAP_VDSO maps a
 * fresh one (and its vvar below it) wherever asked, and points
 * mm->context.vdso at it for signal return. */
static int arch_vdso_kept(void)
{
	return 0;
}

static void arch_place_vdso(const struct rst_args *a)
{
	check(sys6(__NR_arch_prctl, ARCH_MAP_VDSO_64, (long)a->vdso_vvar_start, 0, 0, 0, 0),
	      "mapping the vDSO", a->vdso_vvar_start);
}

/* tls[0] = fs_base, tls[1] = gs_base (restore-x86_64.c), the calling
 * thread's */
static void arch_set_tls(const uint64_t tls[2])
{
	check(sys6(__NR_arch_prctl, ARCH_SET_FS, (long)tls[0], 0, 0, 0, 0),
	      "arch_prctl(ARCH_SET_FS)", tls[0]);
	check(sys6(__NR_arch_prctl, ARCH_SET_GS, (long)tls[1], 0, 0, 0, 0),
	      "arch_prctl(ARCH_SET_GS)", tls[1]);
}

/* rt_sigreturn takes the frame at sp - 8: registers, flags, the FPU image
 * (with its XSAVE magic), the signal mask and the altstack. */
__attribute__((noreturn)) static void arch_sigreturn(uint64_t sp)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "movl %1, %%eax\n\t"
			 "syscall\n\t"
			 "hlt"
			 :
			 : "r"(sp), "i"(__NR_rt_sigreturn)
			 : "memory");
	__builtin_unreachable();
}

/* First byte of the blob: the restorer jumps here with rdi = args, rsi =
 * NULL and the stack inside the region; each other thread with rsi = its
 * record and its own stack. */
__attribute__((section(".text.entry"), naked, noreturn)) void rst_entry(void)
{
	__asm__ volatile("andq $-16, %rsp\n\t"
			 "testq %rsi, %rsi\n\t"
			 "jz 1f\n\t"
			 "movq %rsi, %rdi\n\t"
			 "call rst_thread_main\n\t"
			 "hlt\n"
			 "1:\n\t"
			 "call rst_restore\n\t"
			 "hlt");
}
