/* SPDX-License-Identifier: MIT */
/* kvm-machine.h - the "kvm" backend: snapvm's own VMM on /dev/kvm, one
 * process per VM (vmm-process.h describes its parts). */
#ifndef SNAPVM_KVM_MACHINE_H
#define SNAPVM_KVM_MACHINE_H

#include "host/machine/machine.h"

/* Whether this host can run guests of arch under KVM: the VMM has a board
 * for the arch (SvArchOps.kvm), the arch is the host's and /dev/kvm opens.
 * FALSE with a reason (and what to use instead) otherwise. */
gboolean sv_kvm_available(const SvArchOps *arch, GError **error);
/* Can this host's KVM present the whole portable CPU model of arch's board
 * (so that what runs under it restores under TCG and elsewhere)? --accel
 * auto takes KVM only then: a nested or old KVM that offers less runs
 * slower and makes snapshots of a lesser CPU. Only for an arch
 * sv_kvm_available accepted. */
gboolean sv_kvm_offers_cpu_model(const SvArchOps *arch, GError **error);

SvMachine *sv_kvm_machine_new(const SvArchOps *arch, const char *name, guint memory_mib);
/* Forks the VMM process and waits until it has built the VM (or says why
 * it could not). */
gboolean sv_kvm_machine_create(SvMachine *m, const SvMachineConfig *config, GError **error);

/* The VMM process's body (vmm-process.c); reports on status_fd, never returns. */
G_NORETURN void sv_kvm_vmm_main(const SvMachine *m, const SvMachineConfig *config,
				int status_fd);

#endif
