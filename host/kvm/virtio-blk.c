/* SPDX-License-Identifier: MIT */
/* virtio-blk.c - a read-only virtio block device (virtio-blk.h; request
 * layout from the virtio 1.1 spec, 5.2.6). */
#include "host/kvm/virtio-blk.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "snapvm/le.h"

#define DEVICE_ID_BLOCK 2u
#define BLK_F_SEG_MAX (1ull << 2)
#define BLK_F_RO (1ull << 5)
#define SECTOR 512u

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

#define SERIAL "snapvm-rootfs"

struct SvVirtioBlk {
	int fd;
	guint64 sectors;
	SvVirtioMmio *transport;
	void (*set_irq)(gpointer data, gboolean level);
	gpointer irq_data;
};

static void config_read(gpointer dev, guint32 offset, guint8 *out, guint32 len)
{
	SvVirtioBlk *b = dev;
	/* capacity (u64, sectors) at 0, size_max (u32) at 8, seg_max at 12 */
	guint8 config[16] = { 0 };
	sv_put_le64(config, b->sectors);
	sv_put_le32(config + 12, SV_VIRTIO_CHAIN_MAX - 2);
	for (guint32 i = 0; i < len; i++)
		out[i] = offset + i < sizeof(config) ? config[offset + i] : 0;
}

/* Fills the device-writable buffers from sector on; FALSE on a read error
 * or a range past the end. *ret_written: the bytes placed. */
static gboolean do_read(SvVirtioBlk *b, const SvVirtioChain *c, guint first, guint last,
			guint64 sector, guint32 *ret_written)
{
	guint64 off = sector * SECTOR;
	guint32 written = 0;
	if (sector > b->sectors)
		return FALSE;
	for (guint i = first; i < last; i++) {
		const SvVirtioSeg *s = &c->seg[i];
		if (!s->device_writes || off + s->len > b->sectors * SECTOR)
			return FALSE;
		for (guint32 done = 0; done < s->len;) {
			ssize_t n = pread(b->fd, s->p + done, s->len - done, (off_t)(off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return FALSE;
			done += (guint32)n;
		}
		off += s->len;
		written += s->len;
	}
	*ret_written = written;
	return TRUE;
}

/* header (16 bytes, driver-written) | data... | status (1 byte, device-written) */
static guint32 handle(gpointer dev, guint queue, const SvVirtioChain *c)
{
	SvVirtioBlk *b = dev;
	if (c->n < 2 || c->seg[0].len < 16 || c->seg[0].device_writes)
		return 0; /* no place for a status: nothing can be said */
	const SvVirtioSeg *st = &c->seg[c->n - 1];
	if (!st->device_writes || st->len < 1)
		return 0;
	guint32 type = sv_get_le32(c->seg[0].p);
	guint64 sector = sv_get_le64(c->seg[0].p + 8);
	guint32 written = 0;
	guint8 status = S_OK;
	switch (type) {
	case T_IN:
		if (!do_read(b, c, 1, c->n - 1, sector, &written))
			status = S_IOERR;
		break;
	case T_GET_ID:
		if (c->n >= 3 && c->seg[1].device_writes) {
			guint32 n = MIN(c->seg[1].len, (guint32)sizeof(SERIAL));
			memcpy(c->seg[1].p, SERIAL, n);
			written = n;
		} else
			status = S_IOERR;
		break;
	case T_FLUSH:
		break; /* nothing is ever written */
	case T_OUT:
		status = S_IOERR; /* read-only (VIRTIO_BLK_F_RO) */
		break;
	default:
		status = S_UNSUPP;
	}
	st->p[st->len - 1] = status;
	return written + 1;
}

static void set_irq(gpointer dev, gboolean level)
{
	SvVirtioBlk *b = dev;
	b->set_irq(b->irq_data, level);
}

static const SvVirtioDeviceOps blk_ops = {
	.device_id = DEVICE_ID_BLOCK,
	.features = SV_VIRTIO_F_VERSION_1 | BLK_F_RO | BLK_F_SEG_MAX,
	.num_queues = 1,
	.config_read = config_read,
	.handle = handle,
	.set_irq = set_irq,
};

SvVirtioBlk *sv_virtio_blk_new(int fd, const SvVirtioMem *mem,
			       void (*irq)(gpointer data, gboolean level), gpointer irq_data,
			       GError **error)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the disk image is not a regular file");
		return NULL;
	}
	SvVirtioBlk *b = g_new0(SvVirtioBlk, 1);
	b->fd = fd;
	b->sectors = (guint64)st.st_size / SECTOR;
	b->set_irq = irq;
	b->irq_data = irq_data;
	b->transport = sv_virtio_mmio_new(&blk_ops, b, mem);
	return b;
}

void sv_virtio_blk_free(SvVirtioBlk *b)
{
	if (!b)
		return;
	sv_virtio_mmio_free(b->transport);
	g_free(b);
}

SvVirtioMmio *sv_virtio_blk_transport(SvVirtioBlk *b)
{
	return b->transport;
}
