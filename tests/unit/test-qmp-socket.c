/* SPDX-License-Identifier: MIT */
/*
 * snapvm's own QMP client (host/qemu/qmp-socket.c) against a fake monitor
 * on a UNIX socket: the reply is found among events, and a monitor that
 * never takes the connection (its backlog full, as when another client
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
	const char *const *script; /* lines sent after each line read; NULL ends */
	GThread *thread;
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
	if (f->thread)
		g_thread_join(f->thread);
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static gboolean read_request(int fd)
{
	char c;
	for (;;) {
		ssize_t n = read(fd, &c, 1);
		if (n <= 0)
			return FALSE;
		if (c == '\n')
			return TRUE;
	}
}

static void send_text(int fd, const char *text)
{
	gsize len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n <= 0)
			return;
		done += (gsize)n;
	}
}

/* script[0]: sent on accepting (the greeting); each later entry, after
 * one request line. */
static gpointer serve(gpointer data)
{
	FakeMonitor *f = data;
	int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	send_text(fd, f->script[0]);
	for (const char *const *s = f->script + 1; *s && read_request(fd); s++)
		send_text(fd, *s);
	close(fd);
	return NULL;
}

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n"

/* An event with an "error" member (BLOCK_JOB_COMPLETED, DUMP_COMPLETED
 * carry one) is not the reply. */
static void test_reply_among_events(void)
{
	static const char *const script[] = {
		GREETING,
		"{\"return\": {}}\n",
		"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
		"\"BLOCK_JOB_COMPLETED\", \"data\": {\"error\": \"x\", \"return\": 1}}\n"
		"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"STOP\"}\n"
		"{\"return\": {\"status\": \"paused\", \"running\": false}}\n",
		NULL,
	};
	FakeMonitor f = { .script = script };
	fake_open(&f, 4);
	f.thread = g_thread_new("fake-qmp", serve, &f);
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = sv_qmp_socket_command(f.path, "{\"execute\":\"query-status\"}",
						       5000, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(reply, "\"paused\""));
	fake_close(&f);
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
	g_test_add_func("/qmp-socket/reply-among-events", test_reply_among_events);
	g_test_add_func("/qmp-socket/busy-monitor-times-out", test_busy_monitor_times_out);
	g_test_add_func("/qmp-socket/silent-monitor-times-out", test_silent_monitor_times_out);
	g_test_add_func("/qmp-socket/nothing-listening", test_nothing_listening);
	return g_test_run();
}
