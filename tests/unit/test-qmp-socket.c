/* SPDX-License-Identifier: MIT */
/*
 * snapvm's own QMP client (host/qemu/qmp-socket.c) against a fake monitor
 * on a UNIX socket: a monitor that never takes the connection (its backlog full, as when another client
 * holds QEMU's) or never answers gives an error within the timeout, never
 * a hang.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/qemu/qmp-socket.h"

typedef struct {
	char *dir, *path;
	int listen_fd;
} FakeMonitor;

static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	g_assert_cmpuint(strlen(path), <, sizeof(a.sun_path));
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(fd, backlog), ==, 0);
	return fd;
}

static void fake_open(FakeMonitor *f, int backlog)
{
	f->dir = g_dir_make_tmp("snapvm-qmp-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "qmp.sock", NULL);
	f->listen_fd = listen_at(f->path, backlog);
}

static void fake_close(FakeMonitor *f)
{
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

/* A monitor whose backlog is full: connect() itself would wait. */
static void test_busy_monitor_times_out(void)
{
	FakeMonitor f = { 0 };
	fake_open(&f, 0);
	/* a client queued before ours fills the backlog of 0 (one queued) */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, f.path);
	int filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_assert_cmpint(connect(filler, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = sv_qmp_socket_command(f.path, "{\"execute\":\"stop\"}", 300,
						       &error);
	gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
	g_assert_null(reply);
	g_assert_error(error, SV_ERROR, SV_ERROR_TIMEOUT);
	g_assert_cmpint(took_ms, <, 3000);
	close(filler);
	fake_close(&f);
}

/* Connected (queued) but never greeted. */
static void test_silent_monitor_times_out(void)
{
	FakeMonitor f = { 0 };
	fake_open(&f, 4);
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = sv_qmp_socket_command(f.path, "{\"execute\":\"stop\"}", 200,
						       &error);
	g_assert_null(reply);
	g_assert_error(error, SV_ERROR, SV_ERROR_TIMEOUT);
	fake_close(&f);
}

static void test_nothing_listening(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = sv_qmp_socket_command("/nonexistent/qmp.sock", "{}", 200, &error);
	g_assert_null(reply);
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_FOUND);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qmp-socket/busy-monitor-times-out", test_busy_monitor_times_out);
	g_test_add_func("/qmp-socket/silent-monitor-times-out", test_silent_monitor_times_out);
	g_test_add_func("/qmp-socket/nothing-listening", test_nothing_listening);
	return g_test_run();
}
