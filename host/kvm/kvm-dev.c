/* SPDX-License-Identifier: MIT */
/* kvm-dev.c - /dev/kvm and what to do when it does not open (kvm-dev.h). */
#include "host/kvm/kvm-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "base/errors.h"

#define KVM_DEV "/dev/kvm"

char *sv_kvm_dev_access_advice(const struct stat *st, const char *user, const char *group,
			       gboolean in_group, gboolean in_session)
{
	guint mode = st->st_mode & 0777;
	/* a group other than root's that may read and write it: the usual
	 * setup (Debian's udev rule: group kvm, mode 0660) */
	if (group && st->st_gid != 0 && (mode & 060) == 060) {
		if (in_group && !in_session)
			return g_strdup_printf(
				"%s is in group %s, which may use " KVM_DEV ", but this "
				"session started before that: log in again (or run `newgrp %s`)",
				user, group, group);
		return g_strdup_printf(KVM_DEV
				       " is for group %s (mode %04o) and %s is not in "
				       "it: add yourself to group %s (`sudo usermod -aG %s %s`, "
				       "then log in again)",
				       group, mode, user, group, group, user);
	}
	return g_strdup_printf(
		KVM_DEV " belongs to %s:%s with mode %04o, so only root may use KVM here: an "
			"administrator gives it to group kvm with mode 0660 (Debian's udev rule "
			"does: KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\") and adds you to "
			"group kvm (`sudo usermod -aG kvm %s`)",
		st->st_uid == 0 ? "root" : "another user", group ? group : "?", mode, user);
}

/* Whether this process has gid among its groups. */
static gboolean in_session(gid_t gid)
{
	if (getegid() == gid)
		return TRUE;
	int n = getgroups(0, NULL);
	if (n <= 0)
		return FALSE;
	g_autofree gid_t *gids = g_new(gid_t, n);
	n = getgroups(n, gids);
	for (int i = 0; i < n; i++)
		if (gids[i] == gid)
			return TRUE;
	return FALSE;
}

/* Whether user (primary group pw_gid) is in group gr by the database. */
static gboolean in_group(const struct group *gr, const char *user, gid_t primary)
{
	if (gr->gr_gid == primary)
		return TRUE;
	for (char **m = gr->gr_mem; m && *m; m++)
		if (!g_strcmp0(*m, user))
			return TRUE;
	return FALSE;
}

static char *access_advice(void)
{
	struct stat st;
	if (stat(KVM_DEV, &st) < 0)
		return g_strdup("use --accel tcg");
	const struct passwd *pw = getpwuid(geteuid());
	g_autofree char *user = g_strdup(pw ? pw->pw_name : g_get_user_name());
	gid_t primary = pw ? pw->pw_gid : getgid();
	const struct group *gr = getgrgid(st.st_gid);
	g_autofree char *group = gr ? g_strdup(gr->gr_name) : NULL;
	gboolean member = gr && in_group(gr, user, primary);
	g_autofree char *advice = sv_kvm_dev_access_advice(&st, user, group, member,
							   in_session(st.st_gid));
	return g_strdup_printf("%s; or use --accel tcg", advice);
}

int sv_kvm_dev_open(const char *what, GError **error)
{
	int fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int err = errno;
	if (err == ENOENT) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "%s: this host has no " KVM_DEV " (no virtualization in the CPU or "
			    "firmware, the kvm module not loaded, or a VM without nested "
			    "virtualization); use --accel tcg",
			    what);
	} else if (err == EACCES || err == EPERM) {
		g_autofree char *advice = access_advice();
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "%s: " KVM_DEV " cannot be opened (%s): %s", what, g_strerror(err),
			    advice);
	} else {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "%s: " KVM_DEV " cannot be opened (%s); use --accel tcg", what,
			    g_strerror(err));
	}
	return -1;
}
