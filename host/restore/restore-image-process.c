/* SPDX-License-Identifier: MIT */
/* restore-image-process.c - the restore image's part for what the process
 * sees of the kernel around it (host/introspect/process-view.c): prctl
 * state, UTS names, the clocks (see restore-image-parts.h). Each part is
 * flagged in the header only when the snapshot has all of its keys, so an
 * older snapshot restores as before. */
#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

static gboolean prctl_state(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	guint32 dumpable, pdeath;
	gboolean nnp, thp;
	if (!g_variant_lookup(task, SV_TASK_DUMPABLE, "u", &dumpable) ||
	    !g_variant_lookup(task, SV_TASK_PDEATH_SIGNAL, "u", &pdeath) ||
	    !g_variant_lookup(task, SV_TASK_NO_NEW_PRIVS, "b", &nnp) ||
	    !g_variant_lookup(task, SV_TASK_THP_DISABLE, "b", &thp))
		return TRUE;
	/* 2 (SUID_DUMP_ROOT) comes only from exec under fs.suid_dumpable=2;
	 * PR_SET_DUMPABLE takes 0 and 1 */
	if (dumpable > 1)
		return sv_rimg_refuse(error,
				      "the process's dumpable mode is %u (fs.suid_dumpable after "
				      "an exec); a process can only be given 0 or 1",
				      dumpable);
	if (pdeath > 64)
		return sv_rimg_refuse(error, "parent-death signal %u is out of range", pdeath);
	h->dumpable = dumpable;
	h->pdeath_signal = pdeath;
	h->no_new_privs = nnp;
	h->thp_disable = thp;
	/* a later key: a snapshot without it was of a process that was not
	 * asked about, and had none as far as anyone knew */
	gboolean subreaper = FALSE;
	g_variant_lookup(task, SV_TASK_CHILD_SUBREAPER, "b", &subreaper);
	h->child_subreaper = subreaper;
	gint32 oom;
	if (g_variant_lookup(task, SV_TASK_OOM_SCORE_ADJ, "i", &oom)) {
		if (oom < -1000 || oom > 1000)
			return sv_rimg_refuse(error, "oom_score_adj %d is out of range", oom);
		h->oom_score_adj = oom;
		h->flags |= SV_RIMG_OOM_SCORE_ADJ;
	}
	/* MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, _PRIVATE_EXPEDITED, its
	 * _SYNC_CORE and _RSEQ forms */
	guint32 membarrier = 0;
	g_variant_lookup(task, SV_TASK_MEMBARRIER, "u", &membarrier);
	if (membarrier & ~0x154u)
		return sv_rimg_refuse(error, "membarrier registrations 0x%x are not all known",
				      membarrier);
	h->membarrier_cmds = membarrier;
	h->flags |= SV_RIMG_PRCTL;
	return TRUE;
}

static gboolean uts_names(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	const char *node, *domain;
	if (!g_variant_lookup(task, SV_TASK_UTS_NODENAME, "&s", &node) ||
	    !g_variant_lookup(task, SV_TASK_UTS_DOMAINNAME, "&s", &domain))
		return TRUE;
	if (strlen(node) >= sizeof(h->nodename) || strlen(domain) >= sizeof(h->domainname))
		return sv_rimg_refuse(error, "a UTS name of the snapshot is over %zu bytes",
				      sizeof(h->nodename) - 1);
	g_strlcpy(h->nodename, node, sizeof(h->nodename));
	g_strlcpy(h->domainname, domain, sizeof(h->domainname));
	h->flags |= SV_RIMG_UTS;
	return TRUE;
}

static gboolean clocks(struct sv_rimg_header *h, GVariant *task, GError **error)
{
	guint64 mono, boot;
	if (!g_variant_lookup(task, SV_TASK_CLOCK_MONOTONIC, "t", &mono) ||
	    !g_variant_lookup(task, SV_TASK_CLOCK_BOOTTIME, "t", &boot))
		return TRUE;
	/* a time namespace offset keeps the clock within KTIME_SEC_MAX / 2
	 * seconds (proc_timens_set_offset) */
	const guint64 max = G_GUINT64_CONSTANT(4611686018) * 1000000000u;
	if (mono > max || boot > max)
		return sv_rimg_refuse(error,
				      "the snapshot's clocks (monotonic %" G_GUINT64_FORMAT
				      " ns, boottime %" G_GUINT64_FORMAT
				      " ns) are beyond what a time namespace can show",
				      mono, boot);
	h->clock_monotonic = mono;
	h->clock_boottime = boot;
	h->flags |= SV_RIMG_CLOCKS;
	return TRUE;
}

gboolean sv_rimg_process_build(SvRimgTables *t, GVariant *task, GError **error)
{
	return prctl_state(&t->h, task, error) && uts_names(&t->h, task, error) &&
	       clocks(&t->h, task, error);
}
