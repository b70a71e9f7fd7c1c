/* SPDX-License-Identifier: MIT */
/*
 * creds.c - the capability half of a process's credentials (struct cred,
 * include/linux/cred.h): securebits and the five capability sets, each a
 * kernel_cap_t of 64 bits, capability n as bit n (two u32 words before
 * Linux 6.3, one u64 after: the same bytes, little-endian). The ids and
 * groups are task-state.c's and process-env.c's; restore switches to all
 * of them last (the restorer needs root until then). Also the audit
 * login uid and session id.
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

/* task_struct.loginuid and .sessionid at task */
static gboolean read_audit(const SvIntrospect *in, guint64 task, guint64 o_uid, guint64 o_sid,
			   guint32 *ret_uid, guint32 *ret_sid, GError **error)
{
	guint8 b[4];
	if (!sv_introspect_read(in, task + o_uid, b, 4, error))
		return FALSE;
	*ret_uid = sv_get_le32(b);
	if (!sv_introspect_read(in, task + o_sid, b, 4, error))
		return FALSE;
	*ret_sid = sv_get_le32(b);
	return TRUE;
}

/* task_struct.loginuid and .sessionid (CONFIG_AUDIT; absent without it):
 * set by writing /proc/self/loginuid (pam_loginuid at login), which takes
 * the next id of the kernel's session counter; inherited by children and
 * threads. Carried when set (SV_TASK_LOGINUID): restore writes the uid
 * again until the restore guest's counter gives out the same id, before
 * it makes the threads, which inherit both. Refused: an id no write can
 * give (unset beside a set uid), one too far up to count to, and a thread
 * whose own differ from the leader's (it wrote /proc/thread-self/loginuid). */
static gboolean add_loginuid(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
			     GError **error)
{
	guint64 o_uid, o_sid;
	if (!sv_kernel_types_offset(in->types, "task_struct", "loginuid", &o_uid, NULL))
		return TRUE;
	guint32 uid, sid;
	if (!sv_kernel_types_offset(in->types, "task_struct", "sessionid", &o_sid, error) ||
	    !read_audit(in, ref->task, o_uid, o_sid, &uid, &sid, error))
		return FALSE;
	if (ref->nr_threads > 1) {
		g_autoptr(GArray) threads = sv_introspect_threads(in, ref, error);
		if (!threads)
			return FALSE;
		for (guint i = 1; i < threads->len; i++) {
			const SvTaskRef *t = &g_array_index(threads, SvTaskRef, i);
			guint32 t_uid, t_sid;
			if (!read_audit(in, t->task, o_uid, o_sid, &t_uid, &t_sid, error))
				return FALSE;
			if (t_uid == uid && t_sid == sid)
				continue;
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u: thread %u has its own audit login uid %d and "
				    "session id %d, its leader's are %d and %d; restore gives every "
				    "thread the leader's, so snapvm cannot checkpoint it",
				    ref->pid, t->tid, (gint32)t_uid, (gint32)t_sid, (gint32)uid,
				    (gint32)sid);
			return FALSE;
		}
	}
	if (uid == G_MAXUINT32)
		return TRUE;
	if (sid == 0 || sid > SV_TASK_MAX_SESSIONID) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest pid %u has its audit login uid (/proc/PID/loginuid) set to %u "
			    "with session id %d, which restore cannot give again (it makes ids "
			    "1 to %u); snapvm cannot checkpoint it (run it from a process whose "
			    "login uid is unset)",
			    ref->pid, uid, (gint32)sid, SV_TASK_MAX_SESSIONID);
		return FALSE;
	}
	g_variant_dict_insert(d, SV_TASK_LOGINUID, SV_TASK_LOGINUID_TYPE, uid, sid);
	return TRUE;
}

gboolean sv_introspect_caps(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
			    GError **error)
{
	static const char *const sets[] = { "cap_inheritable", "cap_permitted", "cap_effective",
					    "cap_bset", "cap_ambient" };
	guint64 cred_off, sb_off, off[G_N_ELEMENTS(sets)], size;
	if (!sv_kernel_types_offset(in->types, "task_struct", "cred", &cred_off, error) ||
	    !sv_kernel_types_offset(in->types, "cred", "securebits", &sb_off, error) ||
	    !sv_kernel_types_size(in->types, "cred", "cap_effective", &size, error))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(sets); i++)
		if (!sv_kernel_types_offset(in->types, "cred", sets[i], &off[i], error))
			return FALSE;
	if (!add_loginuid(in, ref, d, error))
		return FALSE;
	if (size != 8) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "this kernel's kernel_cap_t is %" G_GUINT64_FORMAT " bytes, not 8",
			    size);
		return FALSE;
	}
	guint8 b[8];
	if (!sv_introspect_read(in, ref->task + cred_off, b, 8, error))
		return FALSE;
	guint64 cred = sv_get_le64(b), caps[G_N_ELEMENTS(sets)];
	if (!sv_introspect_read(in, cred + sb_off, b, 4, error))
		return FALSE;
	guint32 securebits = sv_get_le32(b);
	for (guint i = 0; i < G_N_ELEMENTS(sets); i++) {
		if (!sv_introspect_read(in, cred + off[i], b, 8, error))
			return FALSE;
		caps[i] = sv_get_le64(b);
	}
	g_variant_dict_insert(d, SV_TASK_CAPS, SV_TASK_CAPS_TYPE, securebits, caps[0], caps[1],
			      caps[2], caps[3], caps[4]);
	return TRUE;
}
