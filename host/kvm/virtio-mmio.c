/* SPDX-License-Identifier: MIT */
/* virtio-mmio.c - the virtio-mmio transport and split virtqueues
 * (virtio-mmio.h; register offsets from the virtio 1.1 spec, 4.2.2). */
#include "host/kvm/virtio-mmio.h"

#include <string.h>

#include "snapvm/le.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define MAGIC 0x74726976u  /* "virt" */
#define VENDOR 0x4d565053u /* "SPVM" */
#define DESC_F_NEXT 1u
#define DESC_F_WRITE 2u
#define INT_USED_RING 1u

typedef struct {
	guint32 num;
	gboolean ready;
	guint64 desc, driver, device; /* guest-physical */
	guint16 last_avail;
} Queue;

struct SvVirtioMmio {
	const SvVirtioDeviceOps *ops;
	gpointer dev;
	SvVirtioMem mem;
	guint32 status, features_sel, driver_features_sel, queue_sel, int_status;
	guint64 driver_features;
	Queue q[4];
};

SvVirtioMmio *sv_virtio_mmio_new(const SvVirtioDeviceOps *ops, gpointer dev, const SvVirtioMem *mem)
{
	g_return_val_if_fail(ops->num_queues <= G_N_ELEMENTS(((SvVirtioMmio *)0)->q), NULL);
	SvVirtioMmio *t = g_new0(SvVirtioMmio, 1);
	t->ops = ops;
	t->dev = dev;
	t->mem = *mem;
	return t;
}

void sv_virtio_mmio_free(SvVirtioMmio *t)
{
	g_free(t);
}

guint32 sv_virtio_mmio_status(const SvVirtioMmio *t)
{
	return t->status;
}

static void reset(SvVirtioMmio *t)
{
	t->status = t->features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	if (t->int_status)
		t->ops->set_irq(t->dev, FALSE);
	t->int_status = 0;
	memset(t->q, 0, sizeof(t->q));
}

static Queue *cur_queue(SvVirtioMmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->q[t->queue_sel] : NULL;
}

static guint32 read_reg(SvVirtioMmio *t, guint32 off)
{
	Queue *q = cur_queue(t);
	switch (off) {
	case REG_MAGIC:
		return MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return VENDOR;
	case REG_DEVICE_FEATURES:
		return t->features_sel == 0   ? (guint32)t->ops->features
		       : t->features_sel == 1 ? (guint32)(t->ops->features >> 32)
					      : 0;
	case REG_QUEUE_NUM_MAX:
		return q ? SV_VIRTIO_QUEUE_MAX : 0;
	case REG_QUEUE_READY:
		return q && q->ready;
	case REG_INTERRUPT_STATUS:
		return t->int_status;
	case REG_STATUS:
		return t->status;
	case REG_CONFIG_GENERATION:
		return 0; /* the config never changes */
	default:
		return 0;
	}
}

static void set_half(guint64 *v, gboolean high, guint32 value)
{
	*v = high ? (*v & 0xffffffffull) | (guint64)value << 32 : (*v & ~0xffffffffull) | value;
}

/* The guest broke the queue's rules: the device stops until reset. */
static void needs_reset(SvVirtioMmio *t)
{
	t->status |= SV_VIRTIO_STATUS_NEEDS_RESET;
}

/* Collects the chain starting at head; FALSE for a malformed one. */
static gboolean walk_chain(SvVirtioMmio *t, const Queue *q, guint16 head, SvVirtioChain *c)
{
	guint8 *table = t->mem.map(t->mem.data, q->desc, (guint64)q->num * 16);
	if (!table || head >= q->num)
		return FALSE;
	c->head = head;
	c->n = 0;
	for (guint16 i = head;;) {
		if (c->n == SV_VIRTIO_CHAIN_MAX)
			return FALSE; /* also ends a loop in the chain */
		const guint8 *d = table + (gsize)i * 16;
		guint64 addr = sv_get_le64(d);
		guint32 len = sv_get_le32(d + 8);
		guint16 flags = sv_get_le16(d + 12), next = sv_get_le16(d + 14);
		guint8 *p = len ? t->mem.map(t->mem.data, addr, len) : NULL;
		if (len && !p)
			return FALSE;
		c->seg[c->n++] = (SvVirtioSeg){ .p = p,
						.len = len,
						.device_writes = (flags & DESC_F_WRITE) != 0 };
		if (!(flags & DESC_F_NEXT))
			return TRUE;
		if (next >= q->num)
			return FALSE;
		i = next;
	}
}

/* Serves every chain the driver made available on queue qi. */
static void notify(SvVirtioMmio *t, guint qi)
{
	if (qi >= t->ops->num_queues || !(t->status & SV_VIRTIO_STATUS_DRIVER_OK) ||
	    (t->status & SV_VIRTIO_STATUS_NEEDS_RESET))
		return;
	Queue *q = &t->q[qi];
	if (!q->ready || q->num == 0)
		return;
	guint8 *avail = t->mem.map(t->mem.data, q->driver, 4 + 2ull * q->num);
	guint8 *used = t->mem.map(t->mem.data, q->device, 4 + 8ull * q->num);
	if (!avail || !used) {
		needs_reset(t);
		return;
	}
	gboolean served = FALSE;
	guint16 avail_idx = sv_get_le16(avail + 2);
	/* at most one lap: an index that ran further ahead is the guest's bug */
	for (guint n = 0; q->last_avail != avail_idx && n < q->num; n++) {
		guint16 head = sv_get_le16(avail + 4 + 2 * (q->last_avail % q->num));
		SvVirtioChain chain;
		if (!walk_chain(t, q, head, &chain)) {
			needs_reset(t);
			break;
		}
		guint32 written = t->ops->handle(t->dev, qi, &chain);
		guint16 used_idx = sv_get_le16(used + 2);
		guint8 *e = used + 4 + 8 * (used_idx % q->num);
		sv_put_le32(e, head);
		sv_put_le32(e + 4, written);
		/* the entry before the index that publishes it */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		sv_put_le16(used + 2, (guint16)(used_idx + 1));
		q->last_avail++;
		served = TRUE;
	}
	if (served) {
		gboolean was = t->int_status != 0;
		t->int_status |= INT_USED_RING;
		if (!was)
			t->ops->set_irq(t->dev, TRUE);
	}
}

static void write_reg(SvVirtioMmio *t, guint32 off, guint32 v)
{
	Queue *q = cur_queue(t);
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (t->driver_features_sel < 2)
			set_half(&t->driver_features, t->driver_features_sel == 1,
				 v & (guint32)(t->ops->features >> (32 * t->driver_features_sel)));
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		/* a power of two up to the maximum (split rings index modulo it) */
		if (q && v && v <= SV_VIRTIO_QUEUE_MAX && !(v & (v - 1)))
			q->num = v;
		break;
	case REG_QUEUE_READY:
		if (q)
			q->ready = v & 1;
		break;
	case REG_QUEUE_NOTIFY:
		notify(t, v);
		break;
	case REG_INTERRUPT_ACK:
		t->int_status &= ~v;
		/* lowered, and raised again for what came meanwhile: the line
		 * may be edge-triggered (an ISA IRQ) */
		t->ops->set_irq(t->dev, FALSE);
		if (t->int_status)
			t->ops->set_irq(t->dev, TRUE);
		break;
	case REG_STATUS:
		if (v == 0)
			reset(t);
		else
			t->status = v;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		if (q)
			set_half(&q->desc, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		if (q)
			set_half(&q->driver, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		if (q)
			set_half(&q->device, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only or unknown: ignored */
	}
}

void sv_virtio_mmio_read(SvVirtioMmio *t, guint32 offset, guint8 *data, guint32 len)
{
	memset(data, 0, len);
	if (offset >= REG_CONFIG && offset < SV_VIRTIO_MMIO_SIZE && len <= 8 &&
	    len <= SV_VIRTIO_MMIO_SIZE - offset) {
		t->ops->config_read(t->dev, offset - REG_CONFIG, data, len);
		return;
	}
	/* registers are 32-bit and aligned; anything else reads as zero */
	if (len == 4 && !(offset & 3))
		sv_put_le32(data, read_reg(t, offset));
}

void sv_virtio_mmio_write(SvVirtioMmio *t, guint32 offset, const guint8 *data, guint32 len)
{
	if (len == 4 && !(offset & 3) && offset < REG_CONFIG)
		write_reg(t, offset, sv_get_le32(data));
	/* the config is read-only for the devices here */
}
