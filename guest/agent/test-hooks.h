/* SPDX-License-Identifier: MIT */
/*
 * test-hooks.h - requests only the tests send, served by an agent built
 * with `meson configure -Dtest_hooks=true` (scripts/test.sh does that):
 * MEMPATTERN (guest/test-hooks/mempattern.c: memory whose guest-physical pages the host can
 * check) and ORACLE (guest/test-hooks/oracle.c: what ptrace and /proc say about any
 * process, for the tests to check snapvm's reading of it against). The
 * production agent (the default build) has neither: it must not ptrace a
 * process because someone asked on the channel. It answers those types as
 * any type it does not serve (ENOSYS).
 *
 * The agent reaches the hooks through the three functions below only.
 * Built without them (no SNAPVM_TEST_HOOKS) they are empty inlines, and no
 * file of guest/test-hooks/ is compiled in. This header is the agent's
 * (the hooks include it, the agent does not include theirs), so the
 * include graph runs one way: test-hooks -> agent.
 */
#ifndef SNAPVM_TEST_HOOKS_H
#define SNAPVM_TEST_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest/agent/agent.h"

/* The largest payload of a test-only request type; 0 for any other type
 * (and for every type without the hooks). Inline, so channel.c, which the
 * hooks send through, needs no file of theirs. */
static inline uint32_t test_hooks_max_payload(uint16_t type)
{
#ifdef SNAPVM_TEST_HOOKS
	switch (type) {
	case SV_MSG_MEMPATTERN:
		return 12;
	case SV_MSG_ORACLE:
		return 8;
	}
#endif
	return 0;
}

#ifdef SNAPVM_TEST_HOOKS

/* ---- test-hooks.c: the agent's calls ---- */
/* Serves f if it is a test-only request (true), else leaves it (false). */
bool test_hooks_serve(struct channel *ch, const struct frame *f);
/* waitpid(-1) reported a ptrace stop of pid: a tracee the oracle gave up
 * waiting for, to be let go. */
void test_hooks_child_stopped(pid_t pid, int status);

/* ---- mempattern.c ---- */
void mempattern_reply(struct channel *ch, uint32_t tag, uint64_t seed, uint32_t npages);

/* ---- oracle.c ---- */
void oracle_reply(struct channel *ch, uint32_t tag, const struct sv_oracle_req *req);
/* Detaches from pid if it is a tracee that did not stop in time. */
void oracle_stray_stop(pid_t pid, int status);

/* ---- arch/<arch>/guest/oracle-<arch>.c: the regsets the oracle reads
 * besides NT_PRSTATUS and NT_PRFPREG (0: none) ---- */
struct oracle_arch {
	unsigned nt_xstate; /* NT_X86_XSTATE on x86_64; NT_PPC_VMX on ppc64le */
	unsigned nt_tls;    /* NT_ARM_TLS (tpidr_el0) on aarch64; NT_PPC_VSX on ppc64le */
};
extern const struct oracle_arch oracle_arch;

#else /* the production agent */

static inline bool test_hooks_serve(struct channel *ch, const struct frame *f)
{
	return false;
}

/* Nothing is traced, so waitpid(-1) reports no stops. */
static inline void test_hooks_child_stopped(pid_t pid, int status)
{
}

#endif

#endif
