/* SPDX-License-Identifier: MIT */
/* arch-x86_64.c - the agent's per-arch table for x86_64 (the build picks
 * one arch-<arch>.c per agent binary). */
#include <elf.h>

#include "guest/agent/agent.h"

const struct agent_arch agent_arch = {
	.name = "x86_64",
	.nt_xstate = NT_X86_XSTATE,
	.nt_tls = 0, /* fs_base/gs_base are in user_regs_struct */
};
