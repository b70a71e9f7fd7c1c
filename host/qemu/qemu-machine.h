/* SPDX-License-Identifier: MIT */
/* qemu-machine.h - the "qemu" backend: libvirt driving QEMU (TCG). */
#ifndef SNAPVM_QEMU_MACHINE_H
#define SNAPVM_QEMU_MACHINE_H

#include "host/machine/machine.h"

/* Defines and starts the domain. */
gboolean sv_qemu_machine_create(SvMachine *m, const SvMachineConfig *config, GError **error);

/* For the rest of host/qemu/: an HMP command line run through QMP, its
 * output (cpu >= 0: the vCPU it acts on, as for "info registers"); and
 * whether QEMU runs the guest (QMP query-status), whatever libvirt thinks. */
char *sv_qemu_machine_hmp(SvMachine *m, const char *command_line, gint cpu, GError **error);
gboolean sv_qemu_machine_running(SvMachine *m, gboolean *ret_running, GError **error);

#endif
