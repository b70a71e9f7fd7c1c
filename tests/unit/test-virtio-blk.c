/* SPDX-License-Identifier: MIT */
/*
 * test-virtio-blk: the KVM VMM's virtio-mmio transport and read-only block
 * device, driven as Linux's virtio_mmio and virtio_blk drivers drive them,
 * on a fake guest RAM: identification, a read of sectors from the image
 * file, GET_ID, a refused write, a read past the end, the interrupt and its
 * acknowledgement, and hostile queues (a buffer outside RAM, a looping
 * chain) that stop the device instead of the VMM.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/virtio-blk.h"
#include "snapvm/le.h"

#define RAM_SIZE (64u * 1024)
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define BUF 0x4000u
#define QSIZE 8u

typedef struct {
	guint8 ram[RAM_SIZE];
	gboolean irq;
	int fd;
	char *path;
	SvVirtioBlk *blk;
	SvVirtioMmio *t;
	guint16 avail_idx;
} Fixture;

static guint8 *map(gpointer data, guint64 gpa, guint64 len)
{
	Fixture *f = data;
	return gpa <= RAM_SIZE && len <= RAM_SIZE - gpa ? f->ram + gpa : NULL;
}

static void set_irq(gpointer data, gboolean level)
{
	((Fixture *)data)->irq = level;
}

static guint32 rd(Fixture *f, guint32 off)
{
	guint8 b[4];
	sv_virtio_mmio_read(f->t, off, b, 4);
	return sv_get_le32(b);
}

static void wr(Fixture *f, guint32 off, guint32 v)
{
	guint8 b[4];
	sv_put_le32(b, v);
	sv_virtio_mmio_write(f->t, off, b, 4);
}

static void setup(Fixture *f, gconstpointer data)
{
	GError *error = NULL;
	f->fd = g_file_open_tmp("virtio-blk-XXXXXX", &f->path, &error);
	g_assert_no_error(error);
	guint8 disk[8 * 512];
	for (guint i = 0; i < sizeof(disk); i++)
		disk[i] = (guint8)(i * 7 + i / 512);
	g_assert_cmpint(write(f->fd, disk, sizeof(disk)), ==, sizeof(disk));
	SvVirtioMem mem = { .map = map, .data = f };
	f->blk = sv_virtio_blk_new(f->fd, &mem, set_irq, f, &error);
	g_assert_no_error(error);
	f->t = sv_virtio_blk_transport(f->blk);
	/* what virtio_mmio's probe and virtio_blk's setup do */
	g_assert_cmphex(rd(f, 0x000), ==, 0x74726976);
	g_assert_cmpuint(rd(f, 0x004), ==, 2);
	g_assert_cmpuint(rd(f, 0x008), ==, 2);
	wr(f, 0x070, 1 | 2); /* ACKNOWLEDGE | DRIVER */
	wr(f, 0x014, 1);
	g_assert_cmphex(rd(f, 0x010), ==, 1); /* VIRTIO_F_VERSION_1 */
	wr(f, 0x014, 0);
	g_assert_true(rd(f, 0x010) & (1u << 5)); /* read-only */
	wr(f, 0x024, 1);
	wr(f, 0x020, 1);
	wr(f, 0x070, 1 | 2 | 8); /* FEATURES_OK */
	guint8 cap[8];
	sv_virtio_mmio_read(f->t, 0x100, cap, 8);
	g_assert_cmpuint(sv_get_le64(cap), ==, 8);
	wr(f, 0x030, 0);
	g_assert_cmpuint(rd(f, 0x034), >=, QSIZE);
	wr(f, 0x038, QSIZE);
	wr(f, 0x080, DESC);
	wr(f, 0x090, AVAIL);
	wr(f, 0x0a0, USED);
	wr(f, 0x044, 1);
	wr(f, 0x070, 1 | 2 | 8 | 4); /* DRIVER_OK */
}

static void teardown(Fixture *f, gconstpointer data)
{
	sv_virtio_blk_free(f->blk);
	close(f->fd);
	g_unlink(f->path);
	g_free(f->path);
}

static void desc(Fixture *f, guint i, guint64 addr, guint32 len, guint16 flags, guint16 next)
{
	guint8 *d = f->ram + DESC + 16 * i;
	sv_put_le64(d, addr);
	sv_put_le32(d + 8, len);
	sv_put_le16(d + 12, flags);
	sv_put_le16(d + 14, next);
}

/* A request of type at sector with a data buffer of len bytes at BUF
 * (device-writable unless type is a write), then the status byte. */
static void submit(Fixture *f, guint32 type, guint64 sector, guint32 len)
{
	guint8 *h = f->ram + BUF + 0x1000;
	sv_put_le32(h, type);
	sv_put_le32(h + 4, 0);
	sv_put_le64(h + 8, sector);
	desc(f, 0, BUF + 0x1000, 16, 1, 1);
	desc(f, 1, BUF, len, 1 | (type == 1 ? 0 : 2), 2);
	desc(f, 2, BUF + 0x1010, 1, 2, 0);
	f->ram[BUF + 0x1010] = 0xee;
	sv_put_le16(f->ram + AVAIL + 4 + 2 * (f->avail_idx % QSIZE), 0);
	sv_put_le16(f->ram + AVAIL + 2, ++f->avail_idx);
	wr(f, 0x050, 0);
}

static guint8 status_byte(Fixture *f)
{
	return f->ram[BUF + 0x1010];
}

static void test_read(Fixture *f, gconstpointer data)
{
	submit(f, 0, 2, 1024);
	g_assert_cmpuint(status_byte(f), ==, 0);
	g_assert_cmpuint(sv_get_le16(f->ram + USED + 2), ==, 1);
	g_assert_cmpuint(sv_get_le32(f->ram + USED + 4), ==, 0);    /* head */
	g_assert_cmpuint(sv_get_le32(f->ram + USED + 8), ==, 1025); /* data + status */
	for (guint i = 0; i < 1024; i++)
		g_assert_cmpuint(f->ram[BUF + i], ==, (guint8)((1024 + i) * 7 + (1024 + i) / 512));
	g_assert_true(f->irq);
	g_assert_cmpuint(rd(f, 0x060), ==, 1);
	wr(f, 0x064, 1);
	g_assert_false(f->irq);
	g_assert_cmpuint(rd(f, 0x060), ==, 0);
}

static void test_get_id_write_and_end(Fixture *f, gconstpointer data)
{
	submit(f, 8, 0, 20);
	g_assert_cmpuint(status_byte(f), ==, 0);
	g_assert_cmpstr((const char *)f->ram + BUF, ==, "snapvm-rootfs");
	submit(f, 1, 0, 512); /* a write: refused, read-only */
	g_assert_cmpuint(status_byte(f), ==, 1);
	submit(f, 0, 7, 1024); /* the last sector and one past the end */
	g_assert_cmpuint(status_byte(f), ==, 1);
	submit(f, 99, 0, 512);
	g_assert_cmpuint(status_byte(f), ==, 2);
	g_assert_cmpuint(sv_get_le16(f->ram + USED + 2), ==, 4);
	g_assert_false(sv_virtio_mmio_status(f->t) & SV_VIRTIO_STATUS_NEEDS_RESET);
}

static void test_hostile(Fixture *f, gconstpointer data)
{
	/* a buffer beyond guest RAM */
	guint8 *h = f->ram + BUF + 0x1000;
	sv_put_le32(h, 0);
	sv_put_le64(h + 8, 0);
	desc(f, 0, BUF + 0x1000, 16, 1, 1);
	desc(f, 1, RAM_SIZE - 8, 512, 1 | 2, 2);
	desc(f, 2, BUF + 0x1010, 1, 2, 0);
	sv_put_le16(f->ram + AVAIL + 4, 0);
	sv_put_le16(f->ram + AVAIL + 2, ++f->avail_idx);
	wr(f, 0x050, 0);
	g_assert_true(sv_virtio_mmio_status(f->t) & SV_VIRTIO_STATUS_NEEDS_RESET);
	g_assert_cmpuint(sv_get_le16(f->ram + USED + 2), ==, 0);
	/* a reset, then a chain that loops: refused the same way */
	wr(f, 0x070, 0);
	g_assert_cmpuint(sv_virtio_mmio_status(f->t), ==, 0);
	teardown(f, NULL); /* a fresh device and file, set up again */
	setup(f, NULL);
	desc(f, 0, BUF + 0x1000, 16, 1, 1);
	desc(f, 1, BUF, 16, 1 | 2, 0); /* back to the head */
	f->avail_idx = 0;
	sv_put_le16(f->ram + USED + 2, 0);
	sv_put_le16(f->ram + AVAIL + 4, 0);
	sv_put_le16(f->ram + AVAIL + 2, ++f->avail_idx);
	wr(f, 0x050, 0);
	g_assert_true(sv_virtio_mmio_status(f->t) & SV_VIRTIO_STATUS_NEEDS_RESET);
	/* a queue index past the queues: nothing happens */
	wr(f, 0x050, 7);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/virtio-blk/read", Fixture, NULL, setup, test_read, teardown);
	g_test_add("/virtio-blk/get-id-write-end", Fixture, NULL, setup, test_get_id_write_and_end,
		   teardown);
	g_test_add("/virtio-blk/hostile", Fixture, NULL, setup, test_hostile, teardown);
	return g_test_run();
}
