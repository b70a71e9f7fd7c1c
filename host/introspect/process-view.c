/* SPDX-License-Identifier: MIT */
/*
 * process-view.c - what a process reads back of the kernel around it that
 * a fresh restore guest would otherwise answer differently, without a word:
 *
 * - prctl state: dumpable and THP-disabled (mm->flags: MMF_DUMPABLE_MASK,
 *   MMF_DISABLE_THP, include/linux/sched/coredump.h), no_new_privs
 *   (task->atomic_flags, PFA_NO_NEW_PRIVS), the parent-death signal
 *   (task->pdeath_signal), child_subreaper (signal->is_child_subreaper);
 * - its oom_score_adj (signal->oom_score_adj);
 * - its membarrier registrations (mm->membarrier_state);
 * - its IPC namespace: checked in ipc-namespace.c;
 * - the host and domain names of its UTS namespace (nsproxy->uts_ns->name,
 *   a struct new_utsname);
 * - CLOCK_MONOTONIC and CLOCK_BOOTTIME as it sees them at the pause: the
 *   guest's clock (tk_core, or the value the checkpoint read through the
 *   agent where the kernel has no data symbols) plus its time namespace's
 *   offsets (nsproxy->time_ns->offsets; a restored process lives in one).
 *   Restore continues them from there with a time namespace of its own.
 *   CLOCK_REALTIME needs nothing: the restore guest's comes from the host's
 *   clock, and moves on by the time between checkpoint and restore, as a
 *   wall clock does.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MMF_DUMPABLE_MASK 3ull
#define MMF_DISABLE_THP (1ull << 24)
#define PFA_NO_NEW_PRIVS (1ull << 0)
#define UTS_FIELD 65 /* __NEW_UTS_LEN + 1 */
#define UTS_NODENAME 1
#define UTS_DOMAINNAME 5

/* PR_SET_CHILD_SUBREAPER: a one-bit field of the thread group's
 * signal_struct; orphans below the process are reparented to it */
static gboolean add_child_subreaper(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				    GError **error)
{
	guint64 signal_off, bit, signal, word;
	guint32 width;
	if (!sv_kernel_types_offset(in->types, "task_struct", "signal", &signal_off, error) ||
	    !sv_kernel_types_bitfield(in->types, "signal_struct", "is_child_subreaper", &bit,
				      &width, error) ||
	    !sv_introspect_read_uint(in, ref->task + signal_off, 8, &signal, error) ||
	    !sv_introspect_read_uint(in, signal + bit / 8, 1, &word, error))
		return FALSE;
	g_variant_dict_insert(d, SV_TASK_CHILD_SUBREAPER, "b", ((word >> (bit % 8)) & 1) != 0);
	guint64 oom_off, oom;
	if (!sv_kernel_types_offset(in->types, "signal_struct", "oom_score_adj", &oom_off, error) ||
	    !sv_introspect_read_uint(in, signal + oom_off, 2, &oom, error))
		return FALSE;
	g_variant_dict_insert(d, SV_TASK_OOM_SCORE_ADJ, "i", (gint32)(gint16)oom);
	return TRUE;
}

/* mm->membarrier_state (include/linux/sched/mm.h): each registration
 * (MEMBARRIER_CMD_REGISTER_*) sets a READY bit; restore issues the same
 * commands again (zdtm's membarrier got EPERM after a restore that did
 * not). Absent without CONFIG_MEMBARRIER: none. */
static gboolean add_membarrier(const SvIntrospect *in, guint64 mm, GVariantDict *d, GError **error)
{
	static const struct {
		guint64 ready;
		guint32 cmd;
	} reg[] = {
		{ 1u << 0, 1u << 4 }, /* PRIVATE_EXPEDITED */
		{ 1u << 2, 1u << 2 }, /* GLOBAL_EXPEDITED */
		{ 1u << 4, 1u << 6 }, /* PRIVATE_EXPEDITED_SYNC_CORE */
		{ 1u << 6, 1u << 8 }, /* PRIVATE_EXPEDITED_RSEQ */
	};
	guint64 off, state;
	if (!sv_kernel_types_offset(in->types, "mm_struct", "membarrier_state", &off, NULL))
		return TRUE;
	if (!sv_introspect_read_uint(in, mm + off, 4, &state, error))
		return FALSE;
	guint32 cmds = 0;
	for (guint i = 0; i < G_N_ELEMENTS(reg); i++)
		if (state & reg[i].ready)
			cmds |= reg[i].cmd;
	g_variant_dict_insert(d, SV_TASK_MEMBARRIER, "u", cmds);
	return TRUE;
}

static gboolean add_prctl_state(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				GError **error)
{
	guint64 mm_off, flags_off, atomic_off, pdeath_off, mm, flags, atomic, pdeath;
	if (!sv_kernel_types_offset(in->types, "task_struct", "mm", &mm_off, error) ||
	    !sv_kernel_types_offset(in->types, "mm_struct", "flags", &flags_off, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "atomic_flags", &atomic_off, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "pdeath_signal", &pdeath_off, error))
		return FALSE;
	if (!sv_introspect_read_uint(in, ref->task + mm_off, 8, &mm, error) ||
	    !sv_introspect_read_uint(in, mm + flags_off, 8, &flags, error) ||
	    !sv_introspect_read_uint(in, ref->task + atomic_off, 8, &atomic, error) ||
	    !sv_introspect_read_uint(in, ref->task + pdeath_off, 4, &pdeath, error))
		return FALSE;
	if (pdeath > 64) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "guest pid %u: parent-death signal %" G_GUINT64_FORMAT
			    " is not a signal",
			    ref->pid, pdeath);
		return FALSE;
	}
	g_variant_dict_insert(d, SV_TASK_DUMPABLE, "u", (guint32)(flags & MMF_DUMPABLE_MASK));
	g_variant_dict_insert(d, SV_TASK_THP_DISABLE, "b", (flags & MMF_DISABLE_THP) != 0);
	g_variant_dict_insert(d, SV_TASK_NO_NEW_PRIVS, "b", (atomic & PFA_NO_NEW_PRIVS) != 0);
	g_variant_dict_insert(d, SV_TASK_PDEATH_SIGNAL, "u", (guint32)pdeath);
	return add_child_subreaper(in, ref, d, error) && add_membarrier(in, mm, d, error);
}

/* One field of a struct new_utsname, as a string: NUL-terminated within
 * its 65 bytes and valid UTF-8, or refused. */
static gboolean add_uts_field(const SvIntrospect *in, const SvTaskRef *ref, guint64 name,
			      guint field, const char *key, GVariantDict *d, GError **error)
{
	char s[UTS_FIELD];
	if (!sv_introspect_read(in, name + field * UTS_FIELD, s, sizeof(s), error))
		return FALSE;
	if (!memchr(s, 0, sizeof(s)) || !g_utf8_validate(s, -1, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "guest pid %u: its UTS %s is not a terminated UTF-8 string", ref->pid,
			    key);
		return FALSE;
	}
	g_variant_dict_insert(d, key, "s", s);
	return TRUE;
}

static gboolean add_uts_names(const SvIntrospect *in, const SvTaskRef *ref, guint64 nsproxy,
			      GVariantDict *d, GError **error)
{
	guint64 uts_off, name_off, uts;
	if (!sv_kernel_types_offset(in->types, "nsproxy", "uts_ns", &uts_off, error) ||
	    !sv_kernel_types_offset(in->types, "uts_namespace", "name", &name_off, error) ||
	    !sv_introspect_read_uint(in, nsproxy + uts_off, 8, &uts, error))
		return FALSE;
	return add_uts_field(in, ref, uts + name_off, UTS_NODENAME, SV_TASK_UTS_NODENAME, d,
			     error) &&
	       add_uts_field(in, ref, uts + name_off, UTS_DOMAINNAME, SV_TASK_UTS_DOMAINNAME, d,
			     error);
}

/* The offsets of the task's time namespace, in ns; 0 when the kernel has
 * none (CONFIG_TIME_NS off: no nsproxy.time_ns). */
static gboolean time_ns_offsets(const SvIntrospect *in, guint64 nsproxy, gint64 *ret_mono,
				gint64 *ret_boot, GError **error)
{
	guint64 ns_off, offsets_off, mono_off, boot_off, sec_off, nsec_off, ns;
	*ret_mono = *ret_boot = 0;
	if (!sv_kernel_types_offset(in->types, "nsproxy", "time_ns", &ns_off, NULL))
		return TRUE;
	if (!sv_kernel_types_offset(in->types, "time_namespace", "offsets", &offsets_off, error) ||
	    !sv_kernel_types_offset(in->types, "timens_offsets", "monotonic", &mono_off, error) ||
	    !sv_kernel_types_offset(in->types, "timens_offsets", "boottime", &boot_off, error) ||
	    !sv_kernel_types_offset(in->types, "timespec64", "tv_sec", &sec_off, error) ||
	    !sv_kernel_types_offset(in->types, "timespec64", "tv_nsec", &nsec_off, error) ||
	    !sv_introspect_read_uint(in, nsproxy + ns_off, 8, &ns, error))
		return FALSE;
	guint64 at[2] = { ns + offsets_off + mono_off, ns + offsets_off + boot_off };
	gint64 *out[2] = { ret_mono, ret_boot };
	for (guint i = 0; i < 2; i++) {
		guint64 sec, nsec;
		if (!sv_introspect_read_uint(in, at[i] + sec_off, 8, &sec, error) ||
		    !sv_introspect_read_uint(in, at[i] + nsec_off, 8, &nsec, error))
			return FALSE;
		/* the kernel keeps offsets within +-KTIME_SEC_MAX/2 (timens_offsets
		 * writes are checked so); anything else is not a kernel's */
		if ((gint64)sec > G_GINT64_CONSTANT(4611686018) ||
		    (gint64)sec < -G_GINT64_CONSTANT(4611686018) || nsec >= 1000000000) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "guest time namespace offset %" G_GINT64_FORMAT
				    " s %" G_GUINT64_FORMAT " ns is out of range",
				    (gint64)sec, nsec);
			return FALSE;
		}
		*out[i] = (gint64)sec * 1000000000 + (gint64)nsec;
	}
	return TRUE;
}

/* The clocks as the process sees them. Where the guest clock is unknown
 * (no data symbols and no clock read through the agent: a paused VM on
 * a kernel without KALLSYMS_ALL) they are left out, and restore leaves the
 * fresh guest's. */
static gboolean add_clocks(const SvIntrospect *in, guint64 nsproxy, GVariantDict *d, GError **error)
{
	guint64 mono = in->clock_hint_ns, offs_boot = 0;
	guint64 tk_core;
	/* with the agent's clock, offs_boot is taken as 0: nothing suspends
	 * a snapvm guest */
	if (!mono && sv_kallsyms_lookup(in->syms, "tk_core", &tk_core, NULL) &&
	    !sv_introspect_guest_monotonic(in, &mono, &offs_boot, error))
		return FALSE;
	if (!mono)
		return TRUE;
	gint64 ns_mono, ns_boot;
	if (!time_ns_offsets(in, nsproxy, &ns_mono, &ns_boot, error))
		return FALSE;
	g_variant_dict_insert(d, SV_TASK_CLOCK_MONOTONIC, "t", mono + (guint64)ns_mono);
	g_variant_dict_insert(d, SV_TASK_CLOCK_BOOTTIME, "t", mono + offs_boot + (guint64)ns_boot);
	return TRUE;
}

gboolean sv_introspect_process_view(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				    GError **error)
{
	guint64 nsproxy_off, nsproxy;
	if (!sv_kernel_types_offset(in->types, "task_struct", "nsproxy", &nsproxy_off, error) ||
	    !sv_introspect_read_uint(in, ref->task + nsproxy_off, 8, &nsproxy, error))
		return FALSE;
	if (!nsproxy) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest pid %u is exiting (it has no namespaces)", ref->pid);
		return FALSE;
	}
	return add_prctl_state(in, ref, d, error) && add_uts_names(in, ref, nsproxy, d, error) &&
	       add_clocks(in, nsproxy, d, error) &&
	       sv_introspect_ipc_namespace(in, ref, nsproxy, error);
}
