/* SPDX-License-Identifier: MIT */
/* ppc64le.c - the ppc64le ops table: the pseries board and kernel address
 * translation. */
#include <elf.h>

#include "arch/arch-tables.h"
#include "arch/ppc64le/ppc64le-private.h"

/* pseries maps RAM in one block from guest-physical 0 (hw/ppc/spapr.c). */
static guint ppc64le_pseries_ram_layout(guint64 ram_size, SvRamRegion *regions)
{
	regions[0] = (SvRamRegion){ .gpa = sv_gpa(0), .size = ram_size };
	return 1;
}

/*
 * Kernel address translation (arch/powerpc/include/asm/page.h, Book3S-64):
 * the kernel runs at physical 0 (a relocatable ppc64 kernel copies itself
 * there at boot) and its image is part of the linear map at PAGE_OFFSET =
 * KERNELBASE = 0xc000000000000000, so one window covers both.
 */
#define PAGE_OFFSET 0xc000000000000000ull
#define LINEAR_SPAN (1ull << 46)

static gboolean ppc64le_kernel_space_init(SvKernelSpace *ks, const struct SvGuestMem *mem,
					  const struct SvKallsyms *syms, GBytes *kernel_file,
					  GError **error)
{
	ks->image_pa_base = 0;
	ks->image_va_base = PAGE_OFFSET;
	ks->image_span = MIN((guint64)g_bytes_get_size(kernel_file) + (64ull << 20), 256ull << 20);
	ks->direct_map_base = PAGE_OFFSET;
	ks->pt_levels = 4; /* radix, 4 KiB pages: 13 + 9 + 9 + 9 index bits */
	ks->top_level_bits = 13;
	return TRUE;
}

static gboolean ppc64le_kernel_va_to_pa(const SvKernelSpace *ks, guint64 va, SvGpa *ret_pa,
					GError **error)
{
	return sv_arch_image_or_linear_va_to_pa("ppc64le", ks, PAGE_OFFSET, LINEAR_SPAN, va, ret_pa,
						error);
}

/*
 * Radix tree entries (asm/book3s/64/pgtable.h, radix.h), stored big-endian
 * whatever the kernel's byte order: _PAGE_PRESENT (bit 63) or _PAGE_INVALID
 * (bit 61: present while the kernel changes it) maps something - a
 * PROT_NONE page is present and privileged; _PAGE_PTE (bit 62) makes a
 * leaf at any level. A leaf's real page number is bits 12-55, a directory
 * entry's next table bits 8-55 (its low bits hold the table's size).
 */
#define R_PAGE_PRESENT (1ull << 63)
#define R_PAGE_PTE (1ull << 62)
#define R_PAGE_INVALID (1ull << 61)
#define R_LEAF_PA 0x00fffffffffff000ull
#define R_TABLE_PA 0x00ffffffffffff00ull

static void ppc64le_decode_pte(guint64 raw, guint level, SvPte *ret)
{
	guint64 e = GUINT64_SWAP_LE_BE(raw);
	ret->present = (e & (R_PAGE_PRESENT | R_PAGE_INVALID)) != 0;
	ret->leaf = level == 0 || (e & R_PAGE_PTE);
	guint64 pa = e & (ret->leaf ? R_LEAF_PA : R_TABLE_PA);
	if (ret->leaf && level > 0)
		pa &= ~((1ull << (12 + 9 * level)) - 1);
	ret->pa = pa;
}

/* QEMU's virtual Open Firmware instead of SLOF: a boot in 2.8 s instead of
 * 10 under TCG (the kernel needs only the device tree it hands over). */
static const char *const ppc64le_qemu_args[] = { "-machine", "x-vof=on", NULL };

static const SvQemuBoard ppc64le_qemu_board = {
	.emulator = "qemu-system-ppc64",
	.package = "qemu-system-ppc",
	.machine = "pseries",
	.libvirt_arch = "ppc64le",
	/* POWER9: what Debian's ppc64el baseline (POWER8) runs on with the
	 * radix MMU; POWER10 adds MMA/prefixed instructions a restore target
	 * might lack */
	.default_cpu = "power9",
	.max_cpu_summary = "POWER10 (a process whose state it uses beyond POWER9's cannot be "
			   "restored on the default)",
	/* libvirt refuses TCG CPU models for pseries it cannot compare */
	.qemu_arg_max_cpu = "power10",
	.qemu_args = ppc64le_qemu_args,
	.console = "hvc0",
	.cmdline = "",
	.ram_layout = ppc64le_pseries_ram_layout,
};

const SvArchOps sv_arch_ppc64le = {
	.name = "ppc64le",
	.debian_arch = "ppc64el",
	.elf_machine = EM_PPC64,
	.page_size = 4096,
	.kernel_link_base = PAGE_OFFSET,
	.kernel_thread_size = 32768, /* THREAD_SHIFT 15 */
	.qemu = &ppc64le_qemu_board,
	.kvm = NULL,
	.gdb_vcpu_regs = sv_ppc64le_gdb_vcpu_regs,
	.kernel_space_init = ppc64le_kernel_space_init,
	.kernel_va_to_pa = ppc64le_kernel_va_to_pa,
	.decode_pte = ppc64le_decode_pte,
	.named_regs = sv_ppc64le_named_regs,
	.task_fpu = sv_ppc64le_task_fpu,
	.task_tls = sv_ppc64le_task_tls,
	.vcpu_user_state = sv_ppc64le_vcpu_user_state,
	.vcpu_fpu_complete = sv_ppc64le_vcpu_fpu_complete,
	.syscall_fixup = sv_ppc64le_syscall_fixup,
	.fpu_cpu_needs = sv_ppc64le_fpu_cpu_needs,
};
