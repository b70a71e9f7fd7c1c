/* SPDX-License-Identifier: MIT */
/* Frame header and payload codec of the agent protocol: round trips and every
 * way a peer's bytes can be wrong. */
#include <glib.h>

#include "snapvm/agent-proto.h"

static void test_header_round_trip(void)
{
	guint8 buf[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(buf, SV_MSG_RUN, 1234, 0xdeadbeef);
	struct sv_frame_header h;
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_OK);
	g_assert_cmpuint(h.type, ==, SV_MSG_RUN);
	g_assert_cmpuint(h.length, ==, 1234);
	g_assert_cmpuint(h.tag, ==, 0xdeadbeef);
	/* the wire is little-endian whatever the host */
	g_assert_cmpmem(buf, 4, "SNVA", 4);
}

static void test_header_rejects(void)
{
	guint8 buf[SV_PROTO_HEADER_SIZE];
	struct sv_frame_header h;
	sv_frame_header_encode(buf, SV_MSG_PS, 0, 1);
	buf[0] ^= 1;
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_BAD_MAGIC);
	sv_frame_header_encode(buf, SV_MSG_PS, 0, 1);
	sv_put_le16(buf + 4, SV_PROTO_VERSION + 1);
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_BAD_VERSION);
	sv_frame_header_encode(buf, 0, 0, 1);
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_BAD_TYPE);
	sv_frame_header_encode(buf, SV_MSG_TYPE_MAX_, 0, 1);
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_BAD_TYPE);
	sv_frame_header_encode(buf, SV_MSG_OUTPUT, SV_PROTO_MAX_PAYLOAD + 1, 1);
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_TOO_LONG);
	sv_frame_header_encode(buf, SV_MSG_OUTPUT, SV_PROTO_MAX_PAYLOAD, 1);
	g_assert_cmpint(sv_frame_header_decode(buf, &h), ==, SV_PROTO_OK);
}

static void test_payload_round_trip(void)
{
	guint8 buf[128];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, 7);
	sv_wbuf_u64(&w, G_GUINT64_CONSTANT(0x0123456789abcdef));
	sv_wbuf_str(&w, "hello");
	g_assert_false(w.overflow);
	struct sv_rbuf r;
	sv_rbuf_init(&r, buf, w.len);
	g_assert_cmpuint(sv_rbuf_u32(&r), ==, 7);
	g_assert_cmphex(sv_rbuf_u64(&r), ==, G_GUINT64_CONSTANT(0x0123456789abcdef));
	char s[16];
	sv_rbuf_str(&r, s, sizeof(s));
	g_assert_cmpstr(s, ==, "hello");
	g_assert_true(sv_rbuf_done(&r));
}

static void test_payload_overflow_is_sticky(void)
{
	guint8 buf[6];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, 1);
	sv_wbuf_u32(&w, 2); /* does not fit */
	sv_wbuf_u32(&w, 3);
	g_assert_true(w.overflow);
	g_assert_cmpuint(w.len, ==, 4);
}

/* Every truncation of a valid payload must read as bad, never past the end. */
static void test_payload_truncated_everywhere(void)
{
	guint8 buf[64];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, 2);
	sv_wbuf_str(&w, "/workload/counter");
	sv_wbuf_str(&w, "5");
	for (gsize cut = 0; cut < w.len; cut++) {
		guint8 *copy = g_memdup2(buf, cut); /* exact size: ASan sees overreads */
		struct sv_rbuf r;
		sv_rbuf_init(&r, copy, cut);
		guint32 argc = sv_rbuf_u32(&r);
		for (guint32 i = 0; i < argc && i < 4; i++) {
			char s[32];
			sv_rbuf_str(&r, s, sizeof(s));
		}
		g_assert_false(sv_rbuf_done(&r));
		g_free(copy);
	}
}

static void test_payload_lying_length(void)
{
	guint8 buf[8];
	sv_put_le32(buf, 0xffffffff); /* a string "of 4 GiB" in an 8-byte payload */
	memcpy(buf + 4, "abcd", 4);
	struct sv_rbuf r;
	sv_rbuf_init(&r, buf, sizeof(buf));
	guint32 n;
	g_assert_null(sv_rbuf_bytes(&r, &n));
	g_assert_cmpuint(n, ==, 0);
	g_assert_true(r.bad);
}

static void test_pattern_is_deterministic_and_varied(void)
{
	g_assert_cmpuint(sv_pattern_byte(42, 4095), ==, sv_pattern_byte(42, 4095));
	guint same = 0;
	for (guint i = 0; i < 4096; i++)
		same += sv_pattern_byte(1, i) == sv_pattern_byte(2, i);
	g_assert_cmpuint(same, <, 64); /* different seeds: different pages */
	same = 0;
	for (guint i = 0; i < 4096; i++)
		same += sv_pattern_byte(1, i) == sv_pattern_byte(1, i + 4096);
	g_assert_cmpuint(same, <, 64); /* different pages of one seed differ */
}

static void test_readfile_req_round_trip(void)
{
	guint8 buf[64];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_readfile_req_encode(&w, "/workload/counter", G_GUINT64_CONSTANT(0x100000000),
			       SV_READFILE_MAX_CHUNK);
	g_assert_false(w.overflow);
	g_assert_cmpuint(w.len, ==, 4 + 17 + 8 + 4);
	struct sv_readfile_req req;
	g_assert_true(sv_readfile_req_decode(buf, w.len, &req));
	g_assert_cmpmem(req.path, req.path_len, "/workload/counter", 17);
	g_assert_cmphex(req.offset, ==, G_GUINT64_CONSTANT(0x100000000));
	g_assert_cmpuint(req.max_len, ==, SV_READFILE_MAX_CHUNK);
	/* the largest chunk and the reply's fixed fields fill a frame exactly */
	g_assert_cmpuint(SV_READFILE_MAX_CHUNK + SV_READFILE_REPLY_OVERHEAD, ==,
			 SV_PROTO_MAX_PAYLOAD);
	/* cut anywhere, or one byte too many: refused, never overread */
	for (gsize cut = 0; cut < w.len; cut++) {
		g_autofree guint8 *copy = g_memdup2(buf, cut);
		g_assert_false(sv_readfile_req_decode(copy, cut, &req));
	}
	g_assert_false(sv_readfile_req_decode(buf, w.len + 1, &req));
}

static gboolean readfile_req_ok(const char *path, gsize path_len, guint32 max_len)
{
	g_autofree guint8 *buf = g_malloc(path_len + 16);
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, path_len + 16);
	sv_wbuf_bytes(&w, path, (guint32)path_len);
	sv_wbuf_u64(&w, 0);
	sv_wbuf_u32(&w, max_len);
	g_assert_false(w.overflow);
	struct sv_readfile_req req;
	return sv_readfile_req_decode(buf, w.len, &req);
}

static void test_readfile_req_rejects(void)
{
	g_assert_true(readfile_req_ok("/a", 2, 0));
	g_assert_false(readfile_req_ok("", 0, 16));			     /* empty path */
	g_assert_false(readfile_req_ok("/a\0b", 4, 16));		     /* NUL inside */
	g_assert_false(readfile_req_ok("/a", 2, SV_READFILE_MAX_CHUNK + 1)); /* reply too big */
	g_autofree char *longest = g_strnfill(SV_READFILE_MAX_PATH, 'a');
	g_assert_true(readfile_req_ok(longest, SV_READFILE_MAX_PATH, 1));
	g_autofree char *too_long = g_strnfill(SV_READFILE_MAX_PATH + 1, 'a');
	g_assert_false(readfile_req_ok(too_long, SV_READFILE_MAX_PATH + 1, 1));
	/* a path length pointing past the payload */
	guint8 lie[16];
	sv_put_le32(lie, 0xfffffff0u);
	memset(lie + 4, 'x', 12);
	struct sv_readfile_req req;
	g_assert_false(sv_readfile_req_decode(lie, sizeof(lie), &req));
}

static gboolean writefile_req_ok(const char *path, guint32 mode, guint32 data_len)
{
	gsize cap = strlen(path) + data_len + 32;
	g_autofree guint8 *buf = g_malloc0(cap);
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, cap);
	sv_wbuf_bytes(&w, path, (guint32)strlen(path));
	sv_wbuf_u32(&w, mode);
	sv_wbuf_u64(&w, 4096);
	sv_wbuf_u32(&w, data_len);
	w.len += data_len;
	g_assert_false(w.overflow);
	struct sv_writefile_req req;
	gboolean ok = sv_writefile_req_decode(buf, w.len, &req);
	if (ok) {
		g_assert_cmpuint(req.offset, ==, 4096);
		g_assert_cmpuint(req.data_len, ==, data_len);
	}
	return ok;
}

/* WRITEFILE writes one name right in the restore dir, nothing else. */
static void test_writefile_req(void)
{
	g_assert_true(writefile_req_ok(SV_RIMG_GUEST_RESTORER, 0700, 100));
	g_assert_true(writefile_req_ok(SV_RIMG_GUEST_IMAGE, 0600, SV_WRITEFILE_MAX_CHUNK));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_IMAGE, 0600, SV_WRITEFILE_MAX_CHUNK + 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_IMAGE, 010000, 1));
	g_assert_false(writefile_req_ok("/etc/passwd", 0600, 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_DIR "/../x", 0600, 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_DIR "/..", 0600, 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_DIR "/", 0600, 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_DIR "x/y", 0600, 1));
	g_assert_false(writefile_req_ok(SV_RIMG_GUEST_DIR "/a/b", 0600, 1));
}

static void test_oracle_req(void)
{
	guint8 buf[8];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_oracle_req_encode(&w, 1234, SV_ORACLE_NO_HASHES);
	g_assert_false(w.overflow);
	struct sv_oracle_req req;
	g_assert_true(sv_oracle_req_decode(buf, w.len, &req));
	g_assert_cmpuint(req.pid, ==, 1234);
	g_assert_cmpuint(req.flags, ==, SV_ORACLE_NO_HASHES);
	for (gsize cut = 0; cut < w.len; cut++) {
		g_autofree guint8 *copy = g_memdup2(buf, cut);
		g_assert_false(sv_oracle_req_decode(copy, cut, &req));
	}
	guint8 longer[9] = { 0 };
	memcpy(longer, buf, 8);
	g_assert_false(sv_oracle_req_decode(longer, sizeof(longer), &req));
	/* the agent itself, no pid, unknown flags */
	const guint32 bad[][2] = { { 1, 0 }, { 0, 0 }, { 42, 1u << 7 }, { 0xffffffffu, 0 } };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		sv_wbuf_init(&w, buf, sizeof(buf));
		sv_oracle_req_encode(&w, bad[i][0], bad[i][1]);
		g_assert_false(sv_oracle_req_decode(buf, w.len, &req));
	}
}

/* SOFT_DIRTY: round trip, cut short at every byte, and the marks, pids and
 * arm values the agent must refuse. */
static void test_soft_dirty_req(void)
{
	guint8 buf[12 + SV_SOFT_DIRTY_MAX_MARK + 1];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_soft_dirty_req_encode(&w, 77, 1, "77:1:2:abc");
	g_assert_false(w.overflow);
	struct sv_soft_dirty_req req;
	g_assert_true(sv_soft_dirty_req_decode(buf, w.len, &req));
	g_assert_cmpuint(req.pid, ==, 77);
	g_assert_cmpuint(req.arm, ==, 1);
	g_assert_cmpmem(req.mark, req.mark_len, "77:1:2:abc", 10);
	for (gsize cut = 0; cut < w.len; cut++) {
		g_autofree guint8 *copy = g_memdup2(buf, cut);
		g_assert_false(sv_soft_dirty_req_decode(copy, cut, &req));
	}
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_soft_dirty_req_encode(&w, 77, 0, "");
	g_assert_true(sv_soft_dirty_req_decode(buf, w.len, &req));
	g_assert_cmpuint(req.mark_len, ==, 0);
	const struct {
		guint32 pid, arm;
	} bad[] = { { 1, 1 }, { 0, 0 }, { 77, 2 }, { 0x40000000u, 0 } };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		sv_wbuf_init(&w, buf, sizeof(buf));
		sv_soft_dirty_req_encode(&w, bad[i].pid, bad[i].arm, "m");
		g_assert_false(sv_soft_dirty_req_decode(buf, w.len, &req));
	}
	char too_long[SV_SOFT_DIRTY_MAX_MARK + 2];
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_soft_dirty_req_encode(&w, 77, 1, too_long);
	g_assert_false(!w.overflow && sv_soft_dirty_req_decode(buf, w.len, &req));
	guint8 nul[] = { 77, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 'a', 0, 'b' };
	g_assert_false(sv_soft_dirty_req_decode(nul, sizeof(nul), &req));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-proto/header/round-trip", test_header_round_trip);
	g_test_add_func("/agent-proto/header/rejects", test_header_rejects);
	g_test_add_func("/agent-proto/payload/round-trip", test_payload_round_trip);
	g_test_add_func("/agent-proto/payload/overflow-sticky", test_payload_overflow_is_sticky);
	g_test_add_func("/agent-proto/payload/truncated", test_payload_truncated_everywhere);
	g_test_add_func("/agent-proto/payload/lying-length", test_payload_lying_length);
	g_test_add_func("/agent-proto/pattern", test_pattern_is_deterministic_and_varied);
	g_test_add_func("/agent-proto/readfile/request", test_readfile_req_round_trip);
	g_test_add_func("/agent-proto/readfile/rejects", test_readfile_req_rejects);
	g_test_add_func("/agent-proto/writefile/request", test_writefile_req);
	g_test_add_func("/agent-proto/oracle/request", test_oracle_req);
	g_test_add_func("/agent-proto/soft-dirty/request", test_soft_dirty_req);
	return g_test_run();
}
