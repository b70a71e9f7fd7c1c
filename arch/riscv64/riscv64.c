/* SPDX-License-Identifier: MIT */
/* riscv64.c - the riscv64 ops table: board facts, kernel address
 * translation and page-table entries. */
#include <elf.h>

#include "arch/arch-tables.h"
#include "arch/riscv64/riscv64-private.h"
#include "base/guest-mem.h"
#include "base/kallsyms.h"

/* QEMU's "virt" board maps all RAM in one block at 2 GiB (hw/riscv/virt.c);
 * OpenSBI sits at its start and the kernel is loaded 2 MiB in. */
#define VIRT_RAM_BASE 0x80000000ull

static guint riscv64_virt_ram_layout(guint64 ram_size, SvRamRegion *regions)
{
	regions[0] = (SvRamRegion){ .gpa = sv_gpa(VIRT_RAM_BASE), .size = ram_size };
	return 1;
}

/*
 * Kernel address translation (arch/riscv/include/asm/page.h, 6.x, 4 KiB
 * pages, not relocatable): the image runs at KERNEL_LINK_ADDR (the top
 * 2 GiB) from wherever it was loaded; the linear map is
 * PA - phys_ram_base + PAGE_OFFSET. PAGE_OFFSET depends on the paging mode
 * the kernel picked at boot (Sv57, else Sv48, else Sv39: as much as the CPU
 * offers unless no5lvl/no4lvl), so it is read from the guest -
 * kernel_map.page_offset, the struct's first member - and it names the
 * number of page-table levels too.
 */
#define KERNEL_LINK_ADDR 0xffffffff80000000ull
static const struct {
	guint64 page_offset;
	guint levels;
} paging_modes[] = {
	{ 0xff60000000000000ull, 5 }, /* Sv57 */
	{ 0xffffaf8000000000ull, 4 }, /* Sv48 */
	{ 0xffffffd600000000ull, 3 }, /* Sv39 since 6.4 */
	{ 0xffffffd800000000ull, 3 }, /* Sv39 before */
};

/* A kernel-image variable's value, read where the image lies in RAM. */
static gboolean read_image_u64(const SvKernelSpace *ks, const SvGuestMem *mem,
			       const SvKallsyms *syms, const char *name, guint64 *ret,
			       GError **error)
{
	guint64 va;
	guint8 raw[8];
	if (!sv_kallsyms_lookup(syms, name, &va, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "riscv64: the kernel has no symbol %s (CONFIG_KALLSYMS_ALL?)", name);
		return FALSE;
	}
	if (va < ks->image_va_base || va - ks->image_va_base >= ks->image_span) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "riscv64: %s is not in the kernel image", name);
		return FALSE;
	}
	if (!sv_guest_mem_read(mem, sv_gpa(va - ks->image_va_base + ks->image_pa_base), raw, 8,
			       error))
		return FALSE;
	*ret = sv_get_le64(raw);
	return TRUE;
}

static gboolean riscv64_kernel_space_init(SvKernelSpace *ks, const SvGuestMem *mem,
					  const SvKallsyms *syms, GBytes *kernel_file,
					  GError **error)
{
	if (!sv_arch_find_kernel_image(mem, VIRT_RAM_BASE, kernel_file, &ks->image_pa_base,
				       error)) {
		g_prefix_error(error, "riscv64: ");
		return FALSE;
	}
	ks->image_va_base = KERNEL_LINK_ADDR;
	ks->image_span = MIN((guint64)g_bytes_get_size(kernel_file) + (64ull << 20), 256ull << 20);
	guint64 page_offset, ram_base;
	if (!read_image_u64(ks, mem, syms, "kernel_map", &page_offset, error) ||
	    !read_image_u64(ks, mem, syms, "phys_ram_base", &ram_base, error))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(paging_modes); i++) {
		if (paging_modes[i].page_offset == page_offset) {
			ks->pt_levels = paging_modes[i].levels;
			ks->direct_map_base = page_offset - ram_base;
			return TRUE;
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
		    "riscv64: kernel_map.page_offset 0x%" G_GINT64_MODIFIER
		    "x is none of Sv39's, Sv48's or Sv57's",
		    page_offset);
	return FALSE;
}

static gboolean riscv64_kernel_va_to_pa(const SvKernelSpace *ks, guint64 va, SvGpa *ret_pa,
					GError **error)
{
	/* the linear map runs from PAGE_OFFSET for as much RAM as there is (a
	 * guest has far less than 64 GiB; guest-memory reads check the rest) */
	return sv_arch_image_or_linear_va_to_pa("riscv64", ks, ks->direct_map_base + VIRT_RAM_BASE,
						64ull << 30, va, ret_pa, error);
}

/*
 * Sv39/48/57 entries (privileged spec; arch/riscv/include/asm/pgtable-bits.h):
 * V (bit 0); R, W, X (bits 1-3) - any of them makes a leaf, none a pointer to
 * the next table; the PPN in bits 10-53 (above: Svpbmt/Svnapot bits). A
 * PROT_NONE page has V clear and _PAGE_PROT_NONE (= _PAGE_GLOBAL, bit 5) set.
 */
#define RV_PTE_V (1ull << 0)
#define RV_PTE_RWX (7ull << 1)
#define RV_PTE_PROT_NONE (1ull << 5)
#define RV_PTE_PPN(e) (((e) >> 10) & ((1ull << 44) - 1))

static void riscv64_decode_pte(guint64 e, guint level, SvPte *ret)
{
	gboolean protnone = !(e & RV_PTE_V) && (e & RV_PTE_PROT_NONE);
	ret->present = (e & RV_PTE_V) || protnone;
	ret->leaf = level == 0 || (e & RV_PTE_RWX) || protnone;
	guint64 pa = RV_PTE_PPN(e) << 12;
	if (ret->leaf && level > 0)
		pa &= ~((1ull << (12 + 9 * level)) - 1);
	ret->pa = pa;
}

static const SvQemuBoard riscv64_qemu_board = {
	.emulator = "qemu-system-riscv64",
	.package = "qemu-system-misc",
	.machine = "virt",
	.libvirt_arch = "riscv64",
	/* QEMU's generic RV64GC (I, M, A, F, D, C, Zicsr, Zifencei, Sv57): no
	 * vector extension, so no task ever has V state a restore target could
	 * lack; every RV64GC board running Linux has the rest. */
	.default_cpu = "rv64",
	.max_cpu_summary = "rv64 with the vector extension V (a process that used V cannot be "
			   "checkpointed)",
	/* libvirt 9 has no riscv64 CPU driver, and QEMU 7.2 no "max" model */
	.qemu_arg_max_cpu = "rv64,v=true,vlen=128,elen=64",
	.console = "ttyS0",
	.cmdline = "",
	.ram_layout = riscv64_virt_ram_layout,
};

const SvArchOps sv_arch_riscv64 = {
	.name = "riscv64",
	.debian_arch = "riscv64",
	.elf_machine = EM_RISCV,
	.page_size = 4096,
	.kernel_link_base = KERNEL_LINK_ADDR,
	.kernel_thread_size = 16384, /* THREAD_SIZE_ORDER 2, no KASAN */
	.qemu = &riscv64_qemu_board,
	.kvm = NULL, /* the kvm backend has no riscv64 board */
	.gdb_vcpu_regs = sv_riscv64_gdb_vcpu_regs,
	.kernel_space_init = riscv64_kernel_space_init,
	.kernel_va_to_pa = riscv64_kernel_va_to_pa,
	.decode_pte = riscv64_decode_pte,
	.named_regs = sv_riscv64_named_regs,
	.task_fpu = sv_riscv64_task_fpu,
	.task_tls = sv_riscv64_task_tls,
	.vcpu_user_state = sv_riscv64_vcpu_user_state,
	.vcpu_fpu_complete = sv_riscv64_vcpu_fpu_complete,
	.syscall_fixup = sv_riscv64_syscall_fixup,
	.fpu_cpu_needs = sv_riscv64_fpu_cpu_needs,
};
