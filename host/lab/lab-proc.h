/* SPDX-License-Identifier: MIT */
/*
 * lab-proc.h - the lab drives snapvm's own commands (run, ps, checkpoint,
 * restore) as child processes of the snapvm binary, exactly as a user or a
 * Slurm job would: what the lab measures and judges is what those commands
 * do, and a cell's logs are their outputs.
 */
#ifndef SNAPVM_LAB_PROC_H
#define SNAPVM_LAB_PROC_H

#include <glib.h>
#include <sys/types.h>

/* The snapvm binary that is running (the lab's children are the same). */
const char *sv_lab_snapvm_path(void);

typedef struct SvLabProc {
	GPid pid;
	gint64 started_us; /* monotonic */
	gboolean exited;
	int wait_status;
	double seconds; /* wall time once exited */
} SvLabProc;

/* Starts argv with stdout and stderr into those files (created or
 * truncated; NULL: /dev/null), stdin from /dev/null. */
gboolean sv_lab_proc_start(const char *const *argv, const char *stdout_path,
			   const char *stderr_path, SvLabProc *ret, GError **error);
/* The same in a process group of its own, which sv_lab_proc_stop_group
 * ends whole: a lab unit and the snapvm commands it runs. */
gboolean sv_lab_proc_start_group(const char *const *argv, const char *stdout_path,
				 const char *stderr_path, SvLabProc *ret, GError **error);
/* SIGTERMs p's process group (each snapvm in it stops its VM) and waits
 * for p; SIGKILLs the group after the grace time. */
void sv_lab_proc_stop_group(SvLabProc *p);
/* TRUE once p has exited (reaps it; never blocks). */
gboolean sv_lab_proc_poll(SvLabProc *p);
/* For a lab unit's process: SIGTERM, SIGINT and SIGHUP (the local engine
 * cancelling, scancel, Ctrl-C) set a flag instead of killing it, so that it
 * stops its children, records why and removes what it made. Every wait
 * below then ends its child and returns SV_ERROR_INTERRUPTED. */
void sv_lab_proc_stop_on_signals(void);
gboolean sv_lab_proc_stop_requested(void);

/* Waits for p until timeout_s, then SIGTERMs it (snapvm stops its VM on
 * SIGTERM) and waits for it; FALSE with an error on the timeout. */
gboolean sv_lab_proc_wait(SvLabProc *p, double timeout_s, GError **error);
/* Ends p: SIGTERM, then SIGKILL if it is still there after 30 s. */
void sv_lab_proc_stop(SvLabProc *p);
/* The exit status as snapvm reports a workload's: code, or 128+signal. */
int sv_lab_proc_exit_code(const SvLabProc *p);

/* Runs argv to completion, capturing stdout (returned) and stderr (into
 * *ret_stderr if not NULL); FALSE with an error naming the command and its
 * last stderr line when it fails or outlives timeout_s. */
gboolean sv_lab_proc_capture(const char *const *argv, double timeout_s, char **ret_stdout,
			     char **ret_stderr, GError **error);

/* The last non-empty line of a file (a failed command's message), or
 * NULL; at most 500 bytes, escaped for terminals. */
char *sv_lab_last_line(const char *path);
/* A failed snapvm command's error in its stderr file: its first line of
 * its own ("snapvm restore: agent channel closed ..."), not the notes that
 * follow it (where the console log was kept); else the last line. */
char *sv_lab_error_line(const char *path);

#endif
