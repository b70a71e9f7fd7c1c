/* SPDX-License-Identifier: MIT */
/*
 * Where the Slurm engine puts a cell's checkpoint so that its restore runs
 * on another node: sinfo's lines read (each node once, down, drained and
 * unresponding nodes left out), checkpoints spread round robin over the
 * nodes that leave another for the restore, and no pinning at all when
 * the cluster has one usable node or one node with the restore's features.
 */
#include <string.h>

#include "host/lab/lab-slurm-nodes.h"

/* Two partitions list lab1 twice; lab3 is down, lab4 not responding. */
static const char *const SINFO = "lab1 x86_64,aarch64,tcg idle\n"
				 "lab2 x86_64,aarch64,tcg,kvm mixed\n"
				 "lab1 x86_64,aarch64,tcg idle\n"
				 "lab3 x86_64,tcg down\n"
				 "lab4 x86_64,tcg idle*\n"
				 "\n";

static void test_parse(void)
{
	g_autoptr(GPtrArray) nodes = sv_lab_slurm_nodes_parse(SINFO);
	g_assert_cmpuint(nodes->len, ==, 2);
	const SvLabSlurmNode *a = nodes->pdata[0], *b = nodes->pdata[1];
	g_assert_cmpstr(a->name, ==, "lab1");
	g_assert_cmpstr(b->name, ==, "lab2");
	g_assert_true(sv_lab_slurm_node_offers(a, "aarch64", NULL));
	g_assert_true(sv_lab_slurm_node_offers(a, "x86_64", "tcg"));
	g_assert_false(sv_lab_slurm_node_offers(a, "x86_64", "kvm"));
	g_assert_true(sv_lab_slurm_node_offers(b, "x86_64", "kvm"));
	g_assert_false(sv_lab_slurm_node_offers(b, "riscv64", NULL));
	g_autoptr(GPtrArray) none = sv_lab_slurm_nodes_parse("");
	g_assert_cmpuint(none->len, ==, 0);
	g_autoptr(GPtrArray) bare = sv_lab_slurm_nodes_parse("n1 (null) idle\n");
	g_assert_cmpuint(bare->len, ==, 1);
	g_assert_false(sv_lab_slurm_node_offers(bare->pdata[0], "x86_64", NULL));
}

static void test_two_nodes(void)
{
	g_autoptr(GPtrArray) nodes = sv_lab_slurm_nodes_parse(SINFO);
	/* round robin over both: each cell's restore then goes to the other */
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "tcg", "tcg", 0), ==, "lab1");
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "tcg", "tcg", 1), ==, "lab2");
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "tcg", "tcg", 2), ==, "lab1");
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "aarch64", NULL, NULL, 3), ==, "lab2");
	/* a KVM checkpoint has one node (lab2); its TCG restore goes to lab1 */
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "kvm", "tcg", 0), ==, "lab2");
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "kvm", "tcg", 1), ==, "lab2");
	/* a TCG checkpoint restored under KVM: only lab1 leaves lab2 for it */
	g_assert_cmpstr(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "tcg", "kvm", 1), ==, "lab1");
	/* KVM to KVM: one KVM node, so no other node for the restore */
	g_assert_null(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "kvm", "kvm", 0));
	/* no node of the arch at all */
	g_assert_null(sv_lab_slurm_checkpoint_node(nodes, "riscv64", "tcg", "tcg", 0));
}

static void test_one_node(void)
{
	g_autoptr(GPtrArray) nodes = sv_lab_slurm_nodes_parse("vm x86_64,aarch64,tcg idle\n");
	g_assert_cmpuint(nodes->len, ==, 1);
	for (guint i = 0; i < 3; i++)
		g_assert_null(sv_lab_slurm_checkpoint_node(nodes, "x86_64", "tcg", "tcg", i));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lab/slurm-nodes/parse", test_parse);
	g_test_add_func("/lab/slurm-nodes/two-nodes", test_two_nodes);
	g_test_add_func("/lab/slurm-nodes/one-node", test_one_node);
	return g_test_run();
}
