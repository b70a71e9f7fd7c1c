/* SPDX-License-Identifier: MIT */
/* restore-image-inotify.c - an inotify fd's watches (host/introspect/
 * fd-inotify.c) as sv_rimg_inotify_watch records, sorted by wd: the
 * restorer adds them in that order, stepping the kernel's wd counter to
 * each one (guest/restorer/restore-inotify.c). */
#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

/* wds are handed out one by one from 1: reaching a high one costs a
 * watch added and removed per number below it */
#define MAX_WD (1u << 20)
#define MAX_WATCHES 8192u
/* what inotify_add_watch takes besides IN_ONLYDIR, IN_DONT_FOLLOW and
 * IN_MASK_ADD/IN_MASK_CREATE (add-time only): IN_ALL_EVENTS, IN_EXCL_UNLINK,
 * IN_ONESHOT */
#define WATCH_BITS (0xfffu | 0x04000000u | 0x80000000u)

static gint by_wd(gconstpointer a, gconstpointer b)
{
	const struct sv_rimg_inotify_watch *x = a, *y = b;
	return (x->wd > y->wd) - (x->wd < y->wd);
}

gboolean sv_rimg_fd_inotify(SvRimgTables *t, GVariant *d, struct sv_rimg_fd *e, GError **error)
{
	g_autoptr(GVariant)
		watches = g_variant_lookup_value(d, SV_TASK_FD_INOTIFY,
						 G_VARIANT_TYPE(SV_TASK_FD_INOTIFY_TYPE));
	if (!watches)
		return sv_rimg_refuse(error, "fd %d is an inotify fd without its watches", e->fd);
	gsize n = g_variant_n_children(watches);
	if (n > MAX_WATCHES)
		return sv_rimg_refuse(error, "fd %d (inotify) has over %u watches", e->fd,
				      MAX_WATCHES);
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_inotify_watch));
	for (gsize i = 0; i < n; i++) {
		guint32 wd, mask;
		const char *path;
		g_variant_get_child(watches, i, "(uu&s)", &wd, &mask, &path);
		if (!wd || wd >= MAX_WD || !(mask & 0xfffu) || (mask & ~WATCH_BITS) ||
		    path[0] != '/')
			return sv_rimg_refuse(error,
					      "fd %d (inotify): watch %u (mask 0x%x, path %s) "
					      "cannot be made again",
					      e->fd, wd, mask, path);
		struct sv_rimg_inotify_watch w = { .wd = (gint32)wd,
						   .mask = mask,
						   .path_off = sv_rimg_add_string(t, path) };
		g_array_append_val(out, w);
	}
	g_array_sort(out, by_wd);
	for (guint i = 1; i < out->len; i++)
		if (g_array_index(out, struct sv_rimg_inotify_watch, i).wd ==
		    g_array_index(out, struct sv_rimg_inotify_watch, i - 1).wd)
			return sv_rimg_refuse(error, "fd %d (inotify) has wd %d twice", e->fd,
					      g_array_index(out, struct sv_rimg_inotify_watch, i)
						      .wd);
	e->kind = SV_RIMG_FD_INOTIFY;
	e->data_off = t->fd_data->len;
	e->data_len = (guint64)out->len * sizeof(struct sv_rimg_inotify_watch);
	g_byte_array_append(t->fd_data, (const guint8 *)out->data, (guint)e->data_len);
	return TRUE;
}
