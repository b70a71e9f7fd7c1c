/* SPDX-License-Identifier: MIT */
/*
 * boot-pvh.c - loads the image's uncompressed vmlinux and enters it through
 * its PVH entry (the same path the qemu backend boots), skipping the
 * bzImage decompressor and any firmware.
 *
 * PVH (xen/include/public/arch-x86/hvm/start_info.h, Linux
 * arch/x86/platform/pvh/): the ELF note XEN_ELFNOTE_PHYS32_ENTRY names a
 * 32-bit protected-mode entry; EBX points at an hvm_start_info giving the
 * command line, the initrd as module 0 and the memory map (this is the
 * guest's e820: Linux copies it into boot_params and itself reserves
 * 0xa0000-0x100000).
 *
 * Low memory used here, all below the kernel's 16 MiB load address:
 *   0x6000 start info, 0x6040 module list, 0x6100 memory map,
 *   0x7000 command line, 0x9fc00 MP table (mptable.c), 0xe0000 ACPI
 *   tables (acpi.c; the start info's rsdp_paddr points there).
 * The initrd goes at the top of the RAM below 4 GiB, as QEMU puts it.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/errors.h"

#define START_INFO_ADDR 0x6000u
#define MODLIST_ADDR 0x6040u
#define MEMMAP_ADDR 0x6100u
#define CMDLINE_ADDR 0x7000u
#define CMDLINE_MAX 2048u /* the kernel's COMMAND_LINE_SIZE */
#define EBDA_START 0x9fc00u
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define E820_RAM 1
#define E820_RESERVED 2

struct hvm_start_info {
	guint32 magic;
	guint32 version;
	guint32 flags;
	guint32 nr_modules;
	guint64 modlist_paddr;
	guint64 cmdline_paddr;
	guint64 rsdp_paddr;
	guint64 memmap_paddr;
	guint32 memmap_entries;
	guint32 reserved;
};

struct hvm_modlist_entry {
	guint64 paddr;
	guint64 size;
	guint64 cmdline_paddr;
	guint64 reserved;
};

struct hvm_memmap_table_entry {
	guint64 addr;
	guint64 size;
	guint32 type;
	guint32 reserved;
};

/* Finds the PVH entry among the notes of one PT_NOTE segment. */
static gboolean find_pvh_entry(const guint8 *p, gsize len, guint32 *ret_entry)
{
	gsize off = 0;
	while (off + sizeof(Elf64_Nhdr) <= len) {
		const Elf64_Nhdr *n = (const Elf64_Nhdr *)(p + off);
		gsize name_off = off + sizeof(*n);
		gsize desc_off = name_off + ((n->n_namesz + 3) & ~3u);
		gsize next = desc_off + ((n->n_descsz + 3) & ~3u);
		if (next > len || next <= off)
			return FALSE;
		if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY && n->n_namesz == 4 &&
		    memcmp(p + name_off, "Xen", 4) == 0 && n->n_descsz >= 4) {
			/* a .long or a .quad (_ASM_PTR): the low half either way */
			memcpy(ret_entry, p + desc_off, 4);
			*ret_entry = GUINT32_FROM_LE(*ret_entry);
			return TRUE;
		}
		off = next;
	}
	return FALSE;
}

static gboolean load_elf(const SvKvmVm *vm, const char *path, guint64 *ret_end, guint32 *ret_entry,
			 GError **error)
{
	g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, error);
	if (!f)
		return FALSE;
	const guint8 *data = (const guint8 *)g_mapped_file_get_contents(f);
	gsize size = g_mapped_file_get_length(f);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s is not an ELF kernel (the kvm backend boots the image's "
			    "uncompressed vmlinux through its PVH entry)",
			    path);
		return FALSE;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s is a kernel for another architecture (ELF machine %u); the kvm "
			    "backend runs x86_64 guests only",
			    path, eh->e_machine);
		return FALSE;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (gsize)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s: bad ELF program headers", path);
		return FALSE;
	}
	gboolean have_entry = FALSE;
	guint64 end = 0;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(data + eh->e_phoff);
	for (guint i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_offset > size || ph[i].p_filesz > size - ph[i].p_offset) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "%s: segment %u lies outside the file", path, i);
			return FALSE;
		}
		if (ph[i].p_type == PT_NOTE && !have_entry)
			have_entry = find_pvh_entry(data + ph[i].p_offset, ph[i].p_filesz,
						    ret_entry);
		if (ph[i].p_type != PT_LOAD)
			continue;
		guint8 *dst = sv_x86_kvm_gpa(vm, ph[i].p_paddr, ph[i].p_memsz);
		if (!dst || ph[i].p_filesz > ph[i].p_memsz) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "%s: segment %u (0x%" G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT
				    " bytes) does not fit guest RAM; give the guest more --memory",
				    path, i, (guint64)ph[i].p_paddr, (guint64)ph[i].p_memsz);
			return FALSE;
		}
		memcpy(dst, data + ph[i].p_offset, ph[i].p_filesz);
		/* the memfd starts zeroed, so .bss needs nothing */
		end = MAX(end, ph[i].p_paddr + ph[i].p_memsz);
	}
	if (!have_entry) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); rebuild the image "
			    "with images/build-image.sh",
			    path);
		return FALSE;
	}
	*ret_end = end;
	return TRUE;
}

static guint build_memmap(const SvKvmVm *vm, struct hvm_memmap_table_entry *m)
{
	guint n = 0;
	m[n++] = (struct hvm_memmap_table_entry){ 0, EBDA_START, E820_RAM, 0 };
	m[n++] = (struct hvm_memmap_table_entry){ EBDA_START, 0x100000 - EBDA_START, E820_RESERVED,
						  0 };
	for (guint i = 0; i < vm->n_regions; i++) {
		guint64 start = vm->regions[i].gpa.v, size = vm->regions[i].size;
		if (start == 0) { /* the low region: above the ISA hole */
			start = 0x100000;
			size -= 0x100000;
		}
		m[n++] = (struct hvm_memmap_table_entry){ start, size, E820_RAM, 0 };
	}
	return n;
}

gboolean sv_x86_kvm_boot_load(const SvKvmVm *vm, const char *kernel, const char *initrd,
			      const char *cmdline, guint32 rsdp, guint32 *ret_entry,
			      guint32 *ret_start_info, GError **error)
{
	guint64 kernel_end = 0;
	if (!load_elf(vm, kernel, &kernel_end, ret_entry, error))
		return FALSE;

	g_autoptr(GMappedFile) rd = g_mapped_file_new(initrd, FALSE, error);
	if (!rd)
		return FALSE;
	gsize rd_size = g_mapped_file_get_length(rd);
	guint64 low_end = vm->regions[0].size;
	guint64 rd_addr = (low_end - rd_size) & ~0xfffull;
	if (rd_size > low_end || rd_addr < kernel_end) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the kernel and an initrd of %" G_GSIZE_FORMAT
			    " MiB do not fit in guest RAM; give the guest more --memory",
			    rd_size >> 20);
		return FALSE;
	}
	memcpy(sv_x86_kvm_gpa(vm, rd_addr, rd_size), g_mapped_file_get_contents(rd), rd_size);

	gsize cl = strlen(cmdline);
	if (cl >= CMDLINE_MAX) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "kernel command line longer than %u bytes", CMDLINE_MAX - 1);
		return FALSE;
	}
	memcpy(sv_x86_kvm_gpa(vm, CMDLINE_ADDR, cl + 1), cmdline, cl + 1);

	struct hvm_memmap_table_entry map[SV_RAM_REGIONS_MAX + 2];
	guint n_map = build_memmap(vm, map);
	memcpy(sv_x86_kvm_gpa(vm, MEMMAP_ADDR, sizeof(map)), map, n_map * sizeof(map[0]));
	struct hvm_modlist_entry mod = { .paddr = rd_addr, .size = rd_size };
	memcpy(sv_x86_kvm_gpa(vm, MODLIST_ADDR, sizeof(mod)), &mod, sizeof(mod));
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1, /* has the memory map */
		.nr_modules = 1,
		.modlist_paddr = MODLIST_ADDR,
		.cmdline_paddr = CMDLINE_ADDR,
		.rsdp_paddr = rsdp,
		.memmap_paddr = MEMMAP_ADDR,
		.memmap_entries = n_map,
	};
	memcpy(sv_x86_kvm_gpa(vm, START_INFO_ADDR, sizeof(si)), &si, sizeof(si));
	*ret_start_info = START_INFO_ADDR;
	return TRUE;
}

gboolean sv_x86_kvm_boot_enter(int vcpu_fd, guint32 entry, guint32 start_info, GError **error)
{
	/* The PVH entry state: 32-bit protected mode, paging off, flat 4 GiB
	 * code and data segments, EBX = start info. The other vCPUs wait
	 * (in-kernel LAPIC) for the guest's INIT/SIPI. */
	struct kvm_sregs s;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_GET_SREGS: %s",
			    g_strerror(errno));
		return FALSE;
	}
	struct kvm_segment code = { .base = 0,
				    .limit = 0xffffffff,
				    .selector = 0x10,
				    .type = 0xb,
				    .present = 1,
				    .db = 1,
				    .s = 1,
				    .g = 1 };
	struct kvm_segment data = code;
	data.selector = 0x18;
	data.type = 0x3;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1
	};
	s.cr0 = 0x11; /* PE, ET */
	s.cr4 = 0;
	s.efer = 0;
	struct kvm_regs r = { .rflags = 0x2, .rip = entry, .rbx = start_info };
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "setting the boot vCPU's registers: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}
