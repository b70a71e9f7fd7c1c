/* SPDX-License-Identifier: MIT */
/* arch-aarch64.c - the agent's per-arch table for aarch64 (the build picks
 * one arch-<arch>.c per agent binary). NT_PRFPREG is user_fpsimd_state. */
#include <elf.h>

#include "guest/agent/agent.h"

const struct agent_arch agent_arch = {
	.name = "aarch64",
	.nt_xstate = 0,
	.nt_tls = NT_ARM_TLS, /* tpidr_el0 (and tpidr2_el0 where SME exists) */
};
