/* SPDX-License-Identifier: MIT */
/* dirty-log.c - see dirty-log.h. */
#include "host/checkpoint/dirty-log.h"

#include <string.h>

#include "host/checkpoint/dirty-frames.h"

#define FRAMES_FILE "dirty-frames"

struct SvDirtyLog {
	SvMachine *m;
	SvPageSelect *sel;
	SvTaskRef task;
	char *mark;	   /* this checkpoint's */
	char *parent_mark; /* the parent's, when it has one of the log */
	gboolean taken, recorded, judged;
	GBytes *bits;	       /* the log since the parent's pause, when it runs from there */
	GArray *parent_frames; /* the parent pause's (dirty-frames.h) */
	char *note;
};

void sv_dirty_log_free(SvDirtyLog *d)
{
	if (!d)
		return;
	g_free(d->mark);
	g_free(d->parent_mark);
	g_clear_pointer(&d->bits, g_bytes_unref);
	g_clear_pointer(&d->parent_frames, g_array_unref);
	g_free(d->note);
	g_free(d);
}

SvDirtyLog *sv_dirty_log_begin(SvMachine *m, const SvIntrospect *in, guint32 pid,
			       GVariant *parent_track, SvPageSelect *sel, SvTaskRef *ret_task,
			       char **ret_note)
{
	*ret_note = NULL;
	if (!m->ops->dirty_log)
		return NULL;
	g_autoptr(GError) error = NULL;
	if (!sv_introspect_find_task(in, pid, ret_task, &error)) {
		*ret_note = g_strdup(error->message); /* the pause says it again */
		return NULL;
	}
	SvDirtyLog *d = g_new0(SvDirtyLog, 1);
	d->m = m;
	d->sel = sel;
	d->task = *ret_task;
	d->mark = sv_dirty_mark_new(ret_task);
	d->parent_mark = sv_dirty_track_mark_for(parent_track, SV_DIRTY_METHOD_LOG_NAME);
	return d;
}

static char *frames_path(const SvDirtyLog *d)
{
	return g_build_filename(d->m->vm_dir, FRAMES_FILE, NULL);
}

/* The frames recorded under mark, or NULL with why. */
static GArray *load_frames(const SvDirtyLog *d, const char *mark, char **ret_why)
{
	g_autofree char *path = frames_path(d);
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, NULL)) {
		*ret_why = g_strdup("the parent's page frames are not recorded in this VM");
		return NULL;
	}
	return sv_dirty_frames_decode(data, len, mark, ret_why);
}

/* Why the log taken now does not run from the parent's pause, or NULL
 * when it does. prev: the mark the log ran from (NULL: it was off). */
static char *why_not_from_parent(const SvDirtyLog *d, const char *prev)
{
	if (!d->parent_mark)
		return g_strdup("the parent records no dirty-log mark");
	if (!prev)
		return g_strdup("the VM's dirty log was off until this checkpoint");
	if (strcmp(prev, d->parent_mark))
		return g_strdup("another checkpoint of this VM took the dirty log after the parent");
	if (!sv_dirty_mark_names(d->parent_mark, &d->task))
		return g_strdup("the parent was of another process");
	return NULL;
}

void sv_dirty_log_take(SvDirtyLog *d)
{
	if (!d)
		return;
	g_autoptr(GError) error = NULL;
	g_autofree char *prev = NULL;
	g_autoptr(GBytes) bits = NULL;
	if (!sv_machine_dirty_log(d->m, d->mark, &prev, &bits, &error)) {
		d->note = g_strdup_printf("taking the dirty log: %s", error->message);
		return;
	}
	d->taken = TRUE;
	if (!d->sel->parent)
		return; /* a full checkpoint: only the start of its children's log */
	d->note = why_not_from_parent(d, prev);
	if (!d->note)
		d->parent_frames = load_frames(d, d->parent_mark, &d->note);
	if (d->parent_frames)
		d->bits = g_steal_pointer(&bits);
}

void sv_dirty_log_record(SvDirtyLog *d, const GArray *runs)
{
	if (!d || !d->taken)
		return;
	g_autoptr(GBytes) frames = sv_dirty_frames_encode(d->mark, runs);
	g_autofree char *path = frames_path(d);
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	const char *data = g_bytes_get_data(frames, &len);
	/* at an incremental checkpoint's pause (the select): replaced whole
	 * but not fsync'ed, which g_file_set_contents does once the file
	 * exists; a file lost in a crash only makes the next child hash */
	d->recorded = g_file_set_contents_full(path, data, (gssize)len,
					       G_FILE_SET_CONTENTS_CONSISTENT, 0666, &error);
	if (!d->recorded && !d->note)
		d->note = g_strdup_printf("recording the page frames: %s", error->message);
}

gboolean sv_dirty_log_select(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
			     GError **error)
{
	SvDirtyLog *d = data;
	sv_dirty_log_record(d, runs);
	d->judged = d->bits && d->parent_frames;
	d->sel->soft_dirty = d->judged; /* judge the runs by their dirty flags */
	if (d->judged)
		sv_dirty_frames_judge(runs, d->bits, d->parent_frames, d->sel->page_size);
	return sv_page_select_changed(runs, total, mem, d->sel, error);
}

SvDirtyMethod sv_dirty_log_method(const SvDirtyLog *d, gboolean incremental)
{
	if (d && d->judged)
		return SV_DIRTY_LOG;
	return incremental ? SV_DIRTY_HASHES : SV_DIRTY_NONE;
}

const char *sv_dirty_log_mark(const SvDirtyLog *d)
{
	return d && d->taken && d->recorded ? d->mark : NULL;
}

const char *sv_dirty_log_note(const SvDirtyLog *d)
{
	return d ? d->note : NULL;
}
