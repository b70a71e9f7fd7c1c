/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the snapvm subcommands. Each lives in its own cli-<name>.c and is
 * the only layer that prints for the user or picks an exit status.
 *
 * Exit status: a subcommand's own result (for `run`, the workload's status:
 * its exit code, or 128+signal), SV_EXIT_FAILURE when snapvm itself failed,
 * SV_EXIT_USAGE for bad arguments, SV_EXIT_INTERRUPTED after Ctrl-C.
 */
#ifndef SNAPVM_CLI_H
#define SNAPVM_CLI_H

#include <glib.h>

#include "host/agent/agent-client.h"
#include "host/image/image.h"
#include "host/machine/machine.h"
#include "host/pool/pool-base.h"

#define SV_EXIT_FAILURE 125
#define SV_EXIT_USAGE 2
#define SV_EXIT_INTERRUPTED 130

int sv_cmd_run(int argc, char **argv);
int sv_cmd_image(int argc, char **argv);
int sv_cmd_list(int argc, char **argv);
int sv_cmd_stop(int argc, char **argv);
int sv_cmd_inspect(int argc, char **argv);
int sv_cmd_ps(int argc, char **argv);
int sv_cmd_checkpoint(int argc, char **argv);
int sv_cmd_restore(int argc, char **argv);
int sv_cmd_pool(int argc, char **argv);
int sv_cmd_lab(int argc, char **argv);

/*
 * Guest and snapshot strings reach people only through
 * sv_text_for_terminal() (host/util/text-escape.h): the messages of these
 * printers are escaped whole; every other printf of such a string escapes
 * it first. Workload output streams raw: it is the program's own.
 */
/* Prints "snapvm <cmd>: <message>" to stderr, the message escaped. */
void sv_cli_error(const char *cmd, const GError *error);
/* Parses argv with options; on failure prints the error and a hint. */
gboolean sv_cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv);
/* Prints the builder's JSON on stdout with a newline. */
typedef struct _JsonBuilder JsonBuilder;
void sv_cli_print_json(JsonBuilder *builder, gboolean pretty);
/* Milliseconds since the process started, for --verbose timings. */
double sv_cli_elapsed_ms(void);
/* With on (--verbose): "snapvm <cmd>: [ms] message" on stderr, escaped. */
void sv_cli_verbose(gboolean on, const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* What `run` and `restore` share (cli-vm.c, cli-boot.c). */

/* Under TCG on a busy 2-core machine a boot takes seconds; two minutes
 * means the guest is not coming up. */
#define SV_CLI_BOOT_TIMEOUT_MS 120000
/* memory_mib when --memory was not given */
#define SV_CLI_MEMORY_DEFAULT (-1)

/* The options of the VM both commands boot; each command has its own
 * option table (the help texts differ) pointing into this. */
typedef struct SvCliVmOptions {
	char *arch;
	char *accel; /* tcg, kvm, auto; NULL for auto */
	char *cpu;
	char *name;
	char *image;
	char *connect;
	char *append;
	gint memory_mib; /* SV_CLI_MEMORY_DEFAULT: the command's default */
	gboolean detach;
	gboolean json;
	gboolean verbose;
} SvCliVmOptions;
/* clang-format off */
#define SV_CLI_VM_OPTIONS_INIT { .memory_mib = SV_CLI_MEMORY_DEFAULT }
/* clang-format on */
void sv_cli_vm_options_clear(SvCliVmOptions *o);
/* --help text of --cpu after lead: the default model and what max and
 * host mean, per arch (from the arch tables). */
char *sv_cli_cpu_help(const char *lead);

/* A VM name when --name was not given: base (a program's or process's
 * name) made safe for a file name, plus a random suffix. */
char *sv_cli_vm_name(const char *base);
/* --accel and --memory in range; prints what is wrong for cmd. */
gboolean sv_cli_vm_options_check(const SvCliVmOptions *o, const char *cmd);
/* Blocks SIGINT, SIGTERM and SIGHUP into the returned signalfd (opened
 * with flags, e.g. SFD_NONBLOCK) and ignores SIGPIPE. */
int sv_cli_signal_fd(int flags);
/* The same, and adopts orphans (sv_cli_adopt_orphans). */
int sv_cli_catch_signals(void);
/* Streams guest process pid's output to our stdout/stderr until it exits;
 * *ret_status is its wait status. verbose_cmd (or NULL) notes the first
 * output with a timestamp. */
gboolean sv_cli_stream_until_exit(SvAgentClient *agent, guint32 pid, const char *verbose_cmd,
				  int *ret_status, GError **error);
/* A detached VM's name and the guest pid of its process: "NAME PID", or
 * JSON {name, arch, pid}. */
void sv_cli_print_detached(const SvMachine *m, guint32 pid, gboolean json);
/* Makes this process a subreaper that reaps QEMU the moment it exits. */
void sv_cli_adopt_orphans(void);
/* A wait status as snapvm's exit status (code, or 128+signal). */
int sv_cli_exit_code(int status);
/* The end of `run` and `restore`: reports error (an interruption as exit
 * 130), then stops the VM unless keep_vm, keeping its console log when
 * snapvm failed. Returns the exit code; takes error. */
int sv_cli_end_vm(const char *cmd, SvMachine *m, gboolean keep_vm, int rc, GError *error,
		  gboolean verbose);
/* Once the guest process runs: with --detach, reports the VM and leaves it
 * running (exit 0); else streams the process's output until it exits and
 * stops the VM (its exit status). */
int sv_cli_follow_process(const char *cmd, SvMachine *m, SvAgentClient *agent, guint32 pid,
			  const SvCliVmOptions *o);

/* cli-pool.c, for restore: a pool guest's kernel command line (the
 * restore parameters, init_on_free=1 without a standby's pre-faulted
 * pool, then vm->append) and config (pointers into the arguments). */
char *sv_cli_pool_cmdline(const SvArchOps *arch, const SvCliVmOptions *vm, gboolean prefault);
SvMachineConfig sv_cli_pool_config(const SvArchOps *arch, const SvImage *image,
				   const SvCliVmOptions *vm, const char *name, guint memory,
				   const char *cmdline, const char *initrd);
/* What a saved base (`pool save`, host/pool/pool-base.h) of a pool guest
 * of arch, image and vm depends on; fails where the backend cannot save. */
typedef struct SvCliBaseSpec {
	SvPoolBaseSpec spec; /* points into the strings below */
	char *cmdline, *clock, *backend, *restorer;
} SvCliBaseSpec;
gboolean sv_cli_base_spec(const SvArchOps *arch, const SvImage *image, const SvCliVmOptions *vm,
			  SvCliBaseSpec *ret, GError **error);
void sv_cli_base_spec_clear(SvCliBaseSpec *b);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvCliBaseSpec, sv_cli_base_spec_clear)

/* A guest `run` or `restore` booted (cli-boot.c). */
typedef struct SvCliGuest {
	SvMachine *machine;
	SvGuestMem *ram; /* if asked for: guest RAM, to place pages in */
	SvAgentClient *agent;
	SvAgentInfo agent_info;
} SvCliGuest;
void sv_cli_guest_clear(SvCliGuest *g);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvCliGuest, sv_cli_guest_clear)
/* Starts config's machine and removes its initrd, a file in initrd_dir,
 * and the dir (whether or not the start succeeds); maps guest RAM if
 * map_ram; gives up exclusive control of the machine; connects to the
 * agent (interrupt_fd: sv_cli_catch_signals) and waits for its answer.
 * Returns 0, or the exit code once the failure is reported and the VM, if
 * it started, stopped (sv_cli_end_vm). */
int sv_cli_boot(const char *cmd, const SvMachineConfig *config, const char *initrd_dir,
		gboolean map_ram, int interrupt_fd, gboolean verbose, SvCliGuest *ret);

#endif
