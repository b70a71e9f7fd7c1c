/* SPDX-License-Identifier: MIT */
/*
 * The host's agent client against a hostile or dying peer. The peer here is
 * the other end of a socketpair driven by the test, because what is tested is
 * the client's handling of bytes no well-behaved agent sends; the real agent
 * is exercised by tests/integration.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/agent-client.h"
#include "vmm/errors.h"

typedef struct {
	SvAgentClient *client;
	int peer;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	f->client = sv_agent_client_new_from_fd(sv[0]);
	f->peer = sv[1];
}

static void teardown(Fixture *f, gconstpointer data)
{
	sv_agent_client_free(f->client);
	if (f->peer >= 0)
		close(f->peer);
}

static void peer_send(Fixture *f, guint16 type, guint32 tag, const void *payload, guint32 len)
{
	guint8 hdr[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(hdr, type, len, tag);
	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, sizeof(hdr));
	if (len)
		g_assert_cmpint(write(f->peer, payload, len), ==, (gssize)len);
}

static void test_garbage_is_protocol_error(Fixture *f, gconstpointer data)
{
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	g_assert_cmpint(write(f->peer, junk, sizeof(junk)), ==, sizeof(junk));
	SvAgentFrame frame = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_agent_client_recv(f->client, 1000, &frame, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "bad magic"));
}

static void test_huge_length_refused_before_alloc(Fixture *f, gconstpointer data)
{
	guint8 hdr[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(hdr, SV_MSG_OUTPUT, 0, 0);
	sv_put_le32(hdr + 8, 0xfffffff0u);
	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, sizeof(hdr));
	SvAgentFrame frame = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_agent_client_recv(f->client, 1000, &frame, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "longer than"));
}

static void test_dead_peer_is_reported(Fixture *f, gconstpointer data)
{
	/* half a frame, then the peer dies */
	guint8 hdr[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(hdr, SV_MSG_OUTPUT, 100, 0);
	g_assert_cmpint(write(f->peer, hdr, 10), ==, 10);
	close(f->peer);
	f->peer = -1;
	SvAgentFrame frame = { 0 };
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_assert_false(sv_agent_client_recv(f->client, 5000, &frame, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PEER_GONE);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 1000000); /* at once, not at timeout */
	/* and writing to it says so too */
	g_clear_error(&error);
	g_assert_false(sv_agent_client_send(f->client, SV_MSG_PS, NULL, 0, NULL, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PEER_GONE);
}

static void test_silent_peer_times_out(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	guint32 tag;
	g_assert_true(sv_agent_client_send(f->client, SV_MSG_PS, NULL, 0, &tag, &error));
	SvAgentFrame frame = { 0 };
	gint64 t0 = g_get_monotonic_time();
	g_assert_false(sv_agent_client_wait_reply(f->client, tag, SV_MSG_PS_REPLY, 300, &frame,
						  &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_TIMEOUT);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2000000);
}

/* The reply to a request arrives after unrelated output frames: those must
 * be kept, in order, for the next recv. */
static void test_reply_after_output_keeps_output(Fixture *f, gconstpointer data)
{
	guint32 tag;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_send(f->client, SV_MSG_PS, NULL, 0, &tag, &error));
	guint8 out[32];
	struct sv_wbuf w;
	sv_wbuf_init(&w, out, sizeof(out));
	sv_wbuf_u32(&w, 42);
	sv_wbuf_u32(&w, 1);
	sv_wbuf_str(&w, "line\n");
	peer_send(f, SV_MSG_OUTPUT, 0, out, w.len);
	guint8 reply[4] = { 0 }; /* zero processes */
	peer_send(f, SV_MSG_PS_REPLY, tag, reply, sizeof(reply));
	SvAgentFrame frame = { 0 };
	g_assert_true(sv_agent_client_wait_reply(f->client, tag, SV_MSG_PS_REPLY, 1000, &frame,
						 &error));
	g_assert_no_error(error);
	sv_agent_frame_clear(&frame);
	g_assert_true(sv_agent_client_recv(f->client, 0, &frame, &error));
	g_assert_cmpuint(frame.type, ==, SV_MSG_OUTPUT);
	sv_agent_frame_clear(&frame);
}

static void test_agent_error_reply(Fixture *f, gconstpointer data)
{
	guint32 tag;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_send(f->client, SV_MSG_RUN, NULL, 0, &tag, &error));
	guint8 p[64];
	struct sv_wbuf w;
	sv_wbuf_init(&w, p, sizeof(p));
	sv_wbuf_u32(&w, SV_MSG_RUN);
	sv_wbuf_u32(&w, 2 /* ENOENT */);
	sv_wbuf_str(&w, "cannot execute /workload/x");
	peer_send(f, SV_MSG_ERROR, tag, p, w.len);
	SvAgentFrame frame = { 0 };
	g_assert_false(sv_agent_client_wait_reply(f->client, tag, SV_MSG_RUN_REPLY, 1000, &frame,
						  &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_AGENT);
	g_assert_nonnull(strstr(error->message, "cannot execute /workload/x"));
}

static void test_malformed_ps_reply(Fixture *f, gconstpointer data)
{
	/* count claims a million entries in 8 bytes: refused, nothing allocated */
	guint8 reply[8];
	sv_put_le32(reply, 1000000);
	sv_put_le32(reply + 4, 0);
	/* answer whatever tag the client uses next: tags start at 1 */
	peer_send(f, SV_MSG_PS_REPLY, 1, reply, sizeof(reply));
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) procs = sv_agent_client_ps(f->client, &error);
	g_assert_null(procs);
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add("/agent-client/" path, Fixture, NULL, setup, fn, teardown)
	ADD("garbage", test_garbage_is_protocol_error);
	ADD("huge-length", test_huge_length_refused_before_alloc);
	ADD("dead-peer", test_dead_peer_is_reported);
	ADD("reply-after-output", test_reply_after_output_keeps_output);
	ADD("agent-error", test_agent_error_reply);
	ADD("malformed-ps", test_malformed_ps_reply);
	ADD("silent-peer", test_silent_peer_times_out);
	return g_test_run();
}
