/* SPDX-License-Identifier: MIT */
/*
 * process-env.c - the rest of a process's kernel-held environment a
 * checkpoint carries: working directory and umask (task->fs, include/linux/
 * fs_struct.h), resource limits (signal->rlim), supplementary groups
 * (cred->group_info), and interval timers (signal->real_timer, an hrtimer
 * on CLOCK_MONOTONIC, with it_real_incr; signal->it[] for ITIMER_VIRTUAL
 * and ITIMER_PROF, in process CPU time; include/linux/sched/signal.h).
 *
 * ITIMER_REAL is stored as the time left: the hrtimer's expiry minus the
 * guest's CLOCK_MONOTONIC at its last timekeeping update (tk_core's
 * tkr_mono: base + xtime_nsec >> shift, kernel/time/timekeeping.c). That
 * "now" lags the true one by the time since that update: one tick (4 ms
 * at HZ=250) while any CPU runs, longer while every CPU idles with its tick
 * stopped - but then the next wake-up is at the latest this very timer, so
 * for an armed ITIMER_REAL the lag is under its period. The restored timer
 * therefore fires late by at most that lag, never early. VIRTUAL and PROF
 * are left as expiry minus the task's utime (+ stime), the samples the
 * kernel compares them against (kernel/time/posix-cpu-timers.c).
 * POSIX timers (timer_create) are posix-timers.c's.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define RLIM_NLIMITS_MAX 32
#define MAX_GROUPS 65536u
#define HRTIMER_STATE_ENQUEUED 0x01u

gboolean sv_introspect_timekeeper(const SvIntrospect *in, guint64 *ret, GError **error)
{
	guint64 tk_core, seq_size;
	if (!sv_kallsyms_lookup(in->syms, "tk_core", &tk_core, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "the guest kernel has no symbol tk_core (needed for its clocks)");
		return FALSE;
	}
	/* tk_core is an anonymous struct { seqcount_raw_spinlock_t seq;
	 * struct timekeeper timekeeper; }: the timekeeper follows the seqcount
	 * at its 8-byte alignment */
	if (!sv_kernel_types_size(in->types, "seqcount_raw_spinlock", NULL, &seq_size, error))
		return FALSE;
	*ret = tk_core + ((seq_size + 7) & ~7ull);
	return TRUE;
}

gboolean sv_introspect_guest_monotonic(const SvIntrospect *in, guint64 *ret, guint64 *ret_offs_boot,
				       GError **error)
{
	guint64 tk, base, xtime, shift, offs_boot;
	if (!sv_introspect_timekeeper(in, &tk, error) ||
	    !sv_kernel_types_offset(in->types, "timekeeper", "tkr_mono.base", &base, error) ||
	    !sv_kernel_types_offset(in->types, "timekeeper", "tkr_mono.xtime_nsec", &xtime,
				    error) ||
	    !sv_kernel_types_offset(in->types, "timekeeper", "tkr_mono.shift", &shift, error) ||
	    !sv_kernel_types_offset(in->types, "timekeeper", "offs_boot", &offs_boot, error))
		return FALSE;
	guint64 b, x, s;
	if (!sv_introspect_read_uint(in, tk + base, 8, &b, error) ||
	    !sv_introspect_read_uint(in, tk + xtime, 8, &x, error) ||
	    !sv_introspect_read_uint(in, tk + shift, 4, &s, error))
		return FALSE;
	if (s >= 64) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest timekeeper shift %" G_GUINT64_FORMAT, s);
		return FALSE;
	}
	*ret = b + (x >> s);
	return !ret_offs_boot ||
	       sv_introspect_read_uint(in, tk + offs_boot, 8, ret_offs_boot, error);
}

static gboolean add_itimers(const SvIntrospect *in, const SvTaskRef *ref, guint64 signal,
			    GVariantDict *d, GError **error)
{
	guint64 posix, timer, expires, state, incr, it, it_size, utime, stime;
	if (!sv_kernel_types_offset(in->types, "signal_struct", "posix_timers", &posix, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "real_timer", &timer, error) ||
	    !sv_kernel_types_offset(in->types, "hrtimer", "node.expires", &expires, error) ||
	    !sv_kernel_types_offset(in->types, "hrtimer", "state", &state, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "it_real_incr", &incr, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "it", &it, error) ||
	    !sv_kernel_types_size(in->types, "cpu_itimer", NULL, &it_size, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "utime", &utime, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "stime", &stime, error))
		return FALSE;
	if (!sv_introspect_posix_timers(in, ref, signal, d, error))
		return FALSE;
	guint64 st, exp, inc;
	if (!sv_introspect_read_uint(in, signal + timer + state, 1, &st, error) ||
	    !sv_introspect_read_uint(in, signal + timer + expires, 8, &exp, error) ||
	    !sv_introspect_read_uint(in, signal + incr, 8, &inc, error))
		return FALSE;
	guint64 left = 0;
	if ((st & HRTIMER_STATE_ENQUEUED) || inc) {
		guint64 now = in->clock_hint_ns;
		if (!now && !sv_kallsyms_lookup(in->syms, "tk_core", &now, NULL)) {
			/* no data symbols (Debian arm64 lacks KALLSYMS_ALL) and no
			 * clock from the agent: the expiry is kept as it is, and
			 * restore refuses it */
			g_variant_dict_insert(d, SV_TASK_ITIMER_REAL_EXPIRES, SV_TASK_ITIMER_TYPE,
					      exp, inc);
			goto cpu_timers;
		}
		if (!in->clock_hint_ns && !sv_introspect_guest_monotonic(in, &now, NULL, error))
			return FALSE;
		/* A periodic timer that fired is not queued again until its
		 * SIGALRM is dequeued (dequeue_signal, kernel/signal.c, forwards
		 * it past now): the restored one is armed for that next period
		 * at once, which differs only in that a SIGALRM that stays
		 * blocked meanwhile is raised again - and merges with the
		 * pending one. */
		if (!(st & HRTIMER_STATE_ENQUEUED) && (gint64)(now - exp) >= 0)
			exp += ((now - exp) / inc + 1) * inc;
		/* due but not yet handled: as good as now */
		left = (gint64)(exp - now) > 1000 ? exp - now : 1000;
	}
	g_variant_dict_insert(d, SV_TASK_ITIMER_REAL, SV_TASK_ITIMER_TYPE, left, inc);
cpu_timers:;
	guint64 u, s;
	if (!sv_introspect_read_uint(in, ref->task + utime, 8, &u, error) ||
	    !sv_introspect_read_uint(in, ref->task + stime, 8, &s, error))
		return FALSE;
	/* it[0] is CPUCLOCK_PROF, it[1] CPUCLOCK_VIRT (itimer_get_remaining) */
	static const char *const keys[] = { SV_TASK_ITIMER_PROF, SV_TASK_ITIMER_VIRTUAL };
	for (guint i = 0; i < 2; i++) {
		guint64 e, n;
		if (!sv_introspect_read_uint(in, signal + it + i * it_size, 8, &e, error) ||
		    !sv_introspect_read_uint(in, signal + it + i * it_size + 8, 8, &n, error))
			return FALSE;
		guint64 used = i == 0 ? u + s : u;
		guint64 rem = e == 0 ? 0 : (gint64)(e - used) > 1000 ? e - used : 1000;
		g_variant_dict_insert(d, keys[i], SV_TASK_ITIMER_TYPE, rem, n);
	}
	return TRUE;
}

gboolean sv_introspect_process_env(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				   GError **error)
{
	guint64 fs_off, pwd, umask, signal_off, signal, rlim, rlim_size, rl_size, cred_off, cred,
		gi_off, ngroups_off, gid_off;
	if (!sv_kernel_types_offset(in->types, "task_struct", "fs", &fs_off, error) ||
	    !sv_kernel_types_offset(in->types, "fs_struct", "pwd", &pwd, error) ||
	    !sv_kernel_types_offset(in->types, "fs_struct", "umask", &umask, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "signal", &signal_off, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "rlim", &rlim, error) ||
	    !sv_kernel_types_size(in->types, "signal_struct", "rlim", &rlim_size, error) ||
	    !sv_kernel_types_size(in->types, "rlimit", NULL, &rl_size, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "cred", &cred_off, error) ||
	    !sv_kernel_types_offset(in->types, "cred", "group_info", &gi_off, error) ||
	    !sv_kernel_types_offset(in->types, "group_info", "ngroups", &ngroups_off, error) ||
	    !sv_kernel_types_offset(in->types, "group_info", "gid", &gid_off, error))
		return FALSE;
	guint64 fs, mask;
	if (!sv_introspect_read_uint(in, ref->task + fs_off, 8, &fs, error) ||
	    !sv_introspect_read_uint(in, fs + umask, 4, &mask, error))
		return FALSE;
	g_autofree char *cwd = sv_introspect_path(in, fs + pwd, error);
	if (!cwd)
		return FALSE;
	g_variant_dict_insert(d, SV_TASK_CWD, "s", cwd);
	g_variant_dict_insert(d, SV_TASK_UMASK, "u", (guint32)mask);

	if (!sv_introspect_read_uint(in, ref->task + signal_off, 8, &signal, error))
		return FALSE;
	guint n = rl_size == 16 ? (guint)(rlim_size / 16) : 0;
	if (n == 0 || n > RLIM_NLIMITS_MAX) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "signal_struct.rlim has an unexpected shape");
		return FALSE;
	}
	guint8 raw[RLIM_NLIMITS_MAX * 16];
	if (!sv_introspect_read(in, signal + rlim, raw, n * 16, error))
		return FALSE;
	g_auto(GVariantBuilder) rb = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_RLIMITS_TYPE));
	for (guint i = 0; i < n; i++)
		g_variant_builder_add(&rb, "(tt)", sv_get_le64(raw + 16 * i),
				      sv_get_le64(raw + 16 * i + 8));
	g_variant_dict_insert_value(d, SV_TASK_RLIMITS, g_variant_builder_end(&rb));

	guint64 gi, ngroups;
	if (!sv_introspect_read_uint(in, ref->task + cred_off, 8, &cred, error) ||
	    !sv_introspect_read_uint(in, cred + gi_off, 8, &gi, error) ||
	    !sv_introspect_read_uint(in, gi + ngroups_off, 4, &ngroups, error))
		return FALSE;
	if (ngroups > MAX_GROUPS) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u has %" G_GUINT64_FORMAT " supplementary groups", ref->pid,
			    ngroups);
		return FALSE;
	}
	g_autofree guint8 *gids = g_malloc(ngroups * 4 + 1);
	if (!sv_introspect_read(in, gi + gid_off, gids, ngroups * 4, error))
		return FALSE;
	g_auto(GVariantBuilder) gb = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_GROUPS_TYPE));
	for (guint64 i = 0; i < ngroups; i++)
		g_variant_builder_add(&gb, "u", sv_get_le32(gids + 4 * i));
	g_variant_dict_insert_value(d, SV_TASK_GROUPS, g_variant_builder_end(&gb));
	return add_itimers(in, ref, signal, d, error) && sv_introspect_caps(in, ref, d, error);
}
