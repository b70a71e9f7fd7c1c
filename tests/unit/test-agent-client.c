/* SPDX-License-Identifier: MIT */
/*
 * The host's agent client against a hostile or dying peer. The peer here is
 * the other end of a socketpair driven by the test, because what is tested is
 * the client's handling of bytes no well-behaved agent sends; the real agent
 * is exercised by tests/integration.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/agent/agent-client.h"
#include "tests/lib/test-hooks-client.h"
#include "base/errors.h"

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

/* A serial line echoes the host's first HELLO as text before the agent sets
 * raw mode: the handshake skips such bytes to the reply. */
static void test_hello_skips_echo(Fixture *f, gconstpointer data)
{
	const char echo[] = "SNV^A^@^A^@^D^@";
	g_assert_cmpint(write(f->peer, echo, sizeof(echo) - 1), ==, sizeof(echo) - 1);
	guint8 p[256];
	struct sv_wbuf w;
	sv_wbuf_init(&w, p, sizeof(p));
	sv_wbuf_u32(&w, SV_PROTO_VERSION);
	sv_wbuf_str(&w, "test");
	sv_wbuf_str(&w, "x86_64");
	sv_wbuf_str(&w, "6.1");
	sv_wbuf_u64(&w, 1);
	peer_send(f, SV_MSG_HELLO_REPLY, 1, p, (guint32)w.len);
	SvAgentInfo info;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_hello(f->client, 2000, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(info.machine, ==, "x86_64");
	/* after the handshake, garbage is an error again */
	g_assert_cmpint(write(f->peer, echo, sizeof(echo) - 1), ==, sizeof(echo) - 1);
	g_assert_cmpint(write(f->peer, "0123456789abcdef", 16), ==, 16);
	SvAgentFrame frame = { 0 };
	g_assert_false(sv_agent_client_recv(f->client, 1000, &frame, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
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

/* A reply that trickles in (a large one through a slow serial line) takes
 * longer than the timeout in all, but the agent is never silent that long:
 * the timeout counts silence, so the reply is waited for. */
typedef struct {
	int fd;
	guint8 bytes[SV_PROTO_HEADER_SIZE + 4];
} Trickle;

static gpointer trickle(gpointer data)
{
	Trickle *t = data;
	for (guint i = 0; i < sizeof(t->bytes); i++) {
		g_usleep(80000);
		g_assert_cmpint(write(t->fd, &t->bytes[i], 1), ==, 1);
	}
	return NULL;
}

static void test_trickling_reply_is_waited_for(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	guint32 tag;
	g_assert_true(sv_agent_client_send(f->client, SV_MSG_PS, NULL, 0, &tag, &error));
	Trickle t = { .fd = f->peer };
	sv_frame_header_encode(t.bytes, SV_MSG_PS_REPLY, 4, tag); /* zero processes */
	gint64 t0 = g_get_monotonic_time();
	GThread *th = g_thread_new("trickle", trickle, &t);
	SvAgentFrame frame = { 0 };
	/* 600 ms of silence allowed against 80 ms gaps: room for a loaded
	 * machine's scheduling (200 ms against 40 failed under load 15) */
	gboolean ok = sv_agent_client_wait_reply(f->client, tag, SV_MSG_PS_REPLY, 600, &frame,
						 &error);
	g_thread_join(th);
	g_assert_no_error(error);
	g_assert_true(ok);
	g_assert_cmpint(g_get_monotonic_time() - t0, >, 1200000); /* longer than 600 ms in all */
	sv_agent_frame_clear(&frame);
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

/* ---- READFILE ---- */

/* A fake agent on the peer end, in a thread: serves READFILE from memory. */
typedef struct {
	int fd;
	GBytes *contents;
	guint change_after; /* requests after which the file's mtime changes; 0 never */
	guint requests;
} FakeAgent;

static gboolean read_full(int fd, void *p, gsize n)
{
	for (gsize got = 0; got < n;) {
		gssize k = read(fd, (guint8 *)p + got, n - got);
		if (k <= 0)
			return FALSE;
		got += k;
	}
	return TRUE;
}

static gpointer fake_agent_main(gpointer data)
{
	FakeAgent *a = data;
	guint8 hdr[SV_PROTO_HEADER_SIZE];
	while (read_full(a->fd, hdr, sizeof(hdr))) {
		struct sv_frame_header h;
		g_assert_cmpint(sv_frame_header_decode(hdr, &h), ==, SV_PROTO_OK);
		g_autofree guint8 *payload = g_malloc(h.length + 1);
		g_assert_true(read_full(a->fd, payload, h.length));
		g_assert_cmpuint(h.type, ==, SV_MSG_READFILE);
		struct sv_readfile_req req;
		g_assert_true(sv_readfile_req_decode(payload, h.length, &req));
		a->requests++;
		gsize size;
		const guint8 *file = g_bytes_get_data(a->contents, &size);
		gsize off = MIN(req.offset, size);
		gsize n = MIN(size - off, req.max_len);
		gsize cap = SV_PROTO_HEADER_SIZE + SV_READFILE_REPLY_OVERHEAD + n;
		g_autofree guint8 *out = g_malloc(cap);
		struct sv_wbuf w;
		sv_wbuf_init(&w, out + SV_PROTO_HEADER_SIZE, cap - SV_PROTO_HEADER_SIZE);
		sv_wbuf_u64(&w, size);
		sv_wbuf_u64(&w, 4242);
		sv_wbuf_u64(&w, a->change_after && a->requests > a->change_after ? 2 : 1);
		sv_wbuf_bytes(&w, file + off, (guint32)n);
		g_assert_false(w.overflow);
		sv_frame_header_encode(out, SV_MSG_READFILE_REPLY, (guint32)w.len, h.tag);
		gsize total = SV_PROTO_HEADER_SIZE + w.len;
		for (gsize done = 0; done < total;) {
			gssize k = write(a->fd, out + done, total - done);
			if (k <= 0)
				return NULL;
			done += k;
		}
	}
	return NULL;
}

static GBytes *random_bytes(gsize n)
{
	guint8 *p = g_malloc(n);
	for (gsize i = 0; i < n; i++)
		p[i] = (guint8)g_test_rand_int();
	return g_bytes_new_take(p, n);
}

/* Reads a file of `size` bytes from a fake agent; returns the error, if any. */
static GError *read_through_fake(Fixture *f, gsize size, guint64 max_total, guint change_after,
				 guint *ret_requests)
{
	g_autoptr(GBytes) file = random_bytes(size);
	FakeAgent a = { .fd = f->peer, .contents = file, .change_after = change_after };
	GThread *t = g_thread_new("fake-agent", fake_agent_main, &a);
	g_autoptr(GBytes) got = NULL;
	GError *error = NULL;
	gboolean ok = sv_agent_client_read_file(f->client, "/workload/x", max_total, &got, &error);
	/* closing the client ends the fake agent's loop */
	g_clear_pointer(&f->client, sv_agent_client_free);
	g_thread_join(t);
	g_assert_true(ok == (error == NULL));
	if (ok)
		g_assert_true(g_bytes_equal(got, file));
	else
		g_assert_null(got);
	*ret_requests = a.requests;
	return error;
}

static void test_read_file_in_chunks(Fixture *f, gconstpointer data)
{
	guint requests;
	/* a stat, then three chunks (the last one short) */
	g_assert_no_error(read_through_fake(f, 2 * SV_READFILE_MAX_CHUNK + 12345, 16 << 20, 0,
					    &requests));
	g_assert_cmpuint(requests, ==, 4);
}

static void test_read_file_exact_chunks(Fixture *f, gconstpointer data)
{
	guint requests;
	/* the size says when it is whole: no empty chunk at the end */
	g_assert_no_error(read_through_fake(f, 2 * SV_READFILE_MAX_CHUNK, 16 << 20, 0, &requests));
	g_assert_cmpuint(requests, ==, 3);
}

static void test_read_file_empty(Fixture *f, gconstpointer data)
{
	guint requests;
	g_assert_no_error(read_through_fake(f, 0, 100, 0, &requests));
	g_assert_cmpuint(requests, ==, 2);
}

static void test_read_file_too_big(Fixture *f, gconstpointer data)
{
	guint requests;
	g_autoptr(GError) error = read_through_fake(f, 5000, 4999, 0, &requests);
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "4999-byte limit"));
	g_assert_cmpuint(requests, ==, 1); /* refused on its size, nothing read */
	/* exactly at the limit is fine */
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	close(f->peer);
	f->client = sv_agent_client_new_from_fd(sv[0]);
	f->peer = sv[1];
	g_assert_no_error(read_through_fake(f, 5000, 5000, 0, &requests));
}

static void test_read_file_changed(Fixture *f, gconstpointer data)
{
	guint requests;
	g_autoptr(GError)
		error = read_through_fake(f, 3 * SV_READFILE_MAX_CHUNK, 16 << 20, 2, &requests);
	g_assert_error(error, SV_ERROR, SV_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "changed while it was read"));
}

static void test_read_file_bad_arguments(Fixture *f, gconstpointer data)
{
	SvAgentFileInfo info;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_agent_client_read_file_chunk(f->client, "/x", 0,
						       SV_READFILE_MAX_CHUNK + 1, &info, &bytes,
						       &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sv_agent_client_read_file_chunk(f->client, "", 0, 1, &info, &bytes, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
}

static GBytes *readfile_reply(guint64 size, const char *bytes)
{
	guint8 buf[128];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u64(&w, size);
	sv_wbuf_u64(&w, 77);
	sv_wbuf_u64(&w, G_GUINT64_CONSTANT(1700000000123456789));
	sv_wbuf_str(&w, bytes);
	g_assert_false(w.overflow);
	return g_bytes_new(buf, w.len);
}

static void test_readfile_reply_decode(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) reply = readfile_reply(5, "hello");
	SvAgentFileInfo info;
	const guint8 *bytes;
	guint32 len;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_parse_readfile_reply(reply, &info, &bytes, &len, &error));
	g_assert_cmpuint(info.size, ==, 5);
	g_assert_cmpuint(info.ino, ==, 77);
	g_assert_cmpuint(info.mtime_ns, ==, G_GUINT64_CONSTANT(1700000000123456789));
	g_assert_cmpmem(bytes, len, "hello", 5);
	gsize n;
	const guint8 *p = g_bytes_get_data(reply, &n);
	for (gsize cut = 0; cut <= n + 1; cut++) {
		if (cut == n)
			continue;
		/* exact-size copies: ASan sees any overread */
		g_autofree guint8 *copy = g_malloc(cut + 1);
		memcpy(copy, p, MIN(cut, n));
		if (cut > n)
			copy[n] = 0;
		g_autoptr(GBytes) b = g_bytes_new(copy, cut);
		g_autoptr(GError) e = NULL;
		g_assert_false(sv_agent_parse_readfile_reply(b, &info, &bytes, &len, &e));
		g_assert_error(e, SV_ERROR, SV_ERROR_PROTOCOL);
	}
}

/* An agent sending more than was asked is refused. */
static void test_readfile_reply_too_long(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) reply = readfile_reply(100, "0123456789");
	peer_send(f, SV_MSG_READFILE_REPLY, 1, g_bytes_get_data(reply, NULL),
		  (guint32)g_bytes_get_size(reply));
	SvAgentFileInfo info;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_agent_client_read_file_chunk(f->client, "/x", 0, 4, &info, &bytes,
						       &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_assert_null(bytes);
}

/* ---- ORACLE ---- */

static const char oracle_maps[] =
	"00400000-00401000 r--p 00000000 00:02 5 /workload/sleeper-x86_64\n"
	"7ffff7ff9000-7ffff7ffd000 r--p 00000000 00:00 0 [vvar]\n";
static const char oracle_hash[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static GBytes *oracle_reply(guint32 n, const char *hash, const char *maps)
{
	guint8 buf[1024];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	guint8 regs[216];
	for (guint i = 0; i < sizeof(regs); i++)
		regs[i] = (guint8)i;
	sv_wbuf_bytes(&w, regs, sizeof(regs));
	sv_wbuf_bytes(&w, regs, 200);
	sv_wbuf_bytes(&w, regs, 0);
	sv_wbuf_bytes(&w, regs, 8);
	sv_wbuf_str(&w, maps);
	sv_wbuf_u32(&w, n);
	for (guint32 i = 0; i < n; i++) {
		sv_wbuf_u64(&w, 0x400000 + i);
		sv_wbuf_u64(&w, 0x401000 + i);
		sv_wbuf_str(&w, i == 0 ? hash : "");
	}
	g_assert_false(w.overflow);
	return g_bytes_new(buf, w.len);
}

static void test_oracle_reply_decode(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) reply = oracle_reply(2, oracle_hash, oracle_maps);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvAgentOracle) o = sv_agent_parse_oracle_reply(reply, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_bytes_get_size(o->nt_prstatus), ==, 216);
	g_assert_cmpuint(((const guint8 *)g_bytes_get_data(o->nt_prstatus, NULL))[215], ==, 215);
	g_assert_cmpuint(g_bytes_get_size(o->nt_prfpreg), ==, 200);
	g_assert_cmpuint(g_bytes_get_size(o->nt_x86_xstate), ==, 0);
	g_assert_cmpuint(g_bytes_get_size(o->nt_arm_tls), ==, 8);
	g_assert_cmpstr(o->maps_text, ==, oracle_maps);
	g_assert_cmpuint(o->vmas->len, ==, 2);
	const SvAgentOracleVma *v = &g_array_index(o->vmas, SvAgentOracleVma, 0);
	g_assert_cmphex(v->start, ==, 0x400000);
	g_assert_cmphex(v->end, ==, 0x401000);
	g_assert_cmpstr(v->sha256, ==, oracle_hash);
	g_assert_cmpstr(g_array_index(o->vmas, SvAgentOracleVma, 1).sha256, ==, "");
	/* every cut and one byte more: refused, never overread */
	gsize n;
	const guint8 *p = g_bytes_get_data(reply, &n);
	for (gsize cut = 0; cut <= n + 1; cut++) {
		if (cut == n)
			continue;
		g_autofree guint8 *copy = g_malloc0(cut + 1);
		memcpy(copy, p, MIN(cut, n));
		g_autoptr(GBytes) b = g_bytes_new(copy, cut);
		g_autoptr(GError) e = NULL;
		g_autoptr(SvAgentOracle) bad = sv_agent_parse_oracle_reply(b, &e);
		g_assert_null(bad);
		g_assert_error(e, SV_ERROR, SV_ERROR_PROTOCOL);
	}
}

/* The fd table an agent may add at the end; older agents end before it. */
static void test_oracle_reply_fds(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) plain = oracle_reply(2, oracle_hash, oracle_maps);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvAgentOracle) old = sv_agent_parse_oracle_reply(plain, &error);
	g_assert_no_error(error);
	g_assert_null(old->fds_text);
	static const char fds[] = "0 0 100000 /dev/null\n3 65536 2100002 /tmp/x\n";
	for (int nul = 0; nul < 2; nul++) {
		gsize n;
		const guint8 *p = g_bytes_get_data(plain, &n);
		guint8 buf[1024];
		struct sv_wbuf w;
		sv_wbuf_init(&w, buf, sizeof(buf));
		memcpy(buf, p, n);
		w.len = n;
		char text[sizeof(fds)];
		memcpy(text, fds, sizeof(fds));
		if (nul)
			text[5] = '\0';
		sv_wbuf_bytes(&w, text, sizeof(fds) - 1);
		g_assert_false(w.overflow);
		g_autoptr(GBytes) reply = g_bytes_new(buf, w.len);
		g_autoptr(GError) e = NULL;
		g_autoptr(SvAgentOracle) o = sv_agent_parse_oracle_reply(reply, &e);
		if (nul) {
			g_assert_null(o);
			g_assert_error(e, SV_ERROR, SV_ERROR_PROTOCOL);
		} else {
			g_assert_no_error(e);
			g_assert_cmpstr(o->fds_text, ==, fds);
		}
	}
}

static void test_oracle_reply_lies(Fixture *f, gconstpointer data)
{
	struct {
		guint32 n;
		const char *hash;
		const char *maps;
	} cases[] = {
		{ 1, oracle_hash, oracle_maps }, /* fewer regions than lines */
		{ 3, oracle_hash, oracle_maps }, /* more */
		{ 2, "e3b0c442", oracle_maps },	 /* a hash cut short */
		{ 2, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		  oracle_maps }, /* not lowercase */
		{ 2, "z3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  oracle_maps },		       /* not hex */
		{ 1000000, oracle_hash, oracle_maps }, /* a count past the payload */
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes)
			reply = oracle_reply(MIN(cases[i].n, 3), cases[i].hash, cases[i].maps);
		if (cases[i].n > 3) {
			/* patch the count: it sits right after the maps text */
			gsize len;
			guint8 *copy = g_bytes_unref_to_data(g_steal_pointer(&reply), &len);
			gsize at = 4 + 216 + 4 + 200 + 4 + 4 + 8 + 4 + strlen(oracle_maps);
			sv_put_le32(copy + at, cases[i].n);
			reply = g_bytes_new_take(copy, len);
		}
		g_autoptr(GError) e = NULL;
		g_autoptr(SvAgentOracle) o = sv_agent_parse_oracle_reply(reply, &e);
		g_assert_null(o);
		g_assert_error(e, SV_ERROR, SV_ERROR_PROTOCOL);
	}
	/* a NUL inside the maps text */
	guint8 buf[64];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	for (int k = 0; k < 4; k++)
		sv_wbuf_u32(&w, 0);
	sv_wbuf_bytes(&w, "a\0b\n", 4);
	sv_wbuf_u32(&w, 1);
	sv_wbuf_u64(&w, 0);
	sv_wbuf_u64(&w, 0);
	sv_wbuf_u32(&w, 0);
	g_autoptr(GBytes) b = g_bytes_new(buf, w.len);
	g_autoptr(GError) e = NULL;
	g_assert_null(sv_agent_parse_oracle_reply(b, &e));
	g_assert_error(e, SV_ERROR, SV_ERROR_PROTOCOL);
}

/* A request the agent would refuse is not sent at all. */
static void test_oracle_bad_request(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_agent_client_oracle(f->client, 1, 0, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(sv_agent_client_oracle(f->client, 100, 0x80, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
}

/* The request on the wire, and the reply matched to it. */
static void test_oracle_round_trip(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) reply = oracle_reply(2, oracle_hash, oracle_maps);
	peer_send(f, SV_MSG_ORACLE_REPLY, 1, g_bytes_get_data(reply, NULL),
		  (guint32)g_bytes_get_size(reply));
	g_autoptr(GError) error = NULL;
	g_autoptr(SvAgentOracle)
		o = sv_agent_client_oracle(f->client, 321, SV_ORACLE_NO_HASHES, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(o->vmas->len, ==, 2);
	guint8 req[SV_PROTO_HEADER_SIZE + 8];
	g_assert_true(read_full(f->peer, req, sizeof(req)));
	struct sv_frame_header h;
	g_assert_cmpint(sv_frame_header_decode(req, &h), ==, SV_PROTO_OK);
	g_assert_cmpuint(h.type, ==, SV_MSG_ORACLE);
	struct sv_oracle_req r;
	g_assert_true(sv_oracle_req_decode(req + SV_PROTO_HEADER_SIZE, h.length, &r));
	g_assert_cmpuint(r.pid, ==, 321);
	g_assert_cmpuint(r.flags, ==, SV_ORACLE_NO_HASHES);
}

/* The production agent's answer to a test-only request (ENOSYS, as to any
 * type it does not serve): a failure saying how to build the test agent,
 * for ORACLE and MEMPATTERN alike. */
static void test_no_test_hooks(Fixture *f, gconstpointer data)
{
	const guint16 types[] = { SV_MSG_ORACLE, SV_MSG_MEMPATTERN };
	for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
		guint8 p[128];
		struct sv_wbuf w;
		sv_wbuf_init(&w, p, sizeof(p));
		sv_wbuf_u32(&w, types[i]);
		sv_wbuf_u32(&w, ENOSYS);
		sv_wbuf_str(&w, "message type is not a request the agent serves");
		peer_send(f, SV_MSG_ERROR, i + 1, p, (guint32)w.len);
		g_autoptr(GError) error = NULL;
		if (types[i] == SV_MSG_ORACLE) {
			g_assert_null(sv_agent_client_oracle(f->client, 321, 0, &error));
		} else {
			guint64 vaddr;
			guint32 page_size;
			g_autoptr(GArray) phys = NULL;
			g_assert_false(sv_agent_client_mempattern(f->client, 7, 1, &vaddr,
								  &page_size, &phys, &error));
		}
		g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
		g_assert_nonnull(strstr(error->message, "no test hooks"));
		g_assert_nonnull(strstr(error->message, "-Dtest_hooks=true"));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add("/agent-client/" path, Fixture, NULL, setup, fn, teardown)
	ADD("garbage", test_garbage_is_protocol_error);
	ADD("hello-skips-echo", test_hello_skips_echo);
	ADD("huge-length", test_huge_length_refused_before_alloc);
	ADD("dead-peer", test_dead_peer_is_reported);
	ADD("reply-after-output", test_reply_after_output_keeps_output);
	ADD("agent-error", test_agent_error_reply);
	ADD("malformed-ps", test_malformed_ps_reply);
	ADD("silent-peer", test_silent_peer_times_out);
	ADD("trickling-reply", test_trickling_reply_is_waited_for);
	ADD("read-file/chunks", test_read_file_in_chunks);
	ADD("read-file/exact-chunks", test_read_file_exact_chunks);
	ADD("read-file/empty", test_read_file_empty);
	ADD("read-file/too-big", test_read_file_too_big);
	ADD("read-file/changed", test_read_file_changed);
	ADD("read-file/bad-arguments", test_read_file_bad_arguments);
	ADD("read-file/reply-decode", test_readfile_reply_decode);
	ADD("read-file/reply-too-long", test_readfile_reply_too_long);
	ADD("oracle/reply-decode", test_oracle_reply_decode);
	ADD("oracle/reply-lies", test_oracle_reply_lies);
	ADD("oracle/reply-fds", test_oracle_reply_fds);
	ADD("oracle/bad-request", test_oracle_bad_request);
	ADD("oracle/round-trip", test_oracle_round_trip);
	ADD("no-test-hooks", test_no_test_hooks);
	return g_test_run();
}
