/* SPDX-License-Identifier: MIT */
/*
 * machine-backend.h - the table of machine backends.
 *
 * Each backend (host/kvm/, host/qemu/) defines one entry; machine.c walks
 * the table to choose a backend for --accel and to find the one a VM's
 * record names, so it includes no backend's header.
 */
#ifndef SNAPVM_MACHINE_BACKEND_H
#define SNAPVM_MACHINE_BACKEND_H

#include "host/machine/machine.h"

struct SvMachineBackend {
	const char *name;  /* in the VM record and SvMachineOps.backend: "kvm" */
	const char *accel; /* the --accel value that asks for it: "kvm", "tcg" */
	/* Presents only the arch's portable CPU model (SvQemuBoard.default_cpu),
	 * whatever the config's cpu_model. */
	gboolean portable_cpu_only;
	/* Can config run on this backend on this host? FALSE with why and what
	 * to use instead. NULL: always. */
	gboolean (*available)(const SvMachineConfig *config, GError **error);
	/* For --accel auto, once available: is it the better choice for config
	 * than the backends after it? NULL: yes. */
	gboolean (*preferred)(const SvMachineConfig *config);
	/* A handle on a machine (one to create, or one a record names) is an
	 * instance_size struct that starts with an SvMachine, zeroed, whose
	 * shared fields machine.c fills; opened then fills the backend's own
	 * from them (NULL: none). The backends call nothing of machine.c, so
	 * the table here is the only edge between them. */
	gsize instance_size;
	const SvMachineOps *ops;
	void (*opened)(SvMachine *m);
	/* Creates the machine m is a handle on, as config says; returns when
	 * it runs (or with why it could not). */
	gboolean (*create)(SvMachine *m, const SvMachineConfig *config, GError **error);
	/* What a state it saved (SvMachineOps.save) depends on besides the
	 * config: its emulator's binary, its library versions; one line of
	 * text, newly allocated. NULL: it saves none. */
	char *(*saved_state_identity)(const SvArchOps *arch);
};

extern const SvMachineBackend sv_kvm_backend;  /* host/kvm/kvm-machine.c */
extern const SvMachineBackend sv_qemu_backend; /* host/qemu/qemu-machine.c */

#endif
