/* SPDX-License-Identifier: MIT */
/*
 * The kvm VMM's dirty log (host/kvm/dirty-log.c), on a VM without
 * /dev/kvm: a take that fails part way must not leave the next one
 * claiming the log still runs from the mark before it (pages cleared by
 * the failed take would be judged unwritten); what the VMM is given of
 * guest RAM is marked, page by page, and an empty range not at all.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "host/kvm/vmm-process.h"

#define RAM_SIZE (64u << 10)
#define PARENT_MARK "1:ffff888001234000:ffff888004567800:0123456789abcdef"

typedef struct {
	SvVmm vmm;
	char *dir;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("snapvm-dirty-log-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->vmm.vm.ram = g_malloc0(RAM_SIZE);
	f->vmm.vm.ram_size = RAM_SIZE;
	f->vmm.vm.regions[0] = (SvRamRegion){ .gpa = { 0 }, .size = RAM_SIZE };
	f->vmm.vm.n_regions = 1;
	f->vmm.vm.vm_fd = f->vmm.wake_fd = f->vmm.console_log_fd = -1;
	f->vmm.vm_dir = f->dir;
	g_mutex_init(&f->vmm.devices);
	g_mutex_init(&f->vmm.pause_lock);
	g_mutex_init(&f->vmm.dirty.lock);
	f->vmm.pause_requested = TRUE; /* the vCPUs (none) parked */
	/* the log on since a checkpoint's take under PARENT_MARK */
	f->vmm.dirty.vmm_written = g_new0(guint64, 1) /* 16 pages */;
	f->vmm.dirty.mark = g_strdup(PARENT_MARK);
}

static void teardown(Fixture *f, gconstpointer data)
{
	g_autofree char *log = g_build_filename(f->dir, "dirty-log", NULL);
	g_unlink(log);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->vmm.dirty.vmm_written);
	g_free(f->vmm.dirty.mark);
	g_free(f->vmm.vm.ram);
	g_mutex_clear(&f->vmm.devices);
	g_mutex_clear(&f->vmm.pause_lock);
	g_mutex_clear(&f->vmm.dirty.lock);
}

/* The reply's previous mark ("PREV FILE"). */
static char *prev_of(const char *reply)
{
	const char *space = strchr(reply, ' ');
	g_assert_nonnull(space);
	return g_strndup(reply, (gsize)(space - reply));
}

/* KVM_GET_DIRTY_LOG fails (no KVM here): the log since PARENT_MARK is
 * not whole any more. */
static void test_failed_kvm_take_loses_the_mark(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = sv_kvm_dirty_log_take(&f->vmm, "2:aa:bb:0123456789abcdef", &error);
	g_assert_null(reply);
	g_assert_nonnull(error);
	g_assert_cmpstr(f->vmm.dirty.mark, !=, PARENT_MARK);
}

/* Writing the log out fails after KVM's and the VMM's were taken and
 * cleared: the next take must not answer PARENT_MARK. */
static void test_failed_write_loses_the_mark(Fixture *f, gconstpointer data)
{
	f->vmm.vm.n_regions = 0; /* no KVM slot to ask */
	g_autofree char *gone = g_build_filename(f->dir, "gone", NULL);
	f->vmm.vm_dir = gone;
	g_autoptr(GError) error = NULL;
	g_autofree char *failed = sv_kvm_dirty_log_take(&f->vmm, "2:aa:bb:0123456789abcdef",
							&error);
	g_assert_null(failed);
	g_assert_nonnull(error);
	g_clear_error(&error);
	f->vmm.vm_dir = f->dir;
	g_autofree char *reply = sv_kvm_dirty_log_take(&f->vmm, "2:aa:bb:fedcba9876543210", &error);
	g_assert_no_error(error);
	g_autofree char *prev = prev_of(reply);
	g_assert_cmpstr(prev, !=, PARENT_MARK);
	g_assert_cmpstr(prev, !=, "2:aa:bb:0123456789abcdef");
	/* and a take that succeeds runs from its own mark */
	g_autofree char *next = sv_kvm_dirty_log_take(&f->vmm, "3:aa:bb:0123456789abcdef", &error);
	g_assert_no_error(error);
	g_autofree char *prev2 = prev_of(next);
	g_assert_cmpstr(prev2, ==, "2:aa:bb:fedcba9876543210");
}

/* sv_kvm_ram_at: every page the range touches; 0 bytes at guest-physical
 * 0 none (its last page would wrap). */
static void test_empty_range_marks_nothing(Fixture *f, gconstpointer data)
{
	g_assert_nonnull(sv_kvm_ram_at(&f->vmm, 0, 0));
	g_assert_cmpuint(f->vmm.dirty.vmm_written[0], ==, 0);
	g_assert_nonnull(sv_kvm_ram_at(&f->vmm, 0x2000, 4097));
	g_assert_cmpuint(f->vmm.dirty.vmm_written[0], ==, (1u << 2) | (1u << 3));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/kvm-dirty-log/failed-kvm-take-loses-the-mark", Fixture, NULL, setup,
		   test_failed_kvm_take_loses_the_mark, teardown);
	g_test_add("/kvm-dirty-log/failed-write-loses-the-mark", Fixture, NULL, setup,
		   test_failed_write_loses_the_mark, teardown);
	g_test_add("/kvm-dirty-log/empty-range-marks-nothing", Fixture, NULL, setup,
		   test_empty_range_marks_nothing, teardown);
	return g_test_run();
}
