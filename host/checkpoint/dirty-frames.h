/* SPDX-License-Identifier: MIT */
/*
 * dirty-frames.h - the pure half of dirty-log.h: where a process's pages
 * were in guest memory at a checkpoint's pause (its "frames", kept in the
 * VM's directory between checkpoints), and the verdict on each page of
 * the next one from the dirty log and those frames. No machine here, so
 * the unit tests reach all of it.
 */
#ifndef SNAPVM_DIRTY_FRAMES_H
#define SNAPVM_DIRTY_FRAMES_H

#include <glib.h>

/* The frames file of a pause under mark: a header naming the mark, then
 * one (va, len, pa) of 64-bit words in the host's byte order (the file
 * never leaves the VM's directory on this host) for each run of pages
 * (SvPageRun) contiguous in both address spaces, by address. */
GBytes *sv_dirty_frames_encode(const char *mark, const GArray *runs);
/* Its runs, or NULL with why (another mark's, cut short, out of order). */
GArray *sv_dirty_frames_decode(const void *data, gsize len, const char *mark, char **ret_why);

/* Cuts each SvPageRun of runs where the verdict on its pages changes and
 * sets it: dirty when its frame is written in bits (SvMachineOps.dirty_log:
 * one bit per 4 KiB guest-physical page) or beyond them, or when the
 * parent's frames had another frame at that address or none; tracked,
 * never huge (the log is per page). */
void sv_dirty_frames_judge(GArray *runs, GBytes *bits, const GArray *parent_frames,
			   guint32 page_size);

#endif
