/* SPDX-License-Identifier: MIT */
/*
 * kvm-dev.h - opening /dev/kvm, and when that fails, saying what the user
 * can do about it: a host without KVM wants --accel tcg, a user without
 * access wants the group that has it (or an administrator, where only
 * root has it), a user just added to the group wants a new login.
 */
#ifndef SNAPVM_KVM_DEV_H
#define SNAPVM_KVM_DEV_H

#include <glib.h>
#include <sys/stat.h>

/* Opens /dev/kvm read-write (close-on-exec); -1 with SV_ERROR_MISSING_DEPENDENCY
 * saying why and what to do. what: the caller's words for what wanted it
 * ("--accel kvm"). */
int sv_kvm_dev_open(const char *what, GError **error);

/* What a user who got EACCES or EPERM on the device described by st
 * needs, as a sentence: pure, for the unit test. group: the name of
 * st->st_gid (NULL when it has none); in_group: user is a member of it by
 * the group database; in_session: this process has it among its groups. */
char *sv_kvm_dev_access_advice(const struct stat *st, const char *user, const char *group,
			       gboolean in_group, gboolean in_session);

#endif
