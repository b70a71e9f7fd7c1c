/* SPDX-License-Identifier: MIT */
/*
 * The pool's claim (host/pool/pool.c) and the standby's start
 * (host/pool/pool-standby.c), without a guest: a pool guest is a VM
 * record in a private state dir whose QEMU monitor (<vm_dir>/qmp.sock) is
 * a fake saying "running". A guest pool start has not marked ready (it
 * boots, or its standby faults in its pool) is never claimed; a ready one
 * is, once. What a standby prints before it is ready: its notes are
 * harmless, anything else fails it.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/machine/machine.h"
#include "host/pool/pool-standby.h"
#include "host/pool/pool.h"
#include "snapvm/restore-image-format.h"

#define NAME "pool-x86_64-default-1024m-0000abcd"

typedef struct {
	char *state, *vm_dir;
	int listen_fd;
	GThread *thread;
	gint connections;
} FakePool;

/* Answers every request line of every connection as a running QEMU
 * would answer query-status (qmp_capabilities takes any "return"). */
static gpointer monitor_thread(gpointer data)
{
	FakePool *f = data;
	int fd;
	while ((fd = accept(f->listen_fd, NULL, NULL)) >= 0) {
		g_atomic_int_inc(&f->connections);
		static const char greeting[] = "{\"QMP\": {\"version\": {}}}\n";
		static const char running[] = "{\"return\": {\"status\": \"running\"}}\n";
		g_assert_cmpint(write(fd, greeting, strlen(greeting)), >, 0);
		char c;
		while (read(fd, &c, 1) == 1)
			if (c == '\n' && write(fd, running, strlen(running)) < 0)
				break;
		close(fd);
	}
	return NULL;
}

static void fake_pool_open(FakePool *f)
{
	f->state = g_dir_make_tmp("snapvm-pool-XXXXXX", NULL);
	g_assert_nonnull(f->state);
	g_setenv("SNAPVM_STATE_DIR", f->state, TRUE);
	f->vm_dir = g_build_filename(f->state, "vms", NAME, NULL);
	g_assert_cmpint(g_mkdir_with_parents(f->vm_dir, 0700), ==, 0);
	g_autofree char *ini = g_build_filename(f->vm_dir, "vm.ini", NULL);
	g_assert_true(g_file_set_contents(ini,
					  "[machine]\nbackend=qemu\narch=x86_64\nmemory_mib=1024\n",
					  -1, NULL));
	g_autofree char *sock = g_build_filename(f->vm_dir, "qmp.sock", NULL);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	g_assert_cmpuint(strlen(sock), <, sizeof(a.sun_path));
	strcpy(a.sun_path, sock);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(f->listen_fd, 4), ==, 0);
	f->thread = g_thread_new("fake-qmp", monitor_thread, f);
}

static void fake_pool_close(FakePool *f)
{
	shutdown(f->listen_fd, SHUT_RDWR); /* ends accept() */
	g_thread_join(f->thread);
	close(f->listen_fd);
	const char *files[] = { "vm.ini", "qmp.sock", SV_POOL_READY_FILE, "pool-claimed" };
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(f->vm_dir, files[i], NULL);
		g_unlink(p);
	}
	g_rmdir(f->vm_dir);
	g_autofree char *vms = g_build_filename(f->state, "vms", NULL);
	g_rmdir(vms);
	g_rmdir(f->state);
	g_free(f->vm_dir);
	g_free(f->state);
}

static gboolean listed_ready(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) all = sv_pool_list(&error);
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 1);
	SvPoolGuest *g = &g_array_index(all, SvPoolGuest, 0);
	g_assert_cmpstr(g->name, ==, NAME);
	g_assert_cmpuint(g->memory_mib, ==, 1024);
	return g->ready;
}

static void test_claim_skips_starting(void)
{
	FakePool f = { 0 };
	fake_pool_open(&f);
	g_autoptr(GError) error = NULL;
	g_autofree char *claim = g_build_filename(f.vm_dir, "pool-claimed", NULL);

	/* booting, or its standby still faulting in: running, not claimed */
	g_assert_false(listed_ready());
	g_autoptr(SvMachine) none = sv_pool_claim("x86_64", NULL, 512, &error);
	g_assert_no_error(error);
	g_assert_null(none);
	g_assert_false(g_file_test(claim, G_FILE_TEST_EXISTS));

	g_autoptr(SvMachine) m = sv_machine_open(NAME, &error);
	g_assert_no_error(error);
	g_assert_true(sv_pool_mark_ready(m, &error));
	g_assert_no_error(error);
	g_assert_true(listed_ready());
	/* too small, another arch: not this one */
	g_autoptr(SvMachine) small = sv_pool_claim("x86_64", NULL, 2048, &error);
	g_assert_null(small);
	g_autoptr(SvMachine) other = sv_pool_claim("aarch64", NULL, 512, &error);
	g_assert_null(other);
	g_assert_cmpint(g_atomic_int_get(&f.connections), ==, 0);

	/* ready: claimed once, its state asked of its monitor (not of its
	 * agent's socket, which the agent would take for a host) */
	g_autoptr(SvMachine) got = sv_pool_claim("x86_64", NULL, 512, &error);
	g_assert_no_error(error);
	g_assert_nonnull(got);
	g_assert_cmpstr(got->name, ==, NAME);
	g_assert_true(g_file_test(claim, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_atomic_int_get(&f.connections), ==, 1);
	g_autoptr(SvMachine) again = sv_pool_claim("x86_64", NULL, 512, &error);
	g_assert_no_error(error);
	g_assert_null(again);
	fake_pool_close(&f);
}

static void test_standby_said(void)
{
	static const char ready[] = SV_RIMG_STANDBY_READY;
	g_autofree char *part = g_strndup(ready, 5);
	g_autofree char *notes = NULL;
	g_assert_cmpint(sv_pool_standby_said("", "", &notes), ==, SV_STANDBY_WAITING);
	g_assert_null(notes);
	g_assert_cmpint(sv_pool_standby_said(part, "", NULL), ==, SV_STANDBY_WAITING);
	g_assert_cmpint(sv_pool_standby_said(ready, "", &notes), ==, SV_STANDBY_READY);
	g_assert_null(notes);
	/* a note (the restorer's, when compaction cannot be limited) is fine */
	const char *note = SV_POOL_STANDBY_NOTE "compaction stays allowed\n";
	g_assert_cmpint(sv_pool_standby_said(ready, note, &notes), ==, SV_STANDBY_READY);
	g_assert_cmpstr(notes, ==, note);
	g_clear_pointer(&notes, g_free);
	/* a line cut short is judged when whole */
	g_assert_cmpint(sv_pool_standby_said(part, "snapvm rest", NULL), ==, SV_STANDBY_WAITING);
	/* anything else on stderr fails it, as does other output */
	g_assert_cmpint(sv_pool_standby_said(part,
					     "snapvm restore: in the guest: standby: "
					     "cannot lock 512 MiB: ENOMEM\n",
					     NULL),
			==, SV_STANDBY_FAILED);
	g_autofree char *both = g_strconcat(note, "oops\n", NULL);
	g_assert_cmpint(sv_pool_standby_said(ready, both, NULL), ==, SV_STANDBY_FAILED);
	g_assert_cmpint(sv_pool_standby_said("hello\n", "", NULL), ==, SV_STANDBY_FAILED);
	g_autofree char *more = g_strconcat(ready, "x", NULL);
	g_assert_cmpint(sv_pool_standby_said(more, "", NULL), ==, SV_STANDBY_FAILED);
}

/* The ready line naming the standby's mailbox: its frames are taken only
 * when they add up to the mailbox, in at most the runs allowed. */
static void test_standby_mailbox(void)
{
	const guint pages = SV_RIMG_STANDBY_MAILBOX / 4096;
	g_autofree char *line = g_strdup_printf(SV_RIMG_STANDBY_READY_MAILBOX " 1a00+%u 2c00+%u\n",
						pages - 512, 512);
	g_assert_cmpint(sv_pool_standby_said(line, "", NULL), ==, SV_STANDBY_READY);
	g_autoptr(GArray) box = sv_pool_standby_mailbox(line);
	g_assert_nonnull(box);
	g_assert_cmpuint(box->len, ==, 2);
	struct sv_rimg_pfn_run *r = &g_array_index(box, struct sv_rimg_pfn_run, 1);
	g_assert_cmpuint(r->pfn, ==, 0x2c00);
	g_assert_cmpuint(r->npages, ==, 512);
	g_assert_cmpuint(r->staging_page, ==, pages - 512);
	/* cut short: waits; whole but wrong: fails */
	g_autofree char *part = g_strndup(line, strlen(line) - 4);
	g_assert_cmpint(sv_pool_standby_said(part, "", NULL), ==, SV_STANDBY_WAITING);
	const char *bad[] = {
		SV_RIMG_STANDBY_READY_MAILBOX " 1a00+512\n",	     /* too few pages */
		SV_RIMG_STANDBY_READY_MAILBOX " 1a00+0 2c00+2048\n", /* an empty run */
		SV_RIMG_STANDBY_READY_MAILBOX " zz+2048\n",
		SV_RIMG_STANDBY_READY_MAILBOX " ffffffffffffffff+2048\n", /* past 2^64 */
		SV_RIMG_STANDBY_READY_MAILBOX " 1a00+2048 junk\n",
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GArray) none = sv_pool_standby_mailbox(bad[i]);
		g_assert_null(none);
		g_assert_cmpint(sv_pool_standby_said(bad[i], "", NULL), ==, SV_STANDBY_FAILED);
	}
	/* more runs than allowed */
	g_autoptr(GString) many = g_string_new(SV_RIMG_STANDBY_READY_MAILBOX);
	for (guint i = 0; i < SV_RIMG_STANDBY_MAILBOX_RUNS + 1; i++)
		g_string_append_printf(many, " %x+%u", 0x1000 + 2 * i,
				       i < SV_RIMG_STANDBY_MAILBOX_RUNS ? 1 : pages - i);
	g_string_append_c(many, '\n');
	g_autoptr(GArray) none = sv_pool_standby_mailbox(many->str);
	g_assert_null(none);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pool/claim/skips-starting", test_claim_skips_starting);
	g_test_add_func("/pool/standby/said", test_standby_said);
	g_test_add_func("/pool/standby/mailbox", test_standby_mailbox);
	return g_test_run();
}
