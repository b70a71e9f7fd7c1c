/* SPDX-License-Identifier: MIT */
/* kvm-machine.h - the "kvm" backend: snapvm's own VMM on /dev/kvm, one
 * process per VM (vmm-process.h describes its parts). Other code reaches
 * it through its entry in the backend table (sv_kvm_backend,
 * host/machine/machine-backend.h). */
#ifndef SNAPVM_KVM_MACHINE_H
#define SNAPVM_KVM_MACHINE_H

#include "host/machine/machine.h"

/* The VMM's control socket in the VM's directory (protocol in control.c);
 * not the agent's control port. */
#define SV_KVM_VMM_CONTROL_SOCKET "control.sock"

/* The VMM process's body (vmm-process.c); reports on status_fd, never
 * returns. */
G_NORETURN void sv_kvm_vmm_main(const SvMachine *m, const SvMachineConfig *config, int status_fd);

#endif
