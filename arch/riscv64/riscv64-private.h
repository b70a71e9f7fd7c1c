/* SPDX-License-Identifier: MIT */
/* riscv64-private.h - the hooks of riscv64-state.c and riscv64-gdb.c,
 * listed in the ops table in riscv64.c. */
#ifndef SNAPVM_RISCV64_PRIVATE_H
#define SNAPVM_RISCV64_PRIVATE_H

#include "snapvm/arch.h"

/* struct __riscv_d_ext_state (NT_PRFPREG, the snapshot's "riscv-d" FPU
 * format): f0-f31, 64 bits each, then fcsr, 32 bits. */
#define SV_RISCV64_FPU_SIZE (32 * 8 + 4)

/* The gdb_vcpu_regs hook (riscv64-gdb.c). */
gboolean sv_riscv64_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
