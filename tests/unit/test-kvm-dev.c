/* SPDX-License-Identifier: MIT */
/*
 * What snapvm tells a user who may not open /dev/kvm: the group to join
 * where a group has it (Debian's root:kvm 0660), a new login where the
 * user has just joined, an administrator's change where only root has it
 * (root:root 0600, as on some cloud VMs).
 */
#include <string.h>

#include "host/kvm/kvm-dev.h"

static struct stat dev(uid_t uid, gid_t gid, guint mode)
{
	struct stat st = { 0 };
	st.st_uid = uid;
	st.st_gid = gid;
	st.st_mode = S_IFCHR | mode;
	return st;
}

static void test_not_in_group(void)
{
	struct stat st = dev(0, 107, 0660);
	g_autofree char *a = sv_kvm_dev_access_advice(&st, "ann", "kvm", FALSE, FALSE);
	g_assert_nonnull(strstr(a, "ann is not in it: add yourself to group kvm"));
	g_assert_nonnull(strstr(a, "usermod -aG kvm ann"));
}

static void test_joined_not_logged_in(void)
{
	struct stat st = dev(0, 107, 0660);
	g_autofree char *a = sv_kvm_dev_access_advice(&st, "ann", "kvm", TRUE, FALSE);
	g_assert_nonnull(strstr(a, "ann is in group kvm"));
	g_assert_nonnull(strstr(a, "log in again"));
	g_assert_nonnull(strstr(a, "newgrp kvm"));
}

static void test_root_only(void)
{
	struct stat st = dev(0, 0, 0600);
	g_autofree char *a = sv_kvm_dev_access_advice(&st, "ann", "root", FALSE, FALSE);
	g_assert_nonnull(strstr(a, "root:root with mode 0600, so only root may use KVM here"));
	g_assert_nonnull(strstr(a, "adds you to group kvm"));
	/* joining root's group is not the advice */
	g_assert_null(strstr(a, "usermod -aG root"));
	/* a group without rw is the same case */
	st = dev(0, 107, 0640);
	g_autofree char *b = sv_kvm_dev_access_advice(&st, "ann", "kvm", TRUE, TRUE);
	g_assert_nonnull(strstr(b, "only root may use KVM here"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/dev/not-in-group", test_not_in_group);
	g_test_add_func("/kvm/dev/joined-not-logged-in", test_joined_not_logged_in);
	g_test_add_func("/kvm/dev/root-only", test_root_only);
	return g_test_run();
}
