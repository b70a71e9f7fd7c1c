/* SPDX-License-Identifier: MIT */
/* ppc64le-private.h - the hooks of ppc64le-gdb.c, listed in the ops table
 * in ppc64le.c. */
#ifndef SNAPVM_PPC64LE_PRIVATE_H
#define SNAPVM_PPC64LE_PRIVATE_H

#include "snapvm/arch.h"

/* The FP regset (NT_PRFPREG): f0-f31 and fpscr, 64 bits each. */
#define SV_PPC64LE_FPU_SIZE (33 * 8)

gboolean sv_ppc64le_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
