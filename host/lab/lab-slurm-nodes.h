/* SPDX-License-Identifier: MIT */
/*
 * lab-slurm-nodes.h - which node a cell's checkpoint runs on, so that its
 * restore can run on another: the Slurm engine pins a cell's checkpoint
 * phase to one node (sbatch --nodelist) and keeps its restore off that
 * node (--exclude), and with one usable node leaves both to Slurm. Pure
 * (sinfo's text in, names out), so the choice is unit-tested without a
 * cluster.
 */
#ifndef SNAPVM_LAB_SLURM_NODES_H
#define SNAPVM_LAB_SLURM_NODES_H

#include <glib.h>

/* The format sinfo is asked for: one line per node and partition. */
#define SV_LAB_SINFO_FORMAT "%N %f %T"

typedef struct SvLabSlurmNode {
	char *name;
	char **features;
} SvLabSlurmNode;

/* The nodes of `sinfo --noheader --Node --format=SV_LAB_SINFO_FORMAT`
 * that take jobs (idle, mixed, allocated, completing; not down, drained
 * or unresponding), each once, in sinfo's order. */
GPtrArray *sv_lab_slurm_nodes_parse(const char *sinfo_out);

/* Whether node offers arch and accel (NULL: any accelerator) as features. */
gboolean sv_lab_slurm_node_offers(const SvLabSlurmNode *node, const char *arch, const char *accel);

/* The node for the checkpoint phase of the index-th cell of a group
 * (arch, accel), chosen round robin among the nodes that offer it and
 * leave another node offering (arch, restore_accel) for the restore; NULL
 * when there is no such pair (a one-node cluster): then Slurm places both
 * phases. */
const char *sv_lab_slurm_checkpoint_node(GPtrArray *nodes, const char *arch, const char *accel,
					 const char *restore_accel, guint index);

#endif
