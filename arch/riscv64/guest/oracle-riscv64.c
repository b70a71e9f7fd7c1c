/* SPDX-License-Identifier: MIT */
/* oracle-riscv64.c - what the oracle (guest/test-hooks/oracle.c) reads on
 * riscv64 besides the regsets every arch has: nothing (tp is x4 in
 * user_regs_struct; NT_PRFPREG is f0-f31 and fcsr). */
#include "guest/agent/test-hooks.h"

const struct oracle_arch oracle_arch = {
	.nt_xstate = 0,
	.nt_tls = 0,
};
