/* SPDX-License-Identifier: MIT */
/* restore-image-write.c - snapshot to flat restore image (see
 * restore-image-build.h): runs the parts (restore-image-parts.h), lays
 * their tables out and writes the file. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/restore/restore-image-build.h"
#include "host/restore/restore-image-parts.h"

/* Largest image we build: the whole of it travels through guest RAM. */
#define MAX_IMAGE_BYTES (3ull << 30) /* and a newc cpio entry holds < 4 GiB */

static guint64 align_up(guint64 v, guint64 a)
{
	return (v + a - 1) / a * a;
}

/* The offset of a table of bytes at *off; *off moves past it, aligned. */
static guint64 place(guint64 *off, guint64 bytes)
{
	guint64 at = *off;
	*off = align_up(at + bytes, 16);
	return at;
}

/* A table of the image: its bytes, and the header field with its offset. */
typedef struct {
	const void *data;
	guint64 bytes;
	guint64 *off;
} Table;
#define NTABLES 18

/* Every table of the image, in file order (include/snapvm/restore-image-format.h). */
static void tables_of(SvRimgTables *t, const GArray *rruns, const GArray *lruns, Table out[NTABLES])
{
	struct sv_rimg_header *h = &t->h;
	gsize fpu_size;
	const void *fpu = g_variant_get_fixed_array(t->fpu, &fpu_size, 1);
	const Table all[] = {
		{ t->vmas->data, (guint64)t->vmas->len * sizeof(struct sv_rimg_vma), &h->off_vmas },
		{ t->files->data, (guint64)t->files->len * sizeof(struct sv_rimg_file),
		  &h->off_files },
		{ rruns->data, (guint64)rruns->len * sizeof(struct sv_rimg_run), &h->off_runs },
		{ t->sigactions->data,
		  (guint64)t->sigactions->len * sizeof(struct sv_rimg_sigaction),
		  &h->off_sigactions },
		{ t->sigqueue->data, (guint64)t->sigqueue->len * sizeof(struct sv_rimg_sigqueue),
		  &h->off_sigqueue },
		{ t->auxv->data, (guint64)t->auxv->len * sizeof(guint64), &h->off_auxv },
		{ t->regs->data, (guint64)t->regs->len * sizeof(struct sv_rimg_named),
		  &h->off_regs },
		{ fpu, fpu_size, &h->off_fpu },
		{ t->fds->data, (guint64)t->fds->len * sizeof(struct sv_rimg_fd), &h->off_fds },
		{ t->groups->data, (guint64)t->groups->len * sizeof(guint32), &h->off_groups },
		{ t->fsents->data, (guint64)t->fsents->len * sizeof(struct sv_rimg_fsent),
		  &h->off_fsents },
		{ t->fd_data->data, t->fd_data->len, &h->off_data },
		{ t->threads->data, (guint64)t->threads->len * sizeof(struct sv_rimg_thread),
		  &h->off_threads },
		{ t->thread_regs->data, (guint64)t->thread_regs->len * sizeof(struct sv_rimg_named),
		  &h->off_thread_regs },
		{ t->thread_sigqueue->data,
		  (guint64)t->thread_sigqueue->len * sizeof(struct sv_rimg_sigqueue),
		  &h->off_thread_sigqueue },
		{ t->thread_fpu->data, t->thread_fpu->len, &h->off_thread_fpu },
		{ lruns->data, (guint64)lruns->len * sizeof(struct sv_rimg_run),
		  &h->off_lazy_runs },
		{ t->strings->data, t->strings->len, &h->off_strings },
	};
	G_STATIC_ASSERT(G_N_ELEMENTS(all) == NTABLES);
	memcpy(out, all, sizeof(all));
}

/* Adjacent page runs become one image run: the data is written in vaddr
 * order. */
static GArray *image_runs(const GArray *page_runs, guint64 ps)
{
	GArray *rruns = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_run));
	for (guint i = 0; i < page_runs->len; i++) {
		const SvRestorePageRun *x = &g_array_index(page_runs, SvRestorePageRun, i);
		struct sv_rimg_run *last = rruns->len ? &g_array_index(rruns, struct sv_rimg_run,
								       rruns->len - 1)
						      : NULL;
		if (last && last->vaddr + last->npages * ps == x->vaddr) {
			last->npages += x->npages;
			continue;
		}
		struct sv_rimg_run e = { .vaddr = x->vaddr, .npages = x->npages };
		g_array_append_val(rruns, e);
	}
	return rruns;
}

/* The header's counts and offsets, each carried file's place and size,
 * each run's data_off; *ret_pages is the number of pages restored. */
static gboolean lay_out(SvRimgTables *t, GArray *rruns, const GArray *lruns, SvSnapshotReader *r,
			gboolean host_pages, guint *ret_nfiles_carried, guint64 *ret_pages,
			GError **error)
{
	const guint64 ps = t->h.page_size;
	struct sv_rimg_header *h = &t->h;
	h->nvmas = t->vmas->len;
	h->nfiles = t->files->len;
	h->nsigactions = t->sigactions->len;
	h->nsigqueue = t->sigqueue->len;
	h->nauxv = t->auxv->len / 2;
	h->nregs = t->regs->len;
	h->nruns = rruns->len;
	h->nthreads = t->threads->len;
	h->nthread_regs = t->thread_regs->len;
	h->nthread_sigqueue = t->thread_sigqueue->len;
	h->thread_fpu_len = t->thread_fpu->len;
	h->nlazy_runs = lruns->len;
	Table tables[NTABLES];
	tables_of(t, rruns, lruns, tables);
	guint64 off = sizeof(*h);
	for (guint i = 0; i < NTABLES; i++)
		*tables[i].off = place(&off, tables[i].bytes);
	h->strings_len = t->strings->len;
	off = align_up(off, ps);
	guint nfiles_carried = 0;
	for (guint i = 0; i < t->files->len; i++) {
		struct sv_rimg_file *f = &g_array_index(t->files, struct sv_rimg_file, i);
		if (!f->carried)
			continue;
		/* sizes only: a checkpoint checks the layout without the bytes */
		if (!sv_snapshot_reader_file_length(r, t->file_shas->pdata[i], &f->size, error))
			return FALSE;
		f->data_off = off;
		off = align_up(off + f->size, ps);
		nfiles_carried++;
	}
	/* Page data after the files, or, with host_pages, offsets in the
	 * restorer's staging area (the same order: by vaddr). */
	guint64 pages = 0;
	for (guint i = 0; i < rruns->len; i++) {
		struct sv_rimg_run *e = &g_array_index(rruns, struct sv_rimg_run, i);
		e->data_off = host_pages ? pages * ps : off;
		if (!host_pages)
			off += e->npages * ps;
		pages += e->npages;
	}
	h->file_size = off;
	if (off > MAX_IMAGE_BYTES)
		return sv_rimg_refuse(error,
				      "the restore image would be %" G_GUINT64_FORMAT
				      " MiB; at most %" G_GUINT64_FORMAT " MiB are supported",
				      off >> 20, (guint64)(MAX_IMAGE_BYTES >> 20));
	*ret_nfiles_carried = nfiles_carried;
	*ret_pages = pages;
	return TRUE;
}

static gboolean write_at(int fd, const void *buf, gsize len, guint64 off, const char *path,
			 GError **error)
{
	const guint8 *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "write %s: %s", path,
				    n < 0 ? g_strerror(errno) : "short write");
			return FALSE;
		}
		p += n;
		len -= (gsize)n;
		off += (guint64)n;
	}
	return TRUE;
}

/* Page data, snapshot runs in vaddr order: they land contiguously in the
 * coalesced runs. Zero pages stay holes of the sparse file. */
static gboolean write_pages(int fd, SvRimgTables *t, const GArray *rruns, SvSnapshotReader *r,
			    const char *path, GError **error)
{
	const guint64 ps = t->h.page_size;
	guint64 at = 0;
	guint ri = 0;
	for (guint i = 0; i < t->page_runs->len; i++) {
		const SvRestorePageRun *x = &g_array_index(t->page_runs, SvRestorePageRun, i);
		while (ri < rruns->len) {
			const struct sv_rimg_run *e = &g_array_index(rruns, struct sv_rimg_run, ri);
			if (x->vaddr >= e->vaddr && x->vaddr < e->vaddr + e->npages * ps) {
				at = e->data_off + (x->vaddr - e->vaddr);
				break;
			}
			ri++;
		}
		g_autoptr(GBytes) data = sv_snapshot_reader_section_data(r, x->section, error);
		if (!data)
			return FALSE;
		const guint8 *p = g_bytes_get_data(data, NULL);
		if (!write_at(fd, p + x->offset, x->npages * ps, at, path, error))
			return FALSE;
	}
	return TRUE;
}

/* The header, the tables, the carried files and (unless host_pages) the
 * page data into the already sized file fd. */
static gboolean write_image(int fd, SvRimgTables *t, const GArray *rruns, const GArray *lruns,
			    SvSnapshotReader *r, gboolean host_pages, const char *path,
			    GError **error)
{
	Table tables[NTABLES];
	tables_of(t, rruns, lruns, tables);
	if (!write_at(fd, &t->h, sizeof(t->h), 0, path, error))
		return FALSE;
	for (guint i = 0; i < NTABLES; i++)
		if (!write_at(fd, tables[i].data, tables[i].bytes, *tables[i].off, path, error))
			return FALSE;
	for (guint i = 0; i < t->files->len; i++) {
		const struct sv_rimg_file *f = &g_array_index(t->files, struct sv_rimg_file, i);
		if (!f->carried)
			continue;
		g_autoptr(GBytes) data = sv_snapshot_reader_file(r, t->file_shas->pdata[i], error);
		if (!data)
			return FALSE;
		if (g_bytes_get_size(data) != f->size)
			return sv_rimg_refuse(error,
					      "a carried file's size differs from its index's");
		if (!write_at(fd, g_bytes_get_data(data, NULL), f->size, f->data_off, path, error))
			return FALSE;
	}
	return host_pages || write_pages(fd, t, rruns, r, path, error);
}

/* The snapshot's sections the image is made of; refuses one without them. */
typedef struct {
	GVariant *task, *regs, *fpu, *tls, *mm, *vmas, *pagemap;
} Sections;

static void sections_clear(Sections *s)
{
	GVariant **all[] = { &s->task, &s->regs, &s->fpu, &s->tls, &s->mm, &s->vmas, &s->pagemap };
	for (guint i = 0; i < G_N_ELEMENTS(all); i++)
		g_clear_pointer(all[i], g_variant_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Sections, sections_clear)

static gboolean read_sections(SvSnapshotReader *r, Sections *s, GError **error)
{
	static const struct {
		guint32 kind;
		const char *name;
	} want[] = {
		{ SV_SNAP_SECTION_TASK, "TASK" },	{ SV_SNAP_SECTION_REGS, "REGS" },
		{ SV_SNAP_SECTION_FPU, "FPU" },		{ SV_SNAP_SECTION_TLS, "TLS" },
		{ SV_SNAP_SECTION_MM, "MM" },		{ SV_SNAP_SECTION_VMAS, "VMAS" },
		{ SV_SNAP_SECTION_PAGEMAP, "PAGEMAP" },
	};
	GVariant **dst[] = { &s->task, &s->regs, &s->fpu, &s->tls, &s->mm, &s->vmas, &s->pagemap };
	G_STATIC_ASSERT(G_N_ELEMENTS(want) == G_N_ELEMENTS(dst));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		*dst[i] = sv_snapshot_reader_metadata(r, want[i].kind);
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		if (!*dst[i])
			return sv_rimg_refuse(
				error, "the snapshot has no %s section: it cannot be restored",
				want[i].name);
	return TRUE;
}

/* The lazy runs as image runs (data_off 0: their pages come later). */
static GArray *lazy_image_runs(const GArray *lazy_runs, guint64 *ret_pages)
{
	GArray *lruns = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_run));
	*ret_pages = 0;
	for (guint i = 0; i < lazy_runs->len; i++) {
		const SvRestorePageRun *x = &g_array_index(lazy_runs, SvRestorePageRun, i);
		struct sv_rimg_run e = { .vaddr = x->vaddr, .npages = x->npages };
		g_array_append_val(lruns, e);
		*ret_pages += x->npages;
	}
	return lruns;
}

/* The image's tables and layout, as sv_restore_image_write writes them:
 * every refusal of restore's that the snapshot alone decides. */
static gboolean plan(SvSnapshotReader *r, SvRestorePages how, SvRimgTables *t, GArray **ret_rruns,
		     GArray **ret_lruns, guint *ret_nfiles_carried, guint64 *ret_pages,
		     guint64 *ret_lazy_pages, GError **error)
{
	gboolean host_pages = how != SV_RESTORE_PAGES_IN_IMAGE;
	const guint64 ps = sv_snapshot_reader_page_size(r);
	g_auto(Sections) s = { 0 };
	if (!read_sections(r, &s, error))
		return FALSE;
	if (ps != 4096)
		return sv_rimg_refuse(error,
				      "snapshot page size %" G_GUINT64_FORMAT " is not supported "
				      "(4096 only)",
				      ps);
	g_autoptr(GVariant) fs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FS);
	memcpy(t->h.magic, SV_RIMG_MAGIC, 8);
	t->h.version = SV_RIMG_VERSION;
	t->h.arch = sv_snapshot_reader_arch(r);
	t->h.page_size = (guint32)ps;
	t->h.header_size = sizeof(t->h);
	if (!sv_rimg_task_build(t, s.task, s.regs, s.tls, s.fpu, error) ||
	    !sv_rimg_mm_build(t, s.mm, error) || !sv_rimg_memfiles_build(t, s.task, error) ||
	    !sv_rimg_vmas_build(t, s.vmas, error) || !sv_rimg_fds_build(t, s.task, error) ||
	    !sv_rimg_process_build(t, s.task, error) || !sv_rimg_fs_build(t, fs, error) ||
	    !sv_rimg_page_runs_build(t, r, s.pagemap, error))
		return FALSE;
	if (t->uncarried)
		t->h.flags |= SV_RIMG_NO_FILES;
	if (host_pages)
		t->h.flags |= SV_RIMG_HOST_PAGES;
	if (how == SV_RESTORE_PAGES_LAZY) {
		t->h.flags |= SV_RIMG_LAZY;
		sv_rimg_lazy_split(t, ps);
	}

	*ret_rruns = image_runs(t->page_runs, ps);
	*ret_lruns = lazy_image_runs(t->lazy_runs, ret_lazy_pages);
	return lay_out(t, *ret_rruns, *ret_lruns, r, host_pages, ret_nfiles_carried, ret_pages,
		       error);
}

gboolean sv_restore_image_check(SvSnapshotReader *r, GError **error)
{
	g_auto(SvRimgTables) t;
	sv_rimg_tables_init(&t);
	g_autoptr(GArray) rruns = NULL;
	g_autoptr(GArray) lruns = NULL;
	guint nfiles_carried;
	guint64 pages, lazy_pages;
	return plan(r, SV_RESTORE_PAGES_HOST, &t, &rruns, &lruns, &nfiles_carried, &pages,
		    &lazy_pages, error);
}

gboolean sv_restore_image_write(SvSnapshotReader *r, const char *out_path, SvRestorePages how,
				SvRestoreImageInfo *ret_info, GError **error)
{
	gboolean host_pages = how != SV_RESTORE_PAGES_IN_IMAGE;
	g_auto(SvRimgTables) t;
	sv_rimg_tables_init(&t);
	g_autoptr(GArray) rruns = NULL;
	g_autoptr(GArray) lruns = NULL;
	guint nfiles_carried = 0;
	guint64 pages = 0, lazy_pages = 0;
	if (!plan(r, how, &t, &rruns, &lruns, &nfiles_carried, &pages, &lazy_pages, error))
		return FALSE;

	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", out_path,
			    g_strerror(errno));
		return FALSE;
	}
	gboolean ok = ftruncate(fd, (off_t)t.h.file_size) == 0;
	if (!ok)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot size %s: %s", out_path,
			    g_strerror(errno));
	ok = ok && write_image(fd, &t, rruns, lruns, r, host_pages, out_path, error);
	if (close(fd) < 0 && ok) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "close %s: %s", out_path,
			    g_strerror(errno));
		ok = FALSE;
	}
	if (!ok) {
		g_unlink(out_path);
		return FALSE;
	}
	if (ret_info) {
		*ret_info = (SvRestoreImageInfo){ .pid = t.h.pid,
						  .image_bytes = t.h.file_size,
						  .pages = pages,
						  .nvmas = t.vmas->len,
						  .nfiles_carried = nfiles_carried,
						  .no_files = t.uncarried,
						  .runs = g_steal_pointer(&t.page_runs),
						  .lazy_runs = g_steal_pointer(&t.lazy_runs),
						  .lazy_pages = lazy_pages };
		g_strlcpy(ret_info->comm, t.h.comm, sizeof(ret_info->comm));
	}
	return TRUE;
}

void sv_restore_image_info_clear(SvRestoreImageInfo *info)
{
	g_clear_pointer(&info->runs, g_array_unref);
	g_clear_pointer(&info->lazy_runs, g_array_unref);
}
