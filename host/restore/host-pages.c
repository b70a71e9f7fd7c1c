/* SPDX-License-Identifier: MIT */
/*
 * host-pages.c - the host's side of SV_RIMG_HOST_PAGES with the guest
 * restorer running (see include/snapvm/restore-image-format.h): its
 * page-frame messages arrive, over the agent, as the first bytes of its
 * stdout; each is answered with its pages in guest RAM at those frames
 * (place-pages.c) as it comes, and the last with SV_RIMG_PFN_SIGNAL to
 * let the restorer go on.
 */
#include <string.h>

#include "snapvm/restore-image-format.h"
#include "base/errors.h"
#include "host/agent/agent-client.h"
#include "host/restore/restore.h"
#include "host/util/io-util.h"

/* More frame runs than this is no message of a restorer (1 TiB of
 * 4 KiB pages, not one of them contiguous with the next). */
#define MAX_PFN_RUNS (1u << 26)

/* Silence from the restorer while it locks and maps a slice of its
 * staging area. */
#define FRAMES_TIMEOUT_MS 600000

/* Once buf holds a message's header: the whole message's length, in
 * *need (0 until then). A message has at most one run per page still to
 * place (max_runs): a guest claiming more is not buffered for. */
static gboolean message_length(const GByteArray *buf, guint64 max_runs, gsize *need, GError **error)
{
	struct sv_rimg_pfn_header h;
	if (*need || buf->len < sizeof(h))
		return TRUE;
	memcpy(&h, buf->data, sizeof(h));
	if (memcmp(h.magic, SV_RIMG_PFN_MAGIC, 8)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the guest restorer sent no page-frame list");
		return FALSE;
	}
	if (h.nruns > MIN(max_runs, MAX_PFN_RUNS)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the guest restorer's page-frame list has %" G_GUINT64_FORMAT
			    " runs for %" G_GUINT64_FORMAT " pages left to place",
			    (guint64)h.nruns, max_runs);
		return FALSE;
	}
	*need = sizeof(h) + h.nruns * sizeof(struct sv_rimg_pfn_run);
	return TRUE;
}

/* Places every whole message at the front of buf, removing it; *done
 * once the last page is placed (what follows in buf is then output). */
static gboolean place_messages(SvPagePlacer *placer, GByteArray *buf, SvRestoreHostPages *ret,
			       gboolean *done, GError **error)
{
	for (;;) {
		gsize need = 0;
		if (!message_length(buf, sv_page_placer_left(placer), &need, error))
			return FALSE;
		if (!need || buf->len < need)
			return TRUE;
		if (!ret->messages++)
			ret->first_us = g_get_monotonic_time();
		if (!sv_page_placer_add(placer, buf->data, need, error))
			return FALSE;
		g_byte_array_remove_range(buf, 0, (guint)need);
		if (sv_page_placer_done(placer)) {
			*done = TRUE;
			return TRUE;
		}
	}
}

gboolean sv_restore_recv_process(SvAgentClient *agent, guint32 pid, gint timeout_ms,
				 SvAgentFrame *frame, SvRestoreProcessEvent *ev, GError **error)
{
	for (;;) {
		sv_agent_frame_clear(frame);
		if (!sv_agent_client_recv(agent, timeout_ms, frame, error))
			return FALSE;
		guint32 from;
		*ev = (SvRestoreProcessEvent){ 0 };
		if (frame->type == SV_MSG_EXIT) {
			if (!sv_agent_frame_parse_exit(frame, &from, &ev->status, error))
				return FALSE;
			ev->exited = TRUE;
		} else if (frame->type == SV_MSG_OUTPUT) {
			if (!sv_agent_frame_parse_output(frame, &from, &ev->stream, &ev->bytes,
							 &ev->len, error))
				return FALSE;
		} else {
			continue;
		}
		if (from == pid)
			return TRUE;
	}
}

gboolean sv_restore_host_pages(SvAgentClient *agent, guint32 pid, const SvGuestMem *mem,
			       SvSnapshotReader *r, const GArray *runs, int out_fd, int err_fd,
			       SvRestoreHostPages *ret, GError **error)
{
	*ret = (SvRestoreHostPages){ 0 };
	g_autoptr(SvPagePlacer) placer = sv_page_placer_new(mem, r, runs);
	g_autoptr(GByteArray) buf = g_byte_array_new();
	gboolean done = sv_page_placer_done(placer);
	while (!done) {
		g_auto(SvAgentFrame) f = { 0 };
		SvRestoreProcessEvent ev;
		if (!sv_restore_recv_process(agent, pid, FRAMES_TIMEOUT_MS, &f, &ev, error))
			return FALSE;
		if (ev.exited) {
			ret->exited = TRUE;
			ret->status = ev.status;
			return TRUE;
		}
		if (ev.stream != 1) {
			sv_write_all_fd(err_fd, ev.bytes, ev.len);
			continue;
		}
		g_byte_array_append(buf, ev.bytes, ev.len);
		if (!place_messages(placer, buf, ret, &done, error))
			return FALSE;
	}
	ret->bytes = sv_page_placer_bytes(placer);
	ret->frame_runs = sv_page_placer_frame_runs(placer);
	/* nothing follows until we answer; anything would be output */
	if (buf->len)
		sv_write_all_fd(out_fd, buf->data, buf->len);
	return sv_agent_client_kill(agent, pid, SV_RIMG_PFN_SIGNAL, error);
}
