/* SPDX-License-Identifier: MIT */
/*
 * place-pages.c - the host writes a snapshot's pages straight into guest
 * RAM (SV_RIMG_HOST_PAGES, see include/snapvm/restore-image-format.h): the guest
 * restorer locks a staging area and tells us its frames, a slice at a
 * time; we copy each slice at host memcpy speed (instead of the guest
 * copying under TCG) while it locks the next.
 *
 * Guest RAM is the backend's shared file (memory-backend-file on /dev/shm
 * for QEMU, a memfd for the kvm VMM). The machine interface only hands out
 * a read-only view (guest-mem.h, deliberately: introspection must never
 * write), so the same file is reopened here for writing, through
 * /proc/self/map_files of that view, and written with pwrite - every
 * guest-physical address is still translated and bounds-checked by
 * guest-mem first. (A writable
 * accessor in guest-mem.c would be the cleaner home; it is not ours to
 * change.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Linux 5.14; an older kernel refuses the hint and the copy faults page
 * by page as before */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#include "snapvm/restore-image-format.h"
#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "base/guest-mem.h"
#include "host/restore/restore.h"

typedef struct {
	guint8 *ro_start, *ro_end; /* the read-only view's mapping */
	int fd;			   /* its file, open for writing; -1 until opened */
	off_t off;		   /* the file offset ro_start maps */
} RwView;

static void rw_view_clear(RwView *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RwView, rw_view_clear)

/* map_files needs CAP_SYS_ADMIN (CAP_CHECKPOINT_RESTORE from Linux 5.9),
 * so an ordinary user opens the mapping's file by the path its maps line
 * shows instead - QEMU's RAM file on /dev/shm, which is the user's own -
 * and only if it is still the very file mapped (same device and inode).
 * A memfd (the kvm VMM's RAM) has no such path: -1 with errno set. */
static int open_by_maps_path(const char *maps_line)
{
	unsigned int major, minor;
	unsigned long long inode;
	int path_at = 0;
	if (sscanf(maps_line, "%*x-%*x %*s %*x %x:%x %llu %n", &major, &minor, &inode, &path_at) !=
		    3 ||
	    !path_at || maps_line[path_at] != '/' || strstr(maps_line, " (deleted)")) {
		errno = EPERM;
		return -1;
	}
	int fd = open(maps_line + path_at, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_ino != inode || major(st.st_dev) != major ||
			minor(st.st_dev) != minor)) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* Opens, writable, the file mapping that holds ro (found in /proc/self/maps). */
static gboolean rw_view_open(RwView *v, const void *ro, GError **error)
{
	g_autofree char *maps = NULL;
	if (!g_file_get_contents("/proc/self/maps", &maps, NULL, error))
		return FALSE;
	guintptr p = (guintptr)ro;
	for (char *line = maps; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long long s, e, off;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s %llx", &s, &e, perms, &off) == 4 && p >= s &&
		    p < e) {
			g_autofree char *link = g_strdup_printf("/proc/self/map_files/%llx-%llx", s,
								e);
			int fd = open(link, O_RDWR | O_CLOEXEC);
			if (fd < 0 && (errno == EPERM || errno == EACCES))
				fd = open_by_maps_path(line);
			if (fd < 0) {
				g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
					    "cannot open guest RAM for writing (%s): %s", link,
					    g_strerror(errno));
				return FALSE;
			}
			v->fd = fd;
			v->off = (off_t)off;
			v->ro_start = (guint8 *)(guintptr)s;
			v->ro_end = (guint8 *)(guintptr)e;
			return TRUE;
		}
		line = next;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
		    "guest RAM view not found in /proc/self/maps");
	return FALSE;
}

/* Writes len bytes at guest-physical gpa: checked by guest-mem, then
 * written into the RAM file at the offset its read-only view maps there
 * (one mapping is all either backend uses; a range outside it is
 * refused). pwrite, not a writable mapping: the kernel copies into the
 * file's pages as they are, where a mapping first has to fault every
 * page into our page tables and tear them down again (measured: 0.18 s
 * against 0.28 s for 512 MiB on tmpfs). */
static gboolean rw_write(RwView *v, const SvGuestMem *mem, guint64 gpa, const guint8 *src,
			 gsize len, GError **error)
{
	const guint8 *ro = sv_guest_mem_ptr(mem, sv_gpa(gpa), len, error);
	if (!ro)
		return FALSE;
	if (v->fd < 0 && !rw_view_open(v, ro, error))
		return FALSE;
	if (ro < v->ro_start || ro + len > v->ro_end) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest frame 0x%" G_GINT64_MODIFIER "x is in another RAM mapping", gpa);
		return FALSE;
	}
	off_t at = v->off + (ro - v->ro_start);
	for (gsize done = 0; done < len;) {
		ssize_t k = pwrite(v->fd, src + done, len - done, at + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "cannot write guest RAM at 0x%" G_GINT64_MODIFIER "x: %s", gpa,
				    k < 0 ? g_strerror(errno) : "short write");
			return FALSE;
		}
		done += (gsize)k;
	}
	return TRUE;
}

/* The same writes for the others (one view of the RAM file, opened at
 * the first): lazy-host.c fills the pager's buffer, a restore --pool a
 * standby's mailbox (sv_guest_ram_write_frames). */
struct SvGuestRamWriter {
	RwView view;
};

SvGuestRamWriter *sv_guest_ram_writer_new(void)
{
	SvGuestRamWriter *w = g_new0(SvGuestRamWriter, 1);
	w->view.fd = -1;
	return w;
}

void sv_guest_ram_writer_free(SvGuestRamWriter *w)
{
	if (!w)
		return;
	rw_view_clear(&w->view);
	g_free(w);
}

gboolean sv_guest_ram_write(SvGuestRamWriter *w, const SvGuestMem *mem, guint64 gpa,
			    const void *src, gsize len, GError **error)
{
	return rw_write(&w->view, mem, gpa, src, len, error);
}

gboolean sv_guest_ram_write_frames(SvGuestRamWriter *w, const SvGuestMem *mem, const GArray *frames,
				   guint64 offset, const void *data, gsize len, GError **error)
{
	const guint8 *src = data;
	const guint64 ps = 4096;
	for (guint i = 0; i < frames->len && len; i++) {
		const struct sv_rimg_pfn_run *f = &g_array_index(frames, struct sv_rimg_pfn_run, i);
		guint64 bytes = f->npages * ps;
		if (offset >= bytes) {
			offset -= bytes;
			continue;
		}
		gsize n = (gsize)MIN(bytes - offset, (guint64)len);
		if (!sv_guest_ram_write(w, mem, f->pfn * ps + offset, src, n, error))
			return FALSE;
		src += n;
		len -= n;
		offset = 0;
	}
	if (len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%" G_GSIZE_FORMAT " bytes more than the guest frames hold", len);
		return FALSE;
	}
	return TRUE;
}

typedef SvRestorePageRun SnapRun;

struct SvPagePlacer {
	const SvGuestMem *mem;
	SvSnapshotReader *r;
	const GArray *runs; /* the image's: the staging order, by vaddr */
	guint64 ps, total;  /* page size; pages in the staging area */
	RwView view;
	guint si;	/* the snapshot run the next staged page is in */
	guint64 s_done; /* and its pages already placed */
	guint64 placed; /* staged pages placed, in order */
	guint32 cur_section;
	GBytes *data; /* cur_section's pages */
	guint64 nruns;
};

SvPagePlacer *sv_page_placer_new(const SvGuestMem *mem, SvSnapshotReader *r, const GArray *runs)
{
	SvPagePlacer *p = g_new0(SvPagePlacer, 1);
	p->mem = mem;
	p->r = r;
	p->runs = runs;
	p->ps = sv_snapshot_reader_page_size(r);
	for (guint i = 0; i < runs->len; i++)
		p->total += g_array_index(runs, SnapRun, i).npages;
	p->cur_section = G_MAXUINT32;
	p->view.fd = -1;
	return p;
}

void sv_page_placer_free(SvPagePlacer *p)
{
	if (!p)
		return;
	rw_view_clear(&p->view);
	g_clear_pointer(&p->data, g_bytes_unref);
	g_free(p);
}

gboolean sv_page_placer_done(const SvPagePlacer *p)
{
	return p->placed == p->total;
}

guint64 sv_page_placer_left(const SvPagePlacer *p)
{
	return p->total - p->placed;
}

guint64 sv_page_placer_bytes(const SvPagePlacer *p)
{
	return p->placed * p->ps;
}

guint64 sv_page_placer_frame_runs(const SvPagePlacer *p)
{
	return p->nruns;
}

/* Fills the page tables of the part of the snapshot's mapping that holds
 * d: one call instead of a fault per page at the copy. */
static void populate(const guint8 *d, gsize len, guint64 ps)
{
	guintptr sa = (guintptr)d & ~(guintptr)(ps - 1);
	madvise((void *)sa, len + ((guintptr)d - sa), MADV_POPULATE_READ);
}

/* The snapshot's pages for the next n staged pages (n at most what the
 * current snapshot run has left), its section mapped and read in once. */
static const guint8 *next_source(SvPagePlacer *p, guint64 *n, GError **error)
{
	const SnapRun *s = &g_array_index(p->runs, SnapRun, p->si);
	if (s->section != p->cur_section) {
		g_clear_pointer(&p->data, g_bytes_unref);
		p->data = sv_snapshot_reader_section_data(p->r, s->section, error);
		if (!p->data)
			return NULL;
		p->cur_section = s->section;
		/* one call reads the whole section in (when the snapshot is a
		 * mapped file) instead of a fault per page */
		gsize len;
		const guint8 *d = g_bytes_get_data(p->data, &len);
		populate(d, len, p->ps);
	}
	*n = MIN(*n, s->npages - p->s_done);
	return (const guint8 *)g_bytes_get_data(p->data, NULL) + s->offset + p->s_done * p->ps;
}

struct SvPagePrefetch {
	SvSnapshotReader *r;
	GArray *sections; /* guint: the sections to go through, each once */
	GThread *thread;
};

static gpointer prefetch_thread(gpointer data)
{
	SvPagePrefetch *pf = data;
	for (guint i = 0; i < pf->sections->len; i++) {
		g_autoptr(GBytes)
			d = sv_snapshot_reader_section_data(pf->r,
							    g_array_index(pf->sections, guint, i),
							    NULL);
		gsize len;
		const guint8 *at = d ? g_bytes_get_data(d, &len) : NULL;
		if (at)
			populate(at, len, sv_snapshot_reader_page_size(pf->r));
	}
	return NULL;
}

SvPagePrefetch *sv_page_prefetch_start(SvSnapshotReader *r, const GArray *runs)
{
	guint n;
	const SvSnapshotSection *own = sv_snapshot_reader_sections(r, &n);
	g_autoptr(GArray) sections = g_array_new(FALSE, FALSE, sizeof(guint));
	for (guint i = 0; runs && i < runs->len; i++) {
		guint s = g_array_index(runs, SnapRun, i).section;
		/* runs are in staging order, a section's together; a
		 * compressed one is decompressed once, at its copy */
		if (s < n && !(own[s].flags & SV_SNAP_SECTION_ZSTD) &&
		    (!sections->len || g_array_index(sections, guint, sections->len - 1) != s))
			g_array_append_val(sections, s);
	}
	if (!sections->len)
		return NULL;
	SvPagePrefetch *pf = g_new0(SvPagePrefetch, 1);
	pf->r = r;
	pf->sections = g_steal_pointer(&sections);
	pf->thread = g_thread_new("page-prefetch", prefetch_thread, pf);
	return pf;
}

void sv_page_prefetch_finish(SvPagePrefetch *pf)
{
	if (!pf)
		return;
	g_thread_join(pf->thread);
	g_array_unref(pf->sections);
	g_free(pf);
}

/* Copies the staged pages of one frame run (checked to continue where
 * the last one ended) into guest RAM. */
static gboolean place_run(SvPagePlacer *p, const struct sv_rimg_pfn_run *f, GError **error)
{
	if (f->staging_page != p->placed || f->npages == 0 || f->npages > p->total - p->placed ||
	    f->pfn > G_MAXUINT64 / p->ps - f->npages) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "page-frame message does not cover the staging area in order");
		return FALSE;
	}
	for (guint64 done = 0; done < f->npages;) {
		guint64 n = f->npages - done;
		const guint8 *src = next_source(p, &n, error);
		if (!src)
			return FALSE;
		if (!rw_write(&p->view, p->mem, (f->pfn + done) * p->ps, src, n * p->ps, error))
			return FALSE;
		done += n;
		p->s_done += n;
		if (p->s_done == g_array_index(p->runs, SnapRun, p->si).npages) {
			p->si++;
			p->s_done = 0;
		}
	}
	p->placed += f->npages;
	p->nruns++;
	return TRUE;
}

gboolean sv_page_placer_add(SvPagePlacer *p, const guint8 *msg, gsize len, GError **error)
{
	struct sv_rimg_pfn_header hdr;
	if (len < sizeof(hdr)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "short page-frame message");
		return FALSE;
	}
	memcpy(&hdr, msg, sizeof(hdr));
	if (memcmp(hdr.magic, SV_RIMG_PFN_MAGIC, 8) ||
	    hdr.nruns > (len - sizeof(hdr)) / sizeof(struct sv_rimg_pfn_run) ||
	    len != sizeof(hdr) + hdr.nruns * sizeof(struct sv_rimg_pfn_run)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "malformed page-frame message");
		return FALSE;
	}
	if (hdr.staging_pages != p->total) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the guest staged %" G_GUINT64_FORMAT
			    " pages, the snapshot has %" G_GUINT64_FORMAT,
			    (guint64)hdr.staging_pages, p->total);
		return FALSE;
	}
	for (guint64 i = 0; i < hdr.nruns; i++) {
		struct sv_rimg_pfn_run f;
		memcpy(&f, msg + sizeof(hdr) + i * sizeof(f), sizeof(f));
		if (!place_run(p, &f, error))
			return FALSE;
	}
	return TRUE;
}
