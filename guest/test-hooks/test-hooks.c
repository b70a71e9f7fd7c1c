/* SPDX-License-Identifier: MIT */
/*
 * test-hooks.c - the test hooks' side of the agent's calls (test-hooks.h):
 * decoding a test-only request and handing it to its file, and the stops
 * of the oracle's tracees that the agent's reaping sees.
 */
#include <errno.h>

#include "guest/agent/test-hooks.h"

bool test_hooks_serve(struct channel *ch, const struct frame *f)
{
	switch (f->hdr.type) {
	case SV_MSG_MEMPATTERN: {
		struct sv_rbuf r;
		sv_rbuf_init(&r, f->payload, f->hdr.length);
		uint64_t seed = sv_rbuf_u64(&r);
		uint32_t npages = sv_rbuf_u32(&r);
		if (!sv_rbuf_done(&r))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed MEMPATTERN request");
		else
			mempattern_reply(ch, f->hdr.tag, seed, npages);
		return true;
	}
	case SV_MSG_ORACLE: {
		struct sv_oracle_req req;
		if (!sv_oracle_req_decode(f->payload, f->hdr.length, &req))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed ORACLE request (pid > 1, known flags)");
		else
			oracle_reply(ch, f->hdr.tag, &req);
		return true;
	}
	default:
		return false;
	}
}

void test_hooks_child_stopped(pid_t pid, int status)
{
	oracle_stray_stop(pid, status);
}
