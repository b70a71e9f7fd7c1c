/* SPDX-License-Identifier: MIT */
/*
 * Introspection and checkpoint capture on a real guest's RAM (the RAM seed
 * named by SNAPVM_FUZZ_RAM_SEED; replay-introspect.sh makes one) with
 * corruptions placed by meaning rather than by offset, so each test holds
 * on any seed: the clean seed introspects fully; a file name that is not
 * UTF-8 (found by fuzz-introspect: it reached the snapshot's string
 * fields and GLib's asserts) is refused with an error; a loop in the task
 * list and a maple node that is its own child are refused, boundedly.
 * GTest makes every GLib critical fatal, so none may be reached.
 */
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/ram-seed.h"
#include "host/checkpoint/capture.h"
#include "base/kernel-types.h"

static struct {
	SvRamSeed *seed;
	SvGuestMem *mem;
	guint8 *ram;
	gsize size;
	SvIntrospect *in;
} T;

typedef struct {
	gint64 off;
	guint8 old[16];
	guint len;
} Patch;

static GArray *patches; /* Patch, undone by undo_all */

static void patch_at(gint64 off, const void *bytes, guint len)
{
	g_assert_cmpint(off, >=, 0);
	g_assert_cmpuint(len, <=, sizeof(((Patch *)0)->old));
	Patch p = { .off = off, .len = len };
	memcpy(p.old, T.ram + off, len);
	g_array_append_val(patches, p);
	memcpy(T.ram + off, bytes, len);
}

/* Writes 8 bytes at kernel virtual address va. */
static void patch_va_u64(guint64 va, guint64 value)
{
	SvGpa pa;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_kernel_va_to_pa(T.seed->arch, sv_introspect_kernel_space(T.in), va,
					      &pa, &error));
	guint64 le = GUINT64_TO_LE(value);
	patch_at(sv_ram_seed_offset(T.seed, pa.v, 8), &le, 8);
}

static guint64 read_va_u64(guint64 va)
{
	guint64 v;
	g_assert_true(sv_introspect_read(T.in, va, &v, 8, NULL));
	return GUINT64_FROM_LE(v);
}

static guint64 offset_of(const char *type, const char *member)
{
	guint64 off;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_kernel_types_offset(sv_introspect_types(T.in), type, member, &off,
					     &error));
	return off;
}

static void undo_all(void)
{
	for (guint i = patches->len; i > 0; i--) {
		const Patch *p = &g_array_index(patches, Patch, i - 1);
		memcpy(T.ram + p->off, p->old, p->len);
	}
	g_array_set_size(patches, 0);
}

static SvTaskRef workload(void)
{
	SvTaskRef ref;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_introspect_find_task(T.in, T.seed->pid, &ref, &error));
	g_assert_no_error(error);
	return ref;
}

static void test_clean(void)
{
	g_autoptr(GString) log = g_string_new(NULL);
	g_assert_cmpuint(sv_ram_seed_exercise(T.in, T.mem, T.seed->pid, log), ==, 9);
	g_assert_cmpstr(log->str, ==, "");
}

static void test_file_name_not_utf8(void)
{
	/* the workload's binary, /workload/memory-x86_64, is mapped: every copy
	 * of its name in RAM (the dentry's inline name among them) gets a
	 * byte no UTF-8 string has */
	static const char name[] = "memory-x86_64";
	guint n = 0;
	for (const guint8 *p = T.ram; (p = memmem(p, T.size - (p - T.ram), name, sizeof(name)));
	     p++, n++)
		patch_at(p - T.ram, "\xff", 1);
	g_assert_cmpuint(n, >, 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) vmas = sv_introspect_vmas(T.in, T.seed->pid, &error);
	g_assert_null(vmas);
	g_assert_nonnull(strstr(error->message, "not UTF-8"));
	g_clear_error(&error);
	SvTaskRef ref = workload();
	g_autoptr(SvCapture) cap = sv_capture(T.in, T.mem, &ref, 1, NULL, NULL, NULL, NULL, &error);
	g_assert_null(cap);
	g_assert_nonnull(strstr(error->message, "not UTF-8"));
	/* the process list shows the (mangled) comm as valid UTF-8 */
	g_autoptr(GArray) procs = sv_introspect_processes(T.in, NULL);
	g_assert_nonnull(procs);
	undo_all();
}

static void test_task_list_loop(void)
{
	/* the workload's tasks.next points back at itself */
	SvTaskRef ref = workload();
	guint64 tasks = ref.task + offset_of("task_struct", "tasks");
	patch_va_u64(tasks, tasks);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) procs = sv_introspect_processes(T.in, &error);
	g_assert_null(procs);
	g_assert_nonnull(strstr(error->message, "loops"));
	undo_all();
}

/* The struct file of the workload's mapping of its /tmp file. */
static guint64 tmp_file(void)
{
	g_autoptr(GArray) vmas = sv_introspect_vmas(T.in, T.seed->pid, NULL);
	g_assert_nonnull(vmas);
	for (guint i = 0; i < vmas->len; i++) {
		const SvGuestVma *v = &g_array_index(vmas, SvGuestVma, i);
		if (v->file && v->name && g_str_has_prefix(v->name, "/tmp/"))
			return v->file;
	}
	g_error("the seed's workload maps no file in /tmp");
}

static void test_dentry_list_loop(void)
{
	/* the /tmp file's dentry is its own next sibling: the walk of the
	 * guest's filesystems must end with an error */
	guint64 dentry = read_va_u64(tmp_file() + offset_of("file", "f_path.dentry"));
	guint64 child = dentry + offset_of("dentry", "d_child");
	patch_va_u64(child, child);
	SvTaskRef ref = workload();
	g_autoptr(GError) error = NULL;
	guint64 bytes;
	g_autoptr(GPtrArray) fs = sv_introspect_guest_fs(T.in, &ref, 1u << 30, &bytes, &error);
	g_assert_null(fs);
	g_assert_nonnull(strstr(error->message, "or a loop"));
	undo_all();
}

static void test_page_cache_root_elsewhere(void)
{
	/* the /tmp file's page cache root points at a "node" that is the
	 * xarray itself: not a node of this array */
	guint64 inode = read_va_u64(tmp_file() + offset_of("file", "f_inode"));
	guint64 mapping = read_va_u64(inode + offset_of("inode", "i_mapping"));
	guint64 xa = mapping + offset_of("address_space", "i_pages");
	patch_va_u64(xa + offset_of("xarray", "xa_head"), xa + 2);
	SvPageCacheRead r;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_introspect_page_cache(T.in, inode, 1u << 30, TRUE, &r, &error));
	g_assert_nonnull(error);
	undo_all();
}

static void test_thread_list_loop(void)
{
	/* the leader's thread_node.next points back at itself: the walk of
	 * the thread group stops, bounded, with an error */
	SvTaskRef ref = workload();
	guint64 node = ref.task + offset_of("task_struct", "thread_node");
	patch_va_u64(node, node);
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GArray) threads = sv_introspect_threads(T.in, &ref, &error);
	g_assert_null(threads);
	g_assert_nonnull(strstr(error->message, "thread list"));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	undo_all();
	g_clear_error(&error);
	threads = sv_introspect_threads(T.in, &ref, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(threads->len, ==, 1);
}

static void test_maple_node_own_child(void)
{
	/* the root node's first slot holds the root itself */
	SvTaskRef ref = workload();
	guint64 root = read_va_u64(ref.mm + offset_of("mm_struct", "mm_mt") +
				   offset_of("maple_tree", "ma_root"));
	g_assert_cmpuint(root & 3, ==, 2); /* a node, not a single entry */
	guint64 enode = root & ~2ull, node = enode & ~0xffull;
	guint type = (enode >> 3) & 0xf;
	const char *kind = type == 3 ? "maple_arange_64" : "maple_range_64";
	if (type == 1) {
		g_test_skip("the workload's maple tree is a single leaf");
		return;
	}
	patch_va_u64(node + offset_of(kind, "slot"), enode);
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GArray) vmas = sv_introspect_vmas(T.in, T.seed->pid, &error);
	g_assert_null(vmas);
	g_assert_nonnull(error);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	undo_all();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	const char *dir = g_getenv("SNAPVM_FUZZ_RAM_SEED");
	if (!dir) {
		g_test_skip(
			"SNAPVM_FUZZ_RAM_SEED names no RAM seed (replay-introspect.sh makes one)");
		return g_test_run();
	}
	g_autoptr(GError) error = NULL;
	T.seed = sv_ram_seed_load(dir, &error);
	g_assert_no_error(error);
	T.mem = sv_ram_seed_open_writable(T.seed, &T.ram, &T.size, &error);
	g_assert_no_error(error);
	T.in = sv_introspect_new(T.seed->arch, T.seed->image_dir, T.mem, &error);
	g_assert_no_error(error);
	patches = g_array_new(FALSE, FALSE, sizeof(Patch));
	g_test_add_func("/introspect/hostile/clean", test_clean);
	g_test_add_func("/introspect/hostile/file-name-not-utf8", test_file_name_not_utf8);
	g_test_add_func("/introspect/hostile/task-list-loop", test_task_list_loop);
	g_test_add_func("/introspect/hostile/thread-list-loop", test_thread_list_loop);
	g_test_add_func("/introspect/hostile/maple-node-own-child", test_maple_node_own_child);
	g_test_add_func("/introspect/hostile/dentry-list-loop", test_dentry_list_loop);
	g_test_add_func("/introspect/hostile/page-cache-root-elsewhere",
			test_page_cache_root_elsewhere);
	int rc = g_test_run();
	/* after every test: the seed is as it was */
	g_autoptr(GString) log = g_string_new(NULL);
	if (rc == 0 && sv_ram_seed_exercise(T.in, T.mem, T.seed->pid, log) != 9) {
		fprintf(stderr, "the seed did not come back clean:\n%s", log->str);
		rc = 1;
	}
	return rc;
}
