/* SPDX-License-Identifier: MIT */
/* qmp-socket.c - see qmp-socket.h. */
#include "host/qemu/qmp-socket.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "base/errors.h"

/* A reply larger than this is not one of the commands snapvm sends. */
#define QMP_MAX_LINE (4u << 20)

typedef struct {
	int fd;
	GString *buf; /* bytes read past the last line returned */
	gint64 deadline_us;
	const char *path;
} QmpConn;

/* The next line QEMU sends (without its newline). */
static char *read_line(QmpConn *c, GError **error)
{
	for (;;) {
		char *nl = memchr(c->buf->str, '\n', c->buf->len);
		if (nl) {
			char *line = g_strndup(c->buf->str, nl - c->buf->str);
			g_string_erase(c->buf, 0, nl - c->buf->str + 1);
			return line;
		}
		if (c->buf->len > QMP_MAX_LINE) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "QEMU monitor %s: a reply of over %u bytes", c->path,
				    QMP_MAX_LINE);
			return NULL;
		}
		gint64 left_ms = MIN((c->deadline_us - g_get_monotonic_time()) / 1000, G_MAXINT);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int n = left_ms > 0 ? poll(&p, 1, (int)left_ms) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "QEMU monitor %s did not answer in time", c->path);
			return NULL;
		}
		char chunk[4096];
		ssize_t got = read(c->fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "QEMU monitor %s closed the connection", c->path);
			return NULL;
		}
		g_string_append_len(c->buf, chunk, got);
	}
}

static gboolean write_all(QmpConn *c, const char *text, GError **error)
{
	gsize len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "QEMU monitor %s: %s",
				    c->path, g_strerror(errno));
			return FALSE;
		}
		done += n;
	}
	return TRUE;
}

/* Whether line is a reply: an object with "return" or "error" at its top
 * level. Events ({"event": ..., "data": {...}}) may carry an "error"
 * member of their own inside data (BLOCK_JOB_COMPLETED, DUMP_COMPLETED),
 * so the text is parsed, not searched. */
static gboolean is_reply(QmpConn *c, const char *line, GError **error)
{
	g_autoptr(JsonParser) p = json_parser_new();
	JsonNode *root = json_parser_load_from_data(p, line, -1, NULL) ? json_parser_get_root(p)
								       : NULL;
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "QEMU monitor %s sent a line that is no JSON object: %.80s", c->path,
			    line);
		return FALSE;
	}
	JsonObject *o = json_node_get_object(root);
	return !json_object_has_member(o, "event") &&
	       (json_object_has_member(o, "return") || json_object_has_member(o, "error"));
}

/* Sends command and returns the reply to it, skipping events. */
static char *execute(QmpConn *c, const char *command, GError **error)
{
	if (!write_all(c, command, error) || !write_all(c, "\n", error))
		return NULL;
	for (;;) {
		g_autofree char *line = read_line(c, error);
		if (!line)
			return NULL;
		g_autoptr(GError) bad = NULL;
		if (is_reply(c, line, &bad))
			return g_steal_pointer(&line);
		if (bad) {
			g_propagate_error(error, g_steal_pointer(&bad));
			return NULL;
		}
	}
}

/* On a connected monitor: the greeting, capabilities negotiation (which
 * QEMU wants before any command), then command. */
static char *converse(QmpConn *c, const char *command, GError **error)
{
	g_autofree char *greeting = read_line(c, error);
	if (!greeting)
		return NULL;
	if (!strstr(greeting, "\"QMP\"")) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "%s is not a QEMU monitor (it said %.80s)", c->path, greeting);
		return NULL;
	}
	g_autofree char *caps = execute(c, "{\"execute\":\"qmp_capabilities\"}", error);
	return caps ? execute(c, command, error) : NULL;
}

char *sv_qmp_socket_command(const char *path, const char *command, guint timeout_ms, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path) || !g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "no QEMU monitor at %s", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	QmpConn c = { .fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
		      .buf = g_string_new(NULL),
		      .deadline_us = g_get_monotonic_time() + (gint64)timeout_ms * 1000,
		      .path = path };
	/* connect and send block too: a UNIX connect waits while the
	 * listener's backlog is full (QEMU serves one client and listens
	 * with a backlog of 1), send while QEMU does not read; both obey
	 * SO_SNDTIMEO, so the timeout bounds them as it bounds the replies */
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	if (!timeout_ms)
		tv.tv_usec = 1; /* 0 would mean no timeout at all */
	char *reply = NULL;
	if (c.fd >= 0)
		(void)setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "QEMU monitor %s did not take the connection in time (busy "
				    "with other clients)",
				    path);
		else
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "no QEMU monitor at %s: %s", path, g_strerror(errno));
	} else
		reply = converse(&c, command, error);
	if (c.fd >= 0)
		close(c.fd);
	g_string_free(c.buf, TRUE);
	return reply;
}
