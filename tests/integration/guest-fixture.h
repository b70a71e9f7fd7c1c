/* SPDX-License-Identifier: MIT */
/*
 * guest-fixture.h - boots one real guest for a test program (through the
 * same machine interface and agent client snapvm uses) and runs workloads
 * in it. Each test program gets its own state dir, so programs run in
 * parallel without seeing each other's VMs.
 */
#ifndef SNAPVM_GUEST_FIXTURE_H
#define SNAPVM_GUEST_FIXTURE_H

#include "host/agent/agent-client.h"
#include "host/machine/machine.h"

typedef struct SvTestGuest {
	const SvArchOps *arch;
	SvMachine *machine;
	SvAgentClient *agent;
	SvAgentInfo info;
	double boot_ms; /* machine start to agent handshake */
} SvTestGuest;

/* Points SNAPVM_STATE_DIR at a fresh temp dir for this process (once). */
const char *sv_test_state_dir(void);
/* Removes the state dir and every VM in it; call at the end of main. */
void sv_test_state_dir_cleanup(void);

/* Boots a guest of arch with the named test workloads in /workload/. */
SvTestGuest *sv_test_guest_boot(const char *arch, const char *const *workloads, GError **error);
void sv_test_guest_free(SvTestGuest *g); /* stops the VM */

/* Runs argv in the guest and collects its stdout until it exits. */
char *sv_test_guest_run(SvTestGuest *g, const char *const *argv, int *ret_wait_status,
			GError **error);

/* Collects the stdout of guest process pid, started by the agent on
 * g->agent, until it exits (other processes' output is passed over). */
char *sv_test_guest_collect(SvTestGuest *g, guint32 pid, int *ret_wait_status, GError **error);

/* Takes "--arch ARCH" out of argv (before g_test_init, which would refuse
 * it); returns ARCH, or fallback without one. Takes "--kernel SUITE" too:
 * the guests (and the snapvm commands the test runs) then boot the images
 * images/build-image.sh --kernel SUITE made, in the cache's images-SUITE/
 * (SNAPVM_IMAGE_DIR, unless already set). */
const char *sv_test_take_arch(int *argc, char **argv, const char *fallback);

/* Takes every "-p PATH" out of argv (call before g_test_init): GLib's own
 * -p prints a TAP plan per path, which meson reads as an error, so a test
 * program adds only the tests sv_test_wanted accepts and prints one plan. */
void sv_test_take_paths(int *argc, char **argv);

/* The number (its whole part) named key in a snapvm --json output, the
 * first found depth first, or -1 when the output is not JSON or has no such member. */
gint64 sv_test_json_int(const char *json, const char *key);
/* Whether path was asked for with -p, or lies under one (all if none). */
gboolean sv_test_wanted(const char *path);

/* What the snapvm binary under test did. */
typedef struct {
	int status; /* exit status, -1 if a signal ended it */
	char *out;
	char *err;
} SvTestCmd;
void sv_test_cmd_clear(SvTestCmd *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvTestCmd, sv_test_cmd_clear)
/* Runs the build's snapvm with args (NULL-terminated) and waits for it. */
SvTestCmd sv_test_snapvm(const char *const *args);
/* The same with environment envp (NULL: ours). */
SvTestCmd sv_test_snapvm_env(const char *const *args, char **envp);

/* Loads the host: n processes that spin until sv_test_host_load_stop
 * kills them by pid (they die with the test process too). The clock tests
 * run their guests under it: on a 2-core machine 3 of them take most of
 * the CPU from QEMU, as a busy CI machine does. */
GArray *sv_test_host_load_start(guint n);
void sv_test_host_load_stop(GArray *pids);

/* Runs a host program and returns its stdout (asserting it exits 0). */
char *sv_test_host_output(const char *const *argv);

#endif
