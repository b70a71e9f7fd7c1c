/* SPDX-License-Identifier: MIT */
/* kvm-vm.c - /dev/kvm: API and capability checks, the VM, guest RAM and
 * interrupt lines. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/kvm/vmm-process.h"

/* Below 4 GiB, above any RAM the pc layout puts there (< 0xe0000000): the
 * pages VMX needs for real-mode emulation (unused on AMD, harmless). */
#define KVM_TSS_ADDR 0xfffbd000ul
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ul

static const struct {
	int cap;
	const char *what;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "user memory slots" },
	{ KVM_CAP_IRQCHIP, "an in-kernel interrupt controller" },
	{ KVM_CAP_PIT2, "an in-kernel PIT" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "immediate_exit (pausing vCPUs)" },
	{ KVM_CAP_XSAVE, "KVM_GET_XSAVE" },
	{ KVM_CAP_XCRS, "KVM_GET_XCRS" },
	{ KVM_CAP_MP_STATE, "multiprocessor state" },
};

gboolean sv_kvm_vm_open(SvVmm *vmm, guint vcpus, GError **error)
{
	vmm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vmm->kvm_fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "cannot open /dev/kvm: %s (no KVM on this host? use --accel tcg)",
			    g_strerror(errno));
		return FALSE;
	}
	int version = ioctl(vmm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "/dev/kvm speaks KVM API version %d; snapvm needs version %d", version,
			    KVM_API_VERSION);
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(required_caps); i++) {
		if (ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
				    "this host's KVM lacks %s (capability %d); use --accel tcg",
				    required_caps[i].what, required_caps[i].cap);
			return FALSE;
		}
	}
	int max_vcpus = ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && vcpus > (guint)max_vcpus) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%u vCPUs asked for; this host's KVM allows %d", vcpus, max_vcpus);
		return FALSE;
	}
	vmm->vm_fd = ioctl(vmm->kvm_fd, KVM_CREATE_VM, 0);
	if (vmm->vm_fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_CREATE_VM: %s",
			    g_strerror(errno));
		return FALSE;
	}
	struct kvm_pit_config pit = { .flags = 0 };
	guint64 identity = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vmm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vmm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vmm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vmm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "setting up the VM's interrupt controllers and timer: %s",
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

gboolean sv_kvm_vm_ram(SvVmm *vmm, const SvArchOps *arch, guint64 size, GError **error)
{
	/* Refuse what the host cannot hold rather than let the guest be
	 * killed by the OOM killer halfway through its boot. */
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		guint64 total = (guint64)si.totalram * si.mem_unit;
		if (size > total) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest memory of %" G_GUINT64_FORMAT
				    " MiB is more than this host's %" G_GUINT64_FORMAT " MiB",
				    size >> 20, total >> 20);
			return FALSE;
		}
	}
	vmm->ram_fd = memfd_create("snapvm-guest-ram", MFD_CLOEXEC);
	if (vmm->ram_fd < 0 || ftruncate(vmm->ram_fd, (off_t)size) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "guest RAM memfd of %" G_GUINT64_FORMAT
			    " MiB: %s", size >> 20, g_strerror(errno));
		return FALSE;
	}
	vmm->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			vmm->ram_fd, 0);
	if (vmm->ram == MAP_FAILED) {
		vmm->ram = NULL;
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "cannot map %" G_GUINT64_FORMAT " MiB of guest memory: %s", size >> 20,
			    g_strerror(errno));
		return FALSE;
	}
	vmm->ram_size = size;
	/* The same guest-physical layout as QEMU's pc board, so introspection
	 * and snapshots see one memory map whichever backend ran the guest. */
	vmm->n_regions = arch->qemu->ram_layout(size, vmm->regions);
	for (guint i = 0; i < vmm->n_regions; i++) {
		const SvRamRegion *r = &vmm->regions[i];
		struct kvm_userspace_memory_region mr = {
			.slot = i,
			.guest_phys_addr = r->gpa.v,
			.memory_size = r->size,
			.userspace_addr = (guint64)(uintptr_t)(vmm->ram + r->file_offset),
		};
		if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "KVM_SET_USER_MEMORY_REGION %u: %s", i, g_strerror(errno));
			return FALSE;
		}
	}
	return TRUE;
}

void *sv_kvm_gpa(SvVmm *vmm, guint64 gpa, gsize len)
{
	for (guint i = 0; i < vmm->n_regions; i++) {
		const SvRamRegion *r = &vmm->regions[i];
		guint64 start = r->gpa.v;
		if (gpa >= start && gpa - start <= r->size && len <= r->size - (gpa - start))
			return vmm->ram + r->file_offset + (gpa - start);
	}
	return NULL;
}

void sv_kvm_irq_line(SvVmm *vmm, guint irq, guint32 source, gboolean level)
{
	g_assert(irq < SV_KVM_IRQS);
	gboolean before = vmm->irq_sources[irq] != 0;
	if (level)
		vmm->irq_sources[irq] |= source;
	else
		vmm->irq_sources[irq] &= ~source;
	gboolean after = vmm->irq_sources[irq] != 0;
	if (before == after)
		return;
	struct kvm_irq_level l = { .irq = irq, .level = after };
	ioctl(vmm->vm_fd, KVM_IRQ_LINE, &l);
}
