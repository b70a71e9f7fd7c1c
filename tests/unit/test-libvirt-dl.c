/* SPDX-License-Identifier: MIT */
/*
 * libvirt loaded on first use (host/qemu/libvirt-dl.h): not in the process
 * until sv_libvirt_load(), then every function snapvm calls reaches the
 * installed library; a call before the load aborts saying so.
 */
#include <libvirt/libvirt.h>
#include <string.h>

#include "host/qemu/libvirt-dl.h"

static gboolean libvirt_mapped(void)
{
	g_autofree char *maps = NULL;
	g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
	return strstr(maps, "/libvirt.so.0") != NULL;
}

static void test_loaded_on_first_use(void)
{
	/* each case runs in a fresh process: nothing loaded it yet */
	if (g_test_subprocess()) {
		g_assert_false(libvirt_mapped());
		g_autoptr(GError) error = NULL;
		g_assert_true(sv_libvirt_load(&error));
		g_assert_no_error(error);
		g_assert_true(libvirt_mapped());
		g_assert_true(sv_libvirt_load(NULL)); /* once only */
		unsigned long v = 0;
		g_assert_cmpint(virGetVersion(&v, NULL, NULL), ==, 0);
		/* the library found is the one whose headers snapvm was built with */
		g_assert_cmpuint(v, ==, LIBVIR_VERSION_NUMBER);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

static void test_call_before_load_aborts(void)
{
	if (g_test_subprocess()) {
		unsigned long v = 0;
		(void)virGetVersion(&v, NULL, NULL);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*virGetVersion called before sv_libvirt_load()*");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/libvirt-dl/loaded-on-first-use", test_loaded_on_first_use);
	g_test_add_func("/libvirt-dl/call-before-load-aborts", test_call_before_load_aborts);
	return g_test_run();
}
