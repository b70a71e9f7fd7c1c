/* SPDX-License-Identifier: MIT */
/* restore-image-task.c - the restore image's task part: task and signal
 * state, registers, TLS and FPU (see restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

/* An integer of any width from a dict; the checkpoint writes some fields as
 * u32 and some as u64, and a later minor version may widen one. */
static gboolean dict_int(GVariant *dict, const char *key, guint64 *ret)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);
	if (!v)
		return FALSE;
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64))
		*ret = g_variant_get_uint64(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
		*ret = g_variant_get_uint32(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
		*ret = (guint64)g_variant_get_int64(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
		*ret = (guint64)(gint64)g_variant_get_int32(v);
	else
		return FALSE;
	return TRUE;
}

static gboolean need_int(GVariant *task, const char *key, guint64 *ret, GError **error)
{
	if (dict_int(task, key, ret))
		return TRUE;
	return sv_rimg_refuse(error, "the snapshot's TASK section has no integer '%s'", key);
}

/* The header's pid, comm and task fields. */
static gboolean task_fields(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	guint64 pid, tid, v;
	if (!need_int(task, SV_TASK_PID, &pid, error) || !need_int(task, SV_TASK_TID, &tid, error))
		return FALSE;
	if (pid != tid)
		return sv_rimg_refuse(error,
				      "the snapshot is of thread %" G_GUINT64_FORMAT
				      " of process %" G_GUINT64_FORMAT
				      "; only whole single-threaded processes restore",
				      tid, pid);
	h->pid = (guint32)pid;
	const char *comm = "";
	g_variant_lookup(task, SV_TASK_COMM, "&s", &comm);
	g_strlcpy(h->comm, comm, sizeof(h->comm));
	const struct {
		const char *key;
		guint64 *dst;
	} wide[] = {
		{ SV_TASK_CLEAR_CHILD_TID, &h->clear_child_tid },
		{ SV_TASK_ROBUST_LIST, &h->robust_list },
		{ SV_TASK_RSEQ, &h->rseq },
		{ SV_TASK_SIGBLOCKED, &h->sigblocked },
		{ SV_TASK_SIGPENDING, &h->sigpending },
		{ SV_TASK_SIGPENDING_SHARED, &h->sigpending_shared },
		{ SV_TASK_SIGALTSTACK_SP, &h->sigaltstack_sp },
		{ SV_TASK_SIGALTSTACK_SIZE, &h->sigaltstack_size },
	};
	for (guint i = 0; i < G_N_ELEMENTS(wide); i++)
		if (!need_int(task, wide[i].key, wide[i].dst, error))
			return FALSE;
	const struct {
		const char *key;
		guint32 *dst;
	} narrow[] = {
		{ SV_TASK_RSEQ_LEN, &h->rseq_len },
		{ SV_TASK_RSEQ_SIG, &h->rseq_sig },
		{ SV_TASK_SIGALTSTACK_FLAGS, &h->sigaltstack_flags },
		{ SV_TASK_PERSONALITY, &h->personality },
	};
	for (guint i = 0; i < G_N_ELEMENTS(narrow); i++) {
		if (!need_int(task, narrow[i].key, &v, error))
			return FALSE;
		*narrow[i].dst = (guint32)v;
	}
	/* A task caught inside sigsuspend or similar runs with its real mask
	 * saved aside; the restored one runs with the mask it will return to. */
	guint64 real_blocked = 0;
	if (dict_int(task, SV_TASK_SIGBLOCKED_REAL, &real_blocked) && real_blocked)
		h->sigblocked = real_blocked;
	return TRUE;
}

static gboolean signal_actions(GArray *out, GVariant *task, GError **error)
{
	g_autoptr(GVariant) acts = g_variant_lookup_value(task, SV_TASK_SIGACTIONS,
							  G_VARIANT_TYPE(SV_TASK_SIGACTIONS_TYPE));
	if (!acts)
		return TRUE;
	GVariantIter it;
	struct sv_rimg_sigaction a = { 0 };
	guint32 signo;
	g_variant_iter_init(&it, acts);
	while (g_variant_iter_next(&it, "(utttt)", &signo, &a.handler, &a.flags, &a.restorer,
				   &a.mask)) {
		if (signo < 1 || signo > 64)
			return sv_rimg_refuse(error, "sigaction for signal %u is out of range",
					      signo);
		a.signo = signo;
		g_array_append_val(out, a);
	}
	return TRUE;
}

/* The task's own queue, then the process-wide one. */
static gboolean queued_signals(GArray *out, GVariant *task, GError **error)
{
	static const char *const queues[] = { SV_TASK_SIGQUEUE, SV_TASK_SIGQUEUE_SHARED };
	for (guint q = 0; q < G_N_ELEMENTS(queues); q++) {
		g_autoptr(GVariant)
			list = g_variant_lookup_value(task, queues[q],
						      G_VARIANT_TYPE(SV_TASK_SIGQUEUE_TYPE));
		if (!list)
			continue;
		GVariantIter it;
		guint32 signo;
		GVariant *info;
		g_variant_iter_init(&it, list);
		while (g_variant_iter_next(&it, "(u@ay)", &signo, &info)) {
			struct sv_rimg_sigqueue e = { .signo = signo, .shared = q };
			gsize n;
			const guint8 *b = g_variant_get_fixed_array(info, &n, 1);
			memcpy(e.info, b, MIN(n, sizeof(e.info)));
			g_variant_unref(info);
			if (signo < 1 || signo > 64)
				return sv_rimg_refuse(error, "queued signal %u is out of range",
						      signo);
			g_array_append_val(out, e);
		}
	}
	return TRUE;
}

/* Registers travel by name: the arch restorer picks them by name. */
static gboolean named_registers(GArray *out, GVariant *regs, GError **error)
{
	g_autoptr(GVariant) dict = g_variant_get_child_value(regs, 0);
	GVariantIter it;
	const char *name;
	guint64 value;
	g_variant_iter_init(&it, dict);
	while (g_variant_iter_next(&it, "{&st}", &name, &value)) {
		struct sv_rimg_named e = { 0 };
		if (strlen(name) >= sizeof(e.name))
			return sv_rimg_refuse(error, "register name '%s' is too long", name);
		g_strlcpy(e.name, name, sizeof(e.name));
		e.value = value;
		g_array_append_val(out, e);
	}
	return TRUE;
}

/* TLS: its integers join the registers; descriptor tables (arrays) are
 * not restored, so they must be empty. */
static gboolean tls_registers(GArray *out, GVariant *tls, GError **error)
{
	GVariantIter it;
	const char *key;
	GVariant *val;
	g_variant_iter_init(&it, tls);
	while (g_variant_iter_next(&it, "{&sv}", &key, &val)) {
		g_autoptr(GVariant) owned = val;
		guint64 x;
		if (g_variant_is_of_type(val, G_VARIANT_TYPE_BYTESTRING)) {
			gsize n;
			const guint8 *b = g_variant_get_fixed_array(val, &n, 1);
			for (gsize i = 0; i < n; i++)
				if (b[i])
					return sv_rimg_refuse(
						error,
						"the process uses TLS descriptors (%s): "
						"restoring them is not supported yet",
						key);
			continue;
		}
		if (!dict_int(tls, key, &x))
			continue;
		struct sv_rimg_named e = { 0 };
		if (strlen(key) >= sizeof(e.name))
			continue;
		g_strlcpy(e.name, key, sizeof(e.name));
		e.value = x;
		g_array_append_val(out, e);
	}
	return TRUE;
}

static gboolean fpu_state(SvRimgTables *t, GVariant *fpu, GError **error)
{
	t->fpu = g_variant_get_child_value(fpu, 3);
	gsize size = g_variant_get_size(t->fpu);
	g_variant_get_child(fpu, 1, "t", &t->h.fpu_features);
	if (size > 64 * 1024)
		return sv_rimg_refuse(error, "FPU state of %" G_GSIZE_FORMAT " bytes is too large",
				      size);
	t->h.fpu_size = (guint32)size;
	return TRUE;
}

gboolean sv_rimg_task_build(SvRimgTables *t, GVariant *task, GVariant *regs, GVariant *tls,
			    GVariant *fpu, GError **error)
{
	return task_fields(&t->h, task, error) && signal_actions(t->sigactions, task, error) &&
	       queued_signals(t->sigqueue, task, error) && named_registers(t->regs, regs, error) &&
	       tls_registers(t->regs, tls, error) && fpu_state(t, fpu, error);
}
