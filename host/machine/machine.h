/* SPDX-License-Identifier: MIT */
/*
 * machine.h - the one machine interface every backend implements.
 *
 * A machine is a running guest that snapvm started. Several snapvm processes
 * may work with the same machine at once (one streams a workload's output
 * while another pauses it to checkpoint), so a machine is found by name
 * through its record in the state dir (<state>/vms/<name>/vm.ini), and a
 * backend never requires that the process that started a machine is the one
 * that controls it.
 *
 *   backend "qemu": libvirt driving QEMU (TCG, any arch) - host/qemu/
 *   backend "kvm":  snapvm's own VMM on /dev/kvm         - host/kvm/
 *
 * The backends are listed in one table (machine-backend.h).
 */
#ifndef SNAPVM_MACHINE_H
#define SNAPVM_MACHINE_H

#include <glib.h>

#include "snapvm/arch.h"
#include "base/guest-mem.h"

/* CPU model names with a meaning of their own, as in QEMU: every feature
 * the accelerator can give, and the host's CPU passed through. */
#define SV_CPU_MAX "max"
#define SV_CPU_HOST "host"

/* What to start. Plain data: nothing here is live. */
typedef struct SvMachineConfig {
	const SvArchOps *arch;
	const char *name;
	const char *accel; /* "tcg" | "kvm" | "auto" */
	guint memory_mib;
	guint vcpus;
	const char *cpu_model; /* NULL: the arch's portable default; a QEMU model,
				* SV_CPU_MAX or SV_CPU_HOST */
	const char *image_dir; /* the guest image booted (introspection reads its kernel) */
	const char *kernel;
	const char *initrd;
	const char *cmdline_extra;
	/* A raw disk image given to the guest read-only as its first virtio
	 * block device (/dev/vda): a root filesystem image. NULL: no disk. */
	const char *disk;
	const char *connect_uri; /* libvirt URI; NULL: embedded driver under the state dir */
	/* Start from this saved state (a file sv_machine_save wrote) instead
	 * of booting: the guest carries on where it was saved. The rest of
	 * the config must be the saved machine's, its name aside. NULL: boot. */
	const char *saved_state;
	/* The machine's UUID (the backend's own choice when NULL). libvirt
	 * starts a saved state only under the UUID it was saved with. */
	const char *uuid;
} SvMachineConfig;

typedef struct SvMachine SvMachine;
typedef struct SvMachineBackend SvMachineBackend; /* machine-backend.h */

typedef enum {
	SV_MACHINE_RUNNING,
	SV_MACHINE_PAUSED,
	SV_MACHINE_STOPPED, /* no longer exists in the backend */
	SV_MACHINE_OTHER,
} SvMachineState;

typedef struct SvMachineOps {
	const char *backend;
	/* Required. */
	gboolean (*pause)(SvMachine *m, GError **error);
	gboolean (*resume)(SvMachine *m, GError **error);
	/* Stops the guest at once and forgets it; succeeds if already gone. */
	gboolean (*stop)(SvMachine *m, GError **error);
	SvMachineState (*get_state)(SvMachine *m, GError **error);
	/* Read-only view of guest RAM (see guest-mem.h). */
	SvGuestMem *(*map_ram)(SvMachine *m, GError **error);
	gboolean (*read_vcpu_regs)(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error);
	/* Optional (NULL: the backend has none): the hypervisor's log of the
	 * guest RAM pages written, with the machine paused. The first call
	 * turns it on (*ret_bits NULL); each later one gives the pages written
	 * since the call before, whose mark is *ret_prev_mark: one bit per
	 * guest-physical page (bit i of word w: the page at (64w + i) * 4096),
	 * little-endian 64-bit words. Every call remembers mark for the next. */
	gboolean (*dirty_log)(SvMachine *m, const char *mark, char **ret_prev_mark,
			      GBytes **ret_bits, GError **error);
	/* Optional (NULL: the backend cannot): saves the machine's whole state
	 * (RAM, devices, vCPUs) into the file path, which is made afresh, and
	 * ends the machine; SvMachineConfig.saved_state starts it again. */
	gboolean (*save)(SvMachine *m, const char *path, GError **error);
	/* Gives up exclusive control so other snapvm processes can act on the
	 * machine; the next operation takes it again. */
	void (*release_control)(SvMachine *m);
	void (*free_backend)(SvMachine *m);
} SvMachineOps;

/* Fields every backend shares; a backend embeds this as its first member. */
struct SvMachine {
	const SvMachineOps *ops;
	const SvArchOps *arch;
	char *name;
	char *vm_dir;
	char *agent_socket; /* stream socket bridged to the agent's port */
	/* stream socket bridged to the agent's control port
	 * (SV_AGENT_CONTROL_PORT_NAME), agent-control.sock */
	char *agent_control_socket;
	char *console_log;
	char *connect_uri; /* NULL for the default */
	char *image_dir;   /* the guest image it booted, NULL if unknown */
	char *disk;	   /* its root filesystem image's disk (SvMachineConfig.disk) or NULL */
	guint memory_mib;
};

/* Starts a new machine; its record and vm_dir are created first, and
 * removed again if the start fails. */
SvMachine *sv_machine_start(const SvMachineConfig *config, GError **error);
/* Which backend sv_machine_start would start config on, checked before
 * anything starts: --accel kvm or tcg that backend (or why it cannot), auto
 * the kvm VMM only for the portable CPU model (the only one it presents)
 * on a host whose KVM offers all of it, else QEMU under TCG; a CPU model
 * that no backend can give (host under TCG, any named model under --accel
 * kvm) fails with what to use instead. */
const SvMachineBackend *sv_machine_choose_backend(const SvMachineConfig *config, GError **error);
/* backend's SvMachineBackend.saved_state_identity for arch: NULL when it
 * cannot save a machine. */
char *sv_machine_saved_state_identity(const SvMachineBackend *backend, const SvArchOps *arch);
/* Finds a machine some snapvm process started. */
SvMachine *sv_machine_open(const char *name, GError **error);
void sv_machine_free(SvMachine *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvMachine, sv_machine_free)

/* For introspection: the VM exists (running or paused) and recorded the
 * image it booted. *ret_state says which. */
gboolean sv_machine_check_introspectable(SvMachine *m, SvMachineState *ret_state, GError **error);
gboolean sv_machine_pause(SvMachine *m, GError **error);
gboolean sv_machine_resume(SvMachine *m, GError **error);
SvMachineState sv_machine_get_state(SvMachine *m, GError **error);
const char *sv_machine_state_str(SvMachineState s);
SvGuestMem *sv_machine_map_ram(SvMachine *m, GError **error);
gboolean sv_machine_read_vcpu_regs(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error);
/* SvMachineOps.dirty_log; fails with SV_ERROR_NOT_SUPPORTED where the
 * backend has none. */
gboolean sv_machine_dirty_log(SvMachine *m, const char *mark, char **ret_prev_mark,
			      GBytes **ret_bits, GError **error);
void sv_machine_release_control(SvMachine *m);
/* SvMachineOps.save, then the record and vm_dir removed as by
 * sv_machine_stop; fails with SV_ERROR_NOT_SUPPORTED where the backend
 * cannot save (the machine then runs on). */
gboolean sv_machine_save(SvMachine *m, const char *path, GError **error);
/* Stops the machine and removes its record and vm_dir. If keep_console is
 * set, the console log is moved to <state>/logs/<name>.console.log first and
 * its path returned in *ret_kept_log. */
gboolean sv_machine_stop(SvMachine *m, gboolean keep_console, char **ret_kept_log, GError **error);

/* Names of every machine with a record, sorted. */
GPtrArray *sv_machine_list_names(GError **error);

#endif
