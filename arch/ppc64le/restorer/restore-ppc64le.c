/* SPDX-License-Identifier: MIT */
/*
 * restore-ppc64le.c - the ppc64le half of the guest-side restorer (see
 * guest/restorer/restore.h): the rt_sigreturn frame that loads r0-r31 (r13,
 * the thread pointer, among them), nip, ctr, link, xer, ccr and the FP, VMX
 * and VSX state, the CPU check, and the jump into the blob.
 *
 * The frame is the kernel's own (arch/powerpc/kernel/signal_64.c: struct
 * rt_sigframe is the ucontext, then the trampoline, siginfo and the ABI's
 * red zone; uapi/asm/ucontext.h, uapi/asm/sigcontext.h). sys_rt_sigreturn
 * reads it at r1 (the vDSO's trampoline pops the handler's
 * __SIGNAL_FRAMESIZE first); restore_sigcontext takes gp_regs (of
 * the MSR only LE), fp_regs, and from v_regs - a 16-byte aligned pointer
 * into vmx_reserve - vr0-vr31 and vscr when the frame's MSR has MSR_VEC,
 * vrsave always, then the VSRs' other halves when it has MSR_VSX. Both are
 * set: the snapshot always has the whole state.
 *
 * Syscall restart needs nothing here: the checkpoint already rewound nip
 * onto the sc/scv and put orig_gpr3 back into r3 (ppc64le-state.c), and
 * sigreturn marks the frame as no restart, so the call is issued again.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "guest/restorer/restore.h"

#define ELF_NGREG 48
#define ELF_NFPREG 33
#define ELF_NVRREG 34
#define USER_REDZONE_SIZE 288

struct p_sigcontext {
	uint64_t unused[4];
	int32_t signal;
	int32_t pad0;
	uint64_t handler;
	uint64_t oldmask;
	uint64_t regs; /* struct pt_regs *, unused by sigreturn */
	uint64_t gp_regs[ELF_NGREG];
	uint64_t fp_regs[ELF_NFPREG];
	uint64_t v_regs; /* into vmx_reserve, 16-byte aligned */
	uint64_t vmx_reserve[ELF_NVRREG + ELF_NVRREG + 1 + 32];
};

struct p_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct rst_stack uc_stack;
	uint64_t uc_sigmask;
	uint64_t unused[15]; /* room for sigset_t to grow */
	struct p_sigcontext uc_mcontext;
};

struct p_rt_sigframe {
	struct p_ucontext uc;
	uint64_t unused[2];
	uint32_t tramp[7];
	uint64_t pinfo, puc;
	uint8_t info[128];
	uint8_t abigap[USER_REDZONE_SIZE];
} __attribute__((aligned(16)));

_Static_assert(offsetof(struct p_ucontext, uc_mcontext) == 168, "ucontext layout");
_Static_assert(offsetof(struct p_sigcontext, gp_regs) == 64, "sigcontext layout");
_Static_assert(sizeof(struct p_sigcontext) == 1528, "sigcontext size");

/* the snapshot's "ppc64-vsx" image (arch/ppc64le/ppc64le-private.h):
 * NT_PRFPREG, NT_PPC_VMX, NT_PPC_VSX one after the other */
#define IMG_FP 0
#define IMG_VMX (ELF_NFPREG * 8)
#define IMG_VSX (IMG_VMX + ELF_NVRREG * 16)
#define IMG_SIZE (IMG_VSX + 32 * 8)

/* asm/reg.h, uapi/asm/cputable.h */
#define MSR_LE (1ul << 0)
#define MSR_VSX (1ul << 23)
#define MSR_VEC (1ul << 25)
#define PPC_FEATURE_HAS_ALTIVEC 0x10000000ul
#define PPC_FEATURE_HAS_VSX 0x00000080ul

/* gp_regs after r0-r31, by the snapshot's names (PT_NIP 32 ... PT_RESULT 43) */
static const char *const other_names[] = {
	"nip", "msr",	"orig_gpr3", "ctr", "link",  "xer",
	"ccr", "softe", "trap",	     "dar", "dsisr", "result",
};

int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap)
{
	(void)fpu;
	if (h->fpu_size != IMG_SIZE) {
		snprintf(msg, cap, "the FPU state is %u bytes, not an FP/VMX/VSX image (%d bytes)",
			 h->fpu_size, IMG_SIZE);
		return -1;
	}
	return rst_check_hwcap(PPC_FEATURE_HAS_ALTIVEC | PPC_FEATURE_HAS_VSX, "VMX and VSX", msg,
			       cap);
}

size_t rst_arch_sigframe_size(const struct sv_rimg_header *h)
{
	(void)h;
	return sizeof(struct p_rt_sigframe);
}

int rst_arch_build_sigframe(void *buf, size_t cap, const struct sv_rimg_header *h,
			    const struct sv_rimg_named *regs, const uint8_t *fpu, uint64_t *ret_sp,
			    char *msg, size_t msg_cap)
{
	if (cap < rst_arch_sigframe_size(h)) {
		snprintf(msg, msg_cap, "no room for the signal frame");
		return -1;
	}
	struct p_rt_sigframe *f = buf;
	struct p_sigcontext *sc = &f->uc.uc_mcontext;
	for (int i = 0; i < 32 + (int)(sizeof(other_names) / sizeof(other_names[0])); i++) {
		char name[8];
		const char *n = name;
		if (i < 32)
			snprintf(name, sizeof(name), "r%d", i);
		else
			n = other_names[i - 32];
		if (!rst_reg(h, regs, n, &sc->gp_regs[i])) {
			snprintf(msg, msg_cap, "the snapshot has no register %s", n);
			return -1;
		}
	}
	/* of the MSR, sigreturn takes LE and reads MSR_VEC/MSR_VSX as "the
	 * frame has that state" */
	sc->gp_regs[33] |= MSR_LE | MSR_VEC | MSR_VSX;
	memcpy(sc->fp_regs, fpu + IMG_FP, sizeof(sc->fp_regs));
	uint8_t *v = (uint8_t *)(((uintptr_t)sc->vmx_reserve + 15) & ~(uintptr_t)15);
	memcpy(v, fpu + IMG_VMX, ELF_NVRREG * 16);
	memcpy(v + ELF_NVRREG * 16, fpu + IMG_VSX, 32 * 8);
	sc->v_regs = (uint64_t)(uintptr_t)v;
	f->uc.uc_sigmask = h->sigblocked;
	rst_fill_altstack(&f->uc.uc_stack, h);
	*ret_sp = (uint64_t)(uintptr_t)buf;
	return 0;
}

/* r13 is the thread pointer, restored with the other registers by
 * rt_sigreturn. */
void rst_arch_tls(const struct sv_rimg_header *h, const struct sv_rimg_named *regs,
		  struct rst_args *a)
{
	(void)h;
	(void)regs;
	(void)a;
}

/* the radix MMU with 4 KiB pages (Debian 13's powerpc64le kernel): a PMD
 * entry maps 2 MiB */
const uint64_t rst_arch_huge_page = 2ul << 20;

/* r13 (the ABI's thread pointer; GCC has no builtin for it here) */
void *rst_arch_thread_pointer(void)
{
	void *tp;
	__asm__("mr %0, 13" : "=r"(tp));
	return tp;
}

void rst_arch_jump(uint64_t entry, uint64_t stack_top, struct rst_args *args)
{
	/* the blob was written as data: make the instruction side see it */
	__builtin___clear_cache((char *)(uintptr_t)entry,
				(char *)(uintptr_t)entry + (rst_blob_end - rst_blob_start));
	register uint64_t r3 __asm__("r3") = (uint64_t)(uintptr_t)args;
	register uint64_t r4 __asm__("r4") = 0;
	register uint64_t r12 __asm__("r12") = entry;
	__asm__ volatile("mr 1, %0\n\t"
			 "mtctr 12\n\t"
			 "bctr"
			 :
			 : "r"(stack_top), "r"(r12), "r"(r3), "r"(r4)
			 : "memory");
	__builtin_unreachable();
}

/* The child: r29 holds park (sc keeps it); it waits on park->go with raw
 * futex calls (221, FUTEX_WAIT_PRIVATE), then enters the blob with r3 =
 * NULL, r4 = park->thread on park->sp; rst_threads_release has made the
 * blob's instructions visible first, isync discards what this thread
 * fetched before. An sc error (CR0.SO) comes back as -errno. */
long rst_arch_park_thread(void *clone_args, size_t size, struct rst_park *park)
{
	register long r0 __asm__("r0") = 435; /* __NR_clone3 */
	register long r3 __asm__("r3") = (long)clone_args;
	register long r4 __asm__("r4") = (long)size;
	register long r29 __asm__("r29") = (long)park;
	__asm__ volatile("sc\n\t"
			 "bns+ 1f\n\t"
			 "neg 3, 3\n\t"
			 "b 9f\n"
			 "1:\n\t"
			 "cmpdi 3, 0\n\t"
			 "bne 9f\n"
			 "2:\n\t"
			 "lwz 5, 0(29)\n\t"
			 "lwsync\n\t"
			 "cmpwi 5, 0\n\t"
			 "bne 3f\n\t"
			 "li 0, 221\n\t"
			 "mr 3, 29\n\t"
			 "li 4, 128\n\t"
			 "li 5, 0\n\t"
			 "li 6, 0\n\t"
			 "sc\n\t"
			 "b 2b\n"
			 "3:\n\t"
			 "ld 4, 16(29)\n\t"
			 "ld 1, 24(29)\n\t"
			 "ld 12, 8(29)\n\t"
			 "li 3, 0\n\t"
			 "isync\n\t"
			 "mtctr 12\n\t"
			 "bctr\n"
			 "9:"
			 : "+r"(r0), "+r"(r3), "+r"(r4)
			 : "r"(r29)
			 : "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cr0", "ctr", "xer",
			   "memory");
	return r3;
}

/* The unmapper's call (region-unmap.c): struct user_pt_regs (uapi
 * asm/ptrace.h) is gpr[32], nip, ...; the number goes in r0, the arguments
 * in r3, r4; sc is 4 bytes. Nothing more can be put back after it: trap
 * goes back with the registers, but not its no-restart flag (the kernel
 * keeps its own), so a signal pending for the thread as it goes on, with
 * CR0.SO set and r3 holding one of the -ERESTART* codes, would make the
 * kernel rewind it. No restored r3 holds one: a call caught being
 * restarted is rewound at checkpoint (ppc64le-state.c). */
const struct rst_arch_syscall_regs rst_arch_syscall_regs = {
	.ip = 32,
	.nr = 0,
	.arg0 = 3,
	.arg1 = 4,
	.insn_len = 4,
	.after_call = NULL,
};
