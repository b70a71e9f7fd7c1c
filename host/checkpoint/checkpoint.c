/* SPDX-License-Identifier: MIT */
/* checkpoint.c - see checkpoint.h. Capture (VM paused) is in capture.c; this
 * file drives the pause, the retries and the writing. */
#include "host/checkpoint/checkpoint.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "snapvm/snapshot-task-keys.h"
#include "host/checkpoint/capture.h"
#include "host/checkpoint/page-hashes.h"
#include "host/checkpoint/page-select.h"
#include "host/checkpoint/dirty-log.h"
#include "host/checkpoint/dirty-track.h"
#include "host/checkpoint/precopy.h"
#include "host/checkpoint/fs-carry.h"
#include "host/checkpoint/mapped-files.h"
#include "host/checkpoint/memfiles.h"
#include "host/checkpoint/proc-paths.h"
#include "base/errors.h"
#include "host/image/rootfs-refs.h"
#include "host/introspect/introspect.h"
#include "host/restore/restore-image-build.h"
#include "host/snapshot/snapshot-reader.h"
#include "host/snapshot/snapshot-variant.h"
#include "host/snapshot/snapshot-writer.h"

/* How often to resume and pause again while the task is in the kernel on a
 * vCPU, and how long to let it run each time. A task stays in the kernel on
 * a CPU only for the length of a non-sleeping syscall or an interrupt. */
#define MAX_ATTEMPTS 50
#define RETRY_RUN_US 3000
/* How long to wait, resuming between looks, for the process's children to
 * exit and be reaped: a fork for a moment (system(), popen, a check in a
 * child) is common, and the process without them would be restored wrong. */
#define CHILDREN_WAIT_US (3 * G_USEC_PER_SEC)
#define CHILDREN_RETRY_US 20000

static double ms_since(gint64 t0)
{
	return (g_get_monotonic_time() - t0) / 1000.0;
}

/*
 * The guest's CLOCK_MONOTONIC, for the time left on its timers, where
 * introspection cannot read it (sv_introspect_needs_guest_clock): the
 * "now at N nsecs" line of /proc/timer_list, read through the agent just
 * before the pause, plus the host time that passes until the pause (the
 * guest's clock follows the host's while it runs and stops with it). The
 * reply's transit time is not counted, so the result is a little early:
 * a restored timer fires late by that much, never early. 0 if unknown.
 */
static guint64 guest_clock_ns(const SvCheckpointOptions *o, gint64 *ret_read_at_us)
{
	if (!o->read_file)
		return 0;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) list = o->read_file("/proc/timer_list", o->read_file_data, &error);
	*ret_read_at_us = g_get_monotonic_time();
	if (!list)
		return 0;
	g_autofree char *text = g_strndup(g_bytes_get_data(list, NULL), g_bytes_get_size(list));
	const char *now = strstr(text, "now at ");
	return now ? g_ascii_strtoull(now + 7, NULL, 10) : 0;
}

/* Reads the vCPU registers of every thread on a vCPU (vcpus: one entry
 * per thread, NULL for one off its CPU); *ret_in_kernel is the index of
 * the first found in the kernel there, or -1 when all are in user mode. */
static gboolean read_thread_vcpus(SvMachine *m, const GArray *threads, GPtrArray *vcpus,
				  gint *ret_in_kernel, GError **error)
{
	g_ptr_array_set_size(vcpus, 0);
	*ret_in_kernel = -1;
	for (guint i = 0; i < threads->len; i++) {
		const SvTaskRef *t = &g_array_index(threads, SvTaskRef, i);
		SvVcpuRegs *v = t->on_cpu ? g_new0(SvVcpuRegs, 1) : NULL;
		g_ptr_array_add(vcpus, v);
		if (!v)
			continue;
		if (!sv_machine_read_vcpu_regs(m, t->cpu, v, error))
			return FALSE;
		if (!v->user_mode) {
			*ret_in_kernel = (gint)i;
			return TRUE;
		}
	}
	return TRUE;
}

/* The refusal of a process that still has children (pids: guint32). */
static void refuse_children(guint32 pid, const GArray *pids, GError **error)
{
	g_autoptr(GString) list = g_string_new(NULL);
	for (guint i = 0; i < pids->len && i < 8; i++)
		g_string_append_printf(list, "%s%u", i ? ", " : "",
				       g_array_index(pids, guint32, i));
	if (pids->len > 8)
		g_string_append(list, ", ...");
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
		    "guest pid %u has %u child process%s (guest pid %s): snapvm checkpoints "
		    "one process, and restored without %s it would be wrong (wait() would fail "
		    "with ECHILD); checkpoint it when it has no children - when they have "
		    "exited and it has reaped them",
		    pid, pids->len, pids->len == 1 ? "" : "es", list->str,
		    pids->len == 1 ? "it" : "them");
}

/* Pauses, finds the process's threads and decides where the registers of
 * each are; loops while one of them is in the kernel on a vCPU, and while
 * the process has children (up to CHILDREN_WAIT_US; not when it is held:
 * frozen, it cannot reap them, and the agent's hold waited for them). On
 * success the VM is left paused, *threads holds every thread (SvTaskRef,
 * leader first) and vcpus the registers of those running in user mode. */
static gboolean pause_for_task(SvMachine *m, const SvCheckpointOptions *o, gboolean was_running,
			       gboolean held, const SvIntrospect *in, GArray **threads,
			       GPtrArray *vcpus, SvCheckpointStats *st, GError **error)
{
	gint64 started = g_get_monotonic_time();
	guint in_kernel_pauses = 0;
	for (guint attempt = 1;; attempt++) {
		st->attempts = attempt;
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(GArray) children = NULL;
		SvTaskRef leader;
		gint in_kernel;
		if (was_running && !sv_machine_pause(m, error))
			return FALSE;
		g_clear_pointer(threads, g_array_unref);
		if (!sv_introspect_find_task(in, o->pid, &leader, error) ||
		    !(*threads = sv_introspect_threads(in, &leader, error)) ||
		    !(children = sv_introspect_children(in, *threads, error)))
			goto fail;
		if (children->len) {
			gboolean may_wait = was_running && !held &&
					    g_get_monotonic_time() - started < CHILDREN_WAIT_US;
			if (!may_wait) {
				refuse_children(o->pid, children, error);
				goto fail;
			}
			if (!sv_machine_resume(m, error))
				return FALSE;
			st->pause_ms += ms_since(t0);
			g_usleep(CHILDREN_RETRY_US);
			continue;
		}
		if (!read_thread_vcpus(m, *threads, vcpus, &in_kernel, error))
			goto fail;
		if (in_kernel < 0)
			return TRUE;
		const SvTaskRef *t = &g_array_index(*threads, SvTaskRef, in_kernel);
		if (!was_running || ++in_kernel_pauses >= MAX_ATTEMPTS) {
			g_autofree char *who =
				t->tid == o->pid ? g_strdup_printf("guest pid %u", o->pid)
						 : g_strdup_printf("thread %u of guest pid %u",
								   t->tid, o->pid);
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "%s was inside the kernel on vCPU %u at each of %u "
				    "pauses; try again%s",
				    who, t->cpu, MAX(in_kernel_pauses, 1u),
				    was_running ? "" : " with the VM running (it was paused)");
			goto fail;
		}
		if (!sv_machine_resume(m, error))
			return FALSE;
		st->pause_ms += ms_since(t0);
		g_usleep(RETRY_RUN_US);
		continue;
fail:
		/* a failed checkpoint must not leave the VM stopped */
		if (was_running) {
			g_autoptr(GError) resume_error = NULL;
			if (!sv_machine_resume(m, &resume_error))
				g_prefix_error(error, "(and resuming VM '%s' failed too: %s) ",
					       m->name, resume_error->message);
		}
		st->pause_ms += ms_since(t0);
		return FALSE;
	}
}

/* Carries the file at path once (done: path -> sha256); its sha256. Its
 * contents come from paged (path -> GBytes, mapped-files.h) when it read
 * them at the pause, else through the agent. */
static const char *carry_file(SvSnapshotWriter *w, GHashTable *done, GHashTable *paged,
			      const char *path, const char *why, const SvCheckpointOptions *o,
			      SvCheckpointStats *st, GError **error)
{
	const char *sha = g_hash_table_lookup(done, path);
	if (sha)
		return sha;
	/* the image's own file: referenced, not carried (sha256 "") */
	gboolean referenced = FALSE;
	if (o->image_refs && !sv_rootfs_refs_take(o->image_refs, path, &referenced, error))
		return NULL;
	if (referenced) {
		g_hash_table_insert(done, g_strdup(path), g_strdup(""));
		st->files_referenced++;
		return "";
	}
	GBytes *cached = paged ? g_hash_table_lookup(paged, path) : NULL;
	g_autoptr(GBytes) contents = cached ? g_bytes_ref(cached)
					    : o->read_file(path, o->read_file_data, error);
	if (!contents) {
		g_prefix_error(error, "carrying %s (%s by guest pid %u): ", path, why, o->pid);
		return NULL;
	}
	char *hex = sv_snapshot_writer_add_file(w, contents, error);
	if (!hex)
		return NULL;
	g_hash_table_insert(done, g_strdup(path), hex);
	st->files++;
	if (cached)
		st->files_cache_bytes += g_bytes_get_size(contents);
	else
		st->files_agent_bytes += g_bytes_get_size(contents);
	return hex;
}

/* The files that file-backed mappings and open regular files need,
 * carried once each: by path (done: those already carried, path ->
 * sha256), or by identity for those that exist only in memory (mf); the TASK dict then gets its "fds" with each regular file's
 * sha256 or memory file's inode, and the memory files (ret_task). */
static gboolean carry_files(SvSnapshotWriter *w, SvCapture *cap, SvMemFiles *mf, GHashTable *done,
			    const SvCheckpointOptions *o, SvCheckpointStats *st,
			    GVariant **ret_task, GError **error)
{
	if (!sv_memfiles_carry(mf, w, o->read_file, o->read_file_data, error))
		return FALSE;
	sv_memfiles_counts(mf, &st->memfiles, &st->memfiles_cache_bytes, &st->memfiles_agent_bytes);
	for (guint i = 0; i < cap->vmas->len; i++) {
		SvCaptureVma *v = &g_array_index(cap->vmas, SvCaptureVma, i);
		guint64 inode = sv_memfiles_inode_of(mf, v->vma.file);
		if (inode) {
			g_free(v->sha256);
			v->sha256 = g_strdup(sv_memfiles_sha256(mf, inode));
			continue;
		}
		if (!v->file_backed || !o->read_file)
			continue;
		if (sv_path_unnamed(v->vma.name)) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
				    "guest pid %u: the mapping [0x%" G_GINT64_MODIFIER
				    "x, 0x%" G_GINT64_MODIFIER
				    "x) is of %s; snapvm cannot carry it yet",
				    o->pid, v->vma.start, v->vma.end, SV_UNNAMED_FILE);
			return FALSE;
		}
		const char *sha = carry_file(w, done, cap->mapped_files, v->vma.name, "mapped", o,
					     st, error);
		if (!sha)
			return FALSE;
		g_free(v->sha256);
		v->sha256 = g_strdup(sha);
	}
	g_auto(GVariantBuilder) fb = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_FDS_TYPE));
	GVariantIter it;
	GVariant *fd;
	g_variant_iter_init(&it, cap->fds);
	while ((fd = g_variant_iter_next_value(&it))) {
		g_autoptr(GVariantDict) d = g_variant_dict_new(fd);
		g_variant_unref(fd);
		const char *kind = "", *path = NULL;
		g_variant_dict_lookup(d, SV_TASK_FD_KIND, "&s", &kind);
		g_variant_dict_lookup(d, SV_TASK_FD_PATH, "&s", &path);
		guint64 file = 0, inode;
		g_variant_dict_lookup(d, SV_TASK_FD_FILE, "t", &file);
		if ((inode = sv_memfiles_inode_of(mf, file))) {
			g_variant_dict_insert(d, SV_TASK_FD_INODE, "t", inode);
			g_variant_builder_add_value(&fb, g_variant_dict_end(d));
			continue;
		}
		if (!strcmp(kind, SV_TASK_FD_KIND_FILE) && sv_path_unnamed(path)) {
			guint32 fdnum = 0;
			g_variant_dict_lookup(d, SV_TASK_FD_FD, "u", &fdnum);
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
				    "guest pid %u: fd %u is %s; snapvm cannot carry it yet", o->pid,
				    fdnum, SV_UNNAMED_FILE);
			return FALSE;
		}
		if (sv_path_in_procfs(path)) {
			guint32 fdnum = 0;
			g_variant_dict_lookup(d, SV_TASK_FD_FD, "u", &fdnum);
			g_autofree char *reopen = sv_proc_path_for_restore(path, o->pid, fdnum,
									   error);
			if (!reopen)
				return FALSE;
			g_variant_dict_insert(d, SV_TASK_FD_PATH, "s", reopen);
			g_variant_builder_add_value(&fb, g_variant_dict_end(d));
			continue;
		}
		if (o->read_file && !strcmp(kind, SV_TASK_FD_KIND_FILE) && path) {
			const char *sha = carry_file(w, done, cap->mapped_files, path, "open", o,
						     st, error);
			if (!sha)
				return FALSE;
			if (sha[0])
				g_variant_dict_insert(d, SV_TASK_FD_SHA256, "s", sha);
		}
		g_variant_builder_add_value(&fb, g_variant_dict_end(d));
	}
	g_autoptr(GVariantDict) task = g_variant_dict_new(cap->task);
	g_variant_dict_insert_value(task, SV_TASK_FDS, g_variant_builder_end(&fb));
	g_autoptr(GVariant) memfiles = sv_memfiles_variant(mf);
	if (memfiles)
		g_variant_dict_insert_value(task, SV_TASK_MEMFILES, memfiles);
	*ret_task = g_variant_ref_sink(g_variant_dict_end(task));
	return TRUE;
}

static SvSnapshotWriter *new_writer(SvMachine *m, const SvCheckpointOptions *o, GError **error)
{
	SvSnapshotWriterOptions wo = {
		.arch = sv_snap_arch_from_name(m->arch->name),
		.byte_order = SV_SNAP_LITTLE_ENDIAN,
		.page_size = m->arch->page_size,
		.zstd_level = o->zstd_level,
	};
	return sv_snapshot_writer_new(o->output, &wo, error);
}

/* The pages, copied at the pause straight into the file: what the copy
 * holds, said to the writer. */
static gboolean commit_pages(SvSnapshotWriter *w, const SvCapture *cap, guint32 page,
			     XXH128_hash_t *ret_hashes, GError **error)
{
	g_autoptr(GArray) spans = g_array_sized_new(FALSE, FALSE, sizeof(SvSnapshotPageSpan),
						    cap->runs ? cap->runs->len : 0);
	for (guint i = 0; cap->runs && i < cap->runs->len; i++) {
		const SvPageRun *r = &g_array_index(cap->runs, SvPageRun, i);
		SvSnapshotPageSpan s = { r->va, r->offset, r->len / page, r->keep_zero };
		g_array_append_val(spans, s);
	}
	return sv_snapshot_writer_commit_pages_hashed(w, (SvSnapshotPageSpan *)(void *)spans->data,
						      spans->len, ret_hashes, error);
}

/* The pages, copied at the pause into host memory, written to the file. */
static gboolean stream_pages(SvSnapshotWriter *w, SvCapture *cap, const SvCheckpointOptions *o,
			     guint32 page, GError **error)
{
	guint64 total = cap->pages_len, done = 0;
	for (guint i = 0; cap->runs && i < cap->runs->len; i++) {
		const SvPageRun *r = &g_array_index(cap->runs, SvPageRun, i);
		gboolean ok = r->keep_zero
				      ? sv_snapshot_writer_add_pages_all(w, r->va,
									 cap->pages + r->offset,
									 r->len / page, error)
				      : sv_snapshot_writer_add_pages(w, r->va,
								     cap->pages + r->offset,
								     r->len / page, error);
		if (!ok)
			return FALSE;
		/* the writer keeps nothing of it: halves the peak host memory */
		sv_page_buffer_discard(&cap->buffer, r->offset, r->len);
		done += r->len;
		if (o->progress)
			o->progress("writing", done, total, o->progress_data);
	}
	return TRUE;
}

/* The runs of pages the copy holds, in its order. */
static GArray *copy_sources(const SvCapture *cap, guint32 page)
{
	g_autoptr(GArray) src = g_array_new(FALSE, FALSE, sizeof(SvPageHashSource));
	for (guint i = 0; cap->runs && i < cap->runs->len; i++) {
		const SvPageRun *r = &g_array_index(cap->runs, SvPageRun, i);
		SvPageHashSource h = { r->va, r->len / page, cap->pages + r->offset };
		g_array_append_val(src, h);
	}
	return g_steal_pointer(&src);
}

/* The hash of every page copied (a full checkpoint's, taken from the copy
 * after the resume), for a later incremental checkpoint to compare with. */
static SvPageHashes *hash_copy(const SvCapture *cap, guint32 page)
{
	g_autoptr(GArray) src = copy_sources(cap, page);
	return sv_page_hashes_compute((const SvPageHashSource *)(void *)src->data, src->len, page);
}

/* Whether the new snapshot's hashes need those of the pages copied. */
static gboolean wants_copy_hashes(const SvPageSelect *sel, gboolean incremental)
{
	return !incremental || sel->soft_dirty;
}

/* The pages, copied at the pause straight into the file: said to the
 * writer, which hashes them (*ret_copied) as it reads them, when wanted. */
static gboolean commit_copy(SvSnapshotWriter *w, const SvCapture *cap, gboolean hashes,
			    guint32 page, SvPageHashes **ret_copied, GError **error)
{
	g_autoptr(SvPageHashes) copied = NULL;
	if (hashes) {
		g_autoptr(GArray) src = copy_sources(cap, page);
		copied = sv_page_hashes_new((const SvPageHashSource *)(void *)src->data, src->len,
					    page);
	}
	if (!commit_pages(w, cap, page, copied ? copied->hash : NULL, error))
		return FALSE;
	*ret_copied = g_steal_pointer(&copied);
	return TRUE;
}

/* The PARENT section: the parent by path (relative when it lies beside the
 * new snapshot, so the pair can be moved together), digest and size. */
static GVariant *parent_dict(SvSnapshotReader *parent, const char *output)
{
	const char *path = sv_snapshot_reader_path(parent);
	g_autofree char *pdir = g_path_get_dirname(path), *odir = g_path_get_dirname(output);
	g_autofree char *preal = realpath(pdir, NULL), *oreal = realpath(odir, NULL);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *abs = preal ? g_build_filename(preal, base, NULL) : g_strdup(path);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_PARENT_PATH,
			      g_variant_new_string(preal && oreal && !strcmp(preal, oreal) ? base
											   : abs));
	g_autofree char *digest = sv_snapshot_reader_digest(parent);
	g_variant_builder_add(&b, "{sv}", SV_SNAP_PARENT_DIGEST, g_variant_new_string(digest));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_PARENT_SIZE,
			      g_variant_new_uint64(sv_snapshot_reader_file_size(parent)));
	return g_variant_builder_end(&b);
}

/* The PAGE_HASHES of the new snapshot: a full checkpoint's from its copy,
 * an incremental one's as its selection found them at the pause, or (soft-
 * dirty) put together from its copy and its parent's (page-select.h). */
static SvPageHashes *snapshot_hashes(const SvCapture *cap, const SvPageSelect *sel,
				     const GArray *sources, gboolean incremental,
				     SvPageHashes *copied_taken, guint32 page,
				     SvCheckpointStats *st)
{
	g_autoptr(SvPageHashes) copied = copied_taken;
	if (!wants_copy_hashes(sel, incremental))
		return NULL; /* sel->hashes */
	gint64 th = g_get_monotonic_time();
	if (!copied)
		copied = sources ? sv_precopy_hashes(sources, page) : hash_copy(cap, page);
	SvPageHashes *h = incremental ? sv_page_select_hashes(sel, copied)
				      : g_steal_pointer(&copied);
	st->hash_ms += ms_since(th);
	return h;
}

/* w: made before the pause; the pages are already in it when the capture
 * copied them there (cap->buffer.writer). sel: an incremental
 * checkpoint's choice (its parent and the hashes taken at the pause).
 * mark: the soft-dirty arm its pages were read after (dirty-track.h), or
 * with dirty_log the dirty log's mark of its pause (dirty-log.h), or NULL.
 * sources: --precopy's pages (precopy.h), or NULL. */
static gboolean write_snapshot(SvMachine *m, SvSnapshotWriter *w, SvCapture *cap, SvPageSelect *sel,
			       SvSnapshotReader *parent, SvMemFiles *mf, GPtrArray *fs,
			       const char *mark, gboolean dirty_log, const GArray *sources,
			       const SvCheckpointOptions *o, SvCheckpointStats *st, GError **error)
{
	guint32 page = m->arch->page_size;
	/* the pages first when they are in the file already: the writer
	 * wants them before any other section */
	SvPageHashes *copied = NULL;
	if (cap->buffer.writer &&
	    !commit_copy(w, cap, wants_copy_hashes(sel, parent != NULL), page, &copied, error))
		return FALSE;
	gint64 th = g_get_monotonic_time();
	g_autoptr(SvPageHashes) own = NULL;
	g_autoptr(GVariant) delta = NULL;
	if (parent && sel->soft_dirty) {
		/* the change to the parent's, without the whole table */
		g_autoptr(SvPageHashes) fresh = copied ? copied : hash_copy(cap, page);
		delta = g_variant_ref_sink(sv_page_select_delta(sel, fresh));
		st->hash_ms += ms_since(th);
	} else {
		own = snapshot_hashes(cap, sel, sources, parent != NULL, copied, page, st);
	}
	st->hashes_ms = ms_since(th);
	const SvPageHashes *hashes = own ? own : sel->hashes;
	gboolean sources_mapped = FALSE;
	if (sources && !sv_precopy_map_pages(w, sources, page, &sources_mapped, error))
		return FALSE;
	g_autoptr(GVariant) task = NULL;
	gint64 tc = g_get_monotonic_time();
	g_autoptr(GHashTable)
		carried = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GVariant) fs_section = fs ? sv_fs_carry(fs, w, carried, error) : NULL;
	if ((fs && !fs_section) || !carry_files(w, cap, mf, carried, o, st, &task, error))
		return FALSE;
	st->carry_ms = ms_since(tc);
	if (fs_section &&
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_FS, fs_section, error))
		return FALSE;
	g_autoptr(GVariant) vmas = sv_capture_vmas_variant(cap);
	g_autoptr(GVariant) prov = sv_capture_provenance(cap, m, o->pid);
	if (!sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PROVENANCE, prov, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_TASK, task, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_REGS, cap->regs, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_FPU, cap->fpu, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_TLS, cap->tls, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_MM, cap->mm, error) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS, vmas, error))
		return FALSE;
	/* an incremental one's as a change to its parent's: a few KiB where
	 * the whole table is 4 MiB a GiB */
	th = g_get_monotonic_time();
	if ((delta || hashes) &&
	    !sv_snapshot_writer_add_metadata(w,
					     parent ? SV_SNAP_SECTION_PAGE_HASHES_DELTA
						    : SV_SNAP_SECTION_PAGE_HASHES,
					     delta    ? delta
					     : parent ? sv_page_hashes_delta_to_variant(hashes,
											sel->parent)
						      : sv_page_hashes_to_variant(hashes),
					     error))
		return FALSE;
	st->hashes_ms += ms_since(th);
	if (parent && !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PARENT,
						       parent_dict(parent, o->output), error))
		return FALSE;
	g_autoptr(GVariant) refs = sv_rootfs_refs_variant(o->image_refs);
	if (refs && !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_IMAGE_FILES, refs, error))
		return FALSE;
	GVariant *track = !mark	      ? NULL
			  : dirty_log ? sv_dirty_track_variant_for(SV_DIRTY_METHOD_LOG_NAME, mark)
				      : sv_dirty_track_variant(mark);
	if (track && !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_DIRTY_TRACK, track, error))
		return FALSE;
	if (sources ? !sources_mapped && !sv_precopy_stream_pages(w, sources, page, o->progress,
								  o->progress_data, error)
		    : !cap->buffer.writer && !stream_pages(w, cap, o, page, error))
		return FALSE;
	gint64 tf = g_get_monotonic_time();
	if (!sv_snapshot_writer_finish(w, error))
		return FALSE;
	st->finish_ms = ms_since(tf);
	st->pages_stored = sv_snapshot_writer_pages_stored(w);
	sv_snapshot_writer_files_from_parent(w, &st->files_from_parent,
					     &st->files_from_parent_bytes);
	return TRUE;
}

/* The size of the copy buffer (sv_page_buffer_size_for), from the
 * process's resident set, its VMAs and the guest's RAM, or 0 when the
 * process is not found now (the pause will say why). Reading them races
 * the running guest, which is fine for an estimate. */
static gsize buffer_size(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid)
{
	g_autoptr(GArray) procs = sv_introspect_processes(in, NULL);
	guint64 rss = 0;
	for (guint i = 0; procs && i < procs->len; i++)
		if (g_array_index(procs, SvGuestProcess, i).pid == pid)
			rss = g_array_index(procs, SvGuestProcess, i).rss_kib << 10;
	if (!rss)
		return 0;
	g_autoptr(GArray) vmas = sv_introspect_vmas(in, pid, NULL);
	guint64 mapped = vmas ? 0 : G_MAXUINT64;
	for (guint i = 0; vmas && i < vmas->len; i++) {
		const SvGuestVma *v = &g_array_index(vmas, SvGuestVma, i);
		if (v->end > v->start)
			mapped += MIN(v->end - v->start, G_MAXUINT64 - mapped);
	}
	return sv_page_buffer_size_for(rss, mapped, sv_guest_mem_size(mem));
}

/* The copy buffer of a full checkpoint, faulted in while the VM still
 * runs: the writer's file where it can take the pages straight, host
 * memory otherwise (compressed pages, a file system without fallocate). */
typedef struct {
	SvPageBuffer *buffer;
	gsize len;
	GError *error;
	double ms;
	/* the process, whose pages in guest memory are faulted in beside */
	const SvIntrospect *in;
	const SvGuestMem *mem;
	guint32 pid;
	double source_ms;
} Prepare;

/* How much of a full checkpoint's copy to fault in before the pause, in
 * percent. The pause copies on both cores, from both ends (capture.c):
 * one thread stores into the pages faulted in here, the other writes the
 * rest into the file with pwritev, which needs no preparation (no zeroing,
 * no mapping: about half the CPU a page) but is several times slower per
 * byte than a store, and serial on the file's lock. Where the two meet is
 * about here: 1 GiB checkpoints of one VM, 6 of each share side by side,
 * medians (load 2): 65% paused 165 ms (the store thread ran out), 75%
 * 118, 85% 94, and took 712, 677 and 630 ms in all (fully prepared, before
 * this split: 889 ms, paused 111). */
#define READY_PCT 85

static gsize ready_share(gsize len)
{
	return len / 100 * READY_PCT;
}

/* Runs fn(data) on a thread of its own, to be joined, or here (NULL)
 * when no thread can be made: the work is done either way. */
static GThread *run_beside(const char *name, GThreadFunc fn, gpointer data)
{
	GThread *t = g_thread_try_new(name, fn, data, NULL);
	if (!t)
		fn(data);
	return t;
}

static gpointer prefault_source(gpointer data)
{
	Prepare *p = data;
	gint64 t0 = g_get_monotonic_time();
	sv_capture_prefault_source(p->in, p->mem, p->pid);
	p->source_ms = ms_since(t0);
	return NULL;
}

static gpointer prepare_buffer(gpointer data)
{
	Prepare *p = data;
	gint64 t0 = g_get_monotonic_time();
	/* beside the file's reservation, which holds its lock on one core */
	GThread *source = run_beside("sv-source", prefault_source, p);
	if (p->len)
		(void)sv_page_buffer_prepare_part(p->buffer, p->len, ready_share(p->len),
						  &p->error);
	if (source)
		g_thread_join(source);
	p->ms = ms_since(t0);
	return NULL;
}

/* Below this, an incremental checkpoint's copy is faulted in at the pause:
 * a few ms, less than walking the page tables ahead to size it. */
#define PREFAULT_MIN (32u << 20)

/* A soft-dirty incremental checkpoint copies the pages written since its
 * parent: counted now, while the VM runs, from their bits (racy, an
 * estimate), and when there are many the copy's destination is faulted in
 * now so the pause only copies. The count costs a walk of the page
 * tables; nothing is prepared when it fails. */
static void prepare_dirty(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid,
			  SvPageBuffer *buffer)
{
	g_autoptr(GArray) vmas = sv_capture_vmas(in, pid, NULL);
	guint64 total = 0, dirty = 0;
	g_autoptr(GArray)
		runs = vmas ? sv_capture_walk_pages(in, mem, pid, vmas, TRUE, &total, NULL) : NULL;
	for (guint i = 0; runs && i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		/* stored whole (a clean tracked run is the parent's), or hashed
		 * and some of it stored */
		if (!r->tracked || r->dirty)
			dirty += r->len;
	}
	if (dirty >= PREFAULT_MIN)
		(void)sv_page_buffer_prepare(buffer, dirty + dirty / 32 + (4u << 20), TRUE, NULL);
}

/* Starts preparing the copy buffer on a thread of its own (its faults
 * keep a core busy while the other waits on the guest to arm dirty
 * tracking). */
static GThread *prepare_start(Prepare *p)
{
	return run_beside("sv-prepare", prepare_buffer, p);
}

static gboolean prepare_finish(GThread *t, Prepare *p, GError **error)
{
	if (t)
		g_thread_join(t);
	if (p->error) {
		g_propagate_error(error, g_steal_pointer(&p->error));
		return FALSE;
	}
	return TRUE;
}

/* The parent of an incremental checkpoint, opened (its own chain
 * checked) and its page hashes read. */
static SvSnapshotReader *open_parent(SvMachine *m, const char *path, const char *output,
				     SvPageHashes **ret_hashes, GError **error)
{
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, error);
	if (!r) {
		g_prefix_error(error, "--parent: ");
		return NULL;
	}
	/* the new file must not replace a snapshot it is to be read with */
	GStatBuf out, anc;
	for (SvSnapshotReader *a = r; a && g_stat(output, &out) == 0;
	     a = sv_snapshot_reader_parent(a)) {
		if (g_stat(sv_snapshot_reader_path(a), &anc) == 0 && anc.st_dev == out.st_dev &&
		    anc.st_ino == out.st_ino) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "-o %s would replace %s, which the new snapshot needs as its "
				    "parent: write it to another file",
				    output, sv_snapshot_reader_path(a));
			return NULL;
		}
	}
	if (sv_snapshot_reader_arch(r) != sv_snap_arch_from_name(m->arch->name) ||
	    sv_snapshot_reader_page_size(r) != m->arch->page_size) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--parent: snapshot %s is of another arch or page size than VM '%s'",
			    path, m->name);
		return NULL;
	}
	*ret_hashes = sv_page_hashes_of_snapshot(r, m->arch->page_size, error);
	if (!*ret_hashes) {
		g_prefix_error(error, "--parent %s: ", path);
		return NULL;
	}
	return g_steal_pointer(&r);
}

/* --parent, opened on a thread of its own (open_parent) while the VM's
 * state is asked and the kernel profile loads: its hashes take ~10 ms to
 * read, the profile as long, and neither needs the other. */
typedef struct {
	SvMachine *m; /* its arch and name only, which do not change */
	const char *path, *output;
	GThread *thread;
	SvSnapshotReader *reader;
	SvPageHashes *hashes;
	GError *error;
	double ms;
} ParentOpen;

static gpointer parent_open_thread(gpointer data)
{
	ParentOpen *p = data;
	gint64 t0 = g_get_monotonic_time();
	p->reader = open_parent(p->m, p->path, p->output, &p->hashes, &p->error);
	p->ms = ms_since(t0);
	return NULL;
}

static void parent_open_start(ParentOpen *p)
{
	p->thread = run_beside("sv-parent", parent_open_thread, p);
}

/* The parent and its hashes (the caller's from then on), once read. */
static SvSnapshotReader *parent_open_finish(ParentOpen *p, SvPageHashes **ret_hashes,
					    GError **error)
{
	if (p->thread)
		g_thread_join(g_steal_pointer(&p->thread));
	if (!p->reader) {
		g_propagate_error(error, g_steal_pointer(&p->error));
		return NULL;
	}
	*ret_hashes = g_steal_pointer(&p->hashes);
	return g_steal_pointer(&p->reader);
}

/* Waits for a thread still reading (a checkpoint that failed first). */
static void parent_open_clear(ParentOpen *p)
{
	if (p->thread)
		g_thread_join(g_steal_pointer(&p->thread));
	g_clear_pointer(&p->reader, sv_snapshot_reader_free);
	g_clear_pointer(&p->hashes, sv_page_hashes_free);
	g_clear_error(&p->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ParentOpen, parent_open_clear)

void sv_checkpoint_stats_clear(SvCheckpointStats *st)
{
	g_clear_pointer(&st->resume_error, g_free);
	g_clear_pointer(&st->dirty_note, g_free);
}

/* Adds to a failed checkpoint's error what became of the process. */
static void say_left(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say_left(GError **error, const char *fmt, ...)
{
	if (!error || !*error)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *message = g_strdup_printf("%s; %s", (*error)->message, what);
	g_free((*error)->message);
	(*error)->message = message;
}

/* A failed --kill checkpoint lets the held process go: it runs on where
 * it was frozen, as if nothing had happened. */
static void let_go(const SvCheckpointOptions *o, GError **error)
{
	g_autoptr(GError) thaw_error = NULL;
	if (o->thaw(o->pid, o->control_data, &thaw_error))
		say_left(error, "guest pid %u left running", o->pid);
	else
		say_left(error,
			 "guest pid %u is still frozen, and thawing it failed (%s): it thaws "
			 "when the agent sees this command gone",
			 o->pid, thaw_error->message);
}

/* The snapshot as written, read back and checked to its last checksum,
 * and laid out as restore would (its image's size limit, what it holds):
 * a process is killed only for a file that restores. */
static gboolean read_back(const char *path, GError **error)
{
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, error);
	if (!r || !sv_snapshot_reader_verify(r, error)) {
		g_prefix_error(error, "the snapshot written does not read back: ");
		/* nobody should restore from it */
		g_unlink(path);
		return FALSE;
	}
	if (!sv_restore_image_check(r, error)) {
		g_prefix_error(error, "the snapshot written would not restore: ");
		g_unlink(path);
		return FALSE;
	}
	return TRUE;
}

/* --precopy: the rounds, run before anything is held or paused; the
 * final pause's choice then goes through pc (precopy.h). */
static gboolean run_precopy(SvMachine *m, const SvIntrospect *in, const SvGuestMem *mem,
			    const SvCheckpointOptions *o, gboolean was_running, SvPrecopy *pc,
			    SvPageBuffer *buffer, SvCheckpointStats *st, GError **error)
{
	if (o->parent || !was_running) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--precopy copies the pages while VM '%s' runs into a full snapshot: "
			    "%s",
			    m->name, o->parent ? "leave out --parent" : "resume the VM first");
		return FALSE;
	}
	gint64 t0 = g_get_monotonic_time();
	gboolean ok = sv_precopy_run(pc, m, in, mem, o, o->precopy_rounds, error);
	st->precopy_ms = ms_since(t0);
	st->precopy_rounds = pc->rounds;
	for (guint i = 0; i < pc->rounds && i < SV_PRECOPY_MAX_ROUNDS; i++)
		st->precopy_pages += pc->round_pages[i];
	st->precopy_last_pages = pc->rounds ? pc->round_pages[pc->rounds - 1] : 0;
	st->precopy_held_ms = pc->held_ms;
	st->precopy_paused_ms = pc->paused_ms;
	if (!ok) {
		say_left(error, "guest pid %u left running and nothing written", o->pid);
		return FALSE;
	}
	/* written from the copies, not through a mapping of the file */
	buffer->writer = NULL;
	/* room for the final pause's copy, faulted in now; without it (no
	 * memory) the pause faults its buffer in itself */
	(void)sv_page_buffer_prepare(buffer, sv_precopy_pause_estimate(pc), TRUE, NULL);
	buffer->select = sv_precopy_select;
	buffer->select_data = pc;
	st->dirty_method = SV_DIRTY_SOFT_DIRTY;
	st->dirty_armed = TRUE;
	return TRUE;
}

/* Pauses, captures and resumes (checkpoint.h); on success *ret_cap holds
 * the process's state in host memory. want_mm: the mm_struct the process
 * must still have (its soft-dirty bits are to be trusted), or 0. */
static gboolean capture_paused(SvMachine *m, const SvCheckpointOptions *o, gboolean was_running,
			       SvIntrospect *in, SvGuestMem *mem, SvPageBuffer *buffer,
			       guint64 want_mm, SvDirtyLog *dlog, SvCheckpointStats *st,
			       SvCapture **ret_cap, SvMemFiles **ret_mf, GPtrArray **ret_fs,
			       GError **error)
{
	g_autoptr(GArray) threads = NULL;
	g_autoptr(GPtrArray) vcpus = g_ptr_array_new_with_free_func(g_free);
	gint64 clock_read_at = 0;
	guint64 clock_ns = was_running && sv_introspect_needs_guest_clock(in)
				   ? guest_clock_ns(o, &clock_read_at)
				   : 0;
	gint64 pause_at = g_get_monotonic_time();
	if (!pause_for_task(m, o, was_running, o->kill_after, in, &threads, vcpus, st, error))
		return FALSE;
	/* every vCPU stopped: the log runs from here for the children */
	sv_dirty_log_take(dlog);
	if (clock_ns)
		sv_introspect_set_guest_clock(in, clock_ns + (guint64)(pause_at - clock_read_at) *
								     1000);
	/* paused now: capture, then resume whatever happened */
	gint64 t0 = g_get_monotonic_time();
	SvCapture *cap = NULL;
	if (want_mm && g_array_index(threads, SvTaskRef, 0).mm != want_mm)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest pid %u changed its address space (exec) while the checkpoint "
			    "began; try again",
			    o->pid);
	else
		cap = sv_capture(in, mem, (const SvTaskRef *)threads->data, threads->len,
				 (SvVcpuRegs *const *)vcpus->pdata, buffer, o->progress,
				 o->progress_data, error);
	st->capture_ms = ms_since(t0);
	st->copy_ms = cap ? cap->copy_ms : 0;
	const SvTaskRef *leader = &g_array_index(threads, SvTaskRef, 0);
	/* files only memory holds, read by identity before anything runs */
	gint64 tf = g_get_monotonic_time();
	*ret_mf = cap ? sv_memfiles_capture(in, leader->pid, cap->fds, cap->vmas,
					    sizeof(SvCaptureVma), error)
		      : NULL;
	if (!*ret_mf)
		g_clear_pointer(&cap, sv_capture_free);
	/* and the mapped files kept in memory anyway, for carrying; not in
	 * --precopy's pause, whose length is the point (a few ms for a
	 * 772 KB executable): those go through the agent after it */
	if (cap && o->read_file && !o->precopy_rounds)
		cap->mapped_files = sv_mapped_files_capture(in, cap->vmas, *ret_mf);
	/* and the files the guest wrote, as they are at this moment */
	if (cap && o->carry_fs) {
		*ret_fs = sv_introspect_guest_fs(in, leader, SV_FS_CARRY_MAX_BYTES, &st->fs_bytes,
						 error);
		if (*ret_fs)
			st->fs_files = (*ret_fs)->len;
		else
			g_clear_pointer(&cap, sv_capture_free);
	}
	st->pause_files_ms = ms_since(tf);
	/* a guest that died while paused cannot be resumed, but its process's
	 * state is already whole in host memory: it is still written, and the
	 * caller told */
	g_autoptr(GError) resume_error = NULL;
	if (was_running && !sv_machine_resume(m, &resume_error))
		st->resume_error = g_strdup(resume_error->message);
	st->pause_ms += ms_since(t0);
	*ret_cap = cap;
	return cap != NULL;
}

gboolean sv_checkpoint(SvMachine *m, const SvCheckpointOptions *o, SvCheckpointStats *st,
		       GError **error)
{
	gint64 start = g_get_monotonic_time();
	*st = (SvCheckpointStats){ 0 };
	g_auto(ParentOpen) parent_open = { .m = m, .path = o->parent, .output = o->output };
	if (o->parent)
		parent_open_start(&parent_open);
	SvMachineState state;
	if (!sv_machine_check_introspectable(m, &state, error))
		return FALSE;
	gboolean was_running = state == SV_MACHINE_RUNNING;
	/* mapped before the pause: a read-only view of the shared RAM file */
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(m, error);
	if (!mem)
		return FALSE;
	/* The kernel profile and the translation constants it reads from RAM
	 * (the direct map's base, where the image lies) do not change once the
	 * guest has booted: found before the pause, which they would lengthen. */
	g_autoptr(SvIntrospect) in = sv_introspect_new(m->arch, m->image_dir, mem, error);
	if (!in)
		return FALSE;
	st->profile_ms = ms_since(start);
	if (o->kill_after && !was_running) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "VM '%s' is paused, and --kill needs its guest agent: resume it (or "
			    "leave out --kill)",
			    m->name);
		return FALSE;
	}
	/* the file is made, and its room reserved, before anything is held:
	 * a full disk is found here, with the process never stopped */
	gint64 tn = g_get_monotonic_time();
	g_autoptr(SvSnapshotWriter) w = new_writer(m, o, error);
	if (!w) {
		say_left(error, "guest pid %u left running", o->pid);
		return FALSE;
	}
	st->writer_ms = ms_since(tn);
	g_auto(SvPageBuffer) buffer = { .writer = o->zstd_level ? NULL : w };
	g_autoptr(SvSnapshotReader) parent = NULL;
	g_autoptr(SvPageHashes) parent_hashes = NULL;
	g_auto(SvPageSelect) sel = { .page_size = m->arch->page_size };
	if (o->parent) {
		gint64 tj = g_get_monotonic_time();
		parent = parent_open_finish(&parent_open, &parent_hashes, error);
		st->parent_wait_ms = ms_since(tj);
		st->parent_ms = parent_open.ms;
		if (!parent)
			return FALSE;
		sel.parent = parent_hashes;
		/* files carried unchanged since are the parent's */
		sv_snapshot_writer_set_parent(w, parent);
		buffer.select = sv_page_select_changed;
		buffer.select_data = &sel;
	}
	/* a full checkpoint's buffer is made now, as large as the process,
	 * while the rest gets ready; an incremental checkpoint copies what
	 * changed, and --precopy what was written since its last round, which
	 * only the pause tells: their buffer is made then, as large as that */
	Prepare prep = { .buffer = &buffer, .in = in, .mem = mem, .pid = o->pid };
	GThread *preparing = NULL;
	gboolean full = !buffer.select && !o->precopy_rounds;
	if (full) {
		prep.len = buffer_size(in, mem, o->pid);
		preparing = prepare_start(&prep);
	}
	SvTaskRef tracked = { 0 };
	g_autofree char *mark = NULL;
	g_auto(SvPrecopy) pc = { 0 };
	g_autoptr(SvDirtyLog) dlog = NULL;
	if (o->precopy_rounds) {
		if (!run_precopy(m, in, mem, o, was_running, &pc, &buffer, st, error))
			return FALSE;
		tracked.mm = pc.mm;
		mark = g_strdup(pc.mark);
	} else {
		gint64 tt = g_get_monotonic_time();
		g_autoptr(GVariant) parent_track =
			parent ? sv_snapshot_reader_metadata(parent, SV_SNAP_SECTION_DIRTY_TRACK)
			       : NULL;
		/* the hypervisor's dirty log where the machine keeps one: taken
		 * at the pause (dirty-log.h) */
		dlog = sv_dirty_log_begin(m, in, o->pid, parent_track, &sel, &tracked,
					  &st->dirty_note);
		if (dlog && parent) {
			buffer.select = sv_dirty_log_select;
			buffer.select_data = dlog;
		} else if (!dlog) {
			/* soft-dirty: judged or armed before anything is held or
			 * paused */
			g_clear_pointer(&st->dirty_note, g_free);
			st->dirty_method = sv_dirty_track_begin(m->arch, in, o, was_running,
								parent != NULL, parent_track,
								&tracked, &mark, &st->dirty_note);
			sel.soft_dirty = st->dirty_method == SV_DIRTY_SOFT_DIRTY;
			st->dirty_armed = mark && !sel.soft_dirty;
		}
		if (!sel.soft_dirty && !(dlog && parent))
			tracked.mm = 0;
		st->track_ms = ms_since(tt);
	}
	if (full && !prepare_finish(preparing, &prep, error)) {
		say_left(error, "guest pid %u left running", o->pid);
		return FALSE;
	}
	/* the making, beside the dirty tracking's arm (track_ms) */
	st->prepare_ms = prep.ms;
	if (sel.soft_dirty && buffer.select == sv_page_select_changed) {
		gint64 tp = g_get_monotonic_time();
		prepare_dirty(in, mem, o->pid, &buffer);
		st->prepare_ms = ms_since(tp);
	}
	/* --kill: held still from before the capture until the kill, so it
	 * cannot run on past the state the snapshot holds (its output would
	 * then be printed twice once restored). What the pause would refuse
	 * (no such pid, a kernel thread, a zombie) is refused first, read
	 * while the VM runs: racy, but only for the error. The agent's hold
	 * waits for the process's children to end (held, it could not reap
	 * them); any it still has are refused in the pause. */
	gboolean held = o->kill_after;
	SvTaskRef probe;
	if (held && !sv_introspect_find_task(in, o->pid, &probe, error))
		return FALSE;
	if (held) {
		gint64 t0 = g_get_monotonic_time();
		if (!o->freeze(o->pid, o->control_data, error)) {
			g_prefix_error(error,
				       "cannot hold guest pid %u still for --kill: ", o->pid);
			say_left(error, "it was left running and nothing was written");
			return FALSE;
		}
		st->freeze_ms = ms_since(t0);
	}
	gint64 held_since = g_get_monotonic_time();
	g_autoptr(SvCapture) cap = NULL;
	g_autoptr(SvMemFiles) mf = NULL;
	g_autoptr(GPtrArray) fs = NULL;
	g_autoptr(GArray) sources = NULL;
	if (!capture_paused(m, o, was_running, in, mem, &buffer, tracked.mm, dlog, st, &cap, &mf,
			    &fs, error))
		goto fail;
	if (dlog) {
		if (!parent)
			sv_dirty_log_record(dlog, cap->runs);
		st->dirty_method = sv_dirty_log_method(dlog, parent != NULL);
		g_free(st->dirty_note);
		st->dirty_note = g_strdup(sv_dirty_log_note(dlog));
		mark = g_strdup(sv_dirty_log_mark(dlog));
	}
	st->regs_source = cap->regs_source;
	st->syscall = cap->syscall;
	st->threads = cap->nthreads;
	st->threads_on_vcpu = cap->threads_on_vcpu;
	st->vmas = cap->vmas->len;
	st->pages_present = cap->pages_len / m->arch->page_size;
	gint64 tw = g_get_monotonic_time();
	/* mapped before the pause, but there was nothing to copy into it */
	if (buffer.writer && buffer.data && !sv_snapshot_writer_commit_pages(w, NULL, 0, error))
		goto fail;
	if (o->parent) {
		st->hash_ms = cap->copy_ms;
		st->pages_present = sel.pages_present;
	}
	sources = o->precopy_rounds ? sv_precopy_sources(&pc, cap) : NULL;
	if (sources) {
		st->pages_present = 0;
		for (guint i = 0; i < sources->len; i++)
			st->pages_present += g_array_index(sources, SvPrecopySource, i).npages;
		st->pages_from_precopy = pc.pages_from_rounds;
	}
	if (!write_snapshot(m, w, cap, &sel, parent, mf, fs, mark, dlog != NULL, sources, o, st,
			    error))
		goto fail;
	st->write_ms = ms_since(tw);
	if (o->kill_after) {
		gint64 tv = g_get_monotonic_time();
		if (!read_back(o->output, error))
			goto fail;
		st->verify_ms = ms_since(tv);
		/* a guest that died after the capture took the process with it */
		if (!st->resume_error && !o->kill(o->pid, o->control_data, error)) {
			g_prefix_error(error,
				       "the snapshot %s is written, but killing guest pid %u "
				       "failed: ",
				       o->output, o->pid);
			goto fail;
		}
		st->held_ms = ms_since(held_since);
	}
	GStatBuf sb;
	st->file_size = g_stat(o->output, &sb) == 0 ? (guint64)sb.st_size : 0;
	st->total_ms = ms_since(start);
	return TRUE;

fail:
	if (st->resume_error)
		return FALSE; /* the guest is gone, and the process with it */
	if (held)
		let_go(o, error);
	else if (was_running && !g_error_matches(*error, SV_ERROR, SV_ERROR_NOT_FOUND))
		say_left(error, "guest pid %u left running", o->pid);
	return FALSE;
}
