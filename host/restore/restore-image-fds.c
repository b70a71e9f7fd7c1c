/* SPDX-License-Identifier: MIT */
/* restore-image-fds.c - the restore image's fds part: the fd table and the
 * process environment (see restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"
#include "host/snapshot/snapshot-fds.h"

#define O_ACCMODE_ 3u
#define O_RDONLY_ 0u
/* f_flags bits that describe how a file was created, not how it is open */
#define O_CREAT_ 0100u
#define O_EXCL_ 0200u
#define O_NOCTTY_ 0400u
#define O_TRUNC_ 01000u
#define O_PATH_ 010000000u
#define MAX_PIPE_DATA (16u << 20)

#define S_IFMT_ 0170000u
#define S_IFDIR_ 0040000u
#define S_IFCHR_ 0020000u

/* A directory or character device whose name had gone (SV_TASK_FD_GONE_RDEV):
 * the restorer makes it again nameless (SV_RIMG_PATH_GONE). Checked here,
 * as the snapshot is untrusted: its kind, mode and owner agree. */
static gboolean path_gone(GVariant *d, const char *kind, const SvSnapFd *entry,
			  struct sv_rimg_fd *e, GError **error)
{
	guint64 rdev;
	guint32 uid, gid;
	if (!g_variant_lookup(d, SV_TASK_FD_GONE_RDEV, "t", &rdev))
		return TRUE;
	gboolean dir = !strcmp(kind, SV_TASK_FD_KIND_DIR);
	guint32 type = entry->i_mode & S_IFMT_;
	if (!g_variant_lookup(d, SV_TASK_FD_OWNER, "(uu)", &uid, &gid) ||
	    (dir ? type != S_IFDIR_ || rdev
		 : strcmp(kind, SV_TASK_FD_KIND_CHR) || type != S_IFCHR_))
		return sv_rimg_refuse(error, "fd %u: a removed %s the snapshot describes wrong",
				      entry->fd, kind);
	e->kind_flags |= SV_RIMG_PATH_GONE;
	e->i_mode = entry->i_mode;
	e->value[0] = rdev;
	e->value[1] = uid | (guint64)gid << 32;
	return TRUE;
}

static gint compare_fd(gconstpointer a, gconstpointer b)
{
	const struct sv_rimg_fd *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static gboolean add_fds(SvRimgTables *t, GVariant *fds, GError **error)
{
	GArray *out = t->fds;
	GByteArray *data = t->fd_data;
	g_autoptr(GHashTable)
		pipes = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	/* open file identity -> its first fd (the snapshot lists fds in order) */
	g_autoptr(GHashTable)
		opened = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	/* stdio pipe identity -> its first fd, for other opens of it */
	g_autoptr(GHashTable)
		stdio_pipes = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (gsize i = 0; i < g_variant_n_children(fds); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
		g_auto(SvSnapFd) entry = { 0 };
		if (!sv_snap_fd_read(d, &entry))
			return sv_rimg_refuse(error,
					      "fd entry %" G_GSIZE_FORMAT
					      " of the snapshot lacks fd, kind or flags",
					      i);
		const guint32 fd = entry.fd, flags = entry.flags;
		const char *kind = entry.kind, *path = entry.path, *sha = entry.sha256;
		const gboolean cloexec = entry.cloexec, stdio = entry.stdio;
		const guint64 pos = entry.pos, pipe = entry.pipe, file = entry.file;
		if (fd >= SV_RIMG_MAX_FD)
			return sv_rimg_refuse(error, "fd %u is above the kernel's limit of %u", fd,
					      SV_RIMG_MAX_FD);
		if (flags & O_PATH_)
			return sv_rimg_refuse(
				error,
				"fd %u is an O_PATH descriptor; restoring those is not supported",
				fd);
		struct sv_rimg_fd e = { .fd = (gint32)fd,
					.cloexec = cloexec,
					.dup_of = -1,
					.flags = flags &
						 ~(O_CREAT_ | O_EXCL_ | O_NOCTTY_ | O_TRUNC_) };
		gpointer first;
		if (file && g_hash_table_lookup_extended(opened, &file, NULL, &first))
			e.dup_of = (gint32)GPOINTER_TO_UINT(first);
		else if (file)
			g_hash_table_insert(opened, g_memdup2(&file, sizeof(file)),
					    GUINT_TO_POINTER(fd));
		if (stdio) {
			/* fds 0-2 are the restorer's own; another fd of the
			 * same pipe or open file (`2>&1`, `exec 3>&1`) is a
			 * dup of the first, so it reaches the host too */
			e.kind = SV_RIMG_FD_STDIO;
			gpointer first_fd;
			if (e.dup_of < 0 && pipe &&
			    g_hash_table_lookup_extended(stdio_pipes, &pipe, NULL, &first_fd))
				e.dup_of = (gint32)GPOINTER_TO_UINT(first_fd);
			else if (pipe && e.dup_of < 0)
				g_hash_table_insert(stdio_pipes, g_memdup2(&pipe, sizeof(pipe)),
						    GUINT_TO_POINTER(fd));
			if (fd > 2 && e.dup_of < 0)
				return sv_rimg_refuse(error,
						      "fd %u is marked as stdio but is not fd 0-2 or "
						      "a dup of one",
						      fd);
		} else if (!strcmp(kind, SV_TASK_FD_KIND_PIPE) ||
			   !strcmp(kind, SV_TASK_FD_KIND_FIFO)) {
			if (!pipe)
				return sv_rimg_refuse(error, "fd %u is a pipe without an identity",
						      fd);
			gpointer idx;
			if (!g_hash_table_lookup_extended(pipes, &pipe, NULL, &idx)) {
				idx = GUINT_TO_POINTER(g_hash_table_size(pipes));
				g_hash_table_insert(pipes, g_memdup2(&pipe, sizeof(pipe)), idx);
			}
			e.pipe = GPOINTER_TO_UINT(idx);
			e.kind = (flags & O_ACCMODE_) == O_RDONLY_ ? SV_RIMG_FD_PIPE_READ
								   : SV_RIMG_FD_PIPE_WRITE;
			if (!strcmp(kind, SV_TASK_FD_KIND_FIFO)) {
				if (!path || path[0] != '/')
					return sv_rimg_refuse(error, "fd %u (a FIFO) has no path",
							      fd);
				e.kind = SV_RIMG_FD_FIFO;
				e.path_off = sv_rimg_add_string(t, path);
				e.i_mode = entry.i_mode;
				guint32 uid, gid;
				if (g_variant_lookup(d, SV_TASK_FD_OWNER, "(uu)", &uid, &gid)) {
					e.kind_flags |= SV_RIMG_FIFO_OWNER;
					e.value[0] = uid;
					e.value[1] = gid;
				}
			}
			gsize n = 0;
			const guint8 *b = entry.pipe_data
						  ? g_variant_get_fixed_array(entry.pipe_data, &n,
									      1)
						  : NULL;
			if (data->len + n > MAX_PIPE_DATA)
				return sv_rimg_refuse(error,
						      "the pipes hold over %u MiB of unread data",
						      MAX_PIPE_DATA >> 20);
			e.data_off = data->len;
			e.data_len = n;
			if (n)
				g_byte_array_append(data, b, (guint)n);
			guint32 size;
			if (g_variant_lookup(d, SV_TASK_FD_PIPE_SIZE, "u", &size))
				e.value[2] = size;
		} else if (entry.inode) {
			if (!sv_rimg_memfile_fd(t, &e, entry.inode, pos, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_FILE) ||
			   !strcmp(kind, SV_TASK_FD_KIND_DIR) ||
			   !strcmp(kind, SV_TASK_FD_KIND_CHR)) {
			if (!path || path[0] != '/')
				return sv_rimg_refuse(error, "fd %u (%s) has no path to reopen", fd,
						      kind);
			/* a /proc file is made by the kernel when read: reopened,
			 * never put in place (checkpoint/proc-paths.c) */
			if (!strcmp(kind, SV_TASK_FD_KIND_FILE) && strcmp(path, "/proc") &&
			    !g_str_has_prefix(path, "/proc/"))
				sv_rimg_add_file(t, path, sha);
			e.kind = SV_RIMG_FD_PATH;
			e.path_off = sv_rimg_add_string(t, path);
			e.pos = pos;
			if (!path_gone(d, kind, &entry, &e, error))
				return FALSE;
			if (entry.locks && e.dup_of < 0 && !sv_rimg_fd_locks(t, &entry, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_EVENTFD)) {
			if (!sv_rimg_fd_eventfd(&entry, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_TIMERFD)) {
			if (!sv_rimg_fd_timerfd(&entry, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_SIGNALFD)) {
			if (!sv_rimg_fd_signalfd(&entry, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_INOTIFY)) {
			if (!sv_rimg_fd_inotify(t, d, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_UNIX)) {
			guint64 pair;
			if (!sv_rimg_fd_unix(t, fds, &entry, &e, &pair, error))
				return FALSE;
			/* pairs share the pipes' numbering: a guest address
			 * names either a pipe or a sock, never both */
			gpointer idx;
			if (!g_hash_table_lookup_extended(pipes, &pair, NULL, &idx)) {
				idx = GUINT_TO_POINTER(g_hash_table_size(pipes));
				g_hash_table_insert(pipes, g_memdup2(&pair, sizeof(pair)), idx);
			}
			e.pipe = GPOINTER_TO_UINT(idx);
		} else if (!strcmp(kind, SV_TASK_FD_KIND_INET)) {
			if (!sv_rimg_fd_inet(t, &entry, &e, error))
				return FALSE;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_EPOLL)) {
			if (!sv_rimg_fd_epoll(t, fds, &entry, &e, error))
				return FALSE;
		} else {
			return sv_rimg_refuse(
				error,
				"fd %u is a %s; restore recreates files, directories, "
				"devices, pipes, FIFOs, eventfds, timerfds, "
				"signalfds, inotify fds, unbound UNIX sockets, listening or "
				"unconnected IP sockets and epoll fds only",
				fd, kind);
		}
		g_array_append_val(out, e);
	}
	g_array_sort(out, compare_fd);
	for (guint i = 1; i < out->len; i++)
		if (g_array_index(out, struct sv_rimg_fd, i).fd ==
		    g_array_index(out, struct sv_rimg_fd, i - 1).fd)
			return sv_rimg_refuse(error, "fd %d appears twice in the snapshot",
					      g_array_index(out, struct sv_rimg_fd, i).fd);
	for (guint i = 0; i < out->len; i++) {
		const struct sv_rimg_fd *e = &g_array_index(out, struct sv_rimg_fd, i);
		if (e->dup_of >= e->fd)
			return sv_rimg_refuse(error, "fd %d shares its open file with a later fd",
					      e->fd);
	}
	t->h.nfds = out->len;
	return TRUE;
}

static void timer(GVariant *task, const char *key, guint64 out[2])
{
	g_autoptr(GVariant)
		v = g_variant_lookup_value(task, key, G_VARIANT_TYPE(SV_TASK_ITIMER_TYPE));
	if (v)
		g_variant_get(v, "(tt)", &out[0], &out[1]);
}

/* The audit login uid and session id (SV_TASK_LOGINUID), if set. */
static gboolean loginuid(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(task, SV_TASK_LOGINUID,
						       G_VARIANT_TYPE(SV_TASK_LOGINUID_TYPE));
	if (!v)
		return TRUE;
	g_variant_get(v, SV_TASK_LOGINUID_TYPE, &h->loginuid, &h->sessionid);
	if (h->loginuid == G_MAXUINT32 || !h->sessionid || h->sessionid > SV_TASK_MAX_SESSIONID)
		return sv_rimg_refuse(error,
				      "the snapshot's audit login uid %u and session id %u cannot "
				      "be made again (ids 1 to %u can)",
				      h->loginuid, h->sessionid, SV_TASK_MAX_SESSIONID);
	h->flags |= SV_RIMG_LOGINUID;
	return TRUE;
}

/* The ids and capabilities, for the blob to switch to last: it needs root
 * until then (PR_SET_MM_MAP's exe_fd wants CAP_CHECKPOINT_RESTORE). */
static gboolean creds(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	static const char *const ids[] = { SV_TASK_UID, SV_TASK_EUID, SV_TASK_SUID, SV_TASK_FSUID,
					   SV_TASK_GID, SV_TASK_EGID, SV_TASK_SGID, SV_TASK_FSGID };
	guint32 v[8] = { 0 };
	gboolean root = TRUE;
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_variant_lookup(task, ids[i], "u", &v[i]);
		root &= v[i] == 0;
	}
	g_autoptr(GVariant) caps = g_variant_lookup_value(task, SV_TASK_CAPS,
							  G_VARIANT_TYPE(SV_TASK_CAPS_TYPE));
	if (!caps) {
		for (guint i = 0; i < G_N_ELEMENTS(ids) && !root; i++)
			if (v[i])
				return sv_rimg_refuse(error,
						      "the process ran with %s %u, and the "
						      "snapshot predates capabilities: it cannot be "
						      "restored as that user",
						      ids[i], v[i]);
		return TRUE; /* root, as the restorer */
	}
	memcpy(h->uids, v, sizeof(h->uids));
	memcpy(h->gids, v + 4, sizeof(h->gids));
	g_variant_get(caps, SV_TASK_CAPS_TYPE, &h->securebits, &h->caps[0], &h->caps[1],
		      &h->caps[2], &h->caps[3], &h->caps[4]);
	h->flags |= SV_RIMG_CREDS;
	return TRUE;
}

gboolean sv_rimg_fds_build(SvRimgTables *t, GVariant *task, GError **error)
{
	struct sv_rimg_header *h = &t->h;
	g_autoptr(GVariant)
		fds = g_variant_lookup_value(task, SV_TASK_FDS, G_VARIANT_TYPE(SV_TASK_FDS_TYPE));
	if (!fds)
		return TRUE; /* a snapshot from before fds were captured */
	h->flags |= SV_RIMG_FDS;
	if (!add_fds(t, fds, error) || !sv_rimg_posix_timers_build(t, task, error))
		return FALSE;
	h->data_len = t->fd_data->len;
	const char *cwd = "";
	g_variant_lookup(task, SV_TASK_CWD, "&s", &cwd);
	if (cwd[0] && cwd[0] != '/')
		return sv_rimg_refuse(error,
				      "the snapshot's working directory '%s' is not absolute", cwd);
	h->cwd_off = sv_rimg_add_string(t, cwd);
	guint32 umask = 022;
	g_variant_lookup(task, SV_TASK_UMASK, "u", &umask);
	h->umask = umask & 0777;
	g_autoptr(GVariant) rl = g_variant_lookup_value(task, SV_TASK_RLIMITS,
							G_VARIANT_TYPE(SV_TASK_RLIMITS_TYPE));
	if (rl) {
		gsize n = g_variant_n_children(rl);
		if (n > SV_RIMG_RLIMITS)
			return sv_rimg_refuse(error,
					      "the snapshot has %" G_GSIZE_FORMAT
					      " resource limits; this "
					      "restorer knows %u",
					      n, SV_RIMG_RLIMITS);
		for (gsize i = 0; i < n; i++) {
			g_variant_get_child(rl, i, "(tt)", &h->rlimits[i][0], &h->rlimits[i][1]);
			if (h->rlimits[i][0] > h->rlimits[i][1])
				return sv_rimg_refuse(error,
						      "resource limit %" G_GSIZE_FORMAT
						      " has its soft "
						      "value above its hard one",
						      i);
		}
		h->nrlimits = (guint32)n;
	}
	g_autoptr(GVariant) groups = g_variant_lookup_value(task, SV_TASK_GROUPS,
							    G_VARIANT_TYPE(SV_TASK_GROUPS_TYPE));
	if (groups) {
		gsize n;
		const guint32 *g = g_variant_get_fixed_array(groups, &n, sizeof(guint32));
		if (n > 65536)
			return sv_rimg_refuse(error,
					      "the snapshot has %" G_GSIZE_FORMAT
					      " supplementary groups",
					      n);
		g_array_append_vals(t->groups, g, (guint)n);
		h->ngroups = (guint32)n;
	}
	g_autoptr(GVariant)
		expires_only = g_variant_lookup_value(task, SV_TASK_ITIMER_REAL_EXPIRES, NULL);
	g_autoptr(GVariant) real = g_variant_lookup_value(task, SV_TASK_ITIMER_REAL, NULL);
	if (expires_only && !real)
		return sv_rimg_refuse(
			error, "the process has ITIMER_REAL armed, but the snapshot knows only "
			       "its expiry, not the time left (the guest kernel has no tk_core "
			       "symbol to read CLOCK_MONOTONIC from)");
	timer(task, SV_TASK_ITIMER_REAL, h->itimers[0]);
	timer(task, SV_TASK_ITIMER_VIRTUAL, h->itimers[1]);
	timer(task, SV_TASK_ITIMER_PROF, h->itimers[2]);
	return creds(h, task, error) && loginuid(h, task, error);
}
