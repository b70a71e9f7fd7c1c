/* SPDX-License-Identifier: MIT */
/*
 * test-rootfs: root filesystem images in a cache of the test's own - names,
 * opening and listing, verification against the manifest (a changed file,
 * a changed identity), the index of files a snapshot may reference (a
 * hostile line refuses it; a file the guest changed is carried), and the
 * choice of image for a snapshot's restore.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "base/errors.h"
#include "host/image/rootfs-refs.h"
#include "host/image/rootfs.h"

static char *cache;

/* An image dir at rootfs/x86_64/<key> with these files, its manifest made
 * as images/build-rootfs.sh makes it. */
static char *make_image(const char *key, const char *index)
{
	g_autofree char *dir = g_build_filename(cache, "rootfs", "x86_64", key, NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	const char *names[] = { "files.tsv", "modules.cpio", "rootfs.ext4" };
	const char *contents[] = { index, "modules", "ext4 bytes" };
	GString *files = g_string_new(NULL), *listing = g_string_new(NULL);
	for (int i = 0; i < 3; i++) {
		g_autofree char *p = g_build_filename(dir, names[i], NULL);
		g_assert_true(g_file_set_contents(p, contents[i], -1, NULL));
		g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, contents[i],
								     -1);
		g_string_append_printf(files,
				       "%s{\"name\": \"%s\", \"size\": %zu, \"sha256\": \"%s\"}",
				       i ? ", " : "", names[i], strlen(contents[i]), sha);
		if (i < 2)
			g_string_append_printf(listing, "%s  %s\n", sha, names[i]);
	}
	g_autofree char *image_sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, listing->str,
								   -1);
	g_autofree char *manifest = g_strdup_printf(
		"{\"kind\": \"rootfs\", \"arch\": \"x86_64\", \"kernel_release\": \"6.1.0-test\", "
		"\"requested\": [\"python3\"], \"packages\": [{\"name\": \"python3\"}], "
		"\"files\": [%s], \"image_sha256\": \"%s\"}",
		files->str, image_sha);
	g_string_free(files, TRUE);
	g_string_free(listing, TRUE);
	g_autofree char *m = g_build_filename(dir, "manifest.json", NULL);
	g_assert_true(g_file_set_contents(m, manifest, -1, NULL));
	return g_steal_pointer(&dir);
}

#define LIBC_SHA "6b4a45352fd0c540aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static const char *good_index = LIBC_SHA "\t1000\t1700000000\t/lib/libc.so.6\n" LIBC_SHA
					 "\t20\t1700000000\t/usr/bin/python3.11\n";

static void test_names(void)
{
	g_assert_true(sv_rootfs_name_valid("py-3.11+numpy_x", NULL));
	const char *bad[] = { "", ".hidden", "-x", "a/b", "../x", "sp ace", NULL };
	for (const char *const *b = bad; *b; b++) {
		g_autoptr(GError) e = NULL;
		g_assert_false(sv_rootfs_name_valid(*b, &e));
		g_assert_error(e, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	}
	g_autofree char *long_name = g_strnfill(65, 'a');
	g_assert_false(sv_rootfs_name_valid(long_name, NULL));
}

static void test_open_list_verify(void)
{
	g_autofree char *dir = make_image("k1", good_index);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvRootfs) missing = sv_rootfs_open("py", &error);
	g_assert_null(missing);
	g_assert_nonnull(strstr(error->message, "snapvm image build"));
	g_clear_error(&error);
	g_assert_true(sv_rootfs_register("py", dir, &error));
	g_autoptr(SvRootfs) r = sv_rootfs_open("py", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r->arch, ==, "x86_64");
	g_assert_cmpstr(r->requested[0], ==, "python3");
	g_assert_true(sv_rootfs_verify(r, &error));
	g_autoptr(GPtrArray) all = sv_rootfs_list();
	g_assert_cmpuint(all->len, ==, 1);
	g_autoptr(SvRootfs) by_sha = sv_rootfs_find_by_sha256(r->image_sha256, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(by_sha->dir, ==, r->dir);
	/* the ext4 changed: its own sha256 no longer matches */
	g_autofree char *ext4 = g_build_filename(dir, "rootfs.ext4", NULL);
	g_assert_true(g_file_set_contents(ext4, "other bytes", -1, NULL));
	g_assert_false(sv_rootfs_verify(r, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_true(g_file_set_contents(ext4, "ext4 bytes", -1, NULL));
	/* the kernel its modules are for */
	g_assert_true(sv_rootfs_check_kernel(r, "6.1.0-test", NULL));
	g_assert_false(sv_rootfs_check_kernel(r, "6.12.0", &error));
	g_assert_nonnull(strstr(error->message, "rebuild it"));
	g_clear_error(&error);
	g_assert_true(sv_rootfs_remove("py", &error));
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

typedef struct {
	guint64 size;
	gint64 mtime_ns;
	guint asked;
} GuestView;

static gboolean guest_stat(const char *path, gpointer data, guint64 *ret_size, gint64 *ret_mtime_ns,
			   GError **error)
{
	GuestView *v = data;
	v->asked++;
	if (!strcmp(path, "/usr/bin/python3.11")) {
		*ret_size = 20;
		*ret_mtime_ns = 1700000000ll * 1000000000 + 5; /* the image's */
		return TRUE;
	}
	*ret_size = v->size;
	*ret_mtime_ns = v->mtime_ns;
	return TRUE;
}

static void test_refs(void)
{
	g_autofree char *dir = make_image("k2", good_index);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvRootfs) r = sv_rootfs_open_dir(dir, &error);
	g_assert_no_error(error);
	/* libc written to in the guest (another mtime): carried */
	GuestView v = { .size = 1000, .mtime_ns = 1800000000ll * 1000000000 };
	g_autoptr(SvRootfsRefs) refs = sv_rootfs_refs_new(r, guest_stat, &v, &error);
	g_assert_no_error(error);
	gboolean ref = TRUE;
	g_assert_true(sv_rootfs_refs_take(refs, "/lib/libc.so.6", &ref, &error));
	g_assert_false(ref);
	g_assert_true(sv_rootfs_refs_take(refs, "/usr/bin/python3.11", &ref, &error));
	g_assert_true(ref);
	g_assert_true(sv_rootfs_refs_take(refs, "/usr/bin/python3.11", &ref, &error));
	g_assert_true(ref);
	g_assert_true(sv_rootfs_refs_take(refs, "/tmp/created-at-run-time", &ref, &error));
	g_assert_false(ref);
	g_assert_cmpuint(v.asked, ==, 2); /* only paths the image has, once */
	g_assert_cmpuint(sv_rootfs_refs_count(refs), ==, 1);
	g_autoptr(GVariant) var = sv_rootfs_refs_variant(refs);
	g_assert_cmpstr(g_variant_get_type_string(var), ==, "a(sst)");
	const char *path, *sha;
	guint64 size;
	g_variant_get_child(var, 0, "(&s&st)", &path, &sha, &size);
	g_assert_cmpstr(path, ==, "/usr/bin/python3.11");
	g_assert_cmpstr(sha, ==, LIBC_SHA);
	g_assert_cmpuint(size, ==, 20);
	/* hostile index lines refuse the whole index */
	const char *bad[] = { "nothex\t1\t1\t/x\n", LIBC_SHA "\t1\t1\trelative\n",
			      LIBC_SHA "\t-1\t1\t/x\n", LIBC_SHA "\t1\t1\n" };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *key = g_strdup_printf("bad%zu", i);
		g_autofree char *bdir = make_image(key, bad[i]);
		g_autoptr(SvRootfs) br = sv_rootfs_open_dir(bdir, NULL);
		g_autoptr(GError) e = NULL;
		g_assert_null(sv_rootfs_refs_new(br, guest_stat, &v, &e));
		g_assert_error(e, SV_ERROR, SV_ERROR_INVALID_DATA);
	}
}

static void test_choice(void)
{
	g_autofree char *dir = make_image("k3", good_index);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvRootfs) r = sv_rootfs_open_dir(dir, &error);
	g_assert_no_error(error);
	g_assert_true(sv_rootfs_register("mine", dir, &error));
	/* a snapshot of no image: none, or the one asked for */
	g_autoptr(GVariant) none = g_variant_ref_sink(g_variant_new_parsed("@a{ss} {}"));
	SvRootfs *got = NULL;
	g_assert_true(sv_rootfs_for_snapshot(none, NULL, &got, &error));
	g_assert_null(got);
	/* found by sha256 */
	g_autofree char *text = g_strdup_printf("{'rootfs_sha256': '%s', 'rootfs_name': 'mine'}",
						r->image_sha256);
	g_autoptr(GVariant) prov = g_variant_ref_sink(g_variant_new_parsed(text));
	g_assert_true(sv_rootfs_for_snapshot(prov, NULL, &got, &error));
	g_assert_nonnull(got);
	/* k2 of the test before has the same contents: either is this image */
	g_assert_cmpstr(got->image_sha256, ==, r->image_sha256);
	sv_rootfs_free(got);
	got = NULL;
	/* another image's snapshot: how to get it */
	g_autoptr(GVariant) other = g_variant_ref_sink(g_variant_new_parsed(
		"{'rootfs_sha256': '0000000000000000000000000000000000000000000000000000000000000000', "
		"'rootfs_name': 'gone', 'rootfs_packages': 'python3'}"));
	g_assert_false(sv_rootfs_for_snapshot(other, NULL, &got, &error));
	g_assert_nonnull(strstr(error->message, "snapvm image import"));
	g_assert_nonnull(strstr(error->message, "--packages python3"));
	g_clear_error(&error);
	/* ... and refused when --image names this one instead */
	g_assert_false(sv_rootfs_for_snapshot(other, "mine", &got, &error));
	g_assert_nonnull(strstr(error->message, "is a different one"));
	g_assert_null(got);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	cache = g_dir_make_tmp("snapvm-test-rootfs-XXXXXX", NULL);
	g_setenv("SNAPVM_CACHE_DIR", cache, TRUE);
	g_test_add_func("/rootfs/names", test_names);
	g_test_add_func("/rootfs/open-list-verify", test_open_list_verify);
	g_test_add_func("/rootfs/refs", test_refs);
	g_test_add_func("/rootfs/choice", test_choice);
	int rc = g_test_run();
	g_autofree char *rm = g_strdup_printf("rm -rf '%s'", cache);
	g_assert_true(g_spawn_command_line_sync(rm, NULL, NULL, NULL, NULL));
	return rc;
}
