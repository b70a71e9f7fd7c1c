/* SPDX-License-Identifier: MIT */
/*
 * fd-relations.c - checks across a process's fds, once all are read: what
 * one fd refers to through another must still be there for restore to
 * make it again, else the checkpoint is refused now, naming the fd,
 * instead of a snapshot whose restore fails.
 *
 * - An epoll item is keyed by (open file, the fd number it was added
 *   with) (fs/eventpoll.c: ep_find): restore adds it again through that
 *   fd, so the fd must still hold the same open file. zdtm's epoll and
 *   epoll01 add an fd and close it, or dup it and close the original.
 * - A connected UNIX socket is made again as a socketpair with its peer,
 *   so the peer must be another fd of the process naming this socket as
 *   its own peer; one whose peer another process holds, or whose peer was
 *   closed, or a named socket it connected to, cannot be.
 */
#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

/* what: what the fd is and why restore cannot make it; todo: what the
 * user can do so that a checkpoint works */
static gboolean refuse(GError **error, guint32 pid, guint32 fd, const char *what, const char *todo)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is %s; snapvm cannot checkpoint it: %s", pid, fd, what,
		    todo);
	return FALSE;
}

static gboolean epoll_items_held(GVariant *epoll, GHashTable *file_of_fd, guint32 pid, guint32 fd,
				 GError **error)
{
	for (gsize i = 0; i < g_variant_n_children(epoll); i++) {
		guint64 file;
		guint32 target;
		g_variant_get_child(epoll, i, "(tuutb)", &file, &target, NULL, NULL, NULL);
		guint64 *now = g_hash_table_lookup(file_of_fd, GUINT_TO_POINTER(target));
		if (now && *now == file)
			continue;
		g_autofree char *what = g_strdup_printf(
			"an epoll fd watching a file it was given as fd %u, which %s (epoll keys "
			"the item by that pair, so restore cannot add it again)",
			target, now ? "now holds another file" : "the process has closed since");
		g_autofree char *todo = g_strdup_printf(
			"have the process keep fd %u open on the watched file while it is "
			"watched, or remove the item (EPOLL_CTL_DEL) before it closes or reuses "
			"that fd",
			target);
		return refuse(error, pid, fd, what, todo);
	}
	return TRUE;
}

static gboolean unix_peer_held(guint64 id, guint64 peer, GHashTable *peer_of_socket, guint32 pid,
			       guint32 fd, GError **error)
{
	guint64 *back = g_hash_table_lookup(peer_of_socket, &peer);
	if (!peer || (back && *back == id))
		return TRUE;
	return refuse(error, pid, fd,
		      "a UNIX socket connected to a peer no fd of the process holds (another "
		      "process's end of a socketpair, a closed end, or a named socket it "
		      "connected to): restore makes both ends of a pair, so it cannot be "
		      "connected again",
		      "keep the peer's end open in the process (both ends of a socketpair), or "
		      "close this one before checkpointing");
}

gboolean sv_introspect_fd_relations(GVariant *fds, guint32 pid, GError **error)
{
	/* fd -> its open file (guint64 *); socket identity -> its peer */
	g_autoptr(GHashTable) file_of_fd = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_autoptr(GHashTable)
		peer_of_socket = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; i < g_variant_n_children(fds); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
		guint32 fd;
		guint64 file, id, peer;
		if (g_variant_lookup(d, SV_TASK_FD_FD, "u", &fd) &&
		    g_variant_lookup(d, SV_TASK_FD_FILE, "t", &file)) {
			guint64 *f = g_memdup2(&file, sizeof(file));
			g_ptr_array_add(files, f);
			g_hash_table_insert(file_of_fd, GUINT_TO_POINTER(fd), f);
		}
		if (g_variant_lookup(d, SV_TASK_FD_SOCKET, SV_TASK_FD_SOCKET_TYPE, NULL, NULL, &id,
				     &peer, NULL, NULL, NULL))
			g_hash_table_insert(peer_of_socket, g_memdup2(&id, sizeof(id)),
					    g_memdup2(&peer, sizeof(peer)));
	}
	for (gsize i = 0; i < g_variant_n_children(fds); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
		guint32 fd = 0;
		guint64 id, peer;
		g_variant_lookup(d, SV_TASK_FD_FD, "u", &fd);
		g_autoptr(GVariant)
			epoll = g_variant_lookup_value(d, SV_TASK_FD_EPOLL,
						       G_VARIANT_TYPE(SV_TASK_FD_EPOLL_TYPE));
		if (epoll && !epoll_items_held(epoll, file_of_fd, pid, fd, error))
			return FALSE;
		if (g_variant_lookup(d, SV_TASK_FD_SOCKET, SV_TASK_FD_SOCKET_TYPE, NULL, NULL, &id,
				     &peer, NULL, NULL, NULL) &&
		    !unix_peer_held(id, peer, peer_of_socket, pid, fd, error))
			return FALSE;
	}
	return TRUE;
}
