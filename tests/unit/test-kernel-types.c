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
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include "snapvm/arch.h"
#include "base/errors.h"
#include "host/image/image.h"
#include "host/util/state-paths.h"
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

/* ---- the answers kept beside the kernel file ---- */

/* A private copy of the x86_64 kernel file (a hard link where it can be:
 * same size and mtime), so its <kernel>.types is this test's alone. */
static char *private_kernel(char **ret_dir)
{
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = sv_arch_lookup("x86_64", &error);
	g_autoptr(SvImage) image = sv_image_open(arch, NULL, &error);
	g_assert_no_error(error);
	*ret_dir = g_dir_make_tmp("kernel-types-XXXXXX", &error);
	g_assert_no_error(error);
	char *copy = g_build_filename(*ret_dir, "vmlinux", NULL);
	if (link(image->kernel, copy) != 0) {
		g_autofree char *data = NULL;
		gsize len;
		g_assert_true(g_file_get_contents(image->kernel, &data, &len, &error));
		g_assert_true(g_file_set_contents(copy, data, (gssize)len, &error));
	}
	return copy;
}

static SvKernelTypes *load_path(const char *path)
{
	g_autoptr(GError) error = NULL;
	SvKernelTypes *kt = sv_kernel_types_load(path, &error);
	g_assert_no_error(error);
	return kt;
}

static void test_answers_kept(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *kernel = private_kernel(&dir);
	g_autofree char *types = g_strconcat(kernel, ".types", NULL);
	g_autoptr(GError) error = NULL;
	guint64 fresh_bit, kept_bit, off;
	guint32 fresh_width, kept_width;
	SvKernelTypes *kt = load_path(kernel);
	g_assert_true(sv_kernel_types_btf_parsed(kt)); /* nothing kept yet */
	check_common(kt);
	g_assert_true(sv_kernel_types_bitfield(kt, "signal_struct", "is_child_subreaper",
					       &fresh_bit, &fresh_width, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(types, G_FILE_TEST_EXISTS));
	sv_kernel_types_free(kt);
	g_assert_true(g_file_test(types, G_FILE_TEST_EXISTS));

	/* the same answers (check_common's failures too), and no BTF parsed */
	kt = load_path(kernel);
	g_assert_false(sv_kernel_types_btf_parsed(kt));
	check_common(kt);
	g_assert_true(sv_kernel_types_bitfield(kt, "signal_struct", "is_child_subreaper", &kept_bit,
					       &kept_width, &error));
	g_assert_cmpuint(kept_bit, ==, fresh_bit);
	g_assert_cmpuint(kept_width, ==, fresh_width);
	g_assert_false(sv_kernel_types_btf_parsed(kt));
	/* a question not asked before parses it */
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.fsbase", &off, &error));
	g_assert_true(sv_kernel_types_btf_parsed(kt));
	sv_kernel_types_free(kt);

	/* and that one is kept too */
	kt = load_path(kernel);
	guint64 again;
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.fsbase", &again, &error));
	g_assert_cmpuint(again, ==, off);
	g_assert_false(sv_kernel_types_btf_parsed(kt));
	sv_kernel_types_free(kt);
	sv_remove_dir_of_files(dir); /* the link and its .types */
}

/* Kept answers are believed only for the same kernel file, undamaged. */
static void test_answers_refused(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *kernel = private_kernel(&dir);
	g_autofree char *types = g_strconcat(kernel, ".types", NULL);
	g_autoptr(GError) error = NULL;
	guint64 off;
	SvKernelTypes *kt = load_path(kernel);
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "mm", &off, &error));
	sv_kernel_types_free(kt);

	/* one byte of an answer changed: the checksum refuses the file */
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(types, &data, &len, &error));
	char *at = memmem(data, len, "task_struct mm", strlen("task_struct mm"));
	g_assert_nonnull(at);
	at[strlen("task_struct m")] = 'n';
	g_assert_true(g_file_set_contents(types, data, (gssize)len, &error));
	kt = load_path(kernel);
	g_assert_true(sv_kernel_types_btf_parsed(kt));
	guint64 again;
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "mm", &again, &error));
	g_assert_cmpuint(again, ==, off);
	sv_kernel_types_free(kt); /* writes a good file again */
	kt = load_path(kernel);
	g_assert_false(sv_kernel_types_btf_parsed(kt));
	sv_kernel_types_free(kt);

	/* another kernel file (its mtime changed): not its answers */
	struct utimbuf t = { .actime = 1000000000, .modtime = 1000000000 };
	g_clear_pointer(&data, g_free);
	g_assert_true(g_file_get_contents(kernel, &data, &len, &error));
	g_unlink(kernel); /* the link, not the image's own file */
	g_assert_true(g_file_set_contents(kernel, data, (gssize)len, &error));
	g_assert_cmpint(utime(kernel, &t), ==, 0);
	kt = load_path(kernel);
	g_assert_true(sv_kernel_types_btf_parsed(kt));
	sv_kernel_types_free(kt);
	sv_remove_dir_of_files(dir); /* the link and its .types */
}

typedef struct {
	const SvKernelTypes *kt;
	const char *type, *member;
	guint64 offset;
} Asker;

static gpointer ask_thread(gpointer data)
{
	Asker *a = data;
	for (int i = 0; i < 200; i++)
		g_assert_true(sv_kernel_types_offset(a->kt, a->type, a->member, &a->offset, NULL));
	return NULL;
}

/* Two threads asking at once, on a handle that has to parse the BTF for
 * them (a checkpoint asks from two). */
static void test_answers_two_threads(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *kernel = private_kernel(&dir);
	SvKernelTypes *kt = load_path(kernel);
	sv_kernel_types_free(kt); /* nothing asked: nothing kept, no file */
	guint64 mm, pgd;
	kt = load_path(kernel);
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "mm", &mm, NULL));
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "pgd", &pgd, NULL));
	sv_kernel_types_free(kt);
	kt = load_path(kernel); /* answers kept, BTF not parsed */
	g_assert_false(sv_kernel_types_btf_parsed(kt));
	Asker a = { kt, "task_struct", "mm", 0 }, b = { kt, "mm_struct", "pgd", 0 };
	Asker c = { kt, "task_struct", "tgid", 0 }, d = { kt, "mm_struct", "start_code", 0 };
	GThread *t1 = g_thread_new("a", ask_thread, &a), *t2 = g_thread_new("b", ask_thread, &b);
	GThread *t3 = g_thread_new("c", ask_thread, &c), *t4 = g_thread_new("d", ask_thread, &d);
	g_thread_join(t1);
	g_thread_join(t2);
	g_thread_join(t3);
	g_thread_join(t4);
	g_assert_cmpuint(a.offset, ==, mm);
	g_assert_cmpuint(b.offset, ==, pgd);
	g_assert_true(sv_kernel_types_btf_parsed(kt));
	sv_kernel_types_free(kt);
	sv_remove_dir_of_files(dir); /* the link and its .types */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kernel-types/x86_64", test_x86_64);
	g_test_add_func("/kernel-types/aarch64", test_aarch64);
	g_test_add_func("/kernel-types/riscv64", test_riscv64);
	g_test_add_func("/kernel-types/answers/kept", test_answers_kept);
	g_test_add_func("/kernel-types/answers/refused", test_answers_refused);
	g_test_add_func("/kernel-types/answers/two-threads", test_answers_two_threads);
	return g_test_run();
}
