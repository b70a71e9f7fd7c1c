/* SPDX-License-Identifier: MIT */
/*
 * restore-x86_64.c - the x86_64 half of the guest-side restorer (see
 * guest/restorer/restore.h): the rt_sigreturn frame that loads every general
 * register, flags and the XSAVE state (x87, SSE, AVX), the CPU check, and
 * the jump into the blob.
 *
 * The frame is the kernel's own (arch/x86/include/asm/sigframe.h,
 * uapi/asm/sigcontext.h, uapi/asm/ucontext.h); sys_rt_sigreturn reads it at
 * sp - 8. The FPU image goes in as an XSAVE buffer with the software
 * reserved bytes (struct _fpx_sw_bytes at 464) saying FP_XSTATE_MAGIC1 and
 * FP_XSTATE_MAGIC2 after the state: without them the kernel restores only
 * the legacy x87/SSE part and the upper halves of the YMM registers are lost.
 */
#include <stdio.h>
#include <string.h>

#include "guest/restorer/restore.h"

struct x_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct x_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct rst_stack uc_stack;
	struct x_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct x_rt_sigframe {
	uint64_t pretcode;
	struct x_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct x_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct x_ucontext) == 304, "ucontext layout");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define XSAVE_MIN 576 /* legacy area and header */

/* clang-format off */
static const char *const xfeature_names[] = {
	"x87", "SSE", "AVX", "MPX bounds", "MPX CSR", "AVX-512 opmask", "AVX-512 ZMM_Hi256",
	"AVX-512 Hi16_ZMM", "PT", "PKRU", "PASID", "CET user", "CET supervisor", "HDC", "UINTR",
	"LBR", "HWP", "AMX TILECFG", "AMX TILEDATA",
};
/* clang-format on */

/* The features the kernel enabled in XCR0; x87 and SSE alone when the CPU
 * has no XSAVE (xgetbv would fault: CPUID.1:ECX.OSXSAVE says whether it may
 * run). */
static uint64_t xcr0(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (!(c & (1u << 27)))
		return 3;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/*
 * PKRU for an image that has none: a snapshot leaves out the kernel's
 * default rights (sv_x86_task_fpu), so that it restores on a CPU without
 * PKU. On one with it, a frame without PKRU would make sigreturn load its
 * init value, 0 (every key open), not the default a new process gets
 * there; the restorer's own PKRU is that default, so the frame carries it.
 * PKRU sits at 2688 in the standard format; 0 when the guest has no PKU.
 */
#define XFEATURE_PKRU 9
#define PKRU_OFFSET 2688
#define PKRU_END (PKRU_OFFSET + 4 + 4) /* PKRU and its pad: 2696 */

static int pkru_to_add(const struct sv_rimg_header *h, const uint8_t *fpu)
{
	uint64_t bv;
	memcpy(&bv, fpu + 512, 8);
	return ((xcr0() >> XFEATURE_PKRU) & 1) && !((bv >> XFEATURE_PKRU) & 1) &&
	       h->fpu_size <= PKRU_OFFSET;
}

static uint32_t rdpkru(void)
{
	uint32_t a, d;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0)); /* rdpkru */
	return a;
}

int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap)
{
	if (h->fpu_size < XSAVE_MIN) {
		snprintf(msg, cap, "the FPU state is %u bytes, less than an XSAVE image",
			 h->fpu_size);
		return -1;
	}
	uint64_t bv;
	memcpy(&bv, fpu + 512, 8);
	uint64_t missing = (bv | h->fpu_features) & ~xcr0();
	if (!missing)
		return 0;
	size_t n = (size_t)snprintf(msg, cap,
				    "the snapshot's FPU state uses XSAVE features this guest CPU "
				    "lacks:");
	for (int i = 0; i < 64 && n < cap; i++)
		if (missing & (1ull << i))
			n += (size_t)snprintf(msg + n, cap - n, " %s",
					      i < (int)(sizeof(xfeature_names) /
							sizeof(*xfeature_names))
						      ? xfeature_names[i]
						      : "unknown");
	if (n < cap)
		snprintf(msg + n, cap - n,
			 " (restore with --cpu naming a QEMU CPU model that has them)");
	return -1;
}

size_t rst_arch_sigframe_ip_offset(void)
{
	/* the sp given is &f->uc */
	return offsetof(struct x_ucontext, uc_mcontext) + offsetof(struct x_sigcontext, ip);
}

size_t rst_arch_sigframe_size(const struct sv_rimg_header *h)
{
	/* room for PKRU_END whether pkru_to_add will say so or not */
	size_t image = h->fpu_size > PKRU_END ? h->fpu_size : PKRU_END;
	return sizeof(struct x_rt_sigframe) + 128 + image + 4 + 64;
}

int rst_arch_build_sigframe(void *buf, size_t cap, const struct sv_rimg_header *h,
			    const struct sv_rimg_named *regs, const uint8_t *fpu, uint64_t *ret_sp,
			    char *msg, size_t msg_cap)
{
	if (cap < rst_arch_sigframe_size(h)) {
		snprintf(msg, msg_cap, "no room for the signal frame");
		return -1;
	}
	uintptr_t base = (uintptr_t)buf;
	struct x_rt_sigframe *f = buf;
	struct x_sigcontext *sc = &f->uc.uc_mcontext;
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
#define R(n) { #n, offsetof(struct x_sigcontext, n) }
		R(r8), R(r9), R(r10), R(r11), R(r12), R(r13), R(r14), R(r15), R(di),
		R(si), R(bp), R(bx),  R(dx),  R(ax),  R(cx),  R(sp),  R(ip),  R(flags),
#undef R
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		uint64_t v;
		if (!rst_reg(h, regs, map[i].name, &v)) {
			snprintf(msg, msg_cap, "the snapshot has no register %s", map[i].name);
			return -1;
		}
		memcpy((uint8_t *)sc + map[i].off, &v, 8);
	}
	uint64_t cs = 0x33, ss = 0x2b;
	rst_reg(h, regs, "cs", &cs);
	rst_reg(h, regs, "ss", &ss);
	if (cs != 0x33) {
		snprintf(msg, msg_cap,
			 "code segment 0x%llx is not the 64-bit user segment: only "
			 "64-bit processes restore",
			 (unsigned long long)cs);
		return -1;
	}
	sc->cs = (uint16_t)cs;
	sc->ss = (uint16_t)ss;
	/* The XSAVE image, 64-byte aligned as XRSTOR wants it. */
	uintptr_t fp = (base + sizeof(*f) + 63) & ~(uintptr_t)63;
	uint8_t *x = (uint8_t *)fp;
	memcpy(x, fpu, h->fpu_size);
	uint32_t size = h->fpu_size;
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	if (pkru_to_add(h, fpu)) {
		uint32_t pkru = rdpkru();
		memset(x + size, 0, PKRU_END - size);
		memcpy(x + PKRU_OFFSET, &pkru, 4);
		bv |= 1ull << XFEATURE_PKRU;
		memcpy(x + 512, &bv, 8);
		size = PKRU_END;
	}
	uint32_t magic1 = FP_XSTATE_MAGIC1, ext = size + 4, magic2 = FP_XSTATE_MAGIC2;
	memset(x + 464, 0, 48);
	memcpy(x + 464, &magic1, 4);
	memcpy(x + 468, &ext, 4);
	memcpy(x + 472, &bv, 8);
	memcpy(x + 480, &size, 4);
	memcpy(x + size, &magic2, 4);
	sc->fpstate = fp;
	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.uc_sigmask = h->sigblocked;
	rst_fill_altstack(&f->uc.uc_stack, h);
	/* sys_rt_sigreturn finds the frame at sp - 8 (past pretcode) */
	*ret_sp = (uint64_t)(uintptr_t)&f->uc;
	return 0;
}

void rst_arch_tls(const struct sv_rimg_header *h, const struct sv_rimg_named *regs,
		  struct rst_args *a)
{
	rst_reg(h, regs, "fs_base", &a->tls[0]);
	rst_reg(h, regs, "gs_base", &a->tls[1]);
}

/* 4 KiB pages: a PMD entry maps 512 of them */
const uint64_t rst_arch_huge_page = 2ul << 20;

void *rst_arch_thread_pointer(void)
{
	return __builtin_thread_pointer();
}

void rst_arch_jump(uint64_t entry, uint64_t stack_top, struct rst_args *args)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "jmp *%1"
			 :
			 : "r"(stack_top), "r"(entry), "D"(args), "S"(0)
			 : "memory");
	__builtin_unreachable();
}

/* The child: r12 holds park (syscall keeps it); it waits on park->go with
 * raw futex calls (202, FUTEX_WAIT_PRIVATE), then enters the blob with
 * rdi = NULL, rsi = park->thread on park->sp. */
long rst_arch_park_thread(void *clone_args, size_t size, struct rst_park *park)
{
	long ret;
	register long r12 __asm__("r12") = (long)park;
	__asm__ volatile("syscall\n\t"
			 "testq %%rax, %%rax\n\t"
			 "jnz 2f\n"
			 "1:\n\t"
			 "movl (%%r12), %%eax\n\t"
			 "testl %%eax, %%eax\n\t"
			 "jnz 3f\n\t"
			 "movl $202, %%eax\n\t"
			 "movq %%r12, %%rdi\n\t"
			 "movl $128, %%esi\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "xorl %%r10d, %%r10d\n\t"
			 "syscall\n\t"
			 "jmp 1b\n"
			 "3:\n\t"
			 "movq 16(%%r12), %%rsi\n\t"
			 "movq 24(%%r12), %%rsp\n\t"
			 "movq 8(%%r12), %%rax\n\t"
			 "xorl %%edi, %%edi\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "jmp *%%rax\n"
			 "2:"
			 : "=a"(ret)
			 : "0"(435L /* __NR_clone3 */), "D"(clone_args), "S"(size), "r"(r12)
			 : "rcx", "r11", "rdx", "r10", "memory");
	return ret;
}

/* The unmapper's call (region-unmap.c): struct user_regs_struct (uapi
 * asm/ptrace.h) has rax in slot 10, rsi 13, rdi 14, rip 16; syscall is two
 * bytes (0f 05). Nothing to put back after it: orig_rax is among the
 * registers, and back at -1 (as rt_sigreturn left it) it says no call is
 * in progress, so the kernel restarts nothing. */
const struct rst_arch_syscall_regs rst_arch_syscall_regs = {
	.ip = 16,
	.nr = 10,
	.arg0 = 14,
	.arg1 = 13,
	.insn_len = 2,
	.after_call = NULL,
};
