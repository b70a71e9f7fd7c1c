/* SPDX-License-Identifier: MIT */
/*
 * pool-standby.h - a pool guest's standby restorer (`restore --standby MIB`,
 * see SV_RIMG_STANDBY_SIGNAL in include/snapvm/restore-image-format.h):
 * started by `snapvm pool start` once the guest is up, it faults in and
 * locks MIB of memory while the guest idles, so that a restore into the
 * guest takes those pages for its staging area instead of waiting for the
 * guest kernel to zero fresh ones (seconds per GiB under TCG). The memory
 * it costs is that much of the guest's RAM, held while the guest waits.
 */
#ifndef SNAPVM_POOL_STANDBY_H
#define SNAPVM_POOL_STANDBY_H

#include <glib.h>

#include "host/agent/agent-client.h"
#include "host/machine/machine.h"

/* The standby's record in the pool guest's VM dir: "PID MIB", then its
 * mailbox's frames as its ready line named them (" PFN+N ..."), if any. */
#define SV_POOL_STANDBY_FILE "pool-standby"

/* How long a standby may take to fault in its pool: TCG zeroes about
 * 400 MiB/s under load, and the guest may be one of several booting. */
#define SV_POOL_STANDBY_TIMEOUT_MS 600000

/* How long a standby killed takes to end: the kernel frees its locked
 * pool (seconds per GiB at worst under TCG and load). */
#define SV_POOL_STANDBY_END_MS 60000

/* What the standby may print on stderr before it is ready and still be
 * fine: the restorer's notes (rst_pin_frames_setup's, for one). */
#define SV_POOL_STANDBY_NOTE "snapvm restore: note: "

typedef enum {
	SV_STANDBY_WAITING, /* nothing wrong so far, not ready yet */
	SV_STANDBY_READY,
	SV_STANDBY_FAILED, /* it said something else */
} SvStandbySaid;

/* Judges what a standby has said so far on stdout (out) and stderr (err):
 * ready once out is SV_RIMG_STANDBY_READY or a well-formed mailbox line
 * (SV_RIMG_STANDBY_READY_MAILBOX ...), failed on anything else there
 * or on a whole stderr line that is not a note; the notes (whole lines) in
 * *ret_notes (NULL: none; may be NULL). */
SvStandbySaid sv_pool_standby_said(const char *out, const char *err, char **ret_notes);

/* Starts the standby restorer (the one in the guest's initrd) with mib MiB
 * and waits until it is ready; records it in m's VM dir. What it noted on
 * the way (harmless) in *ret_notes, or NULL. */
gboolean sv_pool_standby_start(SvAgentClient *agent, const SvMachine *m, guint mib,
			       char **ret_notes, GError **error);

/* Kills the standby pid and waits for its end: until then the kernel is
 * still freeing its locked pool, and what the restore writes into the
 * guest next (its image, its pages) could find no memory. */
gboolean sv_pool_standby_end(SvAgentClient *agent, guint32 pid, GError **error);

/* The frames of the mailbox a ready line names
 * (SV_RIMG_STANDBY_READY_MAILBOX ...; restore-image-format.h): struct
 * sv_rimg_pfn_run, staging_page counting from the mailbox's start; NULL
 * when the line names none or is malformed. */
GArray *sv_pool_standby_mailbox(const char *line);

/* The standby of pool guest m, if it has one: its pid and pool size, and
 * its mailbox's frames (NULL: none) if ret_mailbox. */
gboolean sv_pool_standby_read(const SvMachine *m, guint32 *ret_pid, guint *ret_mib,
			      GArray **ret_mailbox);

#endif
