/* SPDX-License-Identifier: MIT */
/* lab-slurm-nodes.c - checkpoint and restore on different nodes
 * (lab-slurm-nodes.h). */
#include "host/lab/lab-slurm-nodes.h"

#include <string.h>

static void node_free(SvLabSlurmNode *n)
{
	g_free(n->name);
	g_strfreev(n->features);
	g_free(n);
}

/* sinfo's long state names of a node that takes jobs; a trailing flag
 * (`*` not responding, `~` powered off, `#` powering up, `%` powering
 * down, `!` pending power down, `@` pending reboot, `$` maintenance,
 * `^` rebooting, `-` planned for a bigger job) means it does not now. */
static gboolean takes_jobs(const char *state)
{
	static const char *const up[] = { "idle", "mixed", "allocated", "completing", NULL };
	return g_strv_contains(up, state);
}

static gboolean listed(GPtrArray *nodes, const char *name)
{
	for (guint i = 0; i < nodes->len; i++)
		if (!strcmp(((SvLabSlurmNode *)nodes->pdata[i])->name, name))
			return TRUE;
	return FALSE;
}

GPtrArray *sv_lab_slurm_nodes_parse(const char *sinfo_out)
{
	GPtrArray *nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
	g_auto(GStrv) lines = g_strsplit(sinfo_out ? sinfo_out : "", "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
		/* empty fields from runs of blanks */
		g_autoptr(GPtrArray) w = g_ptr_array_new();
		for (guint k = 0; f[k]; k++)
			if (*f[k])
				g_ptr_array_add(w, f[k]);
		if (w->len != 3 || !takes_jobs(w->pdata[2]) || listed(nodes, w->pdata[0]))
			continue;
		SvLabSlurmNode *n = g_new0(SvLabSlurmNode, 1);
		n->name = g_strdup(w->pdata[0]);
		/* "(null)": a node without features */
		n->features = g_strsplit(w->pdata[1], ",", -1);
		g_ptr_array_add(nodes, n);
	}
	return nodes;
}

gboolean sv_lab_slurm_node_offers(const SvLabSlurmNode *node, const char *arch, const char *accel)
{
	return g_strv_contains((const char *const *)node->features, arch) &&
	       (!accel || g_strv_contains((const char *const *)node->features, accel));
}

/* Whether a node other than skip offers (arch, accel). */
static gboolean another_offers(GPtrArray *nodes, const SvLabSlurmNode *skip, const char *arch,
			       const char *accel)
{
	for (guint i = 0; i < nodes->len; i++) {
		const SvLabSlurmNode *n = nodes->pdata[i];
		if (n != skip && sv_lab_slurm_node_offers(n, arch, accel))
			return TRUE;
	}
	return FALSE;
}

const char *sv_lab_slurm_checkpoint_node(GPtrArray *nodes, const char *arch, const char *accel,
					 const char *restore_accel, guint index)
{
	g_autoptr(GPtrArray) fit = g_ptr_array_new();
	for (guint i = 0; i < nodes->len; i++) {
		const SvLabSlurmNode *n = nodes->pdata[i];
		if (sv_lab_slurm_node_offers(n, arch, accel) &&
		    another_offers(nodes, n, arch, restore_accel))
			g_ptr_array_add(fit, (gpointer)n);
	}
	if (fit->len == 0)
		return NULL;
	return ((const SvLabSlurmNode *)fit->pdata[index % fit->len])->name;
}
