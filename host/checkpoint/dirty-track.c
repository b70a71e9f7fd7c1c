/* SPDX-License-Identifier: MIT */
/* dirty-track.c - see dirty-track.h. */
#include "host/checkpoint/dirty-track.h"

#include <stdio.h>
#include <string.h>

#include "host/checkpoint/dirty-log.h"
#include "snapvm/agent-proto.h"
#include "snapvm/snapshot-format.h"

#define VM_SHARED 0x00000008ull
#define DIRTY_METHOD_SOFT "soft-dirty"

const char *sv_dirty_method_str(SvDirtyMethod m)
{
	switch (m) {
	case SV_DIRTY_HASHES:
		return "hashes";
	case SV_DIRTY_SOFT_DIRTY:
		return DIRTY_METHOD_SOFT;
	case SV_DIRTY_LOG:
		return SV_DIRTY_METHOD_LOG_NAME;
	case SV_DIRTY_NONE:
		break;
	}
	return "none";
}

/* "<pid>:<task_struct>:<mm>:" then the random part: 10 + 16 + 16 + 3
 * characters and 16 random, under SV_SOFT_DIRTY_MAX_MARK. */
static char *task_prefix(const SvTaskRef *t)
{
	return g_strdup_printf("%u:%" G_GINT64_MODIFIER "x:%" G_GINT64_MODIFIER "x:", t->pid,
			       t->task, t->mm);
}

char *sv_dirty_mark_new(const SvTaskRef *t)
{
	g_autofree char *prefix = task_prefix(t);
	char *mark = g_strdup_printf("%s%08x%08x", prefix, g_random_int(), g_random_int());
	g_assert(strlen(mark) <= SV_SOFT_DIRTY_MAX_MARK);
	return mark;
}

gboolean sv_dirty_mark_names(const char *mark, const SvTaskRef *t)
{
	g_autofree char *prefix = task_prefix(t);
	return mark && g_str_has_prefix(mark, prefix) && strlen(mark) == strlen(prefix) + 16;
}

GVariant *sv_dirty_track_variant(const char *mark)
{
	return sv_dirty_track_variant_for(DIRTY_METHOD_SOFT, mark);
}

char *sv_dirty_track_mark(GVariant *section)
{
	return sv_dirty_track_mark_for(section, DIRTY_METHOD_SOFT);
}

GVariant *sv_dirty_track_variant_for(const char *method, const char *mark)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_DIRTY_METHOD, g_variant_new_string(method));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_DIRTY_MARK, g_variant_new_string(mark));
	return g_variant_builder_end(&b);
}

char *sv_dirty_track_mark_for(GVariant *section, const char *want)
{
	if (!section)
		return NULL;
	g_auto(GVariantDict) d;
	g_variant_dict_init(&d, section);
	const char *method = NULL, *mark = NULL;
	if (!g_variant_dict_lookup(&d, SV_SNAP_DIRTY_METHOD, "&s", &method) ||
	    strcmp(method, want) || !g_variant_dict_lookup(&d, SV_SNAP_DIRTY_MARK, "&s", &mark) ||
	    !mark[0] || strlen(mark) > SV_SOFT_DIRTY_MAX_MARK)
		return NULL;
	return g_strdup(mark);
}

gboolean sv_dirty_vma_tracked(const SvGuestVma *v)
{
	return !(v->flags & VM_SHARED) && v->file == 0;
}

/* Whether the parent's mark is the latest arm of task t. */
static gboolean parent_mark_current(const SvCheckpointOptions *o, const char *parent_mark,
				    const SvTaskRef *t, char **ret_note)
{
	if (!parent_mark) {
		*ret_note = g_strdup("the parent records no soft-dirty arm");
		return FALSE;
	}
	if (!sv_dirty_mark_names(parent_mark, t)) {
		*ret_note = g_strdup("the parent's soft-dirty arm was of another process");
		return FALSE;
	}
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;
	if (!o->soft_dirty(t->pid, FALSE, "", &now, o->control_data, &error)) {
		*ret_note = g_strdup_printf("asking the agent: %s", error->message);
		return FALSE;
	}
	if (strcmp(now, parent_mark)) {
		*ret_note = g_strdup("the soft-dirty bits were cleared again after the parent "
				     "(another checkpoint, or the guest rebooted)");
		return FALSE;
	}
	return TRUE;
}

SvDirtyMethod sv_dirty_track_begin(const SvArchOps *arch, const SvIntrospect *in,
				   const SvCheckpointOptions *o, gboolean vm_running,
				   gboolean incremental, GVariant *parent, SvTaskRef *ret_task,
				   char **ret_mark, char **ret_note)
{
	SvDirtyMethod fallback = incremental ? SV_DIRTY_HASHES : SV_DIRTY_NONE;
	*ret_mark = NULL;
	*ret_note = NULL;
	*ret_task = (SvTaskRef){ 0 };
	if (!arch->soft_dirty) {
		*ret_note = g_strdup_printf("%s guests have no soft-dirty bits", arch->name);
		return fallback;
	}
	if (!o->soft_dirty) {
		*ret_note = g_strdup("soft-dirty tracking is off");
		return fallback;
	}
	if (!vm_running) {
		*ret_note = g_strdup("the VM is paused: its agent cannot clear or vouch for the "
				     "soft-dirty bits");
		return fallback;
	}
	g_autoptr(GError) error = NULL;
	if (!sv_introspect_find_task(in, o->pid, ret_task, &error)) {
		*ret_note = g_strdup(error->message); /* the pause says it again */
		return fallback;
	}
	g_autofree char *parent_mark = sv_dirty_track_mark(parent);
	if (incremental && parent_mark_current(o, parent_mark, ret_task, ret_note)) {
		*ret_mark = g_steal_pointer(&parent_mark);
		return SV_DIRTY_SOFT_DIRTY;
	}
	if (o->kill_after) {
		g_free(*ret_note);
		*ret_note = g_strdup("not armed: the process is killed");
		return fallback;
	}
	g_autofree char *mark = sv_dirty_mark_new(ret_task);
	g_autofree char *now = NULL;
	if (!o->soft_dirty(o->pid, TRUE, mark, &now, o->control_data, &error)) {
		g_free(*ret_note);
		*ret_note = g_strdup_printf("arming soft-dirty tracking: %s", error->message);
		return fallback;
	}
	*ret_mark = g_steal_pointer(&mark);
	return fallback;
}
