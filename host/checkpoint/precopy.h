/* SPDX-License-Identifier: MIT */
/*
 * precopy.h - iterative pre-copy (checkpoint --precopy[=ROUNDS]): a
 * process's pages copied while its VM runs, so that the final pause copies
 * only what was written since the last round.
 *
 * Round 0 arms the soft-dirty bits (dirty-track.h), walks the process's
 * page tables with the VM paused for the walk only, and copies every
 * present page of its private anonymous mappings into host memory while it
 * runs on. Each later round re-arms: with the process frozen by the guest
 * agent, so that nothing it writes can fall between reading the bits and
 * clearing them, the VM is paused for a walk that gives the pages written
 * since the last arm; the bits are cleared again, the process thawed, and
 * those pages copied again while it runs. Rounds go on while the written
 * set shrinks and is not already small, up to ROUNDS.
 *
 * At the final pause a page is copied again unless it was copied before,
 * is in a mapping the bits judge (private anonymous), was not written since
 * the last arm, and still maps the frame it was copied from (a frame the
 * kernel moved the page out of may have been reused by the time the copy
 * read it). Everything else (written pages, shared and file-backed
 * mappings, pages new since the last round) is copied at the pause, as a
 * full checkpoint copies. Not caught: a page moved out of its frame and
 * back into that very frame between a round's walk and its copy (two
 * migrations of an idle page within one round, ending where it began).
 * Migration and compaction move pages to free frames elsewhere, so this is
 * not expected; CRIU's pre-dump reads through the process instead and has
 * no such case, but holds the process for it.
 *
 * The snapshot is one ordinary self-contained file, as a full checkpoint
 * writes, not a chain of one incremental file per round: a restore reads
 * one file, nothing of it can be lost apart, and pages rewritten between
 * rounds leave no dead copies behind. It records the last arm, so a later
 * incremental checkpoint on it uses the bits.
 *
 * Nothing is lost: a round that fails resumes the VM and thaws the
 * process; nothing is written to the output before the final capture
 * succeeds (the writer's temporary file goes away with it).
 */
#ifndef SNAPVM_PRECOPY_H
#define SNAPVM_PRECOPY_H

#include <glib.h>

#include "host/checkpoint/capture.h"
#include "host/checkpoint/checkpoint.h"
#include "host/checkpoint/page-buffer.h"
#include "host/checkpoint/page-hashes.h"

#define SV_PRECOPY_MAX_ROUNDS 16

typedef struct SvPrecopy {
	guint32 page_size;
	SvPageBuffer buffer; /* the copies */
	GArray *slots;	     /* SvPageRun: what buffer holds, in address order */
	guint64 *page_pa;    /* per page of buffer: the frame it was copied from */
	gsize npages;
	char *mark;		 /* the latest arm */
	guint64 mm;		 /* the process's mm_struct: the same at the final pause */
	guint64 untracked_bytes; /* present in mappings the bits do not judge */
	/* what the rounds did */
	guint rounds;
	guint64 round_pages[SV_PRECOPY_MAX_ROUNDS]; /* copied in each */
	double held_ms;				    /* process frozen for re-arms, all rounds */
	double paused_ms;			    /* VM paused for their walks */
	double copy_ms;				    /* copying, the VM running */
	/* the final pause's choice (sv_precopy_select) */
	GArray *present; /* SvPageRun */
	guint64 pages_from_rounds;
} SvPrecopy;

/* Runs the rounds: at most max_rounds (1..SV_PRECOPY_MAX_ROUNDS), fewer
 * once the pages written between two rounds stop getting fewer. Needs the
 * VM running, the arch's soft-dirty bits and the agent (o->soft_dirty,
 * o->freeze, o->thaw). */
gboolean sv_precopy_run(SvPrecopy *pc, SvMachine *m, const SvIntrospect *in, const SvGuestMem *mem,
			const SvCheckpointOptions *o, guint max_rounds, GError **error);

/* About how many bytes the final pause will copy: the mappings the bits
 * do not judge, and twice the most pages a later round found written (the
 * process writes at about that rate). The pause's copy buffer is faulted
 * in this large beforehand, so the copy does not fault in fresh memory. */
gsize sv_precopy_pause_estimate(const SvPrecopy *pc);

/* An SvPageSelectFn for the final pause; data: the SvPrecopy. Keeps the
 * pages that must be copied now (above), remembers every present run. */
gboolean sv_precopy_select(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
			   GError **error);

/* A run of pages to write, from the pause's copy or the rounds'. */
typedef struct SvPrecopySource {
	guint64 vaddr;
	gsize npages;
	const guint8 *data;
	gboolean keep_zero;
} SvPrecopySource;
/* After the final pause: every present page's data, in address order. */
GArray *sv_precopy_sources(const SvPrecopy *pc, const SvCapture *cap);

/* Writing them: sv_precopy_map_pages copies them into the file mapped by
 * the writer, first of all sections (much faster than streaming); where
 * it cannot (*ret_done FALSE: compressed, no fallocate),
 * sv_precopy_stream_pages streams them after the metadata. */
struct SvSnapshotWriter;
gboolean sv_precopy_map_pages(struct SvSnapshotWriter *w, const GArray *sources, guint32 page,
			      gboolean *ret_done, GError **error);
gboolean sv_precopy_stream_pages(struct SvSnapshotWriter *w, const GArray *sources, guint32 page,
				 SvProgressFn progress, gpointer progress_data, GError **error);
/* The hash of every page (PAGE_HASHES). */
SvPageHashes *sv_precopy_hashes(const GArray *sources, guint32 page);

void sv_precopy_clear(SvPrecopy *pc);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvPrecopy, sv_precopy_clear)

#endif
