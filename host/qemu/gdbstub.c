/* SPDX-License-Identifier: MIT */
/* gdbstub.c - see gdbstub.h. */
#include "host/qemu/gdbstub.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/qemu/gdb-packet.h"
#include "host/qemu/gdb-tdesc.h"
#include "host/util/io-util.h"

/* What one qXfer read asks for, and all a description may add up to. */
#define XFER_CHUNK 0x800
#define XFER_MAX (1u << 20)

struct SvGdbStub {
	int fd;
	guint timeout_ms;
	GByteArray *in;	  /* received, not yet parsed */
	GHashTable *regs; /* name -> SvGdbReg */
};

static gboolean send_packet(SvGdbStub *s, const char *payload, GError **error)
{
	g_autoptr(GString) p = sv_gdb_packet_frame(payload, strlen(payload));
	if (!sv_write_all_fd(s->fd, p->str, p->len)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PEER_GONE, "gdbstub: cannot send: %s",
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* Waits for the next packet and acknowledges it; its payload as a string
 * (NUL-terminated, may hold NULs from binary replies: see ret_len). */
static char *recv_packet(SvGdbStub *s, gsize *ret_len, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)s->timeout_ms * 1000;
	g_autoptr(GByteArray) payload = g_byte_array_new();
	for (;;) {
		gsize used = 0;
		switch (sv_gdb_packet_parse(s->in->data, s->in->len, &used, payload, error)) {
		case SV_GDB_PARSE_ERROR:
			return NULL;
		case SV_GDB_PARSE_PACKET:
			g_byte_array_remove_range(s->in, 0, (guint)used);
			if (!sv_write_all_fd(s->fd, "+", 1)) {
				g_set_error(error, SV_ERROR, SV_ERROR_PEER_GONE,
					    "gdbstub: cannot acknowledge: %s", g_strerror(errno));
				return NULL;
			}
			*ret_len = payload->len;
			g_byte_array_append(payload, (const guint8 *)"", 1);
			return (char *)g_byte_array_free(g_steal_pointer(&payload), FALSE);
		case SV_GDB_PARSE_NEED_MORE:
			break;
		}
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "gdbstub: no reply within %u ms", s->timeout_ms);
			return NULL;
		}
		guint8 buf[4096];
		ssize_t got = r > 0 ? recv(s->fd, buf, sizeof(buf), 0) : -1;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_PEER_GONE,
				    "gdbstub: the connection closed%s%s", got < 0 ? ": " : "",
				    got < 0 ? g_strerror(errno) : "");
			return NULL;
		}
		g_byte_array_append(s->in, buf, (guint)got);
	}
}

/* One request, one reply; "Exx" replies are errors naming the request. */
static char *request(SvGdbStub *s, const char *payload, gsize *ret_len, GError **error)
{
	gsize len = 0;
	if (!send_packet(s, payload, error))
		return NULL;
	char *reply = recv_packet(s, &len, error);
	if (!reply)
		return NULL;
	if (len == 3 && reply[0] == 'E' && g_ascii_isxdigit(reply[1]) &&
	    g_ascii_isxdigit(reply[2])) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "gdbstub: '%s' failed with %s",
			    payload, reply);
		g_free(reply);
		return NULL;
	}
	if (ret_len)
		*ret_len = len;
	return reply;
}

/* qXfer:features:read, chunk by chunk: 'm' says more follows, 'l' last. */
static char *fetch_feature(const char *annex, gpointer data, GError **error)
{
	SvGdbStub *s = data;
	g_autoptr(GString) doc = g_string_new(NULL);
	for (;;) {
		g_autofree char *req = g_strdup_printf("qXfer:features:read:%s:%zx,%x", annex,
						       doc->len, XFER_CHUNK);
		gsize len;
		g_autofree char *reply = request(s, req, &len, error);
		if (!reply)
			return NULL;
		if (len == 0 || (reply[0] != 'm' && reply[0] != 'l') || memchr(reply, '\0', len)) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "gdbstub: bad reply to a read of %s", annex);
			return NULL;
		}
		g_string_append_len(doc, reply + 1, (gssize)len - 1);
		if (doc->len > XFER_MAX) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "gdbstub: %s is over %u bytes", annex, XFER_MAX);
			return NULL;
		}
		if (reply[0] == 'l')
			return g_string_free(g_steal_pointer(&doc), FALSE);
		if (len == 1) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "gdbstub: empty chunk of %s that says more follows", annex);
			return NULL;
		}
	}
}

static gboolean negotiate(SvGdbStub *s, GError **error)
{
	/* No multiprocess+: thread ids are then plain numbers (cpu index + 1). */
	g_autofree char *features = request(s, "qSupported", NULL, error);
	if (!features)
		return FALSE;
	g_auto(GStrv) list = g_strsplit(features, ";", -1);
	if (!g_strv_contains((const char *const *)list, "qXfer:features:read+")) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "gdbstub: the stub gives no target description (qSupported: %s)",
			    features);
		return FALSE;
	}
	s->regs = sv_gdb_tdesc_load(fetch_feature, s, error);
	return s->regs != NULL;
}

SvGdbStub *sv_gdb_stub_connect(const char *path, guint timeout_ms, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "gdbstub: socket path too long: %s",
			    path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	g_autoptr(SvGdbStub) s = g_new0(SvGdbStub, 1);
	s->timeout_ms = timeout_ms;
	s->in = g_byte_array_new();
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "gdbstub: cannot connect to %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	if (!negotiate(s, error))
		return NULL;
	return g_steal_pointer(&s);
}

gboolean sv_gdb_stub_select_cpu(SvGdbStub *s, guint cpu_index, GError **error)
{
	g_autofree char *req = g_strdup_printf("Hg%x", cpu_index + 1);
	g_autofree char *reply = request(s, req, NULL, error);
	if (reply && strcmp(reply, "OK") != 0)
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "gdbstub: '%s' answered '%s'", req,
			    reply);
	if (!reply || strcmp(reply, "OK") != 0) {
		g_prefix_error(error, "selecting vCPU %u: ", cpu_index);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_gdb_stub_has_register(SvGdbStub *s, const char *name)
{
	return g_hash_table_contains(s->regs, name);
}

gboolean sv_gdb_stub_read_register(SvGdbStub *s, const char *name, void *buf, gsize len,
				   GError **error)
{
	const SvGdbReg *r = g_hash_table_lookup(s->regs, name);
	if (!r) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "gdbstub: the target description has no register %s", name);
		return FALSE;
	}
	if (r->bitsize != 8 * len) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "gdbstub: register %s is %u bits, not %" G_GSIZE_FORMAT, name,
			    r->bitsize, 8 * len);
		return FALSE;
	}
	g_autofree char *req = g_strdup_printf("p%x", r->regnum);
	gsize reply_len;
	g_autofree char *reply = request(s, req, &reply_len, error);
	if (!reply || !sv_gdb_hex_decode(reply, reply_len, buf, len, error)) {
		g_prefix_error(error, "reading register %s: ", name);
		return FALSE;
	}
	return TRUE;
}

void sv_gdb_stub_close(SvGdbStub *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	g_clear_pointer(&s->in, g_byte_array_unref);
	g_clear_pointer(&s->regs, g_hash_table_unref);
	g_free(s);
}
