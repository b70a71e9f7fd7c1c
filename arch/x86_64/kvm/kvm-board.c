/* SPDX-License-Identifier: MIT */
/*
 * kvm-board.c - the x86_64 board of the kvm backend: a PC without firmware
 * or PCI. KVM's in-kernel PIC, IOAPIC, LAPICs and PIT; three of the PC's
 * four legacy UARTs; the kernel entered through its PVH note with ACPI
 * tables for the vCPUs and the virtio-mmio devices (and an MP table for
 * acpi=off); the reset lines of the keyboard
 * controller and of port 0xcf9.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "arch/x86_64/x86_64-private.h"
#include "base/errors.h"

/* Below 4 GiB, above any RAM the pc layout puts there (< 0xe0000000): the
 * pages VMX needs for real-mode emulation (unused on AMD, harmless). */
#define KVM_TSS_ADDR 0xfffbd000ul
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ul

/* Ports the kernel touches that need an answer other than "nothing here". */
#define PORT_KBD_STATUS 0x64 /* i8042: write 0xfe pulses the CPU reset line */
#define PORT_RESET_CF9 0xcf9 /* PCI reset control */
#define KBD_CMD_RESET 0xfe

/* What the board keeps per VM. */
typedef struct PcState {
	struct kvm_cpuid2 *cpuid;  /* the model every vCPU gets */
	guint32 entry, start_info; /* the PVH entry, for the boot vCPU */
} PcState;

static const SvKvmCap pc_caps[] = {
	{ KVM_CAP_IRQCHIP, "an in-kernel interrupt controller" },
	{ KVM_CAP_PIT2, "an in-kernel PIT" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_XSAVE, "KVM_GET_XSAVE" },
	{ KVM_CAP_XCRS, "KVM_GET_XCRS" },
	{ KVM_CAP_MP_STATE, "multiprocessor state" },
	{ 0, NULL },
};

void *sv_x86_kvm_gpa(const SvKvmVm *vm, guint64 gpa, gsize len)
{
	for (guint i = 0; i < vm->n_regions; i++) {
		const SvRamRegion *r = &vm->regions[i];
		guint64 start = r->gpa.v;
		if (gpa >= start && gpa - start <= r->size && len <= r->size - (gpa - start))
			return vm->ram + r->file_offset + (gpa - start);
	}
	return NULL;
}

static gboolean pc_offers_cpu_model(int kvm_fd, GError **error)
{
	g_autofree struct kvm_cpuid2 *sup = sv_x86_kvm_cpuid_supported(kvm_fd, error);
	return sup && sv_x86_kvm_cpuid_covers_model(sup, error);
}

static gboolean pc_setup_vm(SvKvmVm *vm, GError **error)
{
	struct kvm_pit_config pit = { .flags = 0 };
	guint64 identity = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "setting up the VM's interrupt controllers and timer: %s",
			    g_strerror(errno));
		return FALSE;
	}
	g_autofree struct kvm_cpuid2 *sup = sv_x86_kvm_cpuid_supported(vm->kvm_fd, error);
	if (!sup)
		return FALSE;
	/* A host whose KVM offers less than the model (seen: a nested
	 * hypervisor offering no AVX, not even SSE3) gives the guest that
	 * subset: still a CPU that TCG's model covers, so what runs here
	 * restores there. */
	PcState *pc = g_new0(PcState, 1);
	pc->cpuid = sv_x86_kvm_cpuid_model(sup);
	vm->board_data = pc;
	return TRUE;
}

static gboolean pc_load(SvKvmVm *vm, const char *kernel, const char *initrd, const char *cmdline,
			GError **error)
{
	PcState *pc = vm->board_data;
	guint32 rsdp = 0;
	return sv_x86_kvm_mptable_write(vm, error) && sv_x86_kvm_acpi_write(vm, &rsdp, error) &&
	       sv_x86_kvm_boot_load(vm, kernel, initrd, cmdline, rsdp, &pc->entry, &pc->start_info,
				    error);
}

/*
 * XCR0 set up front to what the guest kernel will set (x87|SSE|AVX), not
 * the reset value 1. Nested SVM under QEMU TCG (how CI runs this backend)
 * does not trap the guest's XSETBV, so KVM never learns the guest's XCR0
 * and keeps answering CPUID 0xd's EBX with the size for x87|SSE alone;
 * Linux then finds its XSAVE layout inconsistent ("XSAVE consistency
 * problem"), falls back to FXSAVE and drops AVX. Given the value first,
 * KVM's view is right from the start. Elsewhere it is harmless: XCR0
 * means nothing until the guest sets CR4.OSXSAVE, and it writes its own
 * XCR0 then (trapped, as usual).
 */
static gboolean preset_xcr0(const struct kvm_cpuid2 *model, int vcpu_fd, guint index,
			    GError **error)
{
	guint64 xcr0 = sv_x86_kvm_cpuid_xcr0(model);
	if (!xcr0)
		return TRUE;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xcr0 } } };
	if (ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "KVM_SET_XCRS (XCR0 0x%" G_GINT64_MODIFIER "x) on vCPU %u: %s", xcr0,
			    index, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean pc_setup_vcpu(const SvKvmVm *vm, int vcpu_fd, guint index, GError **error)
{
	const PcState *pc = vm->board_data;
	if (!sv_x86_kvm_cpuid_set(pc->cpuid, vcpu_fd, index, error) ||
	    !preset_xcr0(pc->cpuid, vcpu_fd, index, error))
		return FALSE;
	return index != 0 || sv_x86_kvm_boot_enter(vcpu_fd, pc->entry, pc->start_info, error);
}

/* Linux's reboot=k and reboot=p paths. */
static gboolean pc_port_write_resets(guint16 port, guint8 value)
{
	return (port == PORT_KBD_STATUS && value == KBD_CMD_RESET) ||
	       (port == PORT_RESET_CF9 && (value & 0x04));
}

/* No device: the bus floats high, except the i8042 status, which reads
 * "idle" so the kernel's reset path does not spin waiting for it. */
static guint8 pc_port_read_idle(guint16 port)
{
	return port == PORT_KBD_STATUS ? 0x00 : 0xff;
}

const SvKvmBoard sv_x86_64_kvm_board = {
	.caps = pc_caps,
	/* the same as QEMU's pc board (x86_64.c) */
	.ram_layout = sv_x86_pc_ram_layout,
	/*
	 * The PC's COM1-3, at the ports and IRQs Linux's 8250 driver probes
	 * without any firmware table; COM1 and COM3 share IRQ 4, as on a PC.
	 */
	.console = { .port = 0x3f8, .irq = 4, .tty = "ttyS0" },
	.agent = { .port = 0x2f8, .irq = 3, .tty = "ttyS1" },
	.agent_control = { .port = 0x3e8, .irq = 4, .tty = "ttyS2" },
	/* as on QEMU's board (x86_64.c): the kernel where it was linked */
	.cmdline = "nokaslr",
	/* reboot=k: the agent ends a guest by restarting it, and the keyboard
	 * controller's reset is the one this board has. No PCI bus. No CMOS
	 * RTC either: rtc_cmos's probe of the floating ports spun about 4 s
	 * of a 20 s boot under nested KVM before giving up, so it is not run
	 * (the guest's wall clock starts at the epoch either way). */
	.board_cmdline = "reboot=k pci=off initcall_blacklist=cmos_init",
	/* just above the most RAM the pc layout puts below 4 GiB; ISA IRQ 5,
	 * which the MADT and the MP table route and no UART uses; the DSDT
	 * declares it (acpi.c) */
	.virtio_mmio_base = 0xe0000000ull,
	.virtio_mmio_irq = 5,
	.offers_cpu_model = pc_offers_cpu_model,
	.setup_vm = pc_setup_vm,
	.load = pc_load,
	.setup_vcpu = pc_setup_vcpu,
	.port_write_resets = pc_port_write_resets,
	.port_read_idle = pc_port_read_idle,
	.read_vcpu_regs = sv_x86_kvm_read_vcpu_regs,
};
