/* SPDX-License-Identifier: MIT */
/* arch.c - the registry of per-arch ops tables and the helpers around them. */
#include "snapvm/arch.h"

#include <elf.h>
#include <string.h>

#include "arch/arch-tables.h"
#include "snapvm/kvm-board.h"
#include "base/guest-mem.h"
#include "base/kernel-types.h"

static const SvArchOps *const all_arches[] = {
	&sv_arch_x86_64, &sv_arch_aarch64, &sv_arch_riscv64, &sv_arch_ppc64le, NULL,
};

/* Required members are asserted once: a table missing one is a build bug,
 * not something a user or a guest can cause. */
static void check_registry(void)
{
	static gsize checked;
	if (!g_once_init_enter(&checked))
		return;
	for (const SvArchOps *const *a = all_arches; *a; a++) {
		const SvArchOps *ops = *a;
		g_assert(ops->name && ops->debian_arch && ops->elf_machine && ops->page_size);
		g_assert(ops->qemu && ops->qemu->emulator && ops->qemu->machine &&
			 ops->qemu->ram_layout && ops->qemu->default_cpu && ops->qemu->console);
		/* a kvm board is optional; one that is there is whole */
		g_assert(!ops->kvm ||
			 (ops->kvm->caps && ops->kvm->ram_layout && ops->kvm->cmdline &&
			  ops->kvm->board_cmdline && ops->kvm->console.tty && ops->kvm->agent.tty &&
			  ops->kvm->agent_control.tty && ops->kvm->offers_cpu_model &&
			  ops->kvm->setup_vm && ops->kvm->load && ops->kvm->setup_vcpu &&
			  ops->kvm->port_write_resets && ops->kvm->port_read_idle &&
			  ops->kvm->read_vcpu_regs));
		g_assert(ops->kernel_thread_size);
	}
	g_once_init_leave(&checked, 1);
}

const SvArchOps *const *sv_arch_all(void)
{
	check_registry();
	return all_arches;
}

const char *sv_arch_names(void)
{
	static gchar *names;
	if (g_once_init_enter(&names)) {
		GString *s = g_string_new(NULL);
		for (const SvArchOps *const *a = sv_arch_all(); *a; a++)
			g_string_append_printf(s, "%s%s", s->len ? ", " : "", (*a)->name);
		g_once_init_leave(&names, g_string_free(s, FALSE));
	}
	return names;
}

const SvArchOps *sv_arch_lookup(const char *name, GError **error)
{
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++) {
		if (g_strcmp0((*a)->name, name) == 0)
			return *a;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
		    "unknown architecture '%s' (known: %s)", name ? name : "(none)",
		    sv_arch_names());
	return NULL;
}

const SvArchOps *sv_arch_by_elf_machine(guint16 machine)
{
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++) {
		if ((*a)->elf_machine == machine)
			return *a;
	}
	return NULL;
}

const char *sv_arch_elf_machine_name(guint16 machine)
{
	const SvArchOps *a = sv_arch_by_elf_machine(machine);
	if (a)
		return a->name;
	/* machines a user may well hand us by mistake */
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_ARM:
		return "arm (32-bit)";
	case EM_PPC64:
		return "ppc64";
	case EM_RISCV:
		return "riscv";
	default:
		return "an unknown machine";
	}
}

const SvArchOps *sv_arch_host(void)
{
#if defined(__x86_64__)
	return &sv_arch_x86_64;
#elif defined(__aarch64__)
	return &sv_arch_aarch64;
#else
	return &sv_arch_x86_64;
#endif
}

gboolean sv_vcpu_regs_get(const SvVcpuRegs *regs, const char *name, guint64 *value)
{
	for (guint i = 0; i < regs->count; i++) {
		if (g_strcmp0(regs->regs[i].name, name) == 0) {
			*value = regs->regs[i].value;
			return TRUE;
		}
	}
	return FALSE;
}

void sv_vcpu_regs_add(SvVcpuRegs *regs, const char *name, guint64 value)
{
	if (regs->count >= SV_VCPU_REGS_MAX)
		return;
	g_strlcpy(regs->regs[regs->count].name, name, sizeof(regs->regs[0].name));
	regs->regs[regs->count].value = value;
	regs->count++;
}

gboolean sv_arch_gdb_read_uint(const SvGdbRegReader *rd, const char *name, guint bytes,
			       guint64 *ret, GError **error)
{
	guint8 b[8];
	g_assert(bytes <= sizeof(b));
	if (!rd->read(rd->ctx, name, b, bytes, error))
		return FALSE;
	*ret = sv_get_le(b, bytes);
	return TRUE;
}

static gboolean missing_hook(const SvArchOps *arch, const char *hook, GError **error)
{
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
		    "%s: %s is not implemented for this architecture yet", arch->name, hook);
	return FALSE;
}

gboolean sv_arch_gdb_vcpu_regs(const SvArchOps *arch, const SvGdbRegReader *rd, SvVcpuRegs *out,
			       GError **error)
{
	if (!arch->gdb_vcpu_regs)
		return missing_hook(arch, "vCPU registers from a gdbstub", error);
	return arch->gdb_vcpu_regs(rd, out, error);
}

gboolean sv_arch_kernel_space_init(const SvArchOps *arch, SvKernelSpace *ks,
				   const struct SvGuestMem *mem, const struct SvKallsyms *syms,
				   GBytes *kernel_file, GError **error)
{
	if (!arch->kernel_space_init)
		return missing_hook(arch, "kernel address translation", error);
	return arch->kernel_space_init(ks, mem, syms, kernel_file, error);
}

gboolean sv_arch_kernel_va_to_pa(const SvArchOps *arch, const SvKernelSpace *ks, guint64 va,
				 SvGpa *ret_pa, GError **error)
{
	if (!arch->kernel_va_to_pa)
		return missing_hook(arch, "kernel address translation", error);
	return arch->kernel_va_to_pa(ks, va, ret_pa, error);
}

gboolean sv_arch_decode_pte(const SvArchOps *arch, guint64 entry, guint level, SvPte *ret,
			    GError **error)
{
	if (!arch->decode_pte)
		return missing_hook(arch, "page-table walk", error);
	*ret = (SvPte){ 0 }; /* what an arch does not decode is FALSE */
	arch->decode_pte(entry, level, ret);
	return TRUE;
}

GVariant *sv_arch_named_regs(const SvArchOps *arch, const struct SvKernelTypes *types,
			     GBytes *pt_regs, GError **error)
{
	if (!arch->named_regs) {
		missing_hook(arch, "register names", error);
		return NULL;
	}
	return arch->named_regs(types, pt_regs, error);
}

gboolean sv_arch_task_fpu(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			  SvFpuState *ret, GError **error)
{
	if (!arch->task_fpu)
		return missing_hook(arch, "FPU/SIMD state", error);
	return arch->task_fpu(rd, task, ret, error);
}

GVariant *sv_arch_task_tls(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			   GError **error)
{
	if (!arch->task_tls) {
		missing_hook(arch, "TLS registers", error);
		return NULL;
	}
	return arch->task_tls(rd, task, error);
}

gboolean sv_arch_vcpu_user_state(const SvArchOps *arch, const struct SvKernelTypes *types,
				 const SvVcpuRegs *vcpu, GBytes **ret_pt_regs, GVariant **ret_tls,
				 SvFpuState *ret_fpu, GError **error)
{
	if (!arch->vcpu_user_state)
		return missing_hook(arch, "user state from a vCPU", error);
	return arch->vcpu_user_state(types, vcpu, ret_pt_regs, ret_tls, ret_fpu, error);
}

gboolean sv_arch_vcpu_fpu_complete(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
				   const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error)
{
	return !arch->vcpu_fpu_complete || arch->vcpu_fpu_complete(rd, task, vcpu, fpu, error);
}

GBytes *sv_arch_syscall_fixup(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			      GBytes *pt_regs, SvSyscallFixup *ret_fixup, GError **error)
{
	if (!arch->syscall_fixup) {
		missing_hook(arch, "syscall restart", error);
		return NULL;
	}
	return arch->syscall_fixup(rd, task, pt_regs, ret_fixup, error);
}

gboolean sv_arch_fpu_cpu_needs(const SvArchOps *arch, guint64 features, gsize fpu_size,
			       GPtrArray *ret_needs, GError **error)
{
	if (!arch->fpu_cpu_needs)
		return missing_hook(arch, "CPU features of FPU/SIMD state", error);
	return arch->fpu_cpu_needs(features, fpu_size, ret_needs, error);
}

void sv_fpu_state_clear(SvFpuState *fpu)
{
	g_clear_pointer(&fpu->raw, g_bytes_unref);
	fpu->features = 0;
	fpu->format = NULL;
}

const char *sv_syscall_fixup_str(SvSyscallFixup f)
{
	switch (f) {
	case SV_SYSCALL_NONE:
		return "none";
	case SV_SYSCALL_REEXECUTE:
		return "reexecute";
	case SV_SYSCALL_RESTART:
		return "restart";
	case SV_SYSCALL_EINTR:
		return "eintr";
	}
	return "unknown";
}

/* Where member_path of type lies in a raw struct of len bytes. */
static gboolean member_span(const struct SvKernelTypes *types, const char *type,
			    const char *member_path, gsize len, guint64 *ret_off, guint64 *ret_size,
			    GError **error)
{
	if (!sv_kernel_types_offset(types, type, member_path, ret_off, error) ||
	    !sv_kernel_types_size(types, type, member_path, ret_size, error))
		return FALSE;
	guint64 size = *ret_size, off = *ret_off;
	if ((size != 8 && size != 4 && size != 2 && size != 1) || off > len || size > len - off) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "%s.%s (%" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT
			    ") does not fit a %" G_GSIZE_FORMAT "-byte %s",
			    type, member_path, size, off, len, type);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_arch_struct_set(const struct SvKernelTypes *types, const char *type,
			    const char *member_path, guint8 *raw, gsize len, guint64 value,
			    GError **error)
{
	guint64 off, size;
	if (!member_span(types, type, member_path, len, &off, &size, error))
		return FALSE;
	sv_put_le(raw + off, value, (unsigned)size);
	return TRUE;
}

gboolean sv_arch_read_member(const SvKernelReader *rd, guint64 base, const char *type,
			     const char *path, void *buf, gsize want, GError **error)
{
	guint64 off, size;
	if (!sv_kernel_types_offset(rd->types, type, path, &off, error) ||
	    !sv_kernel_types_size(rd->types, type, path, &size, error))
		return FALSE;
	if (size != want) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "%s.%s is %" G_GUINT64_FORMAT
			    " bytes in the guest kernel, not %" G_GSIZE_FORMAT,
			    type, path, size, want);
		return FALSE;
	}
	return rd->read(rd->ctx, base + off, buf, want, error);
}

gboolean sv_arch_read_u64(const SvKernelReader *rd, guint64 base, const char *type,
			  const char *path, guint64 *ret, GError **error)
{
	guint64 v;
	if (!sv_arch_read_member(rd, base, type, path, &v, 8, error))
		return FALSE;
	*ret = GUINT64_FROM_LE(v);
	return TRUE;
}

gboolean sv_arch_read_u32(const SvKernelReader *rd, guint64 base, const char *type,
			  const char *path, guint32 *ret, GError **error)
{
	guint32 v;
	if (!sv_arch_read_member(rd, base, type, path, &v, 4, error))
		return FALSE;
	*ret = GUINT32_FROM_LE(v);
	return TRUE;
}

gboolean sv_arch_struct_member(const struct SvKernelTypes *types, const char *type,
			       const char *member_path, GBytes *raw, guint64 *ret, GError **error)
{
	guint64 off, size;
	gsize len;
	const guint8 *p = g_bytes_get_data(raw, &len);
	if (!member_span(types, type, member_path, len, &off, &size, error))
		return FALSE;
	guint64 v = sv_get_le(p + off, (unsigned)size);
	if (size == 4)
		v = (guint64)(gint64)(gint32)(guint32)v;
	*ret = v;
	return TRUE;
}

/* Share of 64 samples of 64 bytes across the Image's first 16 MiB that
 * equal guest RAM at base: code patched at boot (alternatives, relocations)
 * changes some, but a wrong base matches none. */
static guint image_match_score(const SvGuestMem *mem, guint64 base, const guint8 *file, gsize len)
{
	guint score = 0;
	for (gsize off = 0x10000; off < MIN(len, 16u << 20) - 64; off += 0x40000) {
		const guint8 *in_ram = sv_guest_mem_ptr(mem, sv_gpa(base + off), 64, NULL);
		score += in_ram && memcmp(in_ram, file + off, 64) == 0;
	}
	return score;
}

gboolean sv_arch_find_kernel_image(const SvGuestMem *mem, guint64 ram_base, GBytes *kernel_file,
				   guint64 *ret_base, GError **error)
{
	gsize len;
	const guint8 *file = g_bytes_get_data(kernel_file, &len);
	for (guint64 base = ram_base; len > (1u << 20) && base < ram_base + (256ull << 20);
	     base += 2ull << 20) {
		if (image_match_score(mem, base, file, len) >= 32) {
			*ret_base = base;
			return TRUE;
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
		    "the kernel image is not in the first 256 MiB of guest RAM");
	return FALSE;
}

gboolean sv_arch_image_or_linear_va_to_pa(const char *arch, const SvKernelSpace *ks,
					  guint64 linear_start, guint64 linear_span, guint64 va,
					  SvGpa *ret_pa, GError **error)
{
	if (va >= ks->image_va_base && va - ks->image_va_base < ks->image_span) {
		*ret_pa = sv_gpa(va - ks->image_va_base + ks->image_pa_base);
		return TRUE;
	}
	if (va >= linear_start && va - linear_start < linear_span) {
		*ret_pa = sv_gpa(va - ks->direct_map_base);
		return TRUE;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
		    "%s: kernel address 0x%" G_GINT64_MODIFIER
		    "x is neither in the kernel image nor in the linear map",
		    arch, va);
	return FALSE;
}

/* include/linux/errno.h */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

gboolean sv_arch_is_restart_code(gint64 ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	       ret == -ERESTART_RESTARTBLOCK;
}
