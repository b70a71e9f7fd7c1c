/* SPDX-License-Identifier: MIT */
/*
 * The kvm VMM's tie to the host process that owns a VM (host/kvm/host-tie.c):
 * a connection is the owner once it sent a RUN or RUN_AS_PID with
 * SV_RUN_POWEROFF_ON_HOST_LOSS - however the bytes are split - and never
 * after anything that is not a frame.
 */
#include <glib.h>

#include "snapvm/agent-proto.h"
#include "host/kvm/vmm-process.h"

static void frame(GByteArray *out, guint16 type, const guint8 *payload, guint32 len)
{
	guint8 h[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(h, type, len, 7);
	g_byte_array_append(out, h, sizeof(h));
	if (len)
		g_byte_array_append(out, payload, len);
}

static void run_frame(GByteArray *out, guint16 type, guint32 flags)
{
	guint8 p[64] = { 0 };
	guint32 off = 0;
	if (type == SV_MSG_RUN_AS_PID) {
		sv_put_le32(p, 79);
		off = 4;
	}
	sv_put_le32(p + off, flags);
	sv_put_le32(p + off + 4, 1);
	sv_put_le32(p + off + 8, 9);
	memcpy(p + off + 12, "/workload", 9);
	frame(out, type, p, off + 21);
}

/* Feeds the stream in pieces of `step` bytes. */
static gboolean owned(const GByteArray *s, gsize step)
{
	SvHostTie t;
	sv_host_tie_reset(&t);
	for (gsize i = 0; i < s->len; i += step)
		sv_host_tie_feed(&t, s->data + i, MIN(step, s->len - i));
	return t.owned;
}

static void check_all_splits(const GByteArray *s, gboolean want)
{
	for (gsize step = 1; step <= s->len; step++)
		g_assert_cmpint(owned(s, step), ==, want);
}

static void test_owner(void)
{
	const guint16 types[] = { SV_MSG_RUN, SV_MSG_RUN_AS_PID };
	for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(GByteArray) s = g_byte_array_new();
		guint8 hello[4];
		sv_put_le32(hello, SV_PROTO_VERSION);
		frame(s, SV_MSG_HELLO, hello, sizeof(hello));
		frame(s, SV_MSG_PS, NULL, 0);
		run_frame(s, types[i], SV_RUN_POWEROFF_ON_HOST_LOSS);
		check_all_splits(s, TRUE);
	}
}

static void test_detached(void)
{
	/* --detach: BUFFER_WHEN_DETACHED only; and a control-port client */
	g_autoptr(GByteArray) s = g_byte_array_new();
	run_frame(s, SV_MSG_RUN, SV_RUN_BUFFER_WHEN_DETACHED);
	run_frame(s, SV_MSG_RUN_AS_PID, SV_RUN_BUFFER_WHEN_DETACHED);
	guint8 kill[8];
	sv_put_le32(kill, 79);
	/* the flag's bit in another message's payload means nothing */
	sv_put_le32(kill + 4, SV_RUN_POWEROFF_ON_HOST_LOSS);
	frame(s, SV_MSG_KILL, kill, sizeof(kill));
	check_all_splits(s, FALSE);
}

static void test_not_frames(void)
{
	g_autoptr(GByteArray) s = g_byte_array_new();
	g_byte_array_append(s, (const guint8 *)"garbage, then a RUN.....", 24);
	run_frame(s, SV_MSG_RUN, SV_RUN_POWEROFF_ON_HOST_LOSS);
	check_all_splits(s, FALSE);
	/* a header claiming more than the protocol allows */
	g_autoptr(GByteArray) t = g_byte_array_new();
	guint8 h[SV_PROTO_HEADER_SIZE];
	sv_frame_header_encode(h, SV_MSG_RUN, SV_PROTO_MAX_PAYLOAD + 1, 1);
	g_byte_array_append(t, h, sizeof(h));
	run_frame(t, SV_MSG_RUN, SV_RUN_POWEROFF_ON_HOST_LOSS);
	check_all_splits(t, FALSE);
	/* a RUN cut short before its flags */
	g_autoptr(GByteArray) u = g_byte_array_new();
	frame(u, SV_MSG_RUN, (const guint8 *)"\x02", 1);
	check_all_splits(u, FALSE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/host-tie/owner", test_owner);
	g_test_add_func("/kvm/host-tie/detached", test_detached);
	g_test_add_func("/kvm/host-tie/not-frames", test_not_frames);
	return g_test_run();
}
