/* SPDX-License-Identifier: MIT */
/*
 * Both ends of the agent protocol fed mutated and random byte streams: the
 * host's client (host/agent/agent-client.c) and the agent's frame reader
 * (guest/agent/channel.c, compiled here for the host). Bounded and seeded
 * (G_TEST_SEED / --seed reproduce a run); under -Db_sanitize=address (the
 * build-asan pass of scripts/test.sh) any overread or leak fails the test.
 * Neither side may crash, hang, or return a frame that is not whole.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/agent/agent.h"
#include "host/agent/agent-client.h"
#include "tests/lib/test-hooks-client.h"
#include "base/errors.h"

#define ITERATIONS 3000

/* channel.c's two outside needs */
void agent_log(const char *fmt, ...)
{
}

void agent_poweroff(void)
{
	g_error("agent_poweroff called: the channel ran out of memory");
}

/* A stream of valid frames, then mutated: bit flips, cut, spliced junk. */
static GByteArray *make_stream(void)
{
	GByteArray *s = g_byte_array_new();
	guint frames = g_test_rand_int_range(1, 6);
	for (guint i = 0; i < frames; i++) {
		guint8 hdr[SV_PROTO_HEADER_SIZE];
		guint32 len = g_test_rand_int_range(0, 200);
		sv_frame_header_encode(hdr, g_test_rand_int_range(1, SV_MSG_TYPE_MAX_), len,
				       g_test_rand_int());
		g_byte_array_append(s, hdr, sizeof(hdr));
		for (guint32 k = 0; k < len; k++) {
			guint8 b = g_test_rand_int();
			g_byte_array_append(s, &b, 1);
		}
	}
	guint mutations = g_test_rand_int_range(0, 8);
	for (guint m = 0; m < mutations && s->len; m++) {
		guint pos = g_test_rand_int_range(0, s->len);
		switch (g_test_rand_int_range(0, 4)) {
		case 0:
			s->data[pos] ^= 1u << g_test_rand_int_range(0, 8);
			break;
		case 1:
			g_byte_array_set_size(s, pos);
			break;
		case 2:
			if (pos + 4 <= s->len)
				sv_put_le32(s->data + pos, g_test_rand_int());
			break;
		case 3: {
			guint8 junk[32];
			for (guint k = 0; k < sizeof(junk); k++)
				junk[k] = g_test_rand_int();
			g_byte_array_prepend(s, junk, g_test_rand_int_range(1, sizeof(junk)));
			break;
		}
		}
	}
	return s;
}

static void test_host_client(void)
{
	for (guint it = 0; it < ITERATIONS; it++) {
		int sv[2];
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
		g_autoptr(SvAgentClient) c = sv_agent_client_new_from_fd(sv[0]);
		g_autoptr(GByteArray) s = make_stream();
		g_assert_cmpint(write(sv[1], s->data, s->len), ==, (gssize)s->len);
		close(sv[1]); /* then the peer is gone */
		for (guint n = 0;; n++) {
			g_assert_cmpuint(n, <,
					 64); /* no endless stream of frames from finite input */
			SvAgentFrame f = { 0 };
			g_autoptr(GError) error = NULL;
			if (!sv_agent_client_recv(c, 2000, &f, &error)) {
				g_assert_true(g_error_matches(error, SV_ERROR, SV_ERROR_PROTOCOL) ||
					      g_error_matches(error, SV_ERROR, SV_ERROR_PEER_GONE));
				break;
			}
			g_assert_cmpuint(f.type, >, 0);
			g_assert_cmpuint(f.type, <, SV_MSG_TYPE_MAX_);
			g_assert_cmpuint(g_bytes_get_size(f.payload), <=, SV_PROTO_MAX_PAYLOAD);
			/* the decoders must refuse or accept, never overread */
			guint32 pid, stream, len;
			const guint8 *bytes;
			int status;
			g_autoptr(GError) e2 = NULL;
			SvAgentFileInfo info;
			if (f.type == SV_MSG_OUTPUT)
				sv_agent_frame_parse_output(&f, &pid, &stream, &bytes, &len, &e2);
			else if (f.type == SV_MSG_EXIT)
				sv_agent_frame_parse_exit(&f, &pid, &status, &e2);
			else if (f.type == SV_MSG_READFILE_REPLY)
				sv_agent_parse_readfile_reply(f.payload, &info, &bytes, &len, &e2);
			else if (f.type == SV_MSG_ORACLE_REPLY)
				sv_agent_oracle_free(sv_agent_parse_oracle_reply(f.payload, &e2));
			sv_agent_frame_clear(&f);
		}
	}
}

static void test_agent_channel(void)
{
	for (guint it = 0; it < ITERATIONS; it++) {
		int sv[2];
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		struct channel *ch = channel_open(sv[0]);
		g_autoptr(GByteArray) s = make_stream();
		g_assert_cmpint(write(sv[1], s->data, s->len), ==, (gssize)s->len);
		channel_handle_events(ch, POLLIN);
		struct frame f;
		guint frames = 0;
		while (channel_next_frame(ch, &f)) {
			g_assert_cmpuint(++frames, <, 64);
			g_assert_cmpuint(f.hdr.length, <=, SV_PROTO_MAX_PAYLOAD);
			/* the payload is whole: touching its last byte must be legal */
			if (f.hdr.length)
				g_assert_true(f.payload[f.hdr.length - 1] ==
					      f.payload[f.hdr.length - 1]);
		}
		/* a HELLO after any garbage is always understood */
		guint8 hello[SV_PROTO_HEADER_SIZE + 4];
		sv_frame_header_encode(hello, SV_MSG_HELLO, 4, 77);
		sv_put_le32(hello + SV_PROTO_HEADER_SIZE, SV_PROTO_VERSION);
		/* a cut-off frame announcing more bytes would swallow the HELLO:
		 * the host side resends HELLO, so send enough to get past it */
		gboolean seen = FALSE;
		for (int tries = 0; tries < 4 && !seen; tries++) {
			g_assert_cmpint(write(sv[1], hello, sizeof(hello)), ==, sizeof(hello));
			channel_handle_events(ch, POLLIN);
			while (channel_next_frame(ch, &f))
				seen |= f.hdr.type == SV_MSG_HELLO && f.hdr.tag == 77;
			if (!seen) {
				/* pad out whatever length a surviving bad header claimed */
				static guint8 zeros[4096];
				for (int k = 0; k < 320 && !seen; k++) {
					if (write(sv[1], zeros, sizeof(zeros)) < 0)
						break;
					channel_handle_events(ch, POLLIN);
					while (channel_next_frame(ch, &f))
						seen |= f.hdr.type == SV_MSG_HELLO &&
							f.hdr.tag == 77;
				}
			}
		}
		g_assert_true(seen);
		channel_close(ch);
		close(sv[1]);
	}
}

/* Mutates a copy of a valid payload: bit flips, overwritten words, a cut. */
static GBytes *mutate(const guint8 *p, gsize n)
{
	guint8 *c = g_memdup2(p, n);
	guint k = g_test_rand_int_range(1, 6);
	for (guint m = 0; m < k && n; m++) {
		guint pos = g_test_rand_int_range(0, n);
		switch (g_test_rand_int_range(0, 3)) {
		case 0:
			c[pos] ^= 1u << g_test_rand_int_range(0, 8);
			break;
		case 1:
			if (pos + 4 <= n)
				sv_put_le32(c + pos, g_test_rand_int_range(0, 2)
							     ? (guint32)g_test_rand_int()
							     : (guint32)(n - pos));
			break;
		case 2:
			n = pos;
			break;
		}
	}
	/* exactly n bytes: ASan sees any overread */
	return g_bytes_new_take(g_realloc(c, MAX(n, 1)), n);
}

/* The new replies and requests from a valid one, mutated: each decoder
 * refuses or accepts, never overreads, and what it accepts is consistent. */
static void test_new_messages(void)
{
	guint8 buf[512];
	struct sv_wbuf w;
	/* an ORACLE reply with two regions */
	static const char maps[] = "00400000-00401000 r-xp 00000000 00:02 5 /w\n"
				   "7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n";
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_bytes(&w, "0123456789abcdef", 16);
	sv_wbuf_bytes(&w, "fp", 2);
	sv_wbuf_bytes(&w, "", 0);
	sv_wbuf_bytes(&w, "tls12345", 8);
	sv_wbuf_str(&w, maps);
	sv_wbuf_u32(&w, 2);
	for (int i = 0; i < 2; i++) {
		sv_wbuf_u64(&w, 0x400000);
		sv_wbuf_u64(&w, 0x401000);
		sv_wbuf_str(&w,
			    i ? ""
			      : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	}
	g_assert_false(w.overflow);
	gsize oracle_len = w.len;
	guint8 oracle[512];
	memcpy(oracle, buf, oracle_len);
	for (guint it = 0; it < ITERATIONS * 3; it++) {
		g_autoptr(GBytes) b = mutate(oracle, oracle_len);
		g_autoptr(GError) e = NULL;
		g_autoptr(SvAgentOracle) o = sv_agent_parse_oracle_reply(b, &e);
		g_assert_true((o == NULL) == (e != NULL));
		if (o) {
			guint lines = 0;
			for (const char *c = o->maps_text; *c; c++)
				lines += *c == '\n';
			g_assert_cmpuint(o->vmas->len, ==, lines);
			for (guint i = 0; i < o->vmas->len; i++) {
				gsize hl =
					strlen(g_array_index(o->vmas, SvAgentOracleVma, i).sha256);
				g_assert_true(hl == 0 || hl == 64);
			}
		}
	}
	/* a READFILE reply */
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u64(&w, 5);
	sv_wbuf_u64(&w, 6);
	sv_wbuf_u64(&w, 7);
	sv_wbuf_str(&w, "hello");
	guint8 rf[64];
	gsize rf_len = w.len;
	memcpy(rf, buf, rf_len);
	for (guint it = 0; it < ITERATIONS; it++) {
		g_autoptr(GBytes) b = mutate(rf, rf_len);
		SvAgentFileInfo info;
		const guint8 *bytes;
		guint32 n;
		g_autoptr(GError) e = NULL;
		if (sv_agent_parse_readfile_reply(b, &info, &bytes, &n, &e))
			g_assert_cmpuint(SV_READFILE_REPLY_OVERHEAD + (gsize)n, ==,
					 g_bytes_get_size(b));
	}
	/* the agent's request decoders */
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_readfile_req_encode(&w, "/workload/counter-x86_64", 4096, 65536);
	guint8 req[64];
	gsize req_len = w.len;
	memcpy(req, buf, req_len);
	for (guint it = 0; it < ITERATIONS; it++) {
		g_autoptr(GBytes) b = mutate(req, req_len);
		struct sv_readfile_req r;
		if (sv_readfile_req_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b), &r)) {
			g_assert_cmpuint(r.path_len, >, 0);
			g_assert_null(memchr(r.path, '\0', r.path_len));
			g_assert_cmpuint(r.max_len, <=, SV_READFILE_MAX_CHUNK);
		}
		struct sv_oracle_req o;
		if (sv_oracle_req_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b), &o))
			g_assert_cmpuint(o.pid, >, 1);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proto-fuzz/host-client", test_host_client);
	g_test_add_func("/proto-fuzz/agent-channel", test_agent_channel);
	g_test_add_func("/proto-fuzz/new-messages", test_new_messages);
	return g_test_run();
}
