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

/*
 * arm64 has no ARCH_MAP_VDSO: the vDSO cannot be mapped anew, only moved.
 * So the restorer's own [vvar] and [vdso] survive the unmapping and are
 * moved with mremap where the snapshot had them; the kernel lets the vdso
 * special mapping move and follows it (vdso_mremap, arch/arm64/kernel/vdso.c,
 * sets mm->context.vdso, which the default signal return trampoline of
 * setup_return uses). The vDSO code finds its data page-relatively, so both
 * move by the same distance, one VMA at a time (mremap does not span VMAs).
 */
static int arch_vdso_kept(void)
{
	return 1;
}

static void move_vdso_pair(const struct rst_args *a, uint64_t from, uint64_t to)
{
	uint64_t len = a->vdso_now_end - a->vdso_now_start, vvar = a->vvar_len;
	check(sys6(__NR_mremap, (long)from, (long)vvar, (long)vvar, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (long)to, 0),
	      "moving [vvar]", to);
	check(sys6(__NR_mremap, (long)(from + vvar), (long)(len - vvar), (long)(len - vvar),
		   MREMAP_MAYMOVE | MREMAP_FIXED, (long)(to + vvar), 0),
	      "moving [vdso]", to + vvar);
}

static int clashes(const struct rst_args *a, uint64_t s, uint64_t len)
{
	uint64_t e = s + len;
	return s < PAGE || e > USER_END || (s < a->region_end && a->region_start < e) ||
	       (a->staging_len && s < a->staging_start + a->staging_len && a->staging_start < e);
}

static void arch_place_vdso(const struct rst_args *a)
{
	uint64_t now = a->vdso_now_start, len = a->vdso_now_end - now, to = a->vdso_vvar_start;
	if (!now || a->vvar_len >= len)
		fail("the restorer has no [vvar] and [vdso] to move", to, -22);
	if (now == to)
		return;
	/* A move onto an overlapping range is refused (EINVAL): park the pair
	 * beside both ranges first (all else but the region and the staging
	 * area is unmapped by now). */
	if (to < now + len && now < to + len) {
		uint64_t hi = (to > now ? to : now) + len, lo = to < now ? to : now;
		uint64_t park = hi;
		if (clashes(a, park, len))
			park = lo >= len ? lo - len : 0;
		if (!park || clashes(a, park, len))
			fail("no room to move the vDSO through", to, -12);
		move_vdso_pair(a, now, park);
		now = park;
	}
	move_vdso_pair(a, now, to);
}

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
