/* SPDX-License-Identifier: MIT */
/* oracle-x86_64.c - what the oracle (guest/test-hooks/oracle.c) reads on
 * x86_64 besides the regsets every arch has; the build links the guest
 * arch's file into an agent with test hooks. */
#include <elf.h>

#include "guest/agent/test-hooks.h"

const struct oracle_arch oracle_arch = {
	.nt_xstate = NT_X86_XSTATE,
	.nt_tls = 0, /* fs_base/gs_base are in user_regs_struct */
};
