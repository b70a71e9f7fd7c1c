/* SPDX-License-Identifier: MIT */
/*
 * fd-epoll.c - an epoll instance's interest list (struct eventpoll,
 * fs/eventpoll.c): one struct epitem per watched (file, fd) pair, in a
 * red-black tree (ep->rbr), each with the events and data epoll_ctl gave
 * it (after a one-shot fired, only its flag bits are left: disarmed).
 * Those on the ready list (ep->rdllist, in the order they became ready)
 * are marked, in that order first: restore adds them in that order, so
 * epoll_wait hands them out as it would have, and an edge-triggered item
 * that was already reported is not reported again.
 *
 * The entry is SV_TASK_FD_EPOLL, a(tuutb): (the target's open file, the
 * fd it was added as, events, data, on the ready list).
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

/* fs.epoll.max_user_watches is far above this, but no process snapvm
 * restores watches more; a guest claiming more is refused, not walked */
#define MAX_EPOLL_ITEMS 65536u
#define MAX_RB_DEPTH 128u /* a red-black tree of 2^32 nodes is 64 deep */
#define EP_UNACTIVE_PTR_ G_MAXUINT64

typedef struct {
	guint64 rb_node, rdllist, ovflist;		  /* eventpoll */
	guint64 rbn, rdllink, ffd_file, ffd_fd, ev, data; /* epitem */
	guint64 rb_left, rb_right;			  /* rb_node */
	guint64 events_off, data_off;			  /* epoll_event */
} EpollLayout;

static gboolean bad(GError **error, guint32 pid, guint fd, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "guest pid %u: fd %u (epoll): %s", pid, fd,
		    what);
	return FALSE;
}

/* One epitem into the list, marked ready or not. */
static gboolean add_item(const SvIntrospect *in, const EpollLayout *l, guint64 epi, gboolean ready,
			 GVariantBuilder *b, GError **error)
{
	guint64 file, data, fd, events;
	if (!sv_introspect_read_uint(in, epi + l->ffd_file, 8, &file, error) ||
	    !sv_introspect_read_uint(in, epi + l->ffd_fd, 4, &fd, error) ||
	    !sv_introspect_read_uint(in, epi + l->ev + l->events_off, 4, &events, error) ||
	    !sv_introspect_read_uint(in, epi + l->ev + l->data_off, 8, &data, error))
		return FALSE;
	g_variant_builder_add(b, "(tuutb)", file, (guint32)fd, (guint32)events, data, ready);
	return TRUE;
}

gboolean sv_introspect_epoll(const SvIntrospect *in, guint32 pid, guint fd, guint64 ep,
			     GVariantDict *d, GError **error)
{
	EpollLayout l;
	const SvMemberOffset want[] = {
		{ "eventpoll", "rbr.rb_root.rb_node", &l.rb_node },
		{ "eventpoll", "rdllist", &l.rdllist },
		{ "eventpoll", "ovflist", &l.ovflist },
		{ "epitem", "rbn", &l.rbn },
		{ "epitem", "rdllink", &l.rdllink },
		{ "epitem", "ffd.file", &l.ffd_file },
		{ "epitem", "ffd.fd", &l.ffd_fd },
		{ "epitem", "event", &l.ev },
		{ "rb_node", "rb_left", &l.rb_left },
		{ "rb_node", "rb_right", &l.rb_right },
		{ "epoll_event", "events", &l.events_off },
		{ "epoll_event", "data", &l.data_off },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	guint64 ovf;
	if (!sv_introspect_read_uint(in, ep + l.ovflist, 8, &ovf, error))
		return FALSE;
	if (ovf != EP_UNACTIVE_PTR_) /* ep_start_scan runs under ep->mtx */
		return bad(error, pid, fd,
			   "caught while the kernel was handing out its events (ovflist "
			   "active); checkpoint again");
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_FD_EPOLL_TYPE));
	/* the ready list, in order */
	g_autoptr(GHashTable)
		ready = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	guint64 head = ep + l.rdllist, link;
	if (!sv_introspect_read_uint(in, head, 8, &link, error))
		return FALSE;
	for (guint n = 0; link != head; n++) {
		if (n >= MAX_EPOLL_ITEMS)
			return bad(error, pid, fd, "its ready list does not end");
		guint64 epi = link - l.rdllink;
		if (g_hash_table_contains(ready, &epi))
			return bad(error, pid, fd, "its ready list loops");
		g_hash_table_add(ready, g_memdup2(&epi, sizeof(epi)));
		if (!add_item(in, &l, epi, TRUE, &b, error) ||
		    !sv_introspect_read_uint(in, link, 8, &link, error))
			return FALSE;
	}
	/* then the tree, in order (an explicit stack, bounded) */
	guint64 stack[MAX_RB_DEPTH], node;
	guint depth = 0, seen = 0;
	if (!sv_introspect_read_uint(in, ep + l.rb_node, 8, &node, error))
		return FALSE;
	while (node || depth) {
		while (node) {
			if (depth == MAX_RB_DEPTH)
				return bad(error, pid, fd, "its interest tree is too deep");
			stack[depth++] = node;
			if (!sv_introspect_read_uint(in, node + l.rb_left, 8, &node, error))
				return FALSE;
		}
		node = stack[--depth];
		if (++seen > MAX_EPOLL_ITEMS)
			return bad(error, pid, fd, "its interest tree is too large or loops");
		guint64 epi = node - l.rbn;
		if (!g_hash_table_contains(ready, &epi) && !add_item(in, &l, epi, FALSE, &b, error))
			return FALSE;
		if (!sv_introspect_read_uint(in, node + l.rb_right, 8, &node, error))
			return FALSE;
	}
	if (seen < g_hash_table_size(ready))
		return bad(error, pid, fd, "its ready list holds items its interest tree lacks");
	g_variant_dict_insert_value(d, SV_TASK_FD_EPOLL, g_variant_builder_end(&b));
	return TRUE;
}
