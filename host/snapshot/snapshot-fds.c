/* SPDX-License-Identifier: MIT */
#include "host/snapshot/snapshot-fds.h"

#include "snapvm/snapshot-task-keys.h"

gboolean sv_snap_fd_read(GVariant *entry, SvSnapFd *e)
{
	*e = (SvSnapFd){ .sha256 = "" };
	gboolean whole = g_variant_lookup(entry, SV_TASK_FD_FD, "u", &e->fd);
	whole &= g_variant_lookup(entry, SV_TASK_FD_KIND, "&s", &e->kind);
	whole &= g_variant_lookup(entry, SV_TASK_FD_FLAGS, "u", &e->flags);
	g_variant_lookup(entry, SV_TASK_FD_PATH, "&s", &e->path);
	g_variant_lookup(entry, SV_TASK_FD_I_MODE, "u", &e->i_mode);
	g_variant_lookup(entry, SV_TASK_FD_SHA256, "&s", &e->sha256);
	g_variant_lookup(entry, SV_TASK_FD_POS, "t", &e->pos);
	g_variant_lookup(entry, SV_TASK_FD_PIPE, "t", &e->pipe);
	g_variant_lookup(entry, SV_TASK_FD_FILE, "t", &e->file);
	g_variant_lookup(entry, SV_TASK_FD_INODE, "t", &e->inode);
	g_variant_lookup(entry, SV_TASK_FD_CLOEXEC, "b", &e->cloexec);
	g_variant_lookup(entry, SV_TASK_FD_STDIO, "b", &e->stdio);
	e->pipe_data = g_variant_lookup_value(entry, SV_TASK_FD_PIPE_DATA,
					      G_VARIANT_TYPE_BYTESTRING);
	e->has_eventfd = g_variant_lookup(entry, SV_TASK_FD_EVENTFD_COUNT, "t", &e->eventfd_count);
	g_variant_lookup(entry, SV_TASK_FD_EVENTFD_SEMAPHORE, "b", &e->eventfd_semaphore);
	e->epoll = g_variant_lookup_value(entry, SV_TASK_FD_EPOLL,
					  G_VARIANT_TYPE(SV_TASK_FD_EPOLL_TYPE));
	e->timerfd = g_variant_lookup_value(entry, SV_TASK_FD_TIMERFD,
					    G_VARIANT_TYPE(SV_TASK_FD_TIMERFD_TYPE));
	e->socket = g_variant_lookup_value(entry, SV_TASK_FD_SOCKET,
					   G_VARIANT_TYPE(SV_TASK_FD_SOCKET_TYPE));
	e->socket_queue = g_variant_lookup_value(entry, SV_TASK_FD_SOCKET_QUEUE,
						 G_VARIANT_TYPE("aay"));
	e->inet = g_variant_lookup_value(entry, SV_TASK_FD_INET,
					 G_VARIANT_TYPE(SV_TASK_FD_INET_TYPE));
	e->socket_bufs = g_variant_lookup_value(entry, SV_TASK_FD_SOCKET_BUFS,
						G_VARIANT_TYPE(SV_TASK_FD_SOCKET_BUFS_TYPE));
	e->locks = g_variant_lookup_value(entry, SV_TASK_FD_LOCKS,
					  G_VARIANT_TYPE(SV_TASK_FD_LOCKS_TYPE));
	e->has_signalfd = g_variant_lookup(entry, SV_TASK_FD_SIGNALFD_MASK, "t", &e->signalfd_mask);
	return whole;
}

void sv_snap_fd_clear(SvSnapFd *e)
{
	g_clear_pointer(&e->pipe_data, g_variant_unref);
	g_clear_pointer(&e->epoll, g_variant_unref);
	g_clear_pointer(&e->timerfd, g_variant_unref);
	g_clear_pointer(&e->locks, g_variant_unref);
	g_clear_pointer(&e->socket, g_variant_unref);
	g_clear_pointer(&e->socket_queue, g_variant_unref);
	g_clear_pointer(&e->inet, g_variant_unref);
	g_clear_pointer(&e->socket_bufs, g_variant_unref);
}
