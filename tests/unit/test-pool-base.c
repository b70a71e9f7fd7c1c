/* SPDX-License-Identifier: MIT */
/*
 * A saved base's key and name (host/pool/pool-base.c): every input of the
 * key changes it except a host-measured clock figure within its rounding;
 * names made for one spec parse back to their memory, and names of
 * another key, arch or CPU model, or malformed, do not; finding the
 * smallest complete base that fits, in a private cache dir.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "host/pool/pool-base.h"

static SvPoolBaseSpec spec(void)
{
	return (SvPoolBaseSpec){ .arch = "x86_64",
				 .cpu = NULL,
				 .accel = "tcg",
				 .image_sha256 = "c6155db8902ce512",
				 .cmdline = "cryptomgr.notests mitigations=off",
				 .clock = "tsc_early_khz=2596012 tsc=reliable",
				 .backend = "/usr/bin/qemu-system-x86_64 123 456; libvirt 9000000",
				 .restorer = "abcdef" };
}

static void test_key_inputs(void)
{
	SvPoolBaseSpec a = spec();
	g_autofree char *ka = sv_pool_base_key(&a);
	g_assert_cmpuint(strlen(ka), ==, 16);
	/* each input on its own changes the key */
	for (guint i = 0; i < 8; i++) {
		SvPoolBaseSpec b = spec();
		switch (i) {
		case 0:
			b.arch = "aarch64";
			break;
		case 1:
			b.cpu = "max";
			break;
		case 2:
			b.accel = "kvm";
			break;
		case 3:
			b.image_sha256 = "c6155db8902ce513";
			break;
		case 4:
			b.cmdline = "cryptomgr.notests";
			break;
		case 5:
			b.clock = "tsc_early_khz=2400000 tsc=reliable";
			break;
		case 6:
			b.backend = "/usr/bin/qemu-system-x86_64 124 456; libvirt 9000000";
			break;
		case 7:
			b.restorer = "abcdee";
			break;
		}
		g_autofree char *kb = sv_pool_base_key(&b);
		g_assert_cmpstr(ka, !=, kb);
	}
	/* a TSC measured a few kHz off is the same host */
	SvPoolBaseSpec c = spec();
	c.clock = "tsc_early_khz=2596204 tsc=reliable";
	g_autofree char *kc = sv_pool_base_key(&c);
	g_assert_cmpstr(ka, ==, kc);
	g_autofree char *text = sv_pool_base_key_text(&c);
	g_assert_nonnull(strstr(text, "clock=tsc_early_khz=2596k tsc=reliable\n"));
	g_assert_nonnull(strstr(text, "cpu=default\n"));
}

static void test_names(void)
{
	SvPoolBaseSpec a = spec();
	g_autofree char *key = sv_pool_base_key(&a);
	g_autofree char *name = sv_pool_base_name(&a, 1664);
	g_autofree char *want = g_strdup_printf("x86_64-default-1664m-%s", key);
	g_assert_cmpstr(name, ==, want);
	guint mib = 0;
	g_assert_true(sv_pool_base_name_parse(&a, name, &mib));
	g_assert_cmpuint(mib, ==, 1664);
	SvPoolBaseSpec other = spec();
	other.restorer = "other";
	g_assert_false(sv_pool_base_name_parse(&other, name, &mib));
	other = spec();
	other.cpu = "max";
	g_assert_false(sv_pool_base_name_parse(&other, name, &mib));
	const char *bad[] = { "x86_64-default-m-", "x86_64-default-12a4m-", "x86_64-default--",
			      "x86_64-default-99999999m-", "x86_64-default-0m-" };
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *n = g_strconcat(bad[i], key, NULL);
		g_assert_false(sv_pool_base_name_parse(&a, n, &mib));
	}
	g_assert_false(sv_pool_base_name_parse(&a, key, &mib));
	g_assert_false(sv_pool_base_name_parse(&a, "", &mib));
}

static void make_base(const char *root, const SvPoolBaseSpec *s, guint mib, gboolean whole)
{
	g_autofree char *name = sv_pool_base_name(s, mib);
	g_autofree char *dir = g_build_filename(root, name, NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	const char *files[] = { SV_POOL_BASE_INFO, SV_POOL_BASE_STATE, SV_POOL_BASE_INITRD };
	for (guint i = 0; i < G_N_ELEMENTS(files) - !whole; i++) {
		g_autofree char *p = g_build_filename(dir, files[i], NULL);
		g_assert_true(g_file_set_contents(p, "x", 1, NULL));
	}
}

static void test_find(void)
{
	g_autofree char *cache = g_dir_make_tmp("snapvm-bases-XXXXXX", NULL);
	g_setenv("SNAPVM_CACHE_DIR", cache, TRUE);
	g_autofree char *root = sv_pool_base_root();
	SvPoolBaseSpec a = spec(), other = spec();
	other.image_sha256 = "another";
	g_autofree char *dir = NULL;
	guint mib = 0;
	g_assert_false(sv_pool_base_find(&a, 512, &dir, &mib)); /* no bases dir at all */
	make_base(root, &a, 1024, TRUE);
	make_base(root, &a, 2048, TRUE);
	make_base(root, &a, 1536, FALSE); /* not complete: never loaded */
	make_base(root, &other, 1280, TRUE);
	g_assert_true(sv_pool_base_find(&a, 1100, &dir, &mib));
	g_assert_cmpuint(mib, ==, 2048);
	g_autofree char *want = sv_pool_base_name(&a, 2048);
	g_assert_true(g_str_has_suffix(dir, want));
	g_clear_pointer(&dir, g_free);
	g_assert_true(sv_pool_base_find(&a, 600, &dir, &mib));
	g_assert_cmpuint(mib, ==, 1024);
	sv_pool_base_remove(dir);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	g_clear_pointer(&dir, g_free);
	g_assert_true(sv_pool_base_find(&a, 600, &dir, &mib));
	g_assert_cmpuint(mib, ==, 2048);
	g_clear_pointer(&dir, g_free);
	g_assert_false(sv_pool_base_find(&a, 4096, &dir, &mib));
	/* clean up every base made here */
	g_autoptr(GDir) d = g_dir_open(root, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(root, n, NULL);
		sv_pool_base_remove(p);
	}
	g_rmdir(root);
	g_rmdir(cache);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pool-base/key-inputs", test_key_inputs);
	g_test_add_func("/pool-base/names", test_names);
	g_test_add_func("/pool-base/find", test_find);
	return g_test_run();
}
