/* SPDX-License-Identifier: MIT */
/*
 * disk.c - the VMM's one disk: a run's root filesystem image as a
 * read-only virtio-blk device on virtio-mmio, at the board's place for it
 * (SvKvmBoard.virtio_mmio_base/irq). The board tells the guest where it
 * is (SvKvmVm.mmio: x86_64's ACPI DSDT), and the guest's virtio_mmio
 * module binds to it when the agent loads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/kvm/virtio-blk.h"
#include "host/kvm/vmm-process.h"

/* its bit among the devices on its interrupt line (the UARTs use 0-2) */
#define SOURCE_DISK (1u << 3)

/* Guest RAM by guest-physical address, within one region or not at all. */
static guint8 *map_ram(gpointer data, guint64 gpa, guint64 len)
{
	return sv_kvm_ram_at(data, gpa, len);
}

static void disk_irq(gpointer data, gboolean level)
{
	SvVmm *vmm = data;
	sv_kvm_irq_line(vmm, vmm->board->virtio_mmio_irq, SOURCE_DISK, level);
}

gboolean sv_kvm_disk_open(SvVmm *vmm, const char *path, GError **error)
{
	if (!vmm->board->virtio_mmio_base) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "snapvm's KVM VMM has no place for a disk on this board; use "
			    "--accel tcg");
		return FALSE;
	}
	vmm->disk_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (vmm->disk_fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "cannot open disk %s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	SvVirtioMem mem = { .map = map_ram, .data = vmm };
	vmm->disk = sv_virtio_blk_new(vmm->disk_fd, &mem, disk_irq, vmm, error);
	if (!vmm->disk)
		return FALSE;
	g_assert(vmm->vm.n_mmio < SV_KVM_MMIO_DEVICES_MAX);
	vmm->vm.mmio[vmm->vm.n_mmio++] = (SvKvmMmioDevice){ .base = vmm->board->virtio_mmio_base,
							    .size = SV_VIRTIO_MMIO_SIZE,
							    .irq = vmm->board->virtio_mmio_irq };
	return TRUE;
}

gboolean sv_kvm_disk_mmio(SvVmm *vmm, guint64 gpa, guint8 *data, guint32 len, gboolean is_write)
{
	guint64 base = vmm->board->virtio_mmio_base;
	if (!vmm->disk || gpa < base || gpa - base >= SV_VIRTIO_MMIO_SIZE)
		return FALSE;
	SvVirtioMmio *t = sv_virtio_blk_transport(vmm->disk);
	g_mutex_lock(&vmm->devices);
	if (is_write)
		sv_virtio_mmio_write(t, (guint32)(gpa - base), data, len);
	else
		sv_virtio_mmio_read(t, (guint32)(gpa - base), data, len);
	g_mutex_unlock(&vmm->devices);
	return TRUE;
}
