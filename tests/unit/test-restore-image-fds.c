/* SPDX-License-Identifier: MIT */
/*
 * test-restore-image-fds.c - the TASK dict's fds and process environment
 * as the flat restore image gets them (host/restore/restore-image-fds.c):
 * numbers, kinds, dups sharing an open file, pipe ends grouped with their
 * unread bytes, open files joining the carried-file table, cwd, umask,
 * rlimits, groups, timers; named FIFOs, eventfds and epoll interest lists;
 * and the refusals.
 */
#include <string.h>

#include "snapvm/restore-image-format.h"
#include "base/errors.h"
#include "host/restore/restore-image-parts.h"
#include "tests/unit/fd-entry.h"

/* A TASK dict with fds (NULL: none) and extra entries. */
static GVariant *task_dict(GVariant *fds, guint32 uid)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	if (fds)
		g_variant_dict_insert_value(d, "fds", fds);
	g_variant_dict_insert(d, "uid", "u", uid);
	g_variant_dict_insert(d, "cwd", "s", "/tmp");
	g_variant_dict_insert(d, "umask", "u", 027u);
	g_autoptr(GVariantBuilder) rl = g_variant_builder_new(G_VARIANT_TYPE("a(tt)"));
	for (int i = 0; i < 16; i++)
		g_variant_builder_add(rl, "(tt)", (guint64)(i == 7 ? 200 : G_MAXUINT64),
				      (guint64)(i == 7 ? 300 : G_MAXUINT64));
	g_variant_dict_insert(d, "rlimits", "a(tt)", rl);
	static const guint32 groups[] = { 10, 20 };
	g_variant_dict_insert_value(d, "groups",
				    g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, groups, 2, 4));
	g_variant_dict_insert(d, "itimer_real", "(tt)", (guint64)5000000, (guint64)10000000);
	return g_variant_ref_sink(g_variant_dict_end(d));
}

typedef SvRimgTables Out;

static gboolean build(GVariant *task, Out *o, GError **error)
{
	sv_rimg_tables_init(o);
	return sv_rimg_fds_build(o, task, error);
}

static void out_clear(Out *o)
{
	sv_rimg_tables_clear(o);
}

static const struct sv_rimg_fd *fd_at(const Out *o, gint32 fd)
{
	for (guint i = 0; i < o->fds->len; i++)
		if (g_array_index(o->fds, struct sv_rimg_fd, i).fd == fd)
			return &g_array_index(o->fds, struct sv_rimg_fd, i);
	g_error("fd %d not in the table", fd);
}

static void test_table(void)
{
	GVariant *e[] = {
		/* listed out of order: the table comes out sorted */
		fd_entry(31, "pipe", 04000, 0, 0xc0, NULL, 0x77, "abc", FALSE, FALSE),
		fd_entry(0, "chr", 0100000, 0, 0xa0, "/dev/null", 0, NULL, FALSE, TRUE),
		fd_entry(1, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, FALSE, TRUE),
		fd_entry(20, "file", 0100002 | 01000 | 0100, 100, 0xb0, "/tmp/f", 0, NULL, FALSE,
			 FALSE),
		fd_entry(21, "file", 0100002, 100, 0xb0, "/tmp/f", 0, NULL, TRUE, FALSE),
		fd_entry(30, "pipe", 04001, 0, 0xc1, NULL, 0x77, NULL, FALSE, FALSE),
	};
	g_autoptr(GVariant) task =
		task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e, G_N_ELEMENTS(e)), 0);
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_no_error(error);
	g_assert_true(o.h.flags & SV_RIMG_FDS);
	g_assert_cmpuint(o.h.nfds, ==, 6);
	for (guint i = 1; i < o.fds->len; i++)
		g_assert_cmpint(g_array_index(o.fds, struct sv_rimg_fd, i - 1).fd, <,
				g_array_index(o.fds, struct sv_rimg_fd, i).fd);
	g_assert_cmpuint(fd_at(&o, 0)->kind, ==, SV_RIMG_FD_STDIO);
	g_assert_cmpuint(fd_at(&o, 1)->kind, ==, SV_RIMG_FD_STDIO);
	const struct sv_rimg_fd *f20 = fd_at(&o, 20), *f21 = fd_at(&o, 21);
	g_assert_cmpuint(f20->kind, ==, SV_RIMG_FD_PATH);
	g_assert_cmpuint(f20->pos, ==, 100);
	g_assert_cmpuint(f20->flags, ==, 0100002); /* O_TRUNC, O_CREAT dropped */
	g_assert_cmpint(f20->dup_of, ==, -1);
	g_assert_cmpint(f21->dup_of, ==, 20);
	g_assert_cmpuint(f21->cloexec, ==, 1);
	g_assert_cmpstr((const char *)o.strings->data + f20->path_off, ==, "/tmp/f");
	/* the open file joins the files to put in the guest, once */
	g_assert_cmpuint(o.files->len, ==, 1);
	g_assert_true(g_array_index(o.files, struct sv_rimg_file, 0).carried);
	g_assert_false(o.uncarried);
	const struct sv_rimg_fd *w = fd_at(&o, 30), *r = fd_at(&o, 31);
	g_assert_cmpuint(w->kind, ==, SV_RIMG_FD_PIPE_WRITE);
	g_assert_cmpuint(r->kind, ==, SV_RIMG_FD_PIPE_READ);
	g_assert_cmpuint(w->pipe, ==, r->pipe);
	g_assert_cmpuint(r->data_len, ==, 3);
	g_assert_cmpuint(o.h.data_len, ==, 3);
	g_assert_cmpmem(o.fd_data->data + r->data_off, 3, "abc", 3);
	g_assert_cmpstr((const char *)o.strings->data + o.h.cwd_off, ==, "/tmp");
	g_assert_cmpuint(o.h.umask, ==, 027);
	g_assert_cmpuint(o.h.nrlimits, ==, 16);
	g_assert_cmpuint(o.h.rlimits[7][0], ==, 200);
	g_assert_cmpuint(o.h.rlimits[7][1], ==, 300);
	g_assert_cmpuint(o.h.ngroups, ==, 2);
	g_assert_cmpuint(g_array_index(o.groups, guint32, 1), ==, 20);
	g_assert_cmpuint(o.h.itimers[0][0], ==, 5000000);
	g_assert_cmpuint(o.h.itimers[0][1], ==, 10000000);
	g_assert_cmpuint(o.h.itimers[1][0], ==, 0);
	out_clear(&o);
}

/* Other fds of the stdio pipe (`2>&1`, `exec 40>&1`, a second open of it)
 * become dups of the first, so their output reaches the host as well; a
 * stdio fd above 2 that shares nothing is refused. */
static void test_stdio_dups(void)
{
	GVariant *e[] = {
		fd_entry(1, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, FALSE, TRUE),
		fd_entry(2, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, FALSE, TRUE),
		fd_entry(40, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, TRUE, TRUE),
		fd_entry(41, "pipe", 04001, 0, 0xa2, NULL, 0x55, NULL, FALSE, TRUE),
	};
	g_autoptr(GVariant) task =
		task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e, G_N_ELEMENTS(e)), 0);
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(o.h.nfds, ==, 4);
	g_assert_cmpint(fd_at(&o, 1)->dup_of, ==, -1);
	for (gint32 fd = 2; fd <= 41; fd += fd == 2 ? 38 : 1) {
		g_assert_cmpuint(fd_at(&o, fd)->kind, ==, SV_RIMG_FD_STDIO);
		g_assert_cmpint(fd_at(&o, fd)->dup_of, ==, 1);
	}
	g_assert_cmpuint(fd_at(&o, 40)->cloexec, ==, 1);
	out_clear(&o);

	GVariant *lone[] = { fd_entry(7, "chr", 02, 0, 0xd0, "/dev/null", 0, NULL, FALSE, TRUE) };
	g_autoptr(GVariant)
		bad = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), lone, 1), 0);
	g_assert_false(build(bad, &o, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "fd 7 is marked as stdio"));
	out_clear(&o);
}

static void test_no_fds(void)
{
	g_autoptr(GVariant) task = task_dict(NULL, 0);
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_false(o.h.flags & SV_RIMG_FDS);
	g_assert_cmpuint(o.h.nfds, ==, 0);
	out_clear(&o);
}

static void refused(GVariant *fds, guint32 uid, const char *needle)
{
	g_autoptr(GVariant) task = task_dict(fds, uid);
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_false(build(task, &o, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	if (!strstr(error->message, needle))
		g_error("'%s' does not say '%s'", error->message, needle);
	out_clear(&o);
}

static void test_refusals(void)
{
	GVariant *sock[] = { fd_entry(7, "socket", 2, 0, 0xd0, NULL, 0, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), sock, 1), 0, "fd 7 is a socket");
	GVariant *twice[] = { fd_entry(5, "chr", 0, 0, 1, "/dev/null", 0, NULL, FALSE, FALSE),
			      fd_entry(5, "chr", 0, 0, 2, "/dev/null", 0, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), twice, 2), 0, "fd 5 appears twice");
	GVariant *opath[] = { fd_entry(4, "dir", 010000000, 0, 1, "/", 0, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), opath, 1), 0, "O_PATH");
	GVariant *nopath[] = { fd_entry(4, "file", 0, 0, 1, NULL, 0, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), nopath, 1), 0, "no path");
	GVariant *ok[] = { fd_entry(0, "chr", 0, 0, 1, "/dev/null", 0, NULL, FALSE, TRUE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), ok, 1), 1000, "uid 1000");
}

/* The image part of a TASK dict with fds e[n], which must build. */
static void build_ok(GVariant **e, gsize n, Out *o)
{
	g_autoptr(GVariant) task = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e, n), 0);
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, o, &error));
	g_assert_no_error(error);
}

/* An entry of fd_entry's with more keys. */
static GVariant *with(GVariant *entry, const char *key, GVariant *value)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(entry);
	g_variant_unref(g_variant_ref_sink(entry));
	g_variant_dict_insert_value(d, key, value);
	return g_variant_dict_end(d);
}

/* A pipe end opened again (its own open file: no dup_of) stays a file of
 * its own; a dup shares its first fd's; a FIFO keeps its path and mode,
 * its bytes with it. */
static void test_pipes_and_fifos(void)
{
	GVariant *e[] = {
		fd_entry(10, "pipe", 0, 0, 0xa0, NULL, 0x77, "xy", FALSE, FALSE),
		fd_entry(11, "pipe", 04001, 0, 0xa1, NULL, 0x77, NULL, FALSE, FALSE),
		fd_entry(12, "pipe", 04001, 0, 0xa1, NULL, 0x77, NULL, FALSE, FALSE),
		fd_entry(13, "pipe", 01, 0, 0xa2, NULL, 0x77, NULL, FALSE, FALSE),
		with(fd_entry(20, "fifo", 04000, 0, 0xb0, "/tmp/q.fifo", 0x88, "fifo", FALSE,
			      FALSE),
		     "i_mode", g_variant_new_uint32(010640)),
		with(fd_entry(21, "fifo", 01, 0, 0xb1, "/tmp/q.fifo", 0x88, NULL, FALSE, FALSE),
		     "i_mode", g_variant_new_uint32(010640)),
	};
	Out o;
	build_ok(e, G_N_ELEMENTS(e), &o);
	g_assert_cmpint(fd_at(&o, 11)->dup_of, ==, -1);
	g_assert_cmpint(fd_at(&o, 12)->dup_of, ==, 11);
	g_assert_cmpint(fd_at(&o, 13)->dup_of, ==, -1); /* reopened: its own file */
	g_assert_cmpuint(fd_at(&o, 13)->flags, ==, 01);
	g_assert_cmpuint(fd_at(&o, 13)->pipe, ==, fd_at(&o, 10)->pipe);
	const struct sv_rimg_fd *r = fd_at(&o, 20), *w = fd_at(&o, 21);
	g_assert_cmpuint(r->kind, ==, SV_RIMG_FD_FIFO);
	g_assert_cmpuint(w->kind, ==, SV_RIMG_FD_FIFO);
	g_assert_cmpuint(r->pipe, ==, w->pipe);
	g_assert_cmpuint(r->pipe, !=, fd_at(&o, 10)->pipe);
	g_assert_cmpuint(r->i_mode, ==, 010640);
	g_assert_cmpstr((const char *)o.strings->data + w->path_off, ==, "/tmp/q.fifo");
	g_assert_cmpmem(o.fd_data->data + r->data_off, r->data_len, "fifo", 4);
	out_clear(&o);
	GVariant *nopath[] = { fd_entry(3, "fifo", 0, 0, 1, NULL, 9, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), nopath, 1), 0, "fd 3 (a FIFO)");
}

static GVariant *epoll_list(const guint64 (*items)[5], gsize n)
{
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("a(tuutb)"));
	for (gsize i = 0; i < n; i++)
		g_variant_builder_add(b, "(tuutb)", items[i][0], (guint32)items[i][1],
				      (guint32)items[i][2], items[i][3], (gboolean)items[i][4]);
	return g_variant_builder_end(b);
}

/* eventfd: count and EFD_SEMAPHORE; epoll: its items with their targets'
 * fds, the idle edge-triggered ones first (kind_flags of them), then the
 * ready ones in ready-list order, then the rest. */
static void test_eventfd_epoll(void)
{
	static const guint64 items[][5] = {
		/* file, fd, events, data, ready */
		{ 0xe1, 41, 0x1, 0x4141, 1 },
		{ 0xe0, 40, 0x1, 0x4040, 1 },
		{ 0xe2, 42, 0x80000001u, 0x4242, 0 }, /* EPOLLET, idle */
		{ 0xe3, 43, 0x4, 0x4343, 0 },
	};
	GVariant *e[] = {
		with(with(fd_entry(30, "eventfd", 04002, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE),
			  "eventfd_count", g_variant_new_uint64(12345678901ull)),
		     "eventfd_semaphore", g_variant_new_boolean(TRUE)),
		with(fd_entry(39, "epoll", 02, 0, 0xd0, NULL, 0, NULL, TRUE, FALSE), "epoll",
		     epoll_list(items, G_N_ELEMENTS(items))),
		fd_entry(40, "chr", 0, 0, 0xe0, "/dev/null", 0, NULL, FALSE, FALSE),
		fd_entry(41, "pipe", 0, 0, 0xe1, NULL, 0x66, NULL, FALSE, FALSE),
		fd_entry(42, "pipe", 0, 0, 0xe2, NULL, 0x67, NULL, FALSE, FALSE),
		fd_entry(43, "pipe", 1, 0, 0xe3, NULL, 0x67, NULL, FALSE, FALSE),
	};
	Out o;
	build_ok(e, G_N_ELEMENTS(e), &o);
	const struct sv_rimg_fd *ev = fd_at(&o, 30), *ep = fd_at(&o, 39);
	g_assert_cmpuint(ev->kind, ==, SV_RIMG_FD_EVENTFD);
	g_assert_cmpuint(ev->value[0], ==, 12345678901ull);
	g_assert_cmpuint(ev->kind_flags, ==, 1);
	g_assert_cmpuint(ev->flags, ==, 04002);
	g_assert_cmpuint(ep->kind, ==, SV_RIMG_FD_EPOLL);
	g_assert_cmpuint(ep->kind_flags, ==, 1);
	g_assert_cmpuint(ep->data_len, ==, 4 * sizeof(struct sv_rimg_epoll_item));
	static const gint32 order[] = { 42, 41, 40, 43 };
	for (guint i = 0; i < 4; i++) {
		struct sv_rimg_epoll_item it;
		memcpy(&it, o.fd_data->data + ep->data_off + i * sizeof(it), sizeof(it));
		g_assert_cmpint(it.fd, ==, order[i]);
		g_assert_cmpuint(it.data, ==, 0x4040u + 0x101u * (guint)(order[i] - 40));
	}
	out_clear(&o);
	/* an item whose fd now holds another file, or nothing */
	static const guint64 stale[][5] = { { 0xe9, 40, 1, 0, 0 } };
	GVariant *s1[] = {
		with(fd_entry(39, "epoll", 02, 0, 0xd0, NULL, 0, NULL, TRUE, FALSE), "epoll",
		     epoll_list(stale, 1)),
		fd_entry(40, "chr", 0, 0, 0xe0, "/dev/null", 0, NULL, FALSE, FALSE),
	};
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), s1, 2), 0,
		"fd 39 (epoll) watches a file it was given as fd 40, which no longer holds it");
	GVariant *s2[] = { fd_entry(30, "eventfd", 0, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), s2, 1), 0,
		"fd 30 is an eventfd without its count");
}

/* timerfd: clock and ABSTIME in kind_flags, value/interval/ticks; a
 * signalfd's mask; the clocks restore cannot make refused. */
static void test_timerfd_signalfd(void)
{
	GVariant *e[] = {
		with(fd_entry(50, "timerfd", 0, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE), "timerfd",
		     g_variant_new("(ubttt)", 1u, FALSE, (guint64)3000, (guint64)20, (guint64)7)),
		with(fd_entry(51, "timerfd", 04000, 0, 0xc1, NULL, 0, NULL, FALSE, FALSE),
		     "timerfd",
		     g_variant_new("(ubttt)", 0u, TRUE, (guint64)1800000000000000000ull, (guint64)0,
				   (guint64)0)),
		with(fd_entry(60, "signalfd", 04000, 0, 0xc2, NULL, 0, NULL, FALSE, FALSE),
		     "signalfd_mask", g_variant_new_uint64(0xa00)),
	};
	Out o;
	build_ok(e, G_N_ELEMENTS(e), &o);
	const struct sv_rimg_fd *t = fd_at(&o, 50), *a = fd_at(&o, 51), *s = fd_at(&o, 60);
	g_assert_cmpuint(t->kind, ==, SV_RIMG_FD_TIMERFD);
	g_assert_cmpuint(t->kind_flags, ==, 1);
	g_assert_cmpuint(t->value[0], ==, 3000);
	g_assert_cmpuint(t->value[1], ==, 20);
	g_assert_cmpuint(t->value[2], ==, 7);
	g_assert_cmpuint(a->kind_flags, ==, 0 | SV_RIMG_TIMERFD_ABSTIME);
	g_assert_cmpuint(a->value[0], ==, 1800000000000000000ull);
	g_assert_cmpuint(s->kind, ==, SV_RIMG_FD_SIGNALFD);
	g_assert_cmpuint(s->value[0], ==, 0xa00);
	out_clear(&o);
	GVariant *alarm[] = {
		with(fd_entry(50, "timerfd", 0, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE), "timerfd",
		     g_variant_new("(ubttt)", 8u, FALSE, (guint64)1, (guint64)0, (guint64)0))
	};
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), alarm, 1), 0,
		"fd 50 is a timerfd on clock 8");
	GVariant *absmono[] = {
		with(fd_entry(50, "timerfd", 0, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE), "timerfd",
		     g_variant_new("(ubttt)", 1u, TRUE, (guint64)1, (guint64)0, (guint64)0))
	};
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), absmono, 1), 0,
		"other than CLOCK_REALTIME");
}

/* Locks: on the fd's own record, in the kernel's terms turned into
 * fcntl's (OFFSET_MAX: to the end, len 0); none for a dup; malformed
 * ones refused. */
static void test_locks(void)
{
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("a(uutt)"));
	g_variant_builder_add(b, "(uutt)", 1u, 1u, (guint64)0, (guint64)G_MAXINT64);
	g_variant_builder_add(b, "(uutt)", 3u, 1u, (guint64)0, (guint64)9);
	g_variant_builder_add(b, "(uutt)", 2u, 0u, (guint64)300, (guint64)G_MAXINT64);
	GVariant *locks = g_variant_ref_sink(g_variant_builder_end(b));
	GVariant *e[] = {
		with(fd_entry(70, "file", 02, 0, 0xb0, "/tmp/l", 0, NULL, FALSE, FALSE), "locks",
		     locks),
		with(fd_entry(74, "file", 02, 0, 0xb0, "/tmp/l", 0, NULL, FALSE, FALSE), "locks",
		     locks),
	};
	g_autoptr(GVariant) task =
		task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e, G_N_ELEMENTS(e)), 0);
	g_variant_unref(locks);
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_no_error(error);
	const struct sv_rimg_fd *f = fd_at(&o, 70), *dup = fd_at(&o, 74);
	g_assert_cmpuint(f->data_len, ==, 3 * sizeof(struct sv_rimg_lock));
	g_assert_cmpuint(dup->data_len, ==, 0);
	struct sv_rimg_lock lk[3];
	memcpy(lk, o.fd_data->data + f->data_off, sizeof(lk));
	g_assert_cmpuint(lk[0].kind, ==, SV_RIMG_LOCK_FLOCK);
	g_assert_cmpuint(lk[0].write, ==, 1);
	g_assert_cmpuint(lk[0].len, ==, 0);
	g_assert_cmpuint(lk[1].kind, ==, SV_RIMG_LOCK_OFD);
	g_assert_cmpuint(lk[1].len, ==, 10);
	g_assert_cmpuint(lk[2].kind, ==, SV_RIMG_LOCK_POSIX);
	g_assert_cmpuint(lk[2].write, ==, 0);
	g_assert_cmpuint(lk[2].start, ==, 300);
	g_assert_cmpuint(lk[2].len, ==, 0);
	out_clear(&o);
	g_autoptr(GVariantBuilder) bad = g_variant_builder_new(G_VARIANT_TYPE("a(uutt)"));
	g_variant_builder_add(bad, "(uutt)", 2u, 0u, (guint64)10, (guint64)5);
	GVariant *e2[] = { with(fd_entry(70, "file", 02, 0, 0xb0, "/tmp/l", 0, NULL, FALSE, FALSE),
				"locks", g_variant_builder_end(bad)) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), e2, 1), 0,
		"fd 70: lock 0 is malformed");
}

static GVariant *sock(guint32 fd, guint64 id, guint64 peer, guint32 type, guint32 shut,
		      const char *const *queue)
{
	GVariant *e = with(fd_entry(fd, "unix", 02, 0, id + 1, NULL, 0, NULL, FALSE, FALSE),
			   "socket",
			   g_variant_new("(uuttuuu)", 1u, type, id, peer, shut, 4608u, 4608u));
	if (!queue)
		return e;
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("aay"));
	for (const char *const *m = queue; *m; m++)
		g_variant_builder_add_value(b, g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, *m,
									 strlen(*m), 1));
	return with(e, "socket_queue", g_variant_builder_end(b));
}

/* A socketpair's ends share a pair number and have ends 0 and 1; each
 * one's unread messages are length-prefixed; a peer outside the process
 * or messages on a lone socket are refused. */
static void test_unix(void)
{
	static const char *const q[] = { "one", "three", NULL };
	GVariant *e[] = {
		sock(80, 0x2000, 0x1000, 2, 2, NULL),
		sock(81, 0x1000, 0x2000, 2, 1, q),
		/* its buffers and their locks: the sizes in the buffers' key */
		with(sock(86, 0x3000, 0, 2, 0, NULL), "socket_bufs",
		     g_variant_new("(uuu)", 9000u, 4608u, 1u)),
	};
	Out o;
	build_ok(e, G_N_ELEMENTS(e), &o);
	const struct sv_rimg_fd *a = fd_at(&o, 80), *b = fd_at(&o, 81), *lone = fd_at(&o, 86);
	g_assert_cmpuint(a->kind, ==, SV_RIMG_FD_UNIX);
	g_assert_cmpuint(a->pipe, ==, b->pipe);
	g_assert_cmpuint(lone->pipe, !=, a->pipe);
	g_assert_cmpuint(a->kind_flags, ==, 1 | 2 << 8); /* the higher address, SEND_SHUTDOWN */
	g_assert_cmpuint(b->kind_flags, ==, 0 | 1 << 8);
	g_assert_cmpuint(lone->kind_flags, ==, SV_RIMG_SOCK_BUFS | 1u << SV_RIMG_SOCK_LOCKS_SHIFT);
	g_assert_cmpuint(SV_RIMG_SOCK_LOCKS(lone->kind_flags), ==, 1);
	g_assert_cmpuint(lone->value[1], ==, 9000);
	g_assert_cmpuint(lone->value[2], ==, 4608);
	g_assert_cmpuint(a->value[0], ==, 2);
	g_assert_cmpuint(a->value[1], ==, 4608);
	g_assert_cmpuint(a->data_len, ==, 0);
	g_assert_cmpuint(b->data_len, ==, 4 + 3 + 4 + 5);
	g_assert_cmpmem(o.fd_data->data + b->data_off, 7, "\3\0\0\0one", 7);
	out_clear(&o);
	GVariant *outside[] = { sock(80, 0x2000, 0x9000, 1, 0, NULL) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), outside, 1), 0,
		"fd 80 is a UNIX socket connected to a peer outside the process");
	GVariant *lonely[] = { sock(86, 0x3000, 0, 2, 0, q) };
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), lonely, 1), 0,
		"fd 86 is an unconnected UNIX socket with unread messages");
}

/* A listening IPv4 socket and a bound IPv6 one: family, type, port,
 * backlog, options, address; a listening UDP socket is refused. */
static void test_inet(void)
{
	static const guint8 any4[4] = { 0 }, lo6[16] = { [15] = 1 };
	GVariant *e[] = {
		with(fd_entry(90, "inet", 04002, 0, 0xc0, NULL, 0, NULL, FALSE, FALSE), "inet",
		     g_variant_new("(uu@ayuuu)", 2u, 1u,
				   g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, any4, 4, 1),
				   40000u, 5u, 1u | 8u)),
		with(with(fd_entry(91, "inet", 02, 0, 0xc1, NULL, 0, NULL, FALSE, FALSE), "inet",
			  g_variant_new("(uu@ayuuu)", 10u, 2u,
					g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, lo6, 16, 1),
					40001u, 0u, 4u | 32u)),
		     "socket_bufs", g_variant_new("(uuu)", 100000u, 140000u, 3u)),
	};
	Out o;
	build_ok(e, G_N_ELEMENTS(e), &o);
	const struct sv_rimg_fd *l = fd_at(&o, 90), *u = fd_at(&o, 91);
	g_assert_cmpuint(l->kind, ==, SV_RIMG_FD_INET);
	g_assert_cmpuint(l->value[0], ==, 2 | 1 << 16);
	g_assert_cmpuint(l->value[1], ==, 40000 | 5ull << 32);
	g_assert_cmpuint(l->kind_flags, ==, SV_RIMG_INET_REUSEADDR | SV_RIMG_INET_LISTEN);
	g_assert_cmpuint(l->data_len, ==, 4);
	g_assert_cmpuint(u->kind_flags, ==,
			 SV_RIMG_INET_V6ONLY | SV_RIMG_INET_NONLOCAL | SV_RIMG_SOCK_BUFS |
				 3u << SV_RIMG_SOCK_LOCKS_SHIFT);
	g_assert_cmpuint(u->value[2], ==, 100000 | 140000ull << 32);
	g_assert_cmpuint(l->value[2], ==, 0); /* an older snapshot's: sizes left */
	g_assert_cmpmem(o.fd_data->data + u->data_off, u->data_len, lo6, 16);
	out_clear(&o);
	GVariant *bad[] = {
		with(fd_entry(92, "inet", 02, 0, 0xc2, NULL, 0, NULL, FALSE, FALSE), "inet",
		     g_variant_new("(uu@ayuuu)", 2u, 2u,
				   g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, any4, 4, 1), 53u,
				   5u, 8u))
	};
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), bad, 1), 0,
		"fd 92: an IP socket the restorer does not know");
	GVariant *huge[] = {
		with(with(fd_entry(93, "inet", 02, 0, 0xc3, NULL, 0, NULL, FALSE, FALSE), "inet",
			  g_variant_new("(uu@ayuuu)", 2u, 2u,
					g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, any4, 4, 1),
					53u, 0u, 0u)),
		     "socket_bufs", g_variant_new("(uuu)", 0x80000000u, 4608u, 0u))
	};
	refused(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), huge, 1), 0,
		"fd 93: socket buffers the restorer does not know");
}

/* POSIX timers: sorted by id into the data area; ids too high to reach
 * are refused. */
static void test_posix_timers(void)
{
	g_autoptr(GVariant)
		base = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0), 0);
	g_autoptr(GVariantDict) d = g_variant_dict_new(base);
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("a(uuuutttt)"));
	g_variant_builder_add(b, "(uuuutttt)", 3u, 7u, 0u, 35u, (guint64)0x5678, (guint64)20000000,
			      (guint64)20000000, (guint64)0);
	g_variant_builder_add(b, "(uuuutttt)", 0u, 1u, 0u, 34u, (guint64)0x1234, (guint64)1,
			      (guint64)3600000000000ull, (guint64)0);
	g_variant_dict_insert_value(d, "posix_timers", g_variant_builder_end(b));
	g_autoptr(GVariant) task = g_variant_ref_sink(g_variant_dict_end(d));
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(o.h.ntimers, ==, 2);
	g_assert_cmpuint(o.h.timers_off % 8, ==, 0);
	g_assert_cmpuint(o.h.data_len, ==, o.h.timers_off + 2 * sizeof(struct sv_rimg_posix_timer));
	struct sv_rimg_posix_timer t[2];
	memcpy(t, o.fd_data->data + o.h.timers_off, sizeof(t));
	g_assert_cmpint(t[0].id, ==, 0);
	g_assert_cmpint(t[1].id, ==, 3);
	g_assert_cmpint(t[1].clock, ==, 7);
	g_assert_cmpuint(t[1].value, ==, 0x5678);
	out_clear(&o);
}

/* posix_timers (id, clock, signo, interval; 5 ms left each, SIGEV_SIGNAL)
 * with posix_timer_overruns (id, count) built into o. */
static gboolean build_overruns(const guint32 (*timers)[4], gsize n, const guint32 (*counts)[2],
			       gsize ncounts, Out *o, GError **error)
{
	g_autoptr(GVariant)
		base = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0), 0);
	g_autoptr(GVariantDict) d = g_variant_dict_new(base);
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("a(uuuutttt)"));
	for (gsize i = 0; i < n; i++)
		g_variant_builder_add(b, "(uuuutttt)", timers[i][0], timers[i][1], 0u, timers[i][2],
				      (guint64)0, (guint64)5000000, (guint64)timers[i][3],
				      (guint64)0);
	g_variant_dict_insert_value(d, "posix_timers", g_variant_builder_end(b));
	g_autoptr(GVariantBuilder) c = g_variant_builder_new(G_VARIANT_TYPE("a(ut)"));
	for (gsize i = 0; i < ncounts; i++)
		g_variant_builder_add(c, "(ut)", counts[i][0], (guint64)counts[i][1]);
	g_variant_dict_insert_value(d, "posix_timer_overruns", g_variant_builder_end(c));
	g_autoptr(GVariant) task = g_variant_ref_sink(g_variant_dict_end(d));
	return build(task, o, error);
}

/* Overrun counts: carried for periodic monotonic timers, each on its own
 * signal; refused when the restorer could not make them again (no
 * interval: it would divide by it; realtime; two on one signal). */
static void test_posix_timer_overruns(void)
{
	static const guint32 ok[][4] = { { 1, 1, 34, 10000000 }, { 2, 7, 35, 10000000 } };
	static const guint32 counts[][2] = { { 1, 3 }, { 2, 2 } };
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build_overruns(ok, 2, counts, 2, &o, &error));
	g_assert_no_error(error);
	struct sv_rimg_posix_timer t[2];
	memcpy(t, o.fd_data->data + o.h.timers_off, sizeof(t));
	g_assert_cmpuint(t[0].overrun, ==, 3);
	g_assert_cmpuint(t[1].overrun, ==, 2);
	out_clear(&o);

	static const struct {
		guint32 timers[2][4];
		const char *want;
	} bad[] = {
		{ { { 1, 1, 34, 10000000 }, { 2, 1, 34, 10000000 } },
		  "both have an overrun count" },
		{ { { 1, 1, 34, 0 }, { 2, 1, 35, 10000000 } }, "cannot make again" },
		{ { { 1, 0, 34, 10000000 }, { 2, 1, 35, 10000000 } }, "cannot make again" },
		{ { { 1, 1, 34, 4000000000u }, { 2, 1, 35, 10000000 } }, "cannot make again" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_clear_error(&error);
		g_assert_false(build_overruns(bad[i].timers, 2, counts, 2, &o, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, bad[i].want));
		out_clear(&o);
	}
}

/* A process that is not root: its ids and capabilities go in the header
 * for the blob to switch to last. */
static void test_creds(void)
{
	g_autoptr(GVariant)
		base = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0), 2000);
	g_autoptr(GVariantDict) d = g_variant_dict_new(base);
	g_variant_dict_insert(d, "euid", "u", 2001u);
	g_variant_dict_insert(d, "fsgid", "u", 1001u);
	g_variant_dict_insert(d, "caps", "(uttttt)", 0x10u, (guint64)0x20, (guint64)0x420,
			      (guint64)0x400, (guint64)0x1fffffeffffull, (guint64)0x20);
	g_autoptr(GVariant) task = g_variant_ref_sink(g_variant_dict_end(d));
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_true(build(task, &o, &error));
	g_assert_no_error(error);
	g_assert_true(o.h.flags & SV_RIMG_CREDS);
	g_assert_cmpuint(o.h.uids[0], ==, 2000);
	g_assert_cmpuint(o.h.uids[1], ==, 2001);
	g_assert_cmpuint(o.h.gids[3], ==, 1001);
	g_assert_cmpuint(o.h.securebits, ==, 0x10);
	g_assert_cmpuint(o.h.caps[1], ==, 0x420);
	g_assert_cmpuint(o.h.caps[3], ==, 0x1fffffeffffull);
	g_assert_cmpuint(o.h.caps[4], ==, 0x20);
	g_assert_false(o.h.flags & SV_RIMG_LOGINUID); /* unset: no key */
	out_clear(&o);
}

/* The audit login uid and session id; an id restore cannot count up to
 * is refused. */
static void test_loginuid(void)
{
	g_autoptr(GVariant)
		base = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0), 0);
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GVariantDict) d = g_variant_dict_new(base);
		g_variant_dict_insert(d, "loginuid", "(uu)", 1000u, i ? 65537u : 3u);
		g_autoptr(GVariant) task = g_variant_ref_sink(g_variant_dict_end(d));
		Out o;
		g_autoptr(GError) error = NULL;
		g_assert_cmpint(build(task, &o, &error), ==, !i);
		if (i) {
			g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
			g_assert_nonnull(strstr(error->message, "session id 65537 cannot be made"));
			continue;
		}
		g_assert_no_error(error);
		g_assert_true(o.h.flags & SV_RIMG_LOGINUID);
		g_assert_cmpuint(o.h.loginuid, ==, 1000);
		g_assert_cmpuint(o.h.sessionid, ==, 3);
		out_clear(&o);
	}
}

/* An ITIMER_REAL known only by its expiry (no tk_core in the guest). */
static void test_timer_expiry_only(void)
{
	g_autoptr(GVariant)
		base = task_dict(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0), 0);
	g_autoptr(GVariantDict) d = g_variant_dict_new(base);
	g_variant_dict_remove(d, "itimer_real");
	g_variant_dict_insert(d, "itimer_real_expires", "(tt)", (guint64)123456789, (guint64)0);
	g_autoptr(GVariant) task = g_variant_ref_sink(g_variant_dict_end(d));
	Out o;
	g_autoptr(GError) error = NULL;
	g_assert_false(build(task, &o, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "tk_core"));
	out_clear(&o);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restore-image-fds/table", test_table);
	g_test_add_func("/restore-image-fds/no-fds", test_no_fds);
	g_test_add_func("/restore-image-fds/stdio-dups", test_stdio_dups);
	g_test_add_func("/restore-image-fds/refusals", test_refusals);
	g_test_add_func("/restore-image-fds/timer-expiry-only", test_timer_expiry_only);
	g_test_add_func("/restore-image-fds/pipes-and-fifos", test_pipes_and_fifos);
	g_test_add_func("/restore-image-fds/eventfd-epoll", test_eventfd_epoll);
	g_test_add_func("/restore-image-fds/timerfd-signalfd", test_timerfd_signalfd);
	g_test_add_func("/restore-image-fds/locks", test_locks);
	g_test_add_func("/restore-image-fds/unix", test_unix);
	g_test_add_func("/restore-image-fds/creds", test_creds);
	g_test_add_func("/restore-image-fds/loginuid", test_loginuid);
	g_test_add_func("/restore-image-fds/inet", test_inet);
	g_test_add_func("/restore-image-fds/posix-timers", test_posix_timers);
	g_test_add_func("/restore-image-fds/posix-timer-overruns", test_posix_timer_overruns);
	return g_test_run();
}
