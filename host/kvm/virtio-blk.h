/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk.h - a read-only virtio block device on the virtio-mmio
 * transport, for snapvm's KVM VMM: the root filesystem image of a run with
 * --image (the guest sees /dev/vda). Reads come straight from the image
 * file with pread; writes are refused (the device offers VIRTIO_BLK_F_RO,
 * so the guest mounts it read-only).
 */
#ifndef SNAPVM_VIRTIO_BLK_H
#define SNAPVM_VIRTIO_BLK_H

#include "host/kvm/virtio-mmio.h"

typedef struct SvVirtioBlk SvVirtioBlk;

/* The device on image file fd (kept open by the caller), its interrupt
 * raised and lowered through set_irq. */
SvVirtioBlk *sv_virtio_blk_new(int fd, const SvVirtioMem *mem,
			       void (*set_irq)(gpointer data, gboolean level), gpointer irq_data,
			       GError **error);
void sv_virtio_blk_free(SvVirtioBlk *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvVirtioBlk, sv_virtio_blk_free)

SvVirtioMmio *sv_virtio_blk_transport(SvVirtioBlk *b);

#endif
