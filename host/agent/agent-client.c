/* SPDX-License-Identifier: MIT */
/* agent-client.c - host end of the agent protocol, see agent-client.h. */
#include "host/agent/agent-client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/io-util.h"

struct SvAgentClient {
	int fd;
	int interrupt_fd;
	guint32 next_tag;
	GByteArray *in;	   /* bytes received, not yet a whole frame */
	GQueue pending;	   /* SvAgentFrame* received while waiting for a reply */
	gint64 last_rx_us; /* when bytes last arrived (monotonic) */
	/* While a handshake waits for its first reply, bytes that are not a
	 * frame are skipped: a serial-line channel (the kvm backend's) echoes
	 * what arrives in the moment before the agent puts its tty in raw mode.
	 * Anywhere else garbage is a protocol error. */
	gboolean resyncing;
};

void sv_agent_frame_clear(SvAgentFrame *frame)
{
	g_clear_pointer(&frame->payload, g_bytes_unref);
	frame->type = 0;
	frame->tag = 0;
}

static void frame_free(gpointer p)
{
	SvAgentFrame *f = p;
	sv_agent_frame_clear(f);
	g_free(f);
}

SvAgentClient *sv_agent_client_new_from_fd(int fd)
{
	SvAgentClient *c = g_new0(SvAgentClient, 1);
	c->fd = fd;
	c->interrupt_fd = -1;
	c->next_tag = 1;
	c->in = g_byte_array_new();
	g_queue_init(&c->pending);
	return c;
}

void sv_agent_client_free(SvAgentClient *client)
{
	if (!client)
		return;
	if (client->fd >= 0)
		close(client->fd);
	g_byte_array_unref(client->in);
	g_queue_clear_full(&client->pending, frame_free);
	g_free(client);
}

void sv_agent_client_set_interrupt_fd(SvAgentClient *client, int fd)
{
	client->interrupt_fd = fd;
}

SvAgentClient *sv_agent_client_connect(const char *socket_path, guint timeout_ms, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "agent socket path too long for AF_UNIX: %s", socket_path);
		return NULL;
	}
	strcpy(addr.sun_path, socket_path);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "socket: %s",
				    g_strerror(errno));
			return NULL;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return sv_agent_client_new_from_fd(fd);
		int e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED) || g_get_monotonic_time() >= deadline) {
			g_set_error(error, SV_ERROR,
				    e == ENOENT || e == ECONNREFUSED ? SV_ERROR_NOT_FOUND
								     : SV_ERROR_FAILED,
				    "cannot connect to the agent channel %s: %s", socket_path,
				    g_strerror(e));
			return NULL;
		}
		g_usleep(20 * 1000);
	}
}

static gboolean write_all(int fd, const void *p, gsize n, GError **error)
{
	if (sv_write_all_fd(fd, p, n))
		return TRUE;
	int e = errno;
	gboolean gone = e == EPIPE || e == ECONNRESET;
	g_set_error(error, SV_ERROR, gone ? SV_ERROR_PEER_GONE : SV_ERROR_FAILED,
		    "agent channel: write failed: %s%s", g_strerror(e),
		    gone ? " (the VM has stopped)" : "");
	return FALSE;
}

gboolean sv_agent_client_send(SvAgentClient *client, guint16 type, const void *payload, gsize len,
			      guint32 *ret_tag, GError **error)
{
	if (len > SV_PROTO_MAX_PAYLOAD) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "agent request of %" G_GSIZE_FORMAT " bytes exceeds the %u-byte limit",
			    len, SV_PROTO_MAX_PAYLOAD);
		return FALSE;
	}
	guint32 tag = client->next_tag++;
	if (client->next_tag == 0)
		client->next_tag = 1;
	g_autofree guint8 *buf = g_malloc(SV_PROTO_HEADER_SIZE + len);
	sv_frame_header_encode(buf, type, (guint32)len, tag);
	if (len)
		memcpy(buf + SV_PROTO_HEADER_SIZE, payload, len);
	if (!write_all(client->fd, buf, SV_PROTO_HEADER_SIZE + len, error))
		return FALSE;
	if (ret_tag)
		*ret_tag = tag;
	return TRUE;
}

gboolean sv_agent_client_write_raw(SvAgentClient *client, const void *bytes, gsize len,
				   GError **error)
{
	return write_all(client->fd, bytes, len, error);
}

/* Takes one whole frame out of client->in if there is one. */
static gboolean take_buffered_frame(SvAgentClient *client, SvAgentFrame *ret_frame,
				    gboolean *ret_have, GError **error)
{
	*ret_have = FALSE;
	if (client->in->len < SV_PROTO_HEADER_SIZE)
		return TRUE;
	struct sv_frame_header h;
	enum sv_proto_status st = sv_frame_header_decode(client->in->data, &h);
	if (st != SV_PROTO_OK && client->resyncing) {
		/* drop up to the next frame magic, keeping a partial one */
		static const guint8 magic[4] = { 'S', 'N', 'V', 'A' };
		const guint8 *at = memmem(client->in->data + 1, client->in->len - 1, magic, 4);
		gsize drop = at ? (gsize)(at - client->in->data) : client->in->len - 3;
		g_byte_array_remove_range(client->in, 0, drop);
		return take_buffered_frame(client, ret_frame, ret_have, error);
	}
	if (st != SV_PROTO_OK) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent channel: garbage from the guest: %s (magic 0x%08x, version %u, "
			    "type %u, length %u)",
			    sv_proto_status_str(st), h.magic, h.version, h.type, h.length);
		return FALSE;
	}
	if (client->in->len < SV_PROTO_HEADER_SIZE + h.length)
		return TRUE;
	ret_frame->type = h.type;
	ret_frame->tag = h.tag;
	ret_frame->payload = g_bytes_new(client->in->data + SV_PROTO_HEADER_SIZE, h.length);
	g_byte_array_remove_range(client->in, 0, SV_PROTO_HEADER_SIZE + h.length);
	*ret_have = TRUE;
	return TRUE;
}

/* Reads from the socket into client->in, waiting at most timeout_ms. */
static gboolean fill(SvAgentClient *client, gint timeout_ms, GError **error)
{
	struct pollfd fds[2] = { { .fd = client->fd, .events = POLLIN } };
	nfds_t n = 1;
	if (client->interrupt_fd >= 0) {
		fds[1] = (struct pollfd){ .fd = client->interrupt_fd, .events = POLLIN };
		n = 2;
	}
	int r;
	do
		r = poll(fds, n, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "poll: %s", g_strerror(errno));
		return FALSE;
	}
	if (n == 2 && (fds[1].revents & POLLIN)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INTERRUPTED, "interrupted");
		return FALSE;
	}
	if (r == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
			    "the agent did not answer within %d s", timeout_ms / 1000);
		return FALSE;
	}
	guint8 buf[65536];
	ssize_t got;
	do
		got = recv(client->fd, buf, sizeof(buf), 0);
	while (got < 0 && errno == EINTR);
	if (got < 0 && errno != ECONNRESET) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "agent channel: read failed: %s",
			    g_strerror(errno));
		return FALSE;
	}
	if (got <= 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_PEER_GONE,
			    "agent channel closed: the VM stopped or was destroyed");
		return FALSE;
	}
	g_byte_array_append(client->in, buf, got);
	client->last_rx_us = g_get_monotonic_time();
	return TRUE;
}

/* A deadline of timeout_ms of silence: pushed back by every byte that
 * arrived since it was set. */
static gint64 silence_deadline(const SvAgentClient *client, gint64 deadline, gint timeout_ms)
{
	return MAX(deadline, client->last_rx_us + (gint64)timeout_ms * 1000);
}

gboolean sv_agent_client_recv(SvAgentClient *client, gint timeout_ms, SvAgentFrame *ret_frame,
			      GError **error)
{
	SvAgentFrame *queued = g_queue_pop_head(&client->pending);
	if (queued) {
		*ret_frame = *queued;
		g_free(queued);
		return TRUE;
	}
	gint64 deadline = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		gboolean have;
		if (!take_buffered_frame(client, ret_frame, &have, error))
			return FALSE;
		if (have)
			return TRUE;
		gint left = -1;
		if (deadline >= 0) {
			deadline = silence_deadline(client, deadline, timeout_ms);
			gint64 us = deadline - g_get_monotonic_time();
			left = us <= 0 ? 0 : (gint)((us + 999) / 1000);
		}
		if (!fill(client, left, error)) {
			if (g_error_matches(*error, SV_ERROR, SV_ERROR_TIMEOUT) &&
			    timeout_ms >= 0) {
				g_clear_error(error);
				g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
					    "the agent did not answer within %.1f s",
					    timeout_ms / 1000.0);
			}
			return FALSE;
		}
	}
}

static gboolean agent_error_from_frame(const SvAgentFrame *frame, GError **error)
{
	struct sv_rbuf r;
	sv_agent_frame_reader(frame, &r);
	guint32 req = sv_rbuf_u32(&r);
	gint32 err = (gint32)sv_rbuf_u32(&r);
	char msg[512];
	sv_rbuf_str(&r, msg, sizeof(msg));
	if (r.bad) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed error reply");
		return FALSE;
	}
	g_strcanon(
		msg,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;/_-()'=+[]<>@#%*!?",
		'?');
	/* ENOSYS: the agent does not serve this type at all (an older agent, or
	 * a test-only request to the production agent), not a refusal of
	 * this one request. */
	g_set_error(error, SV_ERROR, err == ENOSYS ? SV_ERROR_NOT_SUPPORTED : SV_ERROR_AGENT,
		    "agent (request type %u): %s%s%s", req, msg, err ? ": " : "",
		    err ? g_strerror(err) : "");
	return FALSE;
}

gboolean sv_agent_client_wait_reply(SvAgentClient *client, guint32 tag, guint16 want_type,
				    guint timeout_ms, SvAgentFrame *ret_frame, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	GQueue others = G_QUEUE_INIT;
	gboolean ok = FALSE;
	/* Frames already queued may hold the reply too. */
	for (GList *l = client->pending.head; l; l = l->next) {
		SvAgentFrame *f = l->data;
		if (f->tag == tag) {
			*ret_frame = *f;
			g_free(f);
			g_queue_delete_link(&client->pending, l);
			goto check;
		}
	}
	/* Move the queue aside so recv reads from the socket. */
	others = client->pending;
	g_queue_init(&client->pending);
	for (;;) {
		deadline = silence_deadline(client, deadline, (gint)timeout_ms);
		gint64 us = deadline - g_get_monotonic_time();
		SvAgentFrame f = { 0 };
		if (!sv_agent_client_recv(client, us <= 0 ? 0 : (gint)(us / 1000), &f, error))
			goto out;
		if (f.tag == tag) {
			*ret_frame = f;
			break;
		}
		g_queue_push_tail(&others, g_memdup2(&f, sizeof(f)));
	}
check:
	if (ret_frame->type == SV_MSG_ERROR) {
		agent_error_from_frame(ret_frame, error);
		sv_agent_frame_clear(ret_frame);
		goto out;
	}
	if (ret_frame->type != want_type) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent answered with message type %u where %u was expected",
			    ret_frame->type, want_type);
		sv_agent_frame_clear(ret_frame);
		goto out;
	}
	ok = TRUE;
out:
	/* Put back what arrived meanwhile, ahead of anything queued during recv. */
	while (!g_queue_is_empty(&client->pending))
		g_queue_push_tail(&others, g_queue_pop_head(&client->pending));
	client->pending = others;
	return ok;
}

void sv_agent_frame_reader(const SvAgentFrame *frame, struct sv_rbuf *r)
{
	gsize len = 0;
	const guint8 *p = frame->payload ? g_bytes_get_data(frame->payload, &len) : NULL;
	sv_rbuf_init(r, p, len);
}

gboolean sv_agent_frame_parse_output(const SvAgentFrame *frame, guint32 *ret_pid,
				     guint32 *ret_stream, const guint8 **ret_bytes,
				     guint32 *ret_len, GError **error)
{
	struct sv_rbuf r;
	sv_agent_frame_reader(frame, &r);
	*ret_pid = sv_rbuf_u32(&r);
	*ret_stream = sv_rbuf_u32(&r);
	*ret_bytes = sv_rbuf_bytes(&r, ret_len);
	if (frame->type != SV_MSG_OUTPUT || !sv_rbuf_done(&r) ||
	    (*ret_stream != 1 && *ret_stream != 2)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed output frame");
		return FALSE;
	}
	return TRUE;
}

gboolean sv_agent_frame_parse_exit(const SvAgentFrame *frame, guint32 *ret_pid,
				   int *ret_wait_status, GError **error)
{
	struct sv_rbuf r;
	sv_agent_frame_reader(frame, &r);
	*ret_pid = sv_rbuf_u32(&r);
	*ret_wait_status = (int)sv_rbuf_u32(&r);
	if (frame->type != SV_MSG_EXIT || !sv_rbuf_done(&r)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed exit frame");
		return FALSE;
	}
	return TRUE;
}

gboolean sv_agent_client_request(SvAgentClient *client, guint16 type, const void *payload,
				 gsize len, guint16 want_type, guint timeout_ms,
				 SvAgentFrame *frame, struct sv_rbuf *r, GError **error)
{
	guint32 tag;
	if (!sv_agent_client_send(client, type, payload, len, &tag, error) ||
	    !sv_agent_client_wait_reply(client, tag, want_type, timeout_ms, frame, error))
		return FALSE;
	sv_agent_frame_reader(frame, r);
	return TRUE;
}

static gboolean request(SvAgentClient *client, guint16 type, const void *payload, gsize len,
			guint16 want_type, SvAgentFrame *frame, struct sv_rbuf *r, GError **error)
{
	return sv_agent_client_request(client, type, payload, len, want_type,
				       SV_AGENT_REQUEST_TIMEOUT_MS, frame, r, error);
}

static gboolean hello_exchange(SvAgentClient *client, guint timeout_ms, SvAgentInfo *ret_info,
			       GError **error);

gboolean sv_agent_client_hello(SvAgentClient *client, guint timeout_ms, SvAgentInfo *ret_info,
			       GError **error)
{
	client->resyncing = TRUE;
	gboolean ok = hello_exchange(client, timeout_ms, ret_info, error);
	client->resyncing = FALSE;
	return ok;
}

static gboolean hello_exchange(SvAgentClient *client, guint timeout_ms, SvAgentInfo *ret_info,
			       GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint8 payload[4];
	sv_put_le32(payload, SV_PROTO_VERSION);
	/* Tags of every HELLO sent: a reply to any of them will do. */
	g_autoptr(GArray) tags = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (;;) {
		guint32 tag;
		if (!sv_agent_client_send(client, SV_MSG_HELLO, payload, sizeof(payload), &tag,
					  error))
			return FALSE;
		g_array_append_val(tags, tag);
		gint64 resend_at = g_get_monotonic_time() + G_USEC_PER_SEC;
		for (;;) {
			gint64 now = g_get_monotonic_time();
			gint64 until = MIN(resend_at, deadline);
			if (now >= until)
				break;
			g_auto(SvAgentFrame) f = { 0 };
			g_autoptr(GError) local = NULL;
			if (!sv_agent_client_recv(client, (gint)((until - now) / 1000) + 1, &f,
						  &local)) {
				if (g_error_matches(local, SV_ERROR, SV_ERROR_TIMEOUT))
					break;
				g_propagate_error(error, g_steal_pointer(&local));
				return FALSE;
			}
			if (f.type != SV_MSG_HELLO_REPLY)
				continue; /* stale output from an earlier session */
			gboolean ours = FALSE;
			for (guint i = 0; i < tags->len; i++)
				ours |= g_array_index(tags, guint32, i) == f.tag;
			if (!ours)
				continue;
			struct sv_rbuf r;
			sv_agent_frame_reader(&f, &r);
			SvAgentInfo info = { 0 };
			info.proto_version = sv_rbuf_u32(&r);
			sv_rbuf_str(&r, info.agent_version, sizeof(info.agent_version));
			sv_rbuf_str(&r, info.machine, sizeof(info.machine));
			sv_rbuf_str(&r, info.kernel_release, sizeof(info.kernel_release));
			info.uptime_ns = sv_rbuf_u64(&r);
			if (r.bad) {
				g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
					    "agent handshake: malformed HELLO reply (%" G_GSIZE_FORMAT
					    " bytes)",
					    r.len);
				return FALSE;
			}
			if (info.proto_version != SV_PROTO_VERSION) {
				g_set_error(
					error, SV_ERROR, SV_ERROR_PROTOCOL,
					"agent speaks protocol %u, this snapvm speaks %u: rebuild "
					"the guest image",
					info.proto_version, SV_PROTO_VERSION);
				return FALSE;
			}
			if (ret_info)
				*ret_info = info;
			return TRUE;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "the guest agent did not answer within %u s (see the console "
				    "log for why the guest did not come up)",
				    timeout_ms / 1000);
			return FALSE;
		}
	}
}

gboolean sv_agent_client_run(SvAgentClient *client, const char *const *argv, guint32 flags,
			     guint32 *ret_pid, GError **error)
{
	return sv_agent_client_run_in(client, argv, NULL, NULL, flags, ret_pid, error);
}

gboolean sv_agent_client_run_in(SvAgentClient *client, const char *const *argv,
				const char *const *envp, const char *cwd, guint32 flags,
				guint32 *ret_pid, GError **error)
{
	guint argc = g_strv_length((char **)argv);
	guint envc = envp ? g_strv_length((char **)envp) : 0;
	if (argc == 0 || argc > SV_PROTO_MAX_ARGS || envc > SV_PROTO_MAX_ARGS) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "a workload needs 1 to %u arguments and at most %u environment "
			    "variables (got %u and %u)",
			    SV_PROTO_MAX_ARGS, SV_PROTO_MAX_ARGS, argc, envc);
		return FALSE;
	}
	if (envp || cwd)
		flags |= SV_RUN_ENV_CWD;
	gsize need = 8;
	for (guint i = 0; i < argc; i++)
		need += 4 + strlen(argv[i]);
	if (flags & SV_RUN_ENV_CWD) {
		need += 4 + 4 + (cwd ? strlen(cwd) : 1);
		for (guint i = 0; i < envc; i++)
			need += 4 + strlen(envp[i]);
	}
	if (need > SV_PROTO_MAX_PAYLOAD) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "workload arguments and environment too long (%" G_GSIZE_FORMAT
			    " bytes, limit %u)",
			    need, SV_PROTO_MAX_PAYLOAD);
		return FALSE;
	}
	g_autofree guint8 *buf = g_malloc(need);
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, need);
	sv_wbuf_u32(&w, flags);
	sv_wbuf_u32(&w, argc);
	for (guint i = 0; i < argc; i++)
		sv_wbuf_str(&w, argv[i]);
	if (flags & SV_RUN_ENV_CWD) {
		sv_wbuf_u32(&w, envc);
		for (guint i = 0; i < envc; i++)
			sv_wbuf_str(&w, envp[i]);
		sv_wbuf_str(&w, cwd ? cwd : "/");
	}
	g_assert(!w.overflow);
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!request(client, SV_MSG_RUN, buf, w.len, SV_MSG_RUN_REPLY, &f, &r, error))
		return FALSE;
	guint32 pid = sv_rbuf_u32(&r);
	if (!sv_rbuf_done(&r) || pid == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "agent sent a malformed RUN reply");
		return FALSE;
	}
	*ret_pid = pid;
	return TRUE;
}

gboolean sv_agent_client_write_file(SvAgentClient *client, const char *path, guint32 mode,
				    const void *data, gsize len, GError **error)
{
	gsize plen = strlen(path), done = 0;
	g_autofree guint8 *buf = g_malloc(SV_PROTO_MAX_PAYLOAD);
	do {
		gsize n = MIN(len - done, SV_WRITEFILE_MAX_CHUNK);
		struct sv_wbuf w;
		sv_wbuf_init(&w, buf, SV_PROTO_MAX_PAYLOAD);
		sv_wbuf_bytes(&w, path, (guint32)plen);
		sv_wbuf_u32(&w, mode);
		sv_wbuf_u64(&w, done);
		sv_wbuf_bytes(&w, (const guint8 *)data + done, (guint32)n);
		if (w.overflow) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest path %s is too long", path);
			return FALSE;
		}
		g_auto(SvAgentFrame) f = { 0 };
		struct sv_rbuf r;
		if (!request(client, SV_MSG_WRITEFILE, buf, w.len, SV_MSG_OK, &f, &r, error)) {
			g_prefix_error(error, "writing %s in the guest: ", path);
			return FALSE;
		}
		done += n;
	} while (done < len);
	return TRUE;
}

gboolean sv_agent_client_kill(SvAgentClient *client, guint32 pid, guint32 sig, GError **error)
{
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	guint8 payload[8];
	sv_put_le32(payload, pid);
	sv_put_le32(payload + 4, sig);
	return request(client, SV_MSG_KILL, payload, sizeof(payload), SV_MSG_OK, &f, &r, error);
}

gboolean sv_agent_client_freeze(SvAgentClient *client, guint32 pid, guint timeout_ms,
				GError **error)
{
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	guint8 payload[8];
	sv_put_le32(payload, pid);
	sv_put_le32(payload + 4, timeout_ms);
	/* the agent waits up to timeout_ms before it answers */
	return sv_agent_client_request(client, SV_MSG_FREEZE, payload, sizeof(payload), SV_MSG_OK,
				       SV_AGENT_REQUEST_TIMEOUT_MS + timeout_ms, &f, &r, error);
}

gboolean sv_agent_client_thaw(SvAgentClient *client, guint32 pid, GError **error)
{
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	guint8 payload[4];
	sv_put_le32(payload, pid);
	return request(client, SV_MSG_THAW, payload, sizeof(payload), SV_MSG_OK, &f, &r, error);
}

gboolean sv_agent_client_soft_dirty(SvAgentClient *client, guint32 pid, gboolean arm,
				    const char *mark, char **ret_mark, GError **error)
{
	if (strlen(mark) > SV_SOFT_DIRTY_MAX_MARK) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "SOFT_DIRTY: a mark of at most %u bytes", SV_SOFT_DIRTY_MAX_MARK);
		return FALSE;
	}
	guint8 buf[12 + SV_SOFT_DIRTY_MAX_MARK];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_soft_dirty_req_encode(&w, pid, arm ? 1 : 0, mark);
	g_assert(!w.overflow);
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!request(client, SV_MSG_SOFT_DIRTY, buf, w.len, SV_MSG_SOFT_DIRTY_REPLY, &f, &r, error))
		return FALSE;
	guint32 n;
	const guint8 *got = sv_rbuf_bytes(&r, &n);
	if (!sv_rbuf_done(&r) || n > SV_SOFT_DIRTY_MAX_MARK || (n && memchr(got, '\0', n))) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "malformed SOFT_DIRTY reply from the agent (%u bytes)",
			    (guint)g_bytes_get_size(f.payload));
		return FALSE;
	}
	*ret_mark = g_strndup((const char *)got, n);
	return TRUE;
}

GArray *sv_agent_client_ps(SvAgentClient *client, GError **error)
{
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!request(client, SV_MSG_PS, NULL, 0, SV_MSG_PS_REPLY, &f, &r, error))
		return NULL;
	gsize len = r.len;
	guint32 count = sv_rbuf_u32(&r);
	/* Each entry is at least 24 bytes: a count beyond that is a lie. */
	if (r.bad || count > len / 24) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed process list (count %u in %" G_GSIZE_FORMAT
			    " bytes)",
			    count, len);
		return NULL;
	}
	g_autoptr(GArray) procs = g_array_sized_new(FALSE, TRUE, sizeof(SvGuestProcess), count);
	for (guint32 i = 0; i < count; i++) {
		SvGuestProcess gp = { 0 };
		gp.pid = sv_rbuf_u32(&r);
		gp.ppid = sv_rbuf_u32(&r);
		gp.state = (char)sv_rbuf_u32(&r);
		gp.rss_kib = sv_rbuf_u64(&r);
		sv_rbuf_str(&r, gp.comm, sizeof(gp.comm));
		g_array_append_val(procs, gp);
	}
	if (!sv_rbuf_done(&r)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed process list");
		return NULL;
	}
	return g_steal_pointer(&procs);
}

gboolean sv_agent_parse_readfile_reply(GBytes *payload, SvAgentFileInfo *ret_info,
				       const guint8 **ret_bytes, guint32 *ret_len, GError **error)
{
	gsize len = 0;
	const guint8 *p = payload ? g_bytes_get_data(payload, &len) : NULL;
	struct sv_rbuf r;
	sv_rbuf_init(&r, p, len);
	SvAgentFileInfo info;
	info.size = sv_rbuf_u64(&r);
	info.ino = sv_rbuf_u64(&r);
	info.mtime_ns = sv_rbuf_u64(&r);
	guint32 n;
	const guint8 *bytes = sv_rbuf_bytes(&r, &n);
	if (!sv_rbuf_done(&r)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed READFILE reply (%" G_GSIZE_FORMAT " bytes)",
			    len);
		return FALSE;
	}
	*ret_info = info;
	*ret_bytes = bytes;
	*ret_len = n;
	return TRUE;
}

gboolean sv_agent_client_read_file_chunk(SvAgentClient *client, const char *path, guint64 offset,
					 guint32 max_len, SvAgentFileInfo *ret_info,
					 GBytes **ret_bytes, GError **error)
{
	gsize path_len = strlen(path);
	if (path_len == 0 || path_len > SV_READFILE_MAX_PATH || max_len > SV_READFILE_MAX_CHUNK) {
		g_set_error(
			error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			"READFILE: a path of 1..%u bytes and chunks of at most %u bytes (got %" G_GSIZE_FORMAT
			" and %u)",
			SV_READFILE_MAX_PATH, SV_READFILE_MAX_CHUNK, path_len, max_len);
		return FALSE;
	}
	gsize cap = 4 + path_len + 12;
	g_autofree guint8 *buf = g_malloc(cap);
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, cap);
	sv_readfile_req_encode(&w, path, offset, max_len);
	g_assert(!w.overflow);
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!request(client, SV_MSG_READFILE, buf, w.len, SV_MSG_READFILE_REPLY, &f, &r, error))
		return FALSE;
	SvAgentFileInfo info;
	const guint8 *bytes;
	guint32 n;
	if (!sv_agent_parse_readfile_reply(f.payload, &info, &bytes, &n, error))
		return FALSE;
	if (n > max_len) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent %u bytes of %s where at most %u were asked", n, path,
			    max_len);
		return FALSE;
	}
	*ret_info = info;
	/* a slice of the frame's payload, no copy */
	gsize off = (gsize)(bytes - (const guint8 *)g_bytes_get_data(f.payload, NULL));
	*ret_bytes = n ? g_bytes_new_from_bytes(f.payload, off, n) : g_bytes_new(NULL, 0);
	return TRUE;
}

gboolean sv_agent_client_read_file(SvAgentClient *client, const char *path, guint64 max_total,
				   GBytes **ret_contents, GError **error)
{
	/* a GByteArray holds less than 4 GiB */
	max_total = MIN(max_total, (guint64)G_MAXUINT32 - 1);
	/* Size first, so a file over the limit costs no transfer. */
	SvAgentFileInfo first;
	g_autoptr(GBytes) none = NULL;
	if (!sv_agent_client_read_file_chunk(client, path, 0, 0, &first, &none, error))
		return FALSE;
	if (first.size > max_total) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest file %s is %" G_GUINT64_FORMAT
			    " bytes, over the %" G_GUINT64_FORMAT "-byte limit",
			    path, first.size, max_total);
		return FALSE;
	}
	g_autoptr(GByteArray) all = g_byte_array_sized_new((guint)MIN(first.size, 64u << 20));
	for (;;) {
		/* one byte past the limit shows a file that grew over it */
		guint64 left = max_total - all->len;
		guint32 want = left >= SV_READFILE_MAX_CHUNK ? SV_READFILE_MAX_CHUNK
							     : (guint32)left + 1;
		SvAgentFileInfo info;
		g_autoptr(GBytes) chunk = NULL;
		if (!sv_agent_client_read_file_chunk(client, path, all->len, want, &info, &chunk,
						     error))
			return FALSE;
		if (info.ino != first.ino || info.mtime_ns != first.mtime_ns ||
		    info.size != first.size) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "guest file %s changed while it was read", path);
			return FALSE;
		}
		gsize n;
		const guint8 *p = g_bytes_get_data(chunk, &n);
		if (all->len + (guint64)n > max_total) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest file %s is over the %" G_GUINT64_FORMAT "-byte limit",
				    path, max_total);
			return FALSE;
		}
		if (n)
			g_byte_array_append(all, p, (guint)n);
		/* a short chunk is the end; a /proc file says size 0 and has more */
		if (n < want || (first.size && all->len == first.size))
			break;
	}
	if (first.size && all->len != first.size) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest file %s: read %u bytes of %" G_GUINT64_FORMAT " (it changed?)",
			    path, all->len, first.size);
		return FALSE;
	}
	*ret_contents = g_byte_array_free_to_bytes(g_steal_pointer(&all));
	return TRUE;
}
