/* SPDX-License-Identifier: MIT */
/*
 * restore-riscv64.c - the riscv64 half of the guest-side restorer (see
 * guest/restorer/restore.h): the rt_sigreturn frame that loads pc, x1-x31
 * (tp among them) and the F/D state (f0-f31, fcsr), the CPU check, and the
 * jump into the blob.
 *
 * The frame is the kernel's own (arch/riscv/kernel/signal.c: struct
 * rt_sigframe is siginfo then ucontext; uapi/asm/ucontext.h,
 * uapi/asm/sigcontext.h). sys_rt_sigreturn reads it at sp; restore_sigcontext
 * takes sc_regs (struct user_regs_struct), then the F/D state from
 * sc_fpregs (whose Q-sized reserved words must be zero), then walks the
 * extension records after it: a zeroed header ends them (no V state).
 *
 * Syscall restart needs nothing here: the checkpoint already rewound epc
 * onto the ecall and put orig_a0 back into a0 (riscv64-state.c), and
 * sigreturn sets cause to -1, so the restored task issues the call again.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "guest/restorer/restore.h"

struct r_sigcontext {
	uint64_t regs[32]; /* pc, x1-x31 */
	/* union __riscv_fp_state (its largest member, the Q state) overlaid
	 * by struct __riscv_extra_ext_header, whose record header is last */
	uint8_t fp[528] __attribute__((aligned(16)));
};

struct r_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct rst_stack uc_stack;
	uint64_t uc_sigmask;
	uint8_t unused[1024 / 8 - 8]; /* glibc's 1024-bit sigset_t */
	struct r_sigcontext uc_mcontext __attribute__((aligned(16)));
};

struct r_rt_sigframe {
	uint8_t info[128];
	struct r_ucontext uc;
};

_Static_assert(offsetof(struct r_ucontext, uc_mcontext) == 176, "ucontext layout");
_Static_assert(sizeof(struct r_sigcontext) == 784, "sigcontext layout");
_Static_assert(sizeof(struct r_rt_sigframe) == 1088, "rt_sigframe layout");

/* struct __riscv_d_ext_state, the snapshot's "riscv-d" format: f[32],
 * fcsr, 4 bytes of padding */
#define D_STATE_SIZE 264
#define D_STATE_USED 260
#define HWCAP_ISA(c) (1ul << ((c) - 'A'))

/* The snapshot's register names for pc, x1-x31 (riscv64-state.c). */
static const char *const reg_names[32] = {
	"epc", "ra", "sp", "gp", "tp",	"t0",  "t1", "t2", "s0", "s1", "a0",
	"a1",  "a2", "a3", "a4", "a5",	"a6",  "a7", "s2", "s3", "s4", "s5",
	"s6",  "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap)
{
	(void)fpu;
	if (h->fpu_size != D_STATE_SIZE) {
		snprintf(msg, cap, "the FPU state is %u bytes, not an F/D image (%d bytes)",
			 h->fpu_size, D_STATE_SIZE);
		return -1;
	}
	return rst_check_hwcap(HWCAP_ISA('F') | HWCAP_ISA('D'), "the F and D extensions", msg, cap);
}

size_t rst_arch_sigframe_ip_offset(void)
{
	/* regs[0] is pc */
	return offsetof(struct r_rt_sigframe, uc) + offsetof(struct r_ucontext, uc_mcontext) +
	       offsetof(struct r_sigcontext, regs);
}

size_t rst_arch_sigframe_size(const struct sv_rimg_header *h)
{
	(void)h;
	return sizeof(struct r_rt_sigframe);
}

int rst_arch_build_sigframe(void *buf, size_t cap, const struct sv_rimg_header *h,
			    const struct sv_rimg_named *regs, const uint8_t *fpu, uint64_t *ret_sp,
			    char *msg, size_t msg_cap)
{
	if (cap < rst_arch_sigframe_size(h)) {
		snprintf(msg, msg_cap, "no room for the signal frame");
		return -1;
	}
	struct r_rt_sigframe *f = buf;
	struct r_sigcontext *sc = &f->uc.uc_mcontext;
	for (int i = 0; i < 32; i++) {
		if (!rst_reg(h, regs, reg_names[i], &sc->regs[i])) {
			snprintf(msg, msg_cap, "the snapshot has no register %s", reg_names[i]);
			return -1;
		}
	}
	/* f0-f31 and fcsr where the D state sits in the union; the rest (the
	 * Q state's reserved words, the end-of-records header) stays zero, as
	 * the buffer came */
	memcpy(sc->fp, fpu, D_STATE_USED);
	f->uc.uc_sigmask = h->sigblocked;
	rst_fill_altstack(&f->uc.uc_stack, h);
	*ret_sp = (uint64_t)(uintptr_t)f;
	return 0;
}

/* tp is x4, restored with the other registers by rt_sigreturn. */
void rst_arch_tls(const struct sv_rimg_header *h, const struct sv_rimg_named *regs,
		  struct rst_args *a)
{
	(void)h;
	(void)regs;
	(void)a;
}

/* Sv39/Sv48/Sv57 with 4 KiB pages: a level-1 (mega)page maps 2 MiB */
const uint64_t rst_arch_huge_page = 2ul << 20;

void *rst_arch_thread_pointer(void)
{
	return __builtin_thread_pointer();
}

void rst_arch_jump(uint64_t entry, uint64_t stack_top, struct rst_args *args)
{
	/* the blob was written as data: make the instruction side see it */
	__builtin___clear_cache((char *)(uintptr_t)entry,
				(char *)(uintptr_t)entry + (rst_blob_end - rst_blob_start));
	/* pinned registers: neither may be one the asm zeroes */
	register uint64_t a0 __asm__("a0") = (uint64_t)(uintptr_t)args;
	register uint64_t a1 __asm__("a1") = 0;
	register uint64_t t1 __asm__("t1") = entry, t2 __asm__("t2") = stack_top;
	__asm__ volatile("mv sp, t2\n\t"
			 "mv ra, zero\n\t"
			 "mv s0, zero\n\t"
			 "jr t1"
			 :
			 : "r"(t1), "r"(t2), "r"(a0), "r"(a1)
			 : "memory");
	__builtin_unreachable();
}

/* The child: s1 holds park (ecall keeps it); it waits on park->go with raw
 * futex calls (98, FUTEX_WAIT_PRIVATE), then enters the blob with a0 =
 * NULL, a1 = park->thread on park->sp. The blob was made visible to every
 * hart's instruction fetch when it was copied (__builtin___clear_cache is
 * the riscv_flush_icache syscall, all harts); fence.i orders this hart's. */
long rst_arch_park_thread(void *clone_args, size_t size, struct rst_park *park)
{
	register long a7 __asm__("a7") = 435; /* __NR_clone3 */
	register long a0 __asm__("a0") = (long)clone_args;
	register long a1 __asm__("a1") = (long)size;
	register long s1 __asm__("s1") = (long)park;
	__asm__ volatile("ecall\n\t"
			 "bnez a0, 2f\n"
			 "1:\n\t"
			 "lw t0, 0(s1)\n\t"
			 "fence r, rw\n\t"
			 "bnez t0, 3f\n\t"
			 "li a7, 98\n\t"
			 "mv a0, s1\n\t"
			 "li a1, 128\n\t"
			 "li a2, 0\n\t"
			 "li a3, 0\n\t"
			 "ecall\n\t"
			 "j 1b\n"
			 "3:\n\t"
			 "ld a1, 16(s1)\n\t"
			 "ld t0, 24(s1)\n\t"
			 "mv sp, t0\n\t"
			 "ld t1, 8(s1)\n\t"
			 "li a0, 0\n\t"
			 "mv ra, zero\n\t"
			 "mv s0, zero\n\t"
			 "fence.i\n\t"
			 "jr t1\n"
			 "2:"
			 : "+r"(a0), "+r"(a7), "+r"(a1)
			 : "r"(s1)
			 : "a2", "a3", "t0", "t1", "memory");
	return a0;
}

/* The unmapper's call (region-unmap.c): struct user_regs_struct (uapi
 * asm/ptrace.h) is pc, then x1-x31 (slot i is xi); the number goes in a7
 * (x17), the arguments in a0, a1 (x10, x11); ecall is 4 bytes. Nothing can
 * be put back after it: no regset reaches pt_regs->cause, which the call
 * leaves saying "a system call", so a signal pending for the thread as it
 * goes on, with a0 holding one of the -ERESTART* codes (-512..-516), would
 * make the kernel rewind it. No restored a0 holds one: a call caught
 * being restarted is rewound at checkpoint (riscv64-state.c). */
const struct rst_arch_syscall_regs rst_arch_syscall_regs = {
	.ip = 0,
	.nr = 17,
	.arg0 = 10,
	.arg1 = 11,
	.insn_len = 4,
	.after_call = NULL,
};
