/* SPDX-License-Identifier: MIT */
/* snapshot-fds.h - one entry of the TASK dict's "fds" list (an a{sv} written
 * by host/introspect/files.c), read in one place for inspect and restore. */
#ifndef SNAPVM_SNAPSHOT_FDS_H
#define SNAPVM_SNAPSHOT_FDS_H

#include <glib.h>

typedef struct SvSnapFd {
	guint32 fd;
	guint32 flags;
	guint32 i_mode;	    /* the inode's type and permissions, 0 if missing */
	const char *kind;   /* "file", "pipe", ...; NULL if missing */
	const char *path;   /* NULL if none */
	const char *sha256; /* of the carried contents; "" if none */
	guint64 pos;
	guint64 pipe;  /* the pipe's identity, 0 if not a pipe */
	guint64 file;  /* the open file's identity: dups share it */
	guint64 inode; /* a memory-only file's identity (SV_TASK_MEMFILES), 0 if none */
	gboolean cloexec;
	gboolean stdio;	     /* one of snapvm's stdio wirings */
	GVariant *pipe_data; /* unread pipe bytes (ay), NULL if none */
	/* an eventfd's */
	gboolean has_eventfd;
	guint64 eventfd_count;
	gboolean eventfd_semaphore;
	GVariant *epoll;	/* an epoll fd's interest list (SV_TASK_FD_EPOLL_TYPE) */
	GVariant *timerfd;	/* a timerfd's state (SV_TASK_FD_TIMERFD_TYPE) */
	GVariant *socket;	/* SV_TASK_FD_SOCKET_TYPE */
	GVariant *socket_queue; /* aay */
	GVariant *inet;		/* SV_TASK_FD_INET_TYPE */
	GVariant *socket_bufs;	/* SV_TASK_FD_SOCKET_BUFS_TYPE */
	GVariant *locks;	/* locks held through it (SV_TASK_FD_LOCKS_TYPE) */
	gboolean has_signalfd;
	guint64 signalfd_mask;
} SvSnapFd;

/* Fills e from entry; strings point into entry, which must outlive e.
 * Returns FALSE when fd, kind or flags is missing (the rest is filled in
 * as found). Free with sv_snap_fd_clear. */
gboolean sv_snap_fd_read(GVariant *entry, SvSnapFd *e);
void sv_snap_fd_clear(SvSnapFd *e);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvSnapFd, sv_snap_fd_clear)

#endif
