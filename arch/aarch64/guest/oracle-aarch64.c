/* SPDX-License-Identifier: MIT */
/* oracle-aarch64.c - what the oracle (guest/test-hooks/oracle.c) reads on
 * aarch64 besides the regsets every arch has; the build links the guest
 * arch's file into an agent with test hooks. NT_PRFPREG is
 * user_fpsimd_state. */
#include <elf.h>

#include "guest/agent/test-hooks.h"

const struct oracle_arch oracle_arch = {
	.nt_xstate = 0,
	.nt_tls = NT_ARM_TLS, /* tpidr_el0 (and tpidr2_el0 where SME exists) */
};
