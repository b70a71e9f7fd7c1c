/* SPDX-License-Identifier: MIT */
/*
 * host-pages.c - the host's side of SV_RIMG_HOST_PAGES with the guest
 * restorer running (see include/snapvm/restore-image-format.h): its
 * page-frame message arrives, over the agent, as the first bytes of its
 * stdout; the answer is the pages in guest RAM at those frames
 * (place-pages.c), then SV_RIMG_PFN_SIGNAL to let it go on.
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

/* Silence from the restorer while it locks and maps its staging area. */
#define FRAMES_TIMEOUT_MS 600000

void sv_restore_page_frames_clear(SvRestorePageFrames *f)
{
	g_clear_pointer(&f->msg, g_bytes_unref);
	g_clear_pointer(&f->after, g_bytes_unref);
}

/* Once buf holds the message's header: the whole message's length, in
 * *need (0 until then). */
static gboolean message_length(const GByteArray *buf, gsize *need, GError **error)
{
	struct sv_rimg_pfn_header h;
	if (*need || buf->len < sizeof(h))
		return TRUE;
	memcpy(&h, buf->data, sizeof(h));
	if (memcmp(h.magic, SV_RIMG_PFN_MAGIC, 8) || h.nruns > MAX_PFN_RUNS) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the guest restorer sent no page-frame list");
		return FALSE;
	}
	*need = sizeof(h) + h.nruns * sizeof(struct sv_rimg_pfn_run);
	return TRUE;
}

gboolean sv_restore_wait_page_frames(SvAgentClient *agent, guint32 pid, int err_fd,
				     SvRestorePageFrames *ret, GError **error)
{
	*ret = (SvRestorePageFrames){ .pid = pid };
	g_autoptr(GByteArray) buf = g_byte_array_new();
	gsize need = 0;
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		if (!sv_agent_client_recv(agent, FRAMES_TIMEOUT_MS, &f, error))
			return FALSE;
		guint32 from, stream, n;
		const guint8 *bytes;
		if (f.type == SV_MSG_EXIT) {
			if (!sv_agent_frame_parse_exit(&f, &from, &ret->status, error))
				return FALSE;
			if (from == pid) {
				ret->exited = TRUE;
				return TRUE;
			}
			continue;
		}
		if (f.type != SV_MSG_OUTPUT)
			continue;
		if (!sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, error))
			return FALSE;
		if (from != pid)
			continue;
		if (stream != 1) {
			sv_write_all_fd(err_fd, bytes, n);
			continue;
		}
		g_byte_array_append(buf, bytes, n);
		if (!message_length(buf, &need, error))
			return FALSE;
		if (!need || buf->len < need)
			continue;
		ret->msg = g_bytes_new(buf->data, need);
		ret->after = g_bytes_new(buf->data + need, buf->len - need);
		return TRUE;
	}
}

gboolean sv_restore_answer_page_frames(SvAgentClient *agent, const SvRestorePageFrames *frames,
				       const SvGuestMem *mem, SvSnapshotReader *r,
				       const GArray *runs, int out_fd, guint64 *ret_bytes,
				       GError **error)
{
	g_return_val_if_fail(frames->msg != NULL, FALSE);
	if (!sv_restore_place_pages(mem, r, runs, frames->msg, ret_bytes, error))
		return FALSE;
	/* nothing follows until we answer; anything would be output */
	gsize n;
	const guint8 *after = g_bytes_get_data(frames->after, &n);
	if (n)
		sv_write_all_fd(out_fd, after, n);
	return sv_agent_client_kill(agent, frames->pid, SV_RIMG_PFN_SIGNAL, error);
}
