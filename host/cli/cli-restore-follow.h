/* SPDX-License-Identifier: MIT */
/* cli-restore-follow.h - the end of `snapvm restore` with --json or
 * --lazy (cli-restore-follow.c). */
#ifndef SNAPVM_CLI_RESTORE_FOLLOW_H
#define SNAPVM_CLI_RESTORE_FOLLOW_H

#include "host/cli/cli.h"
#include "host/restore/restore.h"

typedef struct SvCliRestoreFollow {
	guint32 pid;
	double running_ms; /* from the command's start: the restorer needs nothing more */
	guint64 pages;	   /* placed before the process resumed */
	gboolean lazy;
	guint64 lazy_pages;	   /* placed after */
	SvLazyServer *server;	   /* --lazy: serving them; taken */
	int interrupt_fd;	   /* readable on Ctrl-C, SIGTERM, SIGHUP (a signalfd) */
	const char *guest_from;	   /* "boot", "pool" or "base" */
	const char *base_fallback; /* --base and booted: why, or NULL */
} SvCliRestoreFollow;

/* Streams the process's output until it exits (or with --detach leaves
 * it, once the last lazy page is placed), copies out what copy_out
 * names, prints the figures with --json, stops the VM. The exit code. */
int sv_cli_restore_follow(SvCliGuest *g, SvCliRestoreFollow *f, char **copy_out,
			  const SvCliVmOptions *o);

#endif
