/* SPDX-License-Identifier: MIT */
/* restore-image-task.c - the restore image's task part: task and signal
 * state, registers, TLS and FPU (see restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-format.h"
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

/* What every thread has of its own, from its dict (the TASK dict for the
 * leader, an SV_TASK_THREADS entry for the others). */
static gboolean thread_record(struct sv_rimg_thread *th, GVariant *d, GError **error)
{
	guint64 tid, v;
	if (!need_int(d, SV_TASK_TID, &tid, error))
		return FALSE;
	if (tid < 1 || tid > G_MAXINT32)
		return sv_rimg_refuse(error, "thread id %" G_GUINT64_FORMAT " is out of range",
				      tid);
	th->tid = (guint32)tid;
	const char *comm = "";
	g_variant_lookup(d, SV_TASK_COMM, "&s", &comm);
	g_strlcpy(th->comm, comm, sizeof(th->comm));
	const struct {
		const char *key;
		guint64 *dst;
	} wide[] = {
		{ SV_TASK_CLEAR_CHILD_TID, &th->clear_child_tid },
		{ SV_TASK_ROBUST_LIST, &th->robust_list },
		{ SV_TASK_RSEQ, &th->rseq },
		{ SV_TASK_SIGBLOCKED, &th->sigblocked },
		{ SV_TASK_SIGPENDING, &th->sigpending },
		{ SV_TASK_SIGALTSTACK_SP, &th->sigaltstack_sp },
		{ SV_TASK_SIGALTSTACK_SIZE, &th->sigaltstack_size },
	};
	for (guint i = 0; i < G_N_ELEMENTS(wide); i++)
		if (!need_int(d, wide[i].key, wide[i].dst, error))
			return FALSE;
	const struct {
		const char *key;
		guint32 *dst;
	} narrow[] = {
		{ SV_TASK_RSEQ_LEN, &th->rseq_len },
		{ SV_TASK_RSEQ_SIG, &th->rseq_sig },
		{ SV_TASK_SIGALTSTACK_FLAGS, &th->sigaltstack_flags },
		{ SV_TASK_PERSONALITY, &th->personality },
	};
	for (guint i = 0; i < G_N_ELEMENTS(narrow); i++) {
		if (!need_int(d, narrow[i].key, &v, error))
			return FALSE;
		*narrow[i].dst = (guint32)v;
	}
	/* A task caught inside sigsuspend or similar runs with its real mask
	 * saved aside; the restored one runs with the mask it will return to. */
	guint64 real_blocked = 0;
	if (dict_int(d, SV_TASK_SIGBLOCKED_REAL, &real_blocked) && real_blocked)
		th->sigblocked = real_blocked;
	return TRUE;
}

/* The header's pid, comm and task fields: the leader's. */
static gboolean task_fields(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	guint64 pid;
	struct sv_rimg_thread lt = { 0 };
	if (!need_int(task, SV_TASK_PID, &pid, error) || !thread_record(&lt, task, error))
		return FALSE;
	if (pid != lt.tid)
		return sv_rimg_refuse(error,
				      "the snapshot is of thread %u of process %" G_GUINT64_FORMAT
				      "; only whole processes restore",
				      lt.tid, pid);
	h->pid = lt.tid;
	memcpy(h->comm, lt.comm, sizeof(h->comm));
	h->clear_child_tid = lt.clear_child_tid;
	h->robust_list = lt.robust_list;
	h->rseq = lt.rseq;
	h->rseq_len = lt.rseq_len;
	h->rseq_sig = lt.rseq_sig;
	h->sigblocked = lt.sigblocked;
	h->sigpending = lt.sigpending;
	h->sigaltstack_sp = lt.sigaltstack_sp;
	h->sigaltstack_size = lt.sigaltstack_size;
	h->sigaltstack_flags = lt.sigaltstack_flags;
	h->personality = lt.personality;
	return need_int(task, SV_TASK_SIGPENDING_SHARED, &h->sigpending_shared, error);
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

/* The queue at key of a dict (SV_TASK_SIGQUEUE_TYPE), appended to out,
 * its entries marked shared (the process's) or not. */
static gboolean append_queue(GArray *out, GVariant *d, const char *key, guint32 shared,
			     GError **error)
{
	g_autoptr(GVariant)
		list = g_variant_lookup_value(d, key, G_VARIANT_TYPE(SV_TASK_SIGQUEUE_TYPE));
	if (!list)
		return TRUE;
	GVariantIter it;
	guint32 signo;
	GVariant *info;
	g_variant_iter_init(&it, list);
	while (g_variant_iter_next(&it, "(u@ay)", &signo, &info)) {
		struct sv_rimg_sigqueue e = { .signo = signo, .shared = shared };
		gsize n;
		const guint8 *b = g_variant_get_fixed_array(info, &n, 1);
		memcpy(e.info, b, MIN(n, sizeof(e.info)));
		g_variant_unref(info);
		if (signo < 1 || signo > 64)
			return sv_rimg_refuse(error, "queued signal %u is out of range", signo);
		g_array_append_val(out, e);
	}
	return TRUE;
}

/* The leader's own queue, then the process-wide one. */
static gboolean queued_signals(GArray *out, GVariant *task, GError **error)
{
	return append_queue(out, task, SV_TASK_SIGQUEUE, 0, error) &&
	       append_queue(out, task, SV_TASK_SIGQUEUE_SHARED, 1, error);
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

/* Largest FPU state taken (x86 XSAVE with AMX is 11 KiB). */
#define MAX_FPU_BYTES (64u * 1024)

static gboolean fpu_state(SvRimgTables *t, GVariant *fpu, GError **error)
{
	t->fpu = g_variant_get_child_value(fpu, 3);
	gsize size = g_variant_get_size(t->fpu);
	g_variant_get_child(fpu, 1, "t", &t->h.fpu_features);
	if (size > MAX_FPU_BYTES)
		return sv_rimg_refuse(error, "FPU state of %" G_GSIZE_FORMAT " bytes is too large",
				      size);
	t->h.fpu_size = (guint32)size;
	return TRUE;
}

/* A section-shaped entry of a thread's dict, or a refusal naming it. */
static GVariant *thread_part(GVariant *d, guint32 tid, const char *key, const char *type,
			     GError **error)
{
	GVariant *v = g_variant_lookup_value(d, key, G_VARIANT_TYPE(type));
	if (!v)
		sv_rimg_refuse(error, "thread %u in the snapshot has no '%s' of type %s", tid, key,
			       type);
	return v;
}

/* One more thread: its record, its slices of the thread tables. */
static gboolean thread_build(SvRimgTables *t, GVariant *d, GHashTable *tids, GError **error)
{
	struct sv_rimg_thread th = { 0 };
	if (!thread_record(&th, d, error))
		return FALSE;
	if (!g_hash_table_add(tids, GUINT_TO_POINTER(th.tid)))
		return sv_rimg_refuse(error, "thread id %u appears twice in the snapshot", th.tid);
	g_autoptr(GVariant)
		regs = thread_part(d, th.tid, SV_TASK_THREAD_REGS, SV_SNAP_REGS_TYPE, error);
	g_autoptr(GVariant)
		fpu = regs ? thread_part(d, th.tid, SV_TASK_THREAD_FPU, SV_SNAP_FPU_TYPE, error)
			   : NULL;
	g_autoptr(GVariant)
		tls = fpu ? thread_part(d, th.tid, SV_TASK_THREAD_TLS, SV_SNAP_DICT_TYPE, error)
			  : NULL;
	if (!tls)
		return FALSE;
	th.first_reg = t->thread_regs->len;
	th.first_sigqueue = t->thread_sigqueue->len;
	if (!named_registers(t->thread_regs, regs, error) ||
	    !tls_registers(t->thread_regs, tls, error) ||
	    !append_queue(t->thread_sigqueue, d, SV_TASK_SIGQUEUE, 0, error))
		return FALSE;
	th.nregs = t->thread_regs->len - th.first_reg;
	th.nsigqueue = t->thread_sigqueue->len - th.first_sigqueue;
	g_autoptr(GVariant) raw = g_variant_get_child_value(fpu, 3);
	g_variant_get_child(fpu, 1, "t", &th.fpu_features);
	gsize size;
	const guint8 *bytes = g_variant_get_fixed_array(raw, &size, 1);
	if (size > MAX_FPU_BYTES)
		return sv_rimg_refuse(error,
				      "thread %u: FPU state of %" G_GSIZE_FORMAT
				      " bytes is too large",
				      th.tid, size);
	static const guint8 zeros[64];
	g_byte_array_append(t->thread_fpu, zeros, (64 - t->thread_fpu->len % 64) % 64);
	th.fpu_off = t->thread_fpu->len;
	th.fpu_size = (guint32)size;
	g_byte_array_append(t->thread_fpu, bytes, size);
	g_array_append_val(t->threads, th);
	return TRUE;
}

/* SV_TASK_THREADS: every thread but the leader. */
static gboolean threads_build(SvRimgTables *t, GVariant *task, GError **error)
{
	g_autoptr(GVariant) list = g_variant_lookup_value(task, SV_TASK_THREADS,
							  G_VARIANT_TYPE(SV_TASK_THREADS_TYPE));
	if (!list)
		return TRUE;
	gsize n = g_variant_n_children(list);
	if (n + 1 > SV_TASK_MAX_THREADS)
		return sv_rimg_refuse(error,
				      "the snapshot has %" G_GSIZE_FORMAT
				      " threads; at most %u restore",
				      n + 1, SV_TASK_MAX_THREADS);
	g_autoptr(GHashTable) tids = g_hash_table_new(NULL, NULL);
	g_hash_table_add(tids, GUINT_TO_POINTER(t->h.pid));
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(list, i);
		if (!thread_build(t, d, tids, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_rimg_task_build(SvRimgTables *t, GVariant *task, GVariant *regs, GVariant *tls,
			    GVariant *fpu, GError **error)
{
	return task_fields(&t->h, task, error) && signal_actions(t->sigactions, task, error) &&
	       queued_signals(t->sigqueue, task, error) && named_registers(t->regs, regs, error) &&
	       tls_registers(t->regs, tls, error) && fpu_state(t, fpu, error) &&
	       threads_build(t, task, error);
}
