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
#include "host/kvm/kvm-dev.h"
#include "host/kvm/vmm-process.h"

/* What the backend itself needs; the board adds its own (SvKvmBoard.caps). */
static const SvKvmCap backend_caps[] = {
	{ KVM_CAP_USER_MEMORY, "user memory slots" },
	{ KVM_CAP_IMMEDIATE_EXIT, "immediate_exit (pausing vCPUs)" },
	{ 0, NULL },
};

static gboolean check_caps(int kvm_fd, const SvKvmCap *caps, GError **error)
{
	for (const SvKvmCap *c = caps; c->what; c++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, c->cap) <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
				    "this host's KVM lacks %s (capability %d); use --accel tcg",
				    c->what, c->cap);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean sv_kvm_vm_open(SvVmm *vmm, guint vcpus, GError **error)
{
	vmm->vm.kvm_fd = sv_kvm_dev_open("the KVM VMM", error);
	if (vmm->vm.kvm_fd < 0)
		return FALSE;
	int version = ioctl(vmm->vm.kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "/dev/kvm speaks KVM API version %d; snapvm needs version %d", version,
			    KVM_API_VERSION);
		return FALSE;
	}
	if (!check_caps(vmm->vm.kvm_fd, backend_caps, error) ||
	    !check_caps(vmm->vm.kvm_fd, vmm->board->caps, error))
		return FALSE;
	int max_vcpus = ioctl(vmm->vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vmm->vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && vcpus > (guint)max_vcpus) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%u vCPUs asked for; this host's KVM allows %d", vcpus, max_vcpus);
		return FALSE;
	}
	vmm->vm.vm_fd = ioctl(vmm->vm.kvm_fd, KVM_CREATE_VM, 0);
	if (vmm->vm.vm_fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_CREATE_VM: %s",
			    g_strerror(errno));
		return FALSE;
	}
	return vmm->board->setup_vm(&vmm->vm, error);
}

gboolean sv_kvm_vm_ram(SvVmm *vmm, guint64 size, GError **error)
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
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest RAM memfd of %" G_GUINT64_FORMAT " MiB: %s", size >> 20,
			    g_strerror(errno));
		return FALSE;
	}
	vmm->vm.ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			   vmm->ram_fd, 0);
	if (vmm->vm.ram == MAP_FAILED) {
		vmm->vm.ram = NULL;
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "cannot map %" G_GUINT64_FORMAT " MiB of guest memory: %s", size >> 20,
			    g_strerror(errno));
		return FALSE;
	}
	vmm->vm.ram_size = size;
	/* as the arch's QEMU board lays it out (kvm-board.h) */
	vmm->vm.n_regions = vmm->board->ram_layout(size, vmm->vm.regions);
	return sv_kvm_vm_set_slots(vmm, 0, error);
}

gboolean sv_kvm_vm_set_slots(SvVmm *vmm, guint32 flags, GError **error)
{
	for (guint i = 0; i < vmm->vm.n_regions; i++) {
		const SvRamRegion *r = &vmm->vm.regions[i];
		struct kvm_userspace_memory_region mr = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = r->gpa.v,
			.memory_size = r->size,
			.userspace_addr = (guint64)(uintptr_t)(vmm->vm.ram + r->file_offset),
		};
		if (ioctl(vmm->vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "KVM_SET_USER_MEMORY_REGION %u (flags 0x%x): %s", i, flags,
				    g_strerror(errno));
			return FALSE;
		}
	}
	return TRUE;
}

guint8 *sv_kvm_ram_at(SvVmm *vmm, guint64 gpa, guint64 len)
{
	for (guint i = 0; i < vmm->vm.n_regions; i++) {
		const SvRamRegion *r = &vmm->vm.regions[i];
		if (gpa >= r->gpa.v && gpa - r->gpa.v <= r->size &&
		    len <= r->size - (gpa - r->gpa.v)) {
			guint8 *p = vmm->vm.ram + r->file_offset + (gpa - r->gpa.v);
			/* what the VMM is given it may write, unseen by KVM's log */
			sv_kvm_dirty_note_ram(vmm, p, len);
			return p;
		}
	}
	return NULL;
}

void sv_kvm_irq_line(SvVmm *vmm, guint irq, guint32 source, gboolean level)
{
	g_assert(irq < SV_KVM_IRQ_LINES);
	gboolean before = vmm->irq_sources[irq] != 0;
	if (level)
		vmm->irq_sources[irq] |= source;
	else
		vmm->irq_sources[irq] &= ~source;
	gboolean after = vmm->irq_sources[irq] != 0;
	if (before == after)
		return;
	struct kvm_irq_level l = { .irq = irq, .level = after };
	ioctl(vmm->vm.vm_fd, KVM_IRQ_LINE, &l);
}
