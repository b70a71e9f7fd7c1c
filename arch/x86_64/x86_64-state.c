/* SPDX-License-Identifier: MIT */
/*
 * x86_64-state.c - what a checkpoint reads of an x86_64 task beyond memory:
 * user registers (struct pt_regs, asm/ptrace.h), the FPU/SIMD state as an
 * XSAVE image (asm/fpu/types.h), fs/gs and the TLS descriptors (struct
 * thread_struct, asm/processor.h), and the same registers live from a vCPU
 * for a task that was running in user mode when the VM was paused.
 *
 * Offsets all come from the kernel's BTF; only architectural constants (the
 * XSAVE layout, errno values, instruction lengths) are written here.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/x86_64/x86_64-private.h"
#include "base/kernel-types.h"

/* pt_regs members in the kernel's order; their names are the snapshot's
 * register names for x86_64 (frozen once files exist). */
static const char *const pt_regs_names[] = {
	"r15", "r14", "r13", "r12", "bp",      "bx", "r11", "r10",   "r9", "r8", "ax",
	"cx",  "dx",  "si",  "di",  "orig_ax", "ip", "cs",  "flags", "sp", "ss",
};

GVariant *sv_x86_named_regs(const SvKernelTypes *types, GBytes *pt_regs, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{st}"));
	for (guint i = 0; i < G_N_ELEMENTS(pt_regs_names); i++) {
		guint64 v;
		if (!sv_arch_struct_member(types, "pt_regs", pt_regs_names[i], pt_regs, &v, error))
			return NULL;
		g_variant_builder_add(&b, "{st}", pt_regs_names[i], v);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/*
 * XSAVE, standard (non-compacted) format (Intel SDM vol. 1, 13.4): a 512-byte
 * legacy region, a 64-byte header whose first word is XSTATE_BV and second
 * XCOMP_BV (bit 63 set: compacted format), then each extended component at
 * the fixed offset CPUID leaf 0xD gives it. Those offsets are the same on
 * every CPU that has the component; the ones below are all a guest of
 * ours can enable (AVX, MPX, AVX-512, PKRU).
 */
#define XSAVE_LEGACY_SIZE 512
#define XSAVE_HEADER_SIZE 64
#define XSAVE_EXTENDED 576
#define XSAVE_MAX (64u << 10)
#define XCOMP_BV_COMPACTED (1ull << 63)

static const struct {
	guint32 offset, size;
} xsave_components[] = {
	[2] = { 576, 256 },   /* AVX: YMM_Hi128 */
	[3] = { 960, 64 },    /* MPX: BNDREGS */
	[4] = { 1024, 64 },   /* MPX: BNDCSR */
	[5] = { 1088, 64 },   /* AVX-512: opmask */
	[6] = { 1152, 512 },  /* AVX-512: ZMM_Hi256 */
	[7] = { 1664, 1024 }, /* AVX-512: Hi16_ZMM */
	[9] = { 2688, 8 },    /* PKRU */
};

#define XFEATURE_PKRU 9
#define XFEATURE_MASK_PKRU (1ull << XFEATURE_PKRU)
/* init_pkru_value (arch/x86/mm/pkeys.c): access disabled for keys 1-15 */
#define PKRU_LINUX_DEFAULT 0x55555554u

/* Where component i (one of xsave_components) starts in a kernel XSAVE
 * buffer: its fixed offset, or in the compacted format right after the
 * lower components the buffer holds (none of these asks for 64-byte
 * alignment). */
static guint32 component_at(guint64 xcomp_bv, guint i)
{
	if (!(xcomp_bv & XCOMP_BV_COMPACTED))
		return xsave_components[i].offset;
	guint32 at = XSAVE_EXTENDED;
	for (guint j = 2; j < i; j++)
		if ((xcomp_bv >> j) & 1)
			at += xsave_components[j].size;
	return at;
}

/* Whether component i holds what a task that never touched it holds: its
 * init state (all zero for MPX and AVX-512), or for PKRU also the rights
 * the kernel gives every new process. */
static gboolean component_unused(const guint8 *buf, gsize len, guint64 xcomp_bv, guint i)
{
	guint32 at = component_at(xcomp_bv, i), size = xsave_components[i].size;
	if (at + (gsize)size > len)
		return FALSE; /* reported as outside the area below */
	if (i == XFEATURE_PKRU) {
		guint32 pkru;
		memcpy(&pkru, buf + at, 4);
		pkru = GUINT32_FROM_LE(pkru);
		return pkru == 0 || pkru == PKRU_LINUX_DEFAULT;
	}
	for (guint32 j = 0; j < size; j++)
		if (buf[at + j])
			return FALSE;
	return TRUE;
}

gsize sv_x86_xsave_standard_size(guint64 features)
{
	gsize size = XSAVE_EXTENDED;
	for (guint i = 2; i < G_N_ELEMENTS(xsave_components); i++)
		if ((features & (1ull << i)) && xsave_components[i].size)
			size = MAX(size, xsave_components[i].offset + xsave_components[i].size);
	return size;
}

/* The legacy region's fields (Intel SDM vol. 1, 10.5.1, 64-bit format) and
 * their init values (13.6): FCW 0x037f, MXCSR 0x1f80, all else zero. */
#define LEGACY_FCW 0
#define LEGACY_MXCSR 24
#define LEGACY_ST 32
#define LEGACY_XMM 160
#define LEGACY_XMM_END 416
#define FCW_INIT 0x037f
#define MXCSR_INIT 0x1f80

/*
 * A clear XSTATE_BV bit says the component is in its init state and that
 * XSAVEOPT/XSAVES did not write its bytes: what lies there is whatever an
 * earlier save left, not the task's state. On a CPU that tracks it (real
 * hardware under the kvm backend; TCG marks all in use) the legacy region
 * then gets the init values, as ptrace shows them (__copy_xstate_to_uabi_buf),
 * so that the snapshot says what the task had. MXCSR belongs to both SSE and
 * AVX: it is saved when either is.
 */
static void legacy_init_unused(guint8 *x, guint64 xstate_bv)
{
	if (!(xstate_bv & 0x1)) {
		memset(x, 0, LEGACY_MXCSR);
		sv_put_le16(x + LEGACY_FCW, FCW_INIT);
		memset(x + LEGACY_ST, 0, LEGACY_XMM - LEGACY_ST);
	}
	if (!(xstate_bv & 0x2))
		memset(x + LEGACY_XMM, 0, LEGACY_XMM_END - LEGACY_XMM);
	if (!(xstate_bv & 0x6))
		sv_put_le32(x + LEGACY_MXCSR, MXCSR_INIT);
}

/*
 * Turns the kernel's XSAVE buffer (standard format, or compacted when the
 * CPU has XSAVES) into the standard format, keeping only the components in
 * user_features: what ptrace and signal frames give user space, and what
 * restore hands back through a signal frame.
 */
GBytes *sv_x86_xsave_to_standard(const guint8 *buf, gsize len, guint64 user_features,
				 guint64 *ret_features, GError **error)
{
	if (len < XSAVE_EXTENDED) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: the task's XSAVE area is %" G_GSIZE_FORMAT " bytes, under the "
			    "576 every XSAVE image has",
			    len);
		return NULL;
	}
	guint64 xstate_bv = GUINT64_FROM_LE(*(const guint64 *)(const void *)(buf + 512));
	guint64 xcomp_bv = GUINT64_FROM_LE(*(const guint64 *)(const void *)(buf + 520));
	guint64 features = user_features;
	for (guint i = 2; i < 64; i++) {
		if (!(features & (1ull << i)))
			continue;
		if (i >= G_N_ELEMENTS(xsave_components) || !xsave_components[i].size) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
				    "x86_64: the task uses XSAVE component %u, which snapvm does "
				    "not know; use a CPU model without it (see --cpu)",
				    i);
			return NULL;
		}
	}
	/* Past AVX (what the portable model has), a component the task does
	 * not use is left out, so a snapshot taken on a CPU with more (--cpu
	 * max: MPX, PKU) restores on one without, and its image is no larger
	 * than the restore guest's XSAVE area (a larger one makes sigreturn
	 * fall back to FXRSTOR and drop AVX). TCG marks every component in
	 * use in XSTATE_BV, so "not used" is read from the contents. */
	for (guint i = 3; i < G_N_ELEMENTS(xsave_components); i++) {
		guint64 bit = 1ull << i;
		if ((features & bit) &&
		    (!(xstate_bv & bit) || component_unused(buf, len, xcomp_bv, i)))
			features &= ~bit;
	}
	gsize out_len = sv_x86_xsave_standard_size(features);
	guint8 *out = g_malloc0(out_len);
	memcpy(out, buf, XSAVE_LEGACY_SIZE);
	guint64 bv = xstate_bv & features;
	legacy_init_unused(out, bv);
	*(guint64 *)(void *)(out + 512) = GUINT64_TO_LE(bv);
	for (guint i = 2; i < G_N_ELEMENTS(xsave_components); i++) {
		guint32 off = xsave_components[i].offset, size = xsave_components[i].size;
		gboolean in_buffer = xcomp_bv & XCOMP_BV_COMPACTED ? (xcomp_bv >> i) & 1
								   : size != 0;
		guint32 src = component_at(xcomp_bv, i);
		if (!size || !(bv & (1ull << i)))
			continue;
		if (!in_buffer || src + (gsize)size > len) {
			g_free(out);
			g_set_error(
				error, SV_ERROR, SV_ERROR_INVALID_DATA,
				"x86_64: XSAVE component %u lies outside the task's %" G_GSIZE_FORMAT
				"-byte XSAVE area",
				i, len);
			return NULL;
		}
		memcpy(out + off, buf + src, size);
	}
	*ret_features = bv;
	return g_bytes_new_take(out, out_len);
}

/*
 * TRUE when the task's mm allocated no protection key but 0. Keys others
 * allocated (pkey_alloc, or the execute-only key mprotect(PROT_EXEC) takes)
 * tag mappings, which restore does not tag again, and the rights PKRU gives
 * them would come back over untagged memory: refused, naming the keys. Only
 * on CPUs with PKU (--cpu max; the default model has none).
 */
static gboolean no_protection_keys(const SvKernelReader *rd, guint64 task, GError **error)
{
	guint64 mm;
	guint16 keys;
	if (!sv_arch_read_u64(rd, task, "task_struct", "mm", &mm, error) ||
	    !sv_arch_read_member(rd, mm, "mm_struct", "context.pkey_allocation_map", &keys, 2,
				 error))
		return FALSE;
	keys = GUINT16_FROM_LE(keys);
	if (!(keys & ~1u))
		return TRUE;
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
		    "x86_64: the process uses memory protection keys (allocated: 0x%04x), which "
		    "snapvm does not restore (neither which key each mapping has nor, from a "
		    "vCPU, PKRU); run it on a CPU model without PKU (the default)",
		    keys);
	return FALSE;
}

/* task->thread.fpu.fpstate points at the live buffer (the task's own
 * __fpstate unless it grew for AMX); fpstate->regs holds size bytes. PKRU
 * among the user features says the kernel enabled protection keys. */
gboolean sv_x86_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret, GError **error)
{
	guint64 fpstate, user_features, regs_off;
	guint32 size;
	if (!sv_arch_read_u64(rd, task, "task_struct", "thread.fpu.fpstate", &fpstate, error) ||
	    !sv_arch_read_u32(rd, fpstate, "fpstate", "size", &size, error) ||
	    !sv_arch_read_u64(rd, fpstate, "fpstate", "user_xfeatures", &user_features, error) ||
	    !sv_kernel_types_offset(rd->types, "fpstate", "regs", &regs_off, error))
		return FALSE;
	if (size < XSAVE_EXTENDED || size > XSAVE_MAX) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: the task's fpstate claims %u bytes", size);
		return FALSE;
	}
	if ((user_features & XFEATURE_MASK_PKRU) && !no_protection_keys(rd, task, error))
		return FALSE;
	g_autofree guint8 *buf = g_malloc(size);
	if (!rd->read(rd->ctx, fpstate + regs_off, buf, size, error))
		return FALSE;
	ret->raw = sv_x86_xsave_to_standard(buf, size, user_features, &ret->features, error);
	ret->format = "xsave";
	return ret->raw != NULL;
}

/* thread_struct keeps fs/gs as the task left its CPU (save_fsgs,
 * arch/x86/kernel/process_64.c) and the three TLS GDT entries set by
 * set_thread_area. */
#define TLS_ENTRIES_SIZE 24

GVariant *sv_x86_task_tls(const SvKernelReader *rd, guint64 task, GError **error)
{
	guint64 fsbase, gsbase;
	guint16 fsindex, gsindex;
	guint8 tls[TLS_ENTRIES_SIZE];
	if (!sv_arch_read_u64(rd, task, "task_struct", "thread.fsbase", &fsbase, error) ||
	    !sv_arch_read_u64(rd, task, "task_struct", "thread.gsbase", &gsbase, error) ||
	    !sv_arch_read_member(rd, task, "task_struct", "thread.fsindex", &fsindex, 2, error) ||
	    !sv_arch_read_member(rd, task, "task_struct", "thread.gsindex", &gsindex, 2, error) ||
	    !sv_arch_read_member(rd, task, "task_struct", "thread.tls_array", tls, sizeof(tls),
				 error))
		return NULL;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "fs_base", g_variant_new_uint64(fsbase));
	g_variant_builder_add(&b, "{sv}", "gs_base", g_variant_new_uint64(gsbase));
	g_variant_builder_add(&b, "{sv}", "fs", g_variant_new_uint32(GUINT16_FROM_LE(fsindex)));
	g_variant_builder_add(&b, "{sv}", "gs", g_variant_new_uint32(GUINT16_FROM_LE(gsindex)));
	g_variant_builder_add(&b, "{sv}", "tls_array",
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, tls, sizeof(tls), 1));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("memory"));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* pt_regs member <- the vCPU register's name in SvVcpuRegs (x86_64-gdb.c, kvm/vcpu-regs.c). */
static const struct {
	const char *member, *vcpu;
} vcpu_names[] = {
	{ "r15", "r15" }, { "r14", "r14" }, { "r13", "r13" },	{ "r12", "r12" }, { "bp", "rbp" },
	{ "bx", "rbx" },  { "r11", "r11" }, { "r10", "r10" },	{ "r9", "r9" },	  { "r8", "r8" },
	{ "ax", "rax" },  { "cx", "rcx" },  { "dx", "rdx" },	{ "si", "rsi" },  { "di", "rdi" },
	{ "ip", "rip" },  { "cs", "cs" },   { "flags", "rfl" }, { "sp", "rsp" },  { "ss", "ss" },
};

gboolean sv_x86_vcpu_user_state(const SvKernelTypes *types, const SvVcpuRegs *vcpu,
				GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				GError **error)
{
	guint64 size;
	if (!sv_kernel_types_size(types, "pt_regs", NULL, &size, error))
		return FALSE;
	if (vcpu->fpu_size == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "x86_64: the machine backend gave no FPU registers for the vCPU the "
			    "task runs on");
		return FALSE;
	}
	g_autofree guint8 *raw = g_malloc0(size);
	for (guint i = 0; i < G_N_ELEMENTS(vcpu_names); i++) {
		guint64 v;
		if (!sv_vcpu_regs_get(vcpu, vcpu_names[i].vcpu, &v)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "x86_64: the vCPU register dump lacks %s", vcpu_names[i].vcpu);
			return FALSE;
		}
		if (!sv_arch_struct_set(types, "pt_regs", vcpu_names[i].member, raw, size, v,
					error))
			return FALSE;
	}
	/* interrupted in user mode, not in a syscall (idtentry_body) */
	if (!sv_arch_struct_set(types, "pt_regs", "orig_ax", raw, size, G_MAXUINT64, error))
		return FALSE;
	guint64 fsbase = 0, gsbase = 0, fs = 0, gs = 0;
	sv_vcpu_regs_get(vcpu, "fs_base", &fsbase);
	sv_vcpu_regs_get(vcpu, "gs_base", &gsbase);
	sv_vcpu_regs_get(vcpu, "fs", &fs);
	sv_vcpu_regs_get(vcpu, "gs", &gs);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "fs_base", g_variant_new_uint64(fsbase));
	g_variant_builder_add(&b, "{sv}", "gs_base", g_variant_new_uint64(gsbase));
	g_variant_builder_add(&b, "{sv}", "fs", g_variant_new_uint32((guint32)fs));
	g_variant_builder_add(&b, "{sv}", "gs", g_variant_new_uint32((guint32)gs));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("vcpu"));
	*ret_tls = g_variant_ref_sink(g_variant_builder_end(&b));
	ret_fpu->raw = g_bytes_new(vcpu->fpu, vcpu->fpu_size);
	ret_fpu->features = vcpu->fpu_features;
	ret_fpu->format = "xsave";
	*ret_pt_regs = g_bytes_new_take(g_steal_pointer(&raw), size);
	return TRUE;
}

/*
 * PKRU, for a task caught on a vCPU: QEMU 7.2's gdbstub does not give it
 * (the kvm backend's KVM_GET_XSAVE does; its CPU model has no PKU anyway).
 * With protection keys off (CR4.PKE clear, as on the default CPU model)
 * there is no PKRU; with them, a process that allocated no key but 0 has
 * the rights the kernel gave it, which the image leaves out as
 * sv_x86_task_fpu does (the restorer gives the restore guest's default),
 * and one that allocated keys is refused (no_protection_keys) whether the
 * image has PKRU or not: its mappings' keys are what restore loses.
 */
#define X86_CR4_PKE (1ull << 22)

gboolean sv_x86_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task, const SvVcpuRegs *vcpu,
				  SvFpuState *fpu, GError **error)
{
	guint64 cr4 = 0;
	gboolean pku = (fpu->features & XFEATURE_MASK_PKRU) != 0;
	if (!pku && !sv_vcpu_regs_get(vcpu, "cr4", &cr4)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: the vCPU register dump lacks cr4");
		return FALSE;
	}
	pku = pku || (cr4 & X86_CR4_PKE);
	return !pku || no_protection_keys(rd, task, error);
}

/* include/linux/errno.h, uapi errno.h */
#define X86_ENOSYS 38
#define X86_ERESTARTSYS 512
#define X86_ERESTARTNOINTR 513
#define X86_ERESTARTNOHAND 514
#define X86_ERESTART_RESTARTBLOCK 516
#define X86_SYSCALL_INSN_LEN 2 /* syscall: 0f 05 */

/*
 * A task inside a syscall has orig_ax >= 0. While the call runs, ax holds
 * -ENOSYS (entry_SYSCALL_64 pushes it); a call interrupted by a signal
 * leaves -ERESTART* there for the signal code to act on. Either way the
 * restored task must issue the same call again: ax = orig_ax and ip back
 * over the syscall instruction, which is what the kernel does with no
 * handler (arch/x86/kernel/signal.c). ERESTART_RESTARTBLOCK would continue
 * through task->restart_block, kernel state a snapshot does not carry: the
 * original call is issued again instead, so a relative sleep restarts at
 * its full length.
 */
GBytes *sv_x86_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
			     SvSyscallFixup *ret_fixup, GError **error)
{
	const SvKernelTypes *types = rd->types;
	guint64 orig_ax, ax, ip;
	if (!sv_arch_struct_member(types, "pt_regs", "orig_ax", pt_regs, &orig_ax, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "ax", pt_regs, &ax, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "ip", pt_regs, &ip, error))
		return NULL;
	*ret_fixup = SV_SYSCALL_NONE;
	gint64 ret = (gint64)ax;
	if ((gint64)orig_ax < 0)
		return g_bytes_ref(pt_regs);
	if (ret == -X86_ENOSYS)
		*ret_fixup = SV_SYSCALL_REEXECUTE;
	else if (ret == -X86_ERESTARTSYS || ret == -X86_ERESTARTNOINTR ||
		 ret == -X86_ERESTARTNOHAND || ret == -X86_ERESTART_RESTARTBLOCK)
		*ret_fixup = SV_SYSCALL_RESTART;
	else
		return g_bytes_ref(pt_regs);
	gsize len;
	const void *data = g_bytes_get_data(pt_regs, &len);
	g_autofree guint8 *raw = g_memdup2(data, len);
	if (!sv_arch_struct_set(types, "pt_regs", "ax", raw, len, orig_ax, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "ip", raw, len, ip - X86_SYSCALL_INSN_LEN, error))
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* ---- FPU registers from QEMU's "info registers" (target/i386/cpu-dump.c) ---- */

static gboolean hex_field(const char *text, const char *key, guint digits, guint64 *ret,
			  const char **ret_end)
{
	const char *p = strstr(text, key);
	if (!p)
		return FALSE;
	p += strlen(key);
	guint64 v = 0;
	for (guint i = 0; i < digits; i++) {
		int d = g_ascii_xdigit_value(p[i]);
		if (d < 0)
			return FALSE;
		v = v << 4 | (guint64)d;
	}
	*ret = v;
	if (ret_end)
		*ret_end = p + digits;
	return TRUE;
}

/* Vector register i of the dump, q[0] least significant: YMMnn as four
 * quadwords, most significant first, when the guest enabled AVX in XCR0
 * (*ret_ymm), XMMnn as one 128-bit number otherwise (q[2], q[3] zero). */
static gboolean monitor_vector(const char *text, guint i, guint64 q[4], gboolean *ret_ymm)
{
	char key[8];
	const char *end;
	g_snprintf(key, sizeof(key), "YMM%02u=", i);
	if (hex_field(text, key, 16, &q[3], &end)) {
		for (int k = 2; k >= 0; k--) {
			if (*end != ' ' || !hex_field(end, " ", 16, &q[k], &end))
				return FALSE;
		}
		*ret_ymm = TRUE;
		return TRUE;
	}
	q[2] = q[3] = 0;
	*ret_ymm = FALSE;
	g_snprintf(key, sizeof(key), "XMM%02u=", i);
	return hex_field(text, key, 16, &q[1], &end) && hex_field(end, "", 16, &q[0], NULL);
}

/*
 * The part of an XSAVE image QEMU 7.2's gdbstub cannot give (see
 * x86_64-gdb.c), from the same "info registers" text: the abridged x87 tag
 * word (the stub always sends ftag 0) and the upper halves of YMM0-15 with
 * whether the guest enabled AVX in XCR0 (the stub has no AVX feature).
 * Writes FTW into x[4] and, with AVX, YMM_Hi128 at its standard offset and
 * bit 2 of *features. This is the one reason left to read HMP text.
 */
gboolean sv_x86_monitor_avx_and_tags(const char *text, guint8 *x, guint64 *features, GError **error)
{
	guint64 ftw;
	if (!hex_field(text, "FTW=", 2, &ftw, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: QEMU's register dump lacks FTW");
		return FALSE;
	}
	x[4] = (guint8)ftw;
	for (guint i = 0; i < 16; i++) {
		guint64 q[4];
		gboolean ymm;
		if (!monitor_vector(text, i, q, &ymm)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "x86_64: QEMU's register dump lacks vector register %u", i);
			return FALSE;
		}
		if (!ymm)
			continue;
		*features |= 0x4;
		sv_put_le64(x + 576 + 16 * i, q[2]);
		sv_put_le64(x + 584 + 16 * i, q[3]);
	}
	return TRUE;
}

/*
 * What a CPU needs to load an XSAVE image, component by component, in
 * QEMU's CPU property names. x87 and SSE are every x86-64 CPU's; the rest
 * also need XSAVE itself, since only XRSTOR loads them (sigreturn falls
 * back to FXRSTOR without it, which would silently drop them).
 */
static const SvCpuNeed need_x87 = { "x87", { "fpu", NULL } };
static const SvCpuNeed need_sse = { "SSE", { "sse", "sse2", NULL } };
static const SvCpuNeed need_avx = { "AVX", { "xsave", "avx", NULL } };
static const SvCpuNeed need_mpx = { "MPX", { "xsave", "mpx", NULL } };
static const SvCpuNeed need_avx512 = { "AVX-512", { "xsave", "avx512f", NULL } };
static const SvCpuNeed need_pkru = { "PKRU (protection keys)", { "xsave", "pku", NULL } };

static const SvCpuNeed *const xsave_needs[] = {
	[0] = &need_x87,    [1] = &need_sse,	[2] = &need_avx,
	[3] = &need_mpx,    [4] = &need_mpx,	[5] = &need_avx512,
	[6] = &need_avx512, [7] = &need_avx512, [9] = &need_pkru,
};

gboolean sv_x86_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
			      GError **error)
{
	if (fpu_size < XSAVE_EXTENDED) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: the snapshot's FPU state is %" G_GSIZE_FORMAT
			    " bytes, less than an XSAVE image",
			    fpu_size);
		return FALSE;
	}
	/* a 64-bit process always has x87 and SSE state, in its init state or not */
	features |= 0x3;
	for (guint i = 0; i < 64; i++) {
		if (!(features & (1ull << i)))
			continue;
		const SvCpuNeed *need = i < G_N_ELEMENTS(xsave_needs) ? xsave_needs[i] : NULL;
		if (!need) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
				    "x86_64: the snapshot's FPU state uses XSAVE component %u, "
				    "which snapvm cannot restore",
				    i);
			return FALSE;
		}
		if (!g_ptr_array_find(ret_needs, need, NULL))
			g_ptr_array_add(ret_needs, (gpointer)need);
	}
	return TRUE;
}
