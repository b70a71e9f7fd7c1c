/* SPDX-License-Identifier: MIT */
/* cli-run-files.h - files into and out of a `snapvm run` (cli-run-files.c). */
#ifndef SNAPVM_CLI_RUN_FILES_H
#define SNAPVM_CLI_RUN_FILES_H

#include <glib.h>

#include "host/agent/agent-client.h"
#include "host/image/workload.h"

typedef struct SvRunFiles {
	GArray *extras;	    /* SvInitrdExtra, parents before what they hold */
	GPtrArray *strings; /* the paths extras point at */
} SvRunFiles;

void sv_run_files_clear(SvRunFiles *f);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvRunFiles, sv_run_files_clear)

/* Turns --copy-in specs (HOST[:GUEST], GUEST relative to workdir or
 * absolute; both under /work) into initramfs entries. */
gboolean sv_run_files_copy_in(SvRunFiles *f, char **specs, const char *workdir, GError **error);
/* Checks --copy-out specs are GUEST:HOST before anything boots. */
gboolean sv_run_files_check_copy_out(char **specs, GError **error);
/* Reads each GUEST (relative to workdir) from the guest and writes HOST. */
gboolean sv_run_files_copy_out(SvAgentClient *agent, char **specs, const char *workdir,
			       GError **error);

#endif
