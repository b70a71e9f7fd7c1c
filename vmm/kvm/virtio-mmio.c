/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio.c - the virtio-mmio transport (virtio 1.1 section 4.2,
 * version 2 "modern" registers) and split virtqueues (section 2.6).
 *
 * The guest finds the device from the kernel command line
 * (virtio_mmio.device=SIZE@BASE:IRQ). No indirect descriptors and no event
 * index are offered, which keeps the queue code to "take a chain, give it
 * back". Everything read from a ring is guest-controlled: indexes are
 * bounded by the queue size, chains by their length, and every buffer is
 * checked to lie in guest RAM.
 */
#include <string.h>

#include "vmm/kvm/vmm.h"

#define MAGIC 0x74726976 /* "virt" */
#define VENDOR 0x4d565053 /* "SPVM" */
#define QUEUE_NUM_MAX 256
#define F_VERSION_1 (1ull << 32)
#define STATUS_DRIVER_OK 4
#define INT_USED_BUFFER 1

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014, R_DRV_FEATURES = 0x020,
	R_DRV_FEATURES_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
	R_QUEUE_DESC_LO = 0x080, R_QUEUE_DESC_HI = 0x084, R_QUEUE_AVAIL_LO = 0x090,
	R_QUEUE_AVAIL_HI = 0x094, R_QUEUE_USED_LO = 0x0a0, R_QUEUE_USED_HI = 0x0a4,
	R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

struct SvVirtioMmio {
	SvVmm *vmm;
	guint64 base;
	guint irq;
	const SvVirtioDeviceOps *ops;
	void *dev;
	guint32 dev_features_sel, drv_features_sel, queue_sel, status, int_status;
	guint64 drv_features;
	SvVirtq queues[SV_VIRTQ_MAX];
};

SvVirtioMmio *sv_virtio_mmio_new(SvVmm *vmm, guint64 base, guint irq,
				 const SvVirtioDeviceOps *ops, void *dev)
{
	g_assert(ops->n_queues <= SV_VIRTQ_MAX);
	SvVirtioMmio *v = g_new0(SvVirtioMmio, 1);
	v->vmm = vmm;
	v->base = base;
	v->irq = irq;
	v->ops = ops;
	v->dev = dev;
	return v;
}

void sv_virtio_mmio_free(SvVirtioMmio *v)
{
	g_free(v);
}

SvVirtq *sv_virtio_mmio_queue(SvVirtioMmio *v, guint index)
{
	return index < v->ops->n_queues ? &v->queues[index] : NULL;
}

void sv_virtio_mmio_notify(SvVirtioMmio *v)
{
	v->int_status |= INT_USED_BUFFER;
	sv_kvm_irq_pulse(v->vmm, v->irq);
}

static void reset(SvVirtioMmio *v)
{
	v->status = v->int_status = 0;
	v->drv_features = 0;
	v->queue_sel = v->dev_features_sel = v->drv_features_sel = 0;
	memset(v->queues, 0, sizeof(v->queues));
	v->ops->reset(v->dev);
}

static void set_half(guint64 *field, guint32 value, gboolean high)
{
	if (high)
		*field = (*field & 0xffffffffull) | (guint64)value << 32;
	else
		*field = (*field & ~0xffffffffull) | value;
}

static guint32 reg_read(SvVirtioMmio *v, guint32 off)
{
	guint64 features = v->ops->features | F_VERSION_1;
	SvVirtq *q = sv_virtio_mmio_queue(v, v->queue_sel);
	switch (off) {
	case R_MAGIC: return MAGIC;
	case R_VERSION: return 2;
	case R_DEVICE_ID: return v->ops->device_id;
	case R_VENDOR_ID: return VENDOR;
	case R_DEV_FEATURES:
		return v->dev_features_sel < 2 ? (guint32)(features >> (32 * v->dev_features_sel)) : 0;
	case R_QUEUE_NUM_MAX: return q ? QUEUE_NUM_MAX : 0;
	case R_QUEUE_READY: return q ? q->ready : 0;
	case R_INT_STATUS: return v->int_status;
	case R_STATUS: return v->status;
	case R_CONFIG_GEN: return 0;
	default: return 0;
	}
}

static void reg_write(SvVirtioMmio *v, guint32 off, guint32 val)
{
	SvVirtq *q = sv_virtio_mmio_queue(v, v->queue_sel);
	switch (off) {
	case R_DEV_FEATURES_SEL: v->dev_features_sel = val; break;
	case R_DRV_FEATURES_SEL: v->drv_features_sel = val; break;
	case R_DRV_FEATURES:
		if (v->drv_features_sel < 2)
			set_half(&v->drv_features, val, v->drv_features_sel == 1);
		break;
	case R_QUEUE_SEL: v->queue_sel = val; break;
	case R_QUEUE_NUM:
		/* a power of two no larger than the maximum (split rings) */
		if (q && val && val <= QUEUE_NUM_MAX && !(val & (val - 1)))
			q->num = val;
		break;
	case R_QUEUE_READY:
		if (q)
			q->ready = val == 1 && q->num;
		break;
	case R_QUEUE_NOTIFY:
		if (val < v->ops->n_queues && v->queues[val].ready)
			v->ops->queue_notify(v->dev, val);
		break;
	case R_INT_ACK: v->int_status &= ~val; break;
	case R_STATUS:
		if (val == 0) {
			reset(v);
			break;
		}
		if ((val & STATUS_DRIVER_OK) && !(v->status & STATUS_DRIVER_OK)) {
			v->status = val;
			v->ops->driver_ok(v->dev);
		}
		v->status = val;
		break;
	case R_QUEUE_DESC_LO: if (q) set_half(&q->desc, val, FALSE); break;
	case R_QUEUE_DESC_HI: if (q) set_half(&q->desc, val, TRUE); break;
	case R_QUEUE_AVAIL_LO: if (q) set_half(&q->avail, val, FALSE); break;
	case R_QUEUE_AVAIL_HI: if (q) set_half(&q->avail, val, TRUE); break;
	case R_QUEUE_USED_LO: if (q) set_half(&q->used, val, FALSE); break;
	case R_QUEUE_USED_HI: if (q) set_half(&q->used, val, TRUE); break;
	default: break;
	}
}

gboolean sv_virtio_mmio_access(SvVirtioMmio *v, guint64 addr, gboolean is_write, guint8 *data,
			       guint len)
{
	guint32 off = (guint32)(addr - v->base);
	if (off >= R_CONFIG) {
		if (!is_write && len <= 8)
			v->ops->config_read(v->dev, off - R_CONFIG, data, len);
		return TRUE;
	}
	if (len != 4 || (off & 3)) /* registers are 32-bit, aligned */
		return FALSE;
	if (is_write) {
		guint32 val;
		memcpy(&val, data, 4);
		reg_write(v, off, GUINT32_FROM_LE(val));
	} else {
		guint32 val = GUINT32_TO_LE(reg_read(v, off));
		memcpy(data, &val, 4);
	}
	return TRUE;
}

/* ---- split virtqueues ---- */

struct vring_desc {
	guint64 addr;
	guint32 len;
	guint16 flags;
	guint16 next;
};
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

gboolean sv_virtq_pop(SvVmm *vmm, SvVirtq *q, SvVirtqChain *chain)
{
	if (!q->ready)
		return FALSE;
	guint16 *avail = sv_kvm_gpa(vmm, q->avail, 4 + 2 * q->num);
	struct vring_desc *desc = sv_kvm_gpa(vmm, q->desc, sizeof(*desc) * q->num);
	if (!avail || !desc)
		return FALSE;
	guint16 idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);
	if (idx == q->last_avail || (guint16)(idx - q->last_avail) > q->num)
		return FALSE;
	guint16 head = avail[2 + q->last_avail % q->num];
	if (head >= q->num)
		return FALSE;
	chain->head = head;
	chain->n = 0;
	guint16 i = head;
	for (;;) {
		struct vring_desc d = desc[i];
		if (chain->n == SV_VIRTQ_CHAIN_MAX)
			return FALSE;
		guint8 *p = sv_kvm_gpa(vmm, d.addr, d.len);
		if (!p)
			return FALSE;
		chain->seg[chain->n].ptr = p;
		chain->seg[chain->n].len = d.len;
		chain->seg[chain->n].device_writes = (d.flags & VRING_DESC_F_WRITE) != 0;
		chain->n++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->num)
			return FALSE;
		i = d.next;
	}
	q->last_avail++;
	return TRUE;
}

void sv_virtq_push(SvVmm *vmm, SvVirtq *q, guint16 head, guint32 written)
{
	guint8 *used = sv_kvm_gpa(vmm, q->used, 4 + 8 * q->num);
	if (!used)
		return;
	guint32 elem[2] = { head, written };
	memcpy(used + 4 + 8 * (q->used_idx % q->num), elem, sizeof(elem));
	q->used_idx++;
	__atomic_store_n((guint16 *)(used + 2), q->used_idx, __ATOMIC_RELEASE);
}
