/* SPDX-License-Identifier: MIT */
/* oracle-ppc64le.c - what the oracle (guest/test-hooks/oracle.c) reads on
 * ppc64le besides the regsets every arch has: nothing yet (r13, the thread
 * pointer, is in NT_PRSTATUS; NT_PRFPREG is f0-f31 and fpscr). */
#include "guest/agent/test-hooks.h"

const struct oracle_arch oracle_arch = {
	.nt_xstate = 0,
	.nt_tls = 0,
};
