/* SPDX-License-Identifier: MIT */
/*
 * test-hooks-client.h - the host end of the agent's test-only requests
 * (guest/test-hooks/: MEMPATTERN and ORACLE), for the tests; snapvm itself
 * never sends them and does not link this.
 *
 * Only an agent built with `meson configure -Dtest_hooks=true` serves them
 * (scripts/test.sh builds that one and its images). Sent to the production
 * agent, each request fails with SV_ERROR_NOT_SUPPORTED and a message that
 * says so, never with a result a test could pass on.
 */
#ifndef SNAPVM_TEST_HOOKS_CLIENT_H
#define SNAPVM_TEST_HOOKS_CLIENT_H

#include <glib.h>

#include "host/agent/agent-client.h"

/* Has the agent fill npages of its own memory with sv_pattern_byte(seed, i);
 * returns the guest virtual address and an array of guint64 guest-physical
 * page addresses. */
gboolean sv_agent_client_mempattern(SvAgentClient *client, guint64 seed, guint32 npages,
				    guint64 *ret_vaddr, guint32 *ret_page_size, GArray **ret_phys,
				    GError **error);

/* One memory region of an oracle reply: a line of its maps text. */
typedef struct SvAgentOracleVma {
	guint64 start, end;
	char sha256[65]; /* hex; "" when the region could not be read (or no hashes were asked) */
} SvAgentOracleVma;

/*
 * What ptrace and /proc say about a process (see SV_MSG_ORACLE). The
 * register sets are the kernel's raw regset bytes: nt_prstatus is
 * user_regs_struct (x86_64) or user_pt_regs (aarch64), nt_prfpreg
 * fxregs_state or user_fpsimd_state; nt_x86_xstate and nt_arm_tls are
 * empty on the other arch.
 */
typedef struct SvAgentOracle {
	GBytes *nt_prstatus;
	GBytes *nt_prfpreg;
	GBytes *nt_x86_xstate;
	GBytes *nt_arm_tls;
	char *maps_text;
	GArray *vmas; /* SvAgentOracleVma, in maps order */
	/* "FD POS FLAGS TARGET" lines (SV_MSG_ORACLE_REPLY); NULL from an
	 * agent that does not send them */
	char *fds_text;
} SvAgentOracle;

void sv_agent_oracle_free(SvAgentOracle *oracle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvAgentOracle, sv_agent_oracle_free)

/* Decodes an SV_MSG_ORACLE_REPLY payload. */
SvAgentOracle *sv_agent_parse_oracle_reply(GBytes *payload, GError **error);

/* Has the agent ptrace-stop pid, read it and let it go (flags: SV_ORACLE_*).
 * Hashing every region of a big process takes a while under TCG: this waits
 * up to ORACLE_TIMEOUT_MS (120 s). */
SvAgentOracle *sv_agent_client_oracle(SvAgentClient *client, guint32 pid, guint32 flags,
				      GError **error);

#endif
