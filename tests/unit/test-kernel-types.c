/* SPDX-License-Identifier: MIT */
/*
 * Structure layouts from the real guest kernels' BTF (the images that
 * scripts/setup.sh builds): the members introspection will need resolve,
 * through anonymous structs (all of mm_struct's fields sit in one) and
 * nested paths, and a missing member is an error naming it. A pointer
 * member names what it points at (fsnotify's connector obj changed from
 * fsnotify_connp_t * in 6.1 to void * by 6.12: riscv64's image is 6.12),
 * and enumerators resolve by name.
 */
#include "snapvm/arch.h"
#include "base/errors.h"
#include "host/image/image.h"
#include "base/kernel-types.h"

static SvKernelTypes *load(const char *arch_name)
{
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = sv_arch_lookup(arch_name, &error);
	g_autoptr(SvImage) image = sv_image_open(arch, NULL, &error);
	g_assert_no_error(error);
	SvKernelTypes *kt = sv_kernel_types_load(image->kernel, &error);
	g_assert_no_error(error);
	return kt;
}

static void check_common(SvKernelTypes *kt)
{
	const char *task_members[] = { "__state", "stack", "tasks",	  "mm",	    "pid",
				       "tgid",	  "comm",  "real_parent", "thread", NULL };
	guint64 prev = 0, off;
	g_autoptr(GError) error = NULL;
	for (const char *const *m = task_members; *m; m++) {
		g_assert_true(sv_kernel_types_offset(kt, "task_struct", *m, &off, &error));
		g_assert_no_error(error);
	}
	/* mm_struct's fields are inside an anonymous struct */
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "pgd", &off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "saved_auxv", &off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "start_code", &prev, &error));
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "end_code", &off, &error));
	g_assert_cmpuint(off, ==, prev + 8);
	guint64 size;
	g_assert_true(sv_kernel_types_size(kt, "task_struct", "comm", &size, &error));
	g_assert_cmpuint(size, ==, 16);
	g_assert_true(sv_kernel_types_offset(kt, "maple_tree", "ma_root", &off, &error));
	g_assert_false(sv_kernel_types_offset(kt, "task_struct", "no_such_member", &off, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "no_such_member"));
	g_clear_error(&error);

	gint64 v = -1;
	g_assert_true(sv_kernel_types_enum_value(kt, "fsnotify_obj_type", "FSNOTIFY_OBJ_TYPE_INODE",
						 &v, &error));
	g_assert_cmpint(v, ==, 0);
	g_assert_false(sv_kernel_types_enum_value(kt, "fsnotify_obj_type", "NO_SUCH_VALUE", &v,
						  &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "NO_SUCH_VALUE"));
	g_clear_error(&error);
	/* include/net/tcp_states.h's enum has no name */
	g_assert_true(sv_kernel_types_enum_value(kt, NULL, "TCP_LISTEN", &v, &error));
	g_assert_cmpint(v, ==, 10);
	/* asked again: from the enum found the first time */
	v = -1;
	g_assert_true(sv_kernel_types_enum_value(kt, NULL, "TCP_LISTEN", &v, &error));
	g_assert_cmpint(v, ==, 10);
	g_assert_true(sv_kernel_types_enum_value(kt, NULL, "TCP_CLOSE", &v, &error));
	g_assert_cmpint(v, ==, 7);
	g_assert_false(sv_kernel_types_enum_value(kt, NULL, "NO_SUCH_VALUE", &v, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_autofree char *task_mm = NULL, *comm = NULL;
	g_assert_true(sv_kernel_types_pointee(kt, "task_struct", "mm", &task_mm, &error));
	g_assert_cmpstr(task_mm, ==, "mm_struct");
	g_assert_false(sv_kernel_types_pointee(kt, "task_struct", "comm", &comm, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_null(comm);
}

/* fsnotify_mark_connector.obj: 6.1's points at the object's connector
 * pointer, later kernels' at the object itself. */
static char *connector_obj(SvKernelTypes *kt)
{
	g_autoptr(GError) error = NULL;
	char *pointee = NULL;
	g_assert_true(sv_kernel_types_pointee(kt, "fsnotify_mark_connector", "obj", &pointee,
					      &error));
	g_assert_no_error(error);
	return pointee;
}

static void test_x86_64(void)
{
	g_autoptr(SvKernelTypes) kt = load("x86_64");
	check_common(kt);
	guint64 off;
	g_autoptr(GError) error = NULL;
	/* TLS and the FPU hang off task->thread on x86 */
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.fsbase", &off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.fpu.fpstate", &off,
					     &error));
	g_assert_true(sv_kernel_types_offset(kt, "fpstate", "regs", &off, &error));
	g_assert_no_error(error);
	g_autofree char *obj = connector_obj(kt);
	g_assert_true(g_str_equal(obj, "fsnotify_connp_t") || g_str_equal(obj, "void"));
}

static void test_aarch64(void)
{
	g_autoptr(SvKernelTypes) kt = load("aarch64");
	check_common(kt);
	guint64 off;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.uw.tp_value", &off,
					     &error));
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.uw.fpsimd_state", &off,
					     &error));
	g_assert_no_error(error);
	g_autofree char *obj = connector_obj(kt);
	g_assert_true(g_str_equal(obj, "fsnotify_connp_t") || g_str_equal(obj, "void"));
}

/* riscv64 exists only with trixie's 6.12 kernel */
static void test_riscv64(void)
{
	g_autoptr(SvKernelTypes) kt = load("riscv64");
	check_common(kt);
	g_autofree char *obj = connector_obj(kt);
	g_assert_cmpstr(obj, ==, "void");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kernel-types/x86_64", test_x86_64);
	g_test_add_func("/kernel-types/aarch64", test_aarch64);
	g_test_add_func("/kernel-types/riscv64", test_riscv64);
	return g_test_run();
}
