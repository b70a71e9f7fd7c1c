/* SPDX-License-Identifier: MIT */
/*
 * restore-aarch64.c - the aarch64 half of the guest-side restorer (see
 * guest/restorer/restore.h): the rt_sigreturn frame that loads x0-x30, sp, pc,
 * pstate and the FPSIMD state (v0-v31, fpsr, fpcr), the CPU check, the
 * thread pointer, and the jump into the blob.
 *
 * The frame is the kernel's own (arch/arm64/kernel/signal.c: struct
 * rt_sigframe is siginfo then ucontext; uapi/asm/ucontext.h,
 * uapi/asm/sigcontext.h). sys_rt_sigreturn reads it at sp, 16-byte aligned;
 * parse_user_sigframe walks the records in sigcontext.__reserved, each
 * 16-byte aligned, and wants exactly one fpsimd_context (FPSIMD_MAGIC,
 * 528 bytes) before the terminating null record; without it the whole
 * sigreturn fails (the CPU has FP/SIMD). pstate must be a plain EL0t value
 * with D, A, I and F clear (valid_native_regs), as a 64-bit task's is.
 *
 * Syscall restart needs nothing here: the checkpoint already rewound pc
 * onto the svc and put orig_x0 back into x0 (aarch64-state.c), and
 * sigreturn clears syscallno, so the restored task issues the call again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "guest/restorer/restore.h"

struct a_sigcontext {
	uint64_t fault_address;
	uint64_t regs[31];
	uint64_t sp, pc, pstate;
	uint8_t reserved[4096] __attribute__((aligned(16)));
};

struct a_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct rst_stack uc_stack;
	uint64_t uc_sigmask;
	uint8_t unused[1024 / 8 - 8]; /* glibc's 1024-bit sigset_t */
	struct a_sigcontext uc_mcontext;
};

struct a_rt_sigframe {
	uint8_t info[128];
	struct a_ucontext uc;
};

struct a_ctx_head {
	uint32_t magic, size;
};

struct a_fpsimd_context {
	struct a_ctx_head head;
	uint32_t fpsr, fpcr;
	uint8_t vregs[32][16] __attribute__((aligned(16)));
};

_Static_assert(offsetof(struct a_sigcontext, reserved) == 288, "sigcontext layout");
_Static_assert(offsetof(struct a_ucontext, uc_mcontext) == 176, "ucontext layout");
_Static_assert(sizeof(struct a_rt_sigframe) == 4688, "rt_sigframe layout");
_Static_assert(sizeof(struct a_fpsimd_context) == 528, "fpsimd_context layout");

#define FPSIMD_MAGIC 0x46508001u
/* struct user_fpsimd_state, the snapshot's "fpsimd" format: vregs[32],
 * fpsr at 512, fpcr at 516, 8 reserved bytes */
#define FPSIMD_STATE_SIZE 528
#define PSR_MODE32_BIT 0x10
#define PSR_MODE_MASK 0xf
#define PSR_DAIF 0x3c0
#define HWCAP_FP_ (1ul << 0)
#define HWCAP_ASIMD_ (1ul << 1)

int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap)
{
	(void)fpu;
	if (h->fpu_size != FPSIMD_STATE_SIZE) {
		snprintf(msg, cap, "the FPU state is %u bytes, not an FPSIMD image (%d bytes)",
			 h->fpu_size, FPSIMD_STATE_SIZE);
		return -1;
	}
	return rst_check_hwcap(HWCAP_FP_ | HWCAP_ASIMD_, "FP/Advanced SIMD", msg, cap);
}

size_t rst_arch_sigframe_ip_offset(void)
{
	return offsetof(struct a_rt_sigframe, uc) + offsetof(struct a_ucontext, uc_mcontext) +
	       offsetof(struct a_sigcontext, pc);
}

size_t rst_arch_sigframe_size(const struct sv_rimg_header *h)
{
	(void)h;
	return sizeof(struct a_rt_sigframe);
}

int rst_arch_build_sigframe(void *buf, size_t cap, const struct sv_rimg_header *h,
			    const struct sv_rimg_named *regs, const uint8_t *fpu, uint64_t *ret_sp,
			    char *msg, size_t msg_cap)
{
	if (cap < rst_arch_sigframe_size(h)) {
		snprintf(msg, msg_cap, "no room for the signal frame");
		return -1;
	}
	struct a_rt_sigframe *f = buf;
	struct a_sigcontext *sc = &f->uc.uc_mcontext;
	for (int i = 0; i < 31; i++) {
		char name[8];
		snprintf(name, sizeof(name), "x%d", i);
		if (!rst_reg(h, regs, name, &sc->regs[i])) {
			snprintf(msg, msg_cap, "the snapshot has no register %s", name);
			return -1;
		}
	}
	if (!rst_reg(h, regs, "sp", &sc->sp) || !rst_reg(h, regs, "pc", &sc->pc) ||
	    !rst_reg(h, regs, "pstate", &sc->pstate)) {
		snprintf(msg, msg_cap, "the snapshot lacks sp, pc or pstate");
		return -1;
	}
	if (sc->pstate & (PSR_MODE32_BIT | PSR_MODE_MASK)) {
		snprintf(msg, msg_cap,
			 "pstate 0x%llx is not a 64-bit EL0 task's: only 64-bit "
			 "processes restore",
			 (unsigned long long)sc->pstate);
		return -1;
	}
	/* TPIDR2_EL0 belongs to SME, which no CPU model restore uses offers
	 * (the default cortex-a57 has none): a non-zero one could not be set.
	 * TPIDRRO_EL0 is zero for every 64-bit task (the kernel sets it for
	 * compat tasks only), so snapshots do not carry it. */
	uint64_t tp2 = 0;
	if (rst_reg(h, regs, "tpidr2_el0", &tp2) && tp2) {
		snprintf(msg, msg_cap,
			 "the process uses TPIDR2_EL0 (SME), which restore does not "
			 "set");
		return -1;
	}
	/* the kernel refuses masked exceptions at EL0; they cannot be set there */
	sc->pstate &= ~(uint64_t)PSR_DAIF;
	struct a_fpsimd_context *fp = (struct a_fpsimd_context *)sc->reserved;
	fp->head.magic = FPSIMD_MAGIC;
	fp->head.size = sizeof(*fp);
	memcpy(fp->vregs, fpu, sizeof(fp->vregs));
	memcpy(&fp->fpsr, fpu + 512, 4);
	memcpy(&fp->fpcr, fpu + 516, 4);
	/* the null record that ends the list follows, the buffer came zeroed */
	f->uc.uc_sigmask = h->sigblocked;
	rst_fill_altstack(&f->uc.uc_stack, h);
	*ret_sp = (uint64_t)(uintptr_t)f;
	return 0;
}

/* TPIDR_EL0 is the thread pointer (thread.uw.tp_value); see
 * rst_arch_build_sigframe for the other two. */
void rst_arch_tls(const struct sv_rimg_header *h, const struct sv_rimg_named *regs,
		  struct rst_args *a)
{
	rst_reg(h, regs, "tpidr_el0", &a->tls[0]);
}

/* Debian's arm64 kernel uses the 4 KiB granule: a level-2 block maps 2 MiB */
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
	register uint64_t x0 __asm__("x0") = (uint64_t)(uintptr_t)args;
	register uint64_t x1 __asm__("x1") = 0;
	__asm__ volatile("mov sp, %0\n\t"
			 "mov x29, xzr\n\t"
			 "mov x30, xzr\n\t"
			 "br %1"
			 :
			 : "r"(stack_top), "r"(entry), "r"(x0), "r"(x1)
			 : "memory");
	__builtin_unreachable();
}

/* The child: x19 holds park (svc keeps it); it waits on park->go with raw
 * futex calls (98, FUTEX_WAIT_PRIVATE), then enters the blob with x0 =
 * NULL, x1 = park->thread on park->sp; rst_threads_release has made the
 * blob's instructions visible first. */
long rst_arch_park_thread(void *clone_args, size_t size, struct rst_park *park)
{
	register long x8 __asm__("x8") = 435; /* __NR_clone3 */
	register long x0 __asm__("x0") = (long)clone_args;
	register long x1 __asm__("x1") = (long)size;
	register long x19 __asm__("x19") = (long)park;
	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 2f\n"
			 "1:\n\t"
			 "ldar w9, [x19]\n\t"
			 "cbnz w9, 3f\n\t"
			 "mov x8, #98\n\t"
			 "mov x0, x19\n\t"
			 "mov x1, #128\n\t"
			 "mov x2, #0\n\t"
			 "mov x3, #0\n\t"
			 "svc #0\n\t"
			 "b 1b\n"
			 "3:\n\t"
			 "ldr x1, [x19, #16]\n\t"
			 "ldr x9, [x19, #24]\n\t"
			 "mov sp, x9\n\t"
			 "ldr x10, [x19, #8]\n\t"
			 "mov x0, #0\n\t"
			 "mov x29, xzr\n\t"
			 "mov x30, xzr\n\t"
			 "isb\n\t"
			 "br x10\n"
			 "2:"
			 : "+r"(x0), "+r"(x8), "+r"(x1)
			 : "r"(x19)
			 : "x2", "x3", "x9", "x10", "memory");
	return x0;
}

/* The number of the call in progress is not among the registers
 * (pt_regs->syscallno): the unmapper's munmap's would stay, and a signal
 * delivered on the way out could take x0 for its result and restart it.
 * rt_sigreturn had left none (NO_SYSCALL, -1); NT_ARM_SYSTEM_CALL puts
 * that back. */
static int no_syscall(int tid)
{
	int32_t none = -1;
	struct iovec iov = { &none, sizeof(none) };
	return ptrace(PTRACE_SETREGSET, tid, 0x404 /* NT_ARM_SYSTEM_CALL */, &iov) < 0 ? -errno : 0;
}

/* The unmapper's call (region-unmap.c): struct user_pt_regs (uapi
 * asm/ptrace.h) is x0-x30, sp, pc, pstate; the number goes in x8; svc is
 * 4 bytes. */
const struct rst_arch_syscall_regs rst_arch_syscall_regs = {
	.ip = 32,
	.nr = 8,
	.arg0 = 0,
	.arg1 = 1,
	.insn_len = 4,
	.after_call = no_syscall,
};
