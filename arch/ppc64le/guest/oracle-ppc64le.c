/* SPDX-License-Identifier: MIT */
/* oracle-ppc64le.c - what the oracle (guest/test-hooks/oracle.c) reads on
 * ppc64le besides the regsets every arch has (r13, the thread pointer, is in
 * NT_PRSTATUS; NT_PRFPREG is f0-f31 and fpscr): the VMX registers in the
 * third slot, the VSX registers' other halves in the fourth. */
#include <elf.h>

#include "guest/agent/test-hooks.h"

const struct oracle_arch oracle_arch = {
	.nt_xstate = NT_PPC_VMX,
	.nt_tls = NT_PPC_VSX,
};
