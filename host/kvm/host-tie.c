/* SPDX-License-Identifier: MIT */
/*
 * host-tie.c - does the host process on the agent's port own the VM?
 *
 * `snapvm run` (and `restore`) without --detach ties the VM to its agent
 * connection with SV_RUN_POWEROFF_ON_HOST_LOSS: if that process dies, even
 * by SIGKILL, the guest must end. Under QEMU the agent sees its
 * virtio-serial port close. A UART tells the guest nothing of the kind,
 * so here the VMM, which holds the
 * host's end of the socket, keeps the promise: it follows the frames the
 * host sends on the agent's port, and when a connection that sent such a
 * RUN closes, it ends the VM itself (vmm.c).
 *
 * Only headers and the first bytes of RUN and RUN_AS_PID payloads are
 * looked at; anything that is not a frame stops the following for that
 * connection (the guest then decides, as before).
 */
#include <string.h>

#include "snapvm/agent-proto.h"
#include "host/kvm/vmm-process.h"

void sv_host_tie_reset(SvHostTie *t)
{
	memset(t, 0, sizeof(*t));
}

/* Payload bytes needed to see the RUN flags: RUN starts with them,
 * RUN_AS_PID has the pid first. 0: not a RUN. */
static guint flags_end(guint16 type)
{
	return type == SV_MSG_RUN ? 4 : type == SV_MSG_RUN_AS_PID ? 8 : 0;
}

void sv_host_tie_feed(SvHostTie *t, const guint8 *buf, gsize len)
{
	while (len && !t->lost) {
		if (t->hdr_len < SV_PROTO_HEADER_SIZE) {
			gsize n = MIN(len, SV_PROTO_HEADER_SIZE - t->hdr_len);
			memcpy(t->hdr + t->hdr_len, buf, n);
			t->hdr_len += (guint)n;
			buf += n;
			len -= n;
			if (t->hdr_len < SV_PROTO_HEADER_SIZE)
				return;
			guint32 length = sv_get_le32(t->hdr + 8);
			if (sv_get_le32(t->hdr) != SV_PROTO_MAGIC ||
			    length > SV_PROTO_MAX_PAYLOAD) {
				t->lost = TRUE;
				return;
			}
			t->left = length;
			t->head_len = 0;
			t->head_want = MIN(flags_end(sv_get_le16(t->hdr + 6)), length);
			if (t->left == 0)
				t->hdr_len = 0;
			continue;
		}
		gsize n = MIN(len, t->left);
		if (t->head_len < t->head_want) {
			gsize h = MIN(n, t->head_want - t->head_len);
			memcpy(t->head + t->head_len, buf, h);
			t->head_len += (guint)h;
			if (t->head_len == t->head_want && t->head_want >= 4 &&
			    (sv_get_le32(t->head + t->head_want - 4) &
			     SV_RUN_POWEROFF_ON_HOST_LOSS))
				t->owned = TRUE;
		}
		buf += n;
		len -= n;
		t->left -= n;
		if (t->left == 0)
			t->hdr_len = 0; /* next frame */
	}
}
