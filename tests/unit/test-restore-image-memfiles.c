/* SPDX-License-Identifier: MIT */
/*
 * test-restore-image-memfiles.c - what the flat restore image makes of the
 * snapshot's memory-only files (TASK memfiles, host/restore/
 * restore-image-memfiles.c) and of the files the guest wrote (the FS
 * section, restore-image-fs.c): one file entry per memory-only file, its
 * mappings and fds pointing at it, FS entries in order with their kinds;
 * and the refusals of what a hostile snapshot could say.
 */
#include <string.h>

#include "snapvm/restore-image-format.h"
#include "snapvm/snapshot-fs-keys.h"
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/restore/restore-image-parts.h"

#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static GVariant *memfile(guint64 inode, const char *kind, const char *path, guint32 seals,
			 const guint64 *vmas, gsize nvmas)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_INODE, "t", inode);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_KIND, "s", kind);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_PATH, "s", path);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_I_MODE, "u", 0100640u);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_SEALS, "u", seals);
	g_variant_dict_insert(d, SV_TASK_MEMFILE_SHA256, "s", SHA);
	g_variant_dict_insert_value(d, SV_TASK_MEMFILE_VMAS,
				    g_variant_new_fixed_array(G_VARIANT_TYPE_UINT64, vmas, nvmas,
							      sizeof(guint64)));
	return g_variant_dict_end(d);
}

static GVariant *task_with(GVariant *const *memfiles, gsize n)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	g_variant_dict_insert_value(d, SV_TASK_MEMFILES,
				    g_variant_new_array(G_VARIANT_TYPE("a{sv}"), memfiles, n));
	return g_variant_ref_sink(g_variant_dict_end(d));
}

static void test_memfiles(void)
{
	static const guint64 vmas[] = { 0x10000, 0x20000 };
	GVariant *m[] = { memfile(0xa0, SV_TASK_MEMFILE_KIND_MEMFD, "/memfd:x", 0x6, vmas, 2),
			  memfile(0xb0, SV_TASK_MEMFILE_KIND_GHOST, "/tmp/g", 0, NULL, 0) };
	g_autoptr(GVariant) task = task_with(m, 2);
	g_auto(SvRimgTables) t;
	sv_rimg_tables_init(&t);
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_rimg_memfiles_build(&t, task, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(t.files->len, ==, 2);
	const struct sv_rimg_file *f = &g_array_index(t.files, struct sv_rimg_file, 0);
	g_assert_cmpuint(f->memfile, ==, SV_RIMG_MEMFILE_MEMFD);
	g_assert_cmpuint(f->seals, ==, 0x6);
	g_assert_cmpuint(f->mode, ==, 0640);
	g_assert_true(f->carried);
	/* the mappings find it by start, an fd by inode */
	g_autoptr(GVariant) vv = g_variant_ref_sink(g_variant_new_parsed(
		"[(uint64 0x10000, uint64 0x11000, uint32 3, uint64 0xfb, uint64 0, '/memfd:x', '"
		"'), (uint64 0x20000, uint64 0x21000, uint32 1, uint64 0xf9, uint64 0, "
		"'/memfd:x', '')]"));
	g_assert_true(sv_rimg_vmas_build(&t, vv, &error));
	g_assert_cmpint(g_array_index(t.vmas, struct sv_rimg_vma, 0).file, ==, 0);
	g_assert_cmpint(g_array_index(t.vmas, struct sv_rimg_vma, 1).file, ==, 0);
	struct sv_rimg_fd e = { .fd = 5, .flags = 02 };
	g_assert_true(sv_rimg_memfile_fd(&t, &e, 0xb0, 7, &error));
	g_assert_cmpuint(e.kind, ==, SV_RIMG_FD_MEMFILE);
	g_assert_cmpuint(e.memfile, ==, 1);
	g_assert_cmpuint(e.pos, ==, 7);
	g_assert_false(sv_rimg_memfile_fd(&t, &e, 0xc0, 0, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
}

/* Each of these memfiles lists is refused, with message. */
static void test_memfiles_refused(void)
{
	static const guint64 vmas[] = { 0x10000 };
	const struct {
		GVariant *m[2];
		const char *message;
	} bad[] = {
		{ { memfile(0xa0, "pipe", "/x", 0, NULL, 0) }, "lacks its identity, kind" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_GHOST, "x", 0, NULL, 0) },
		  "lacks its identity, kind" },
		{ { memfile(0, SV_TASK_MEMFILE_KIND_GHOST, "/x", 0, NULL, 0) },
		  "lacks its identity, kind" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_MEMFD, "/memfd:x", 0x1000, NULL, 0) },
		  "unknown seals" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_MEMFD, "/memfd:x", 0x8, vmas, 1) },
		  "sealed against writing and mapped" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_GHOST, "/x", 0, NULL, 0),
		    memfile(0xa0, SV_TASK_MEMFILE_KIND_GHOST, "/y", 0, NULL, 0) },
		  "appears twice" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_GHOST, "/x", 0, vmas, 1),
		    memfile(0xb0, SV_TASK_MEMFILE_KIND_GHOST, "/y", 0, vmas, 1) },
		  "maps two memory-only files" },
		{ { memfile(0xa0, SV_TASK_MEMFILE_KIND_SYSV, "/SYSV00000000", 0, vmas, 1) },
		  "has no id" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GVariant) task = task_with(bad[i].m, bad[i].m[1] ? 2 : 1);
		g_auto(SvRimgTables) t;
		sv_rimg_tables_init(&t);
		g_autoptr(GError) error = NULL;
		g_assert_false(sv_rimg_memfiles_build(&t, task, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
		if (!strstr(error->message, bad[i].message))
			g_error("case %u: '%s' lacks '%s'", i, error->message, bad[i].message);
	}
}

static GVariant *fs_entry(const char *path, guint32 mode, const char *sha, const char *target,
			  const char *link)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	g_variant_dict_insert(d, SV_FS_PATH, "s", path);
	g_variant_dict_insert(d, SV_FS_MODE, "u", mode);
	g_variant_dict_insert(d, SV_FS_MTIME, SV_FS_TIME_TYPE, (gint64)1234567890, 5u);
	g_variant_dict_insert(d, SV_FS_RDEV, "u", (5u << 20) | 1u);
	if (sha)
		g_variant_dict_insert(d, SV_FS_SHA256, "s", sha);
	if (target)
		g_variant_dict_insert(d, SV_FS_TARGET, "s", target);
	if (link)
		g_variant_dict_insert(d, SV_FS_LINK, "s", link);
	return g_variant_dict_end(d);
}

static GVariant *fs_of(GVariant *const *e, gsize n)
{
	return g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e, n));
}

static void test_fs(void)
{
	GVariant *e[] = {
		fs_entry("/tmp/d", 040750, NULL, NULL, NULL),
		fs_entry("/tmp/d/f", 0100640, SHA, NULL, NULL),
		fs_entry("/tmp/d/l", 0120777, NULL, "f", NULL),
		fs_entry("/tmp/d/h", 0100640, NULL, NULL, "/tmp/d/f"),
		fs_entry("/tmp/d/p", 010600, NULL, NULL, NULL),
		fs_entry("/tmp/d/s", 0140755, NULL, NULL, NULL), /* a socket: left out */
	};
	g_autoptr(GVariant) fs = fs_of(e, G_N_ELEMENTS(e));
	g_auto(SvRimgTables) t;
	sv_rimg_tables_init(&t);
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_rimg_fs_build(&t, fs, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(t.h.nfsents, ==, 5);
	static const guint32 kinds[] = { SV_RIMG_FS_DIR, SV_RIMG_FS_FILE, SV_RIMG_FS_SYMLINK,
					 SV_RIMG_FS_LINK, SV_RIMG_FS_NODE };
	for (guint i = 0; i < 5; i++)
		g_assert_cmpuint(g_array_index(t.fsents, struct sv_rimg_fsent, i).kind, ==,
				 kinds[i]);
	const struct sv_rimg_fsent *f = &g_array_index(t.fsents, struct sv_rimg_fsent, 1);
	g_assert_cmpint(f->file, ==, 0);
	g_assert_cmpuint(g_array_index(t.files, struct sv_rimg_file, 0).memfile, ==,
			 SV_RIMG_MEMFILE_FS_DATA);
	g_assert_cmpint(f->mtime_sec, ==, 1234567890);
	const struct sv_rimg_fsent *p = &g_array_index(t.fsents, struct sv_rimg_fsent, 4);
	g_assert_cmpuint(p->rdev_major, ==, 5);
	g_assert_cmpuint(p->rdev_minor, ==, 1);
	g_assert_true(sv_rimg_fs_build(&t, NULL, &error)); /* no FS section: nothing to do */
}

static void test_fs_refused(void)
{
	const struct {
		GVariant *e;
		const char *message;
	} bad[] = {
		{ fs_entry("/tmp/../etc/passwd", 0100644, SHA, NULL, NULL), "names a file" },
		{ fs_entry("tmp/x", 0100644, SHA, NULL, NULL), "names a file" },
		{ fs_entry("/", 040755, NULL, NULL, NULL), "names a file" },
		{ fs_entry("/tmp//x", 0100644, SHA, NULL, NULL), "names a file" },
		{ fs_entry("/tmp/x", 0100644, NULL, NULL, NULL), "has no contents" },
		{ fs_entry("/tmp/x", 0120777, NULL, NULL, NULL), "has no target" },
		{ fs_entry("/tmp/x", 0100644, NULL, NULL, "/tmp/later"), "does not hold before" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GVariant) fs = fs_of(&bad[i].e, 1);
		g_auto(SvRimgTables) t;
		sv_rimg_tables_init(&t);
		g_autoptr(GError) error = NULL;
		g_assert_false(sv_rimg_fs_build(&t, fs, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
		if (!strstr(error->message, bad[i].message))
			g_error("case %u: '%s' lacks '%s'", i, error->message, bad[i].message);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restore-image/memfiles/table", test_memfiles);
	g_test_add_func("/restore-image/memfiles/refused", test_memfiles_refused);
	g_test_add_func("/restore-image/fs/table", test_fs);
	g_test_add_func("/restore-image/fs/refused", test_fs_refused);
	return g_test_run();
}
