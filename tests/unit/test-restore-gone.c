/* SPDX-License-Identifier: MIT */
/*
 * The restorer's remaking of a directory or device node whose name had
 * gone (guest/restorer/restore-gone.c, compiled here for the host): a
 * leftover /tmp/.snapvm-gone-PID-FD of an earlier restore that died
 * before removing it (a later restorer gets the same pid in a fresh
 * guest) must not make the restore fail with EEXIST.
 */
#include <glib.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest/restorer/restore.h"

static char *gone_name(int fd)
{
	return g_strdup_printf("/tmp/.snapvm-gone-%d-%d", (int)getpid(), fd);
}

/* An fd entry of a removed directory or device node, owned by us. */
static struct sv_rimg_fd gone_entry(int fd, guint32 i_mode, dev_t dev)
{
	struct sv_rimg_fd f = { .fd = fd, .flags = O_RDONLY, .i_mode = i_mode, .dup_of = -1 };
	f.value[0] = dev;
	f.value[1] = (guint64)getuid() | (guint64)getgid() << 32;
	return f;
}

static void test_directory_over_leftover(void)
{
	g_autofree char *name = gone_name(23);
	g_autofree char *name1 = g_strconcat(name, ".1", NULL);
	/* two restores died here before, one leaving a file in its directory */
	g_assert_cmpint(g_mkdir(name, 0700), ==, 0);
	g_autofree char *inside = g_build_filename(name, "kept", NULL);
	g_assert_true(g_file_set_contents(inside, "x", 1, NULL));
	g_assert_cmpint(g_mkdir(name1, 0700), ==, 0);
	struct sv_rimg_fd f = gone_entry(23, S_IFDIR | 0751, 0);
	int fd = rst_open_gone(&f, "/work/removed");
	g_assert_cmpint(fd, >=, 0);
	struct stat st;
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0751);
	g_assert_cmpuint(st.st_nlink, ==, 0); /* named no more */
	close(fd);
	/* the leftovers are not the restorer's to remove */
	g_assert_true(g_file_test(inside, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(name1, G_FILE_TEST_IS_DIR));
	g_unlink(inside);
	g_rmdir(name);
	g_rmdir(name1);
}

static void test_device_over_leftover(void)
{
	g_autofree char *name = gone_name(24);
	/* a leftover of the other kind: a directory where a device was made */
	g_assert_cmpint(g_mkdir(name, 0700), ==, 0);
	struct sv_rimg_fd f = gone_entry(24, S_IFCHR | 0640, makedev(1, 3));
	char probe[] = "/tmp/.snapvm-gone-probe-XXXXXX";
	int pfd = g_mkstemp(probe);
	g_assert_cmpint(pfd, >=, 0);
	close(pfd);
	g_unlink(probe);
	if (mknod(probe, S_IFCHR | 0600, makedev(1, 3)) < 0) {
		g_rmdir(name);
		g_test_skip("making a device node needs CAP_MKNOD, which this host does not give");
		return;
	}
	g_unlink(probe);
	int fd = rst_open_gone(&f, "/dev/removed-null");
	g_assert_cmpint(fd, >=, 0);
	struct stat st;
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_true(S_ISCHR(st.st_mode));
	g_assert_cmpuint(st.st_rdev, ==, makedev(1, 3));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(st.st_nlink, ==, 0);
	close(fd);
	g_assert_true(g_file_test(name, G_FILE_TEST_IS_DIR));
	g_rmdir(name);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restore-gone/directory-over-leftover", test_directory_over_leftover);
	g_test_add_func("/restore-gone/device-over-leftover", test_device_over_leftover);
	return g_test_run();
}
