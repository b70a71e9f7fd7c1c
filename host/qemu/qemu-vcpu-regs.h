/* SPDX-License-Identifier: MIT */
/*
 * qemu-vcpu-regs.h - a paused vCPU's registers on the qemu backend.
 *
 * Registers come from QEMU's gdbstub, a documented protocol, rather than
 * from "info registers", a text for people that changes between QEMU
 * versions. The stub is started for one read on a unix socket in the VM
 * directory and stopped again after it: nothing listens while the VM runs.
 * A client connecting stops a running VM and detaching resumes it, both
 * behind libvirt's back, so the VM must be paused already, the client never
 * detaches (gdbstub.h), and QEMU is asked afterwards whether the VM is
 * still paused. What a stub lacks an arch may still read as HMP text
 * (SvGdbRegReader.monitor_text): only x86_64 does, for the x87 tag word and
 * the AVX upper halves (arch/x86_64/x86_64-gdb.c).
 */
#ifndef SNAPVM_QEMU_VCPU_REGS_H
#define SNAPVM_QEMU_VCPU_REGS_H

#include "host/qemu/qemu-machine.h"

/* The read_vcpu_regs operation: vCPU cpu (QEMU's index) of a paused VM,
 * through the arch's gdb_vcpu_regs. Fails, touching nothing, if the VM
 * runs. */
gboolean sv_qemu_vcpu_regs_read(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error);

#endif
