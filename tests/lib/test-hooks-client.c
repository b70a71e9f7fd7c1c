/* SPDX-License-Identifier: MIT */
/* test-hooks-client.c - the agent's test-only requests, host end; see
 * test-hooks-client.h. */
#include "tests/lib/test-hooks-client.h"

#include <string.h>

#include "base/errors.h"

/* An oracle hashes every region of a process in the guest: slow under TCG. */
#define ORACLE_TIMEOUT_MS 120000

/* sv_agent_client_request for a test-only request: the production agent
 * does not serve the type (SV_ERROR_NOT_SUPPORTED), which is a build set up
 * wrongly for these tests, and the error says how to set it up. */
static gboolean hooks_request(SvAgentClient *client, guint16 type, const char *what,
			      const void *payload, gsize len, guint16 want_type, guint timeout_ms,
			      SvAgentFrame *frame, struct sv_rbuf *r, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (sv_agent_client_request(client, type, payload, len, want_type, timeout_ms, frame, r,
				    &local))
		return TRUE;
	if (g_error_matches(local, SV_ERROR, SV_ERROR_NOT_SUPPORTED)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the guest's agent has no test hooks, so no %s (%s): build it with "
			    "them, `meson configure BUILD_DIR -Dtest_hooks=true` and "
			    "`SNAPVM_TEST_HOOKS=1 scripts/setup.sh` for its images "
			    "(scripts/test.sh does both)",
			    what, local->message);
		return FALSE;
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

gboolean sv_agent_client_mempattern(SvAgentClient *client, guint64 seed, guint32 npages,
				    guint64 *ret_vaddr, guint32 *ret_page_size, GArray **ret_phys,
				    GError **error)
{
	guint8 buf[12];
	sv_put_le64(buf, seed);
	sv_put_le32(buf + 8, npages);
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!hooks_request(client, SV_MSG_MEMPATTERN, "MEMPATTERN", buf, sizeof(buf),
			   SV_MSG_MEMPATTERN_REPLY, SV_AGENT_REQUEST_TIMEOUT_MS, &f, &r, error))
		return FALSE;
	gsize len = r.len;
	guint64 vaddr = sv_rbuf_u64(&r);
	guint32 page_size = sv_rbuf_u32(&r);
	guint32 count = sv_rbuf_u32(&r);
	if (r.bad || count != npages || (gsize)count * 8 != len - r.off) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed MEMPATTERN reply (%u pages for %u asked)",
			    count, npages);
		return FALSE;
	}
	g_autoptr(GArray) phys = g_array_sized_new(FALSE, FALSE, sizeof(guint64), count);
	for (guint32 i = 0; i < count; i++) {
		guint64 pa = sv_rbuf_u64(&r);
		g_array_append_val(phys, pa);
	}
	*ret_vaddr = vaddr;
	*ret_page_size = page_size;
	*ret_phys = g_steal_pointer(&phys);
	return TRUE;
}

void sv_agent_oracle_free(SvAgentOracle *oracle)
{
	if (!oracle)
		return;
	g_clear_pointer(&oracle->nt_prstatus, g_bytes_unref);
	g_clear_pointer(&oracle->nt_prfpreg, g_bytes_unref);
	g_clear_pointer(&oracle->nt_x86_xstate, g_bytes_unref);
	g_clear_pointer(&oracle->nt_arm_tls, g_bytes_unref);
	g_free(oracle->maps_text);
	g_free(oracle->fds_text);
	g_clear_pointer(&oracle->vmas, g_array_unref);
	g_free(oracle);
}

static GBytes *rbuf_gbytes(struct sv_rbuf *r)
{
	guint32 n;
	const guint8 *p = sv_rbuf_bytes(r, &n);
	return g_bytes_new(p, p ? n : 0);
}

SvAgentOracle *sv_agent_parse_oracle_reply(GBytes *payload, GError **error)
{
	gsize len = 0;
	const guint8 *data = payload ? g_bytes_get_data(payload, &len) : NULL;
	struct sv_rbuf r;
	sv_rbuf_init(&r, data, len);
	g_autoptr(SvAgentOracle) o = g_new0(SvAgentOracle, 1);
	o->nt_prstatus = rbuf_gbytes(&r);
	o->nt_prfpreg = rbuf_gbytes(&r);
	o->nt_x86_xstate = rbuf_gbytes(&r);
	o->nt_arm_tls = rbuf_gbytes(&r);
	guint32 maps_len;
	const guint8 *maps = sv_rbuf_bytes(&r, &maps_len);
	guint32 n = sv_rbuf_u32(&r);
	/* each region is at least 20 bytes: a larger count is a lie */
	if (r.bad || n > (len - r.off) / 20 || (maps && memchr(maps, '\0', maps_len))) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed ORACLE reply (%" G_GSIZE_FORMAT " bytes)", len);
		return NULL;
	}
	o->maps_text = g_strndup((const char *)maps, maps_len);
	guint lines = 0;
	for (const char *c = o->maps_text; *c; c++)
		lines += *c == '\n';
	if (lines != n) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent's ORACLE reply has %u regions for %u lines of maps", n, lines);
		return NULL;
	}
	o->vmas = g_array_sized_new(FALSE, TRUE, sizeof(SvAgentOracleVma), n);
	for (guint32 i = 0; i < n; i++) {
		SvAgentOracleVma v = { 0 };
		v.start = sv_rbuf_u64(&r);
		v.end = sv_rbuf_u64(&r);
		guint32 hl;
		const guint8 *h = sv_rbuf_bytes(&r, &hl);
		if (r.bad || (hl != 0 && hl != 64)) {
			r.bad = TRUE;
			break;
		}
		for (guint32 k = 0; k < hl; k++) {
			if (!g_ascii_isxdigit(h[k]) || g_ascii_isupper(h[k]))
				r.bad = TRUE;
		}
		memcpy(v.sha256, h, hl);
		v.sha256[hl] = '\0';
		g_array_append_val(o->vmas, v);
	}
	if (!r.bad && r.off < len) {
		guint32 fl;
		const guint8 *f = sv_rbuf_bytes(&r, &fl);
		if (f && memchr(f, '\0', fl))
			r.bad = TRUE;
		else if (!r.bad)
			o->fds_text = g_strndup((const char *)f, fl);
	}
	if (!sv_rbuf_done(&r)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "agent sent a malformed ORACLE reply (%" G_GSIZE_FORMAT " bytes)", len);
		return NULL;
	}
	return g_steal_pointer(&o);
}

SvAgentOracle *sv_agent_client_oracle(SvAgentClient *client, guint32 pid, guint32 flags,
				      GError **error)
{
	guint8 buf[8];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_oracle_req_encode(&w, pid, flags);
	struct sv_oracle_req check;
	if (!sv_oracle_req_decode(buf, w.len, &check)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "ORACLE: pid %u or flags 0x%x not accepted (pid > 1, flags SV_ORACLE_*)",
			    pid, flags);
		return NULL;
	}
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!hooks_request(client, SV_MSG_ORACLE, "ORACLE", buf, w.len, SV_MSG_ORACLE_REPLY,
			   ORACLE_TIMEOUT_MS, &f, &r, error))
		return NULL;
	return sv_agent_parse_oracle_reply(f.payload, error);
}
