/* SPDX-License-Identifier: MIT */
/* restore-image.c - snapshot to flat restore image (see restore-image.h). */
#include "host/restore/restore-image.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapvm/restore-image-format.h"
#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/restore/restore-image-fds.h"

/* Kernel vm_flags bits restore looks at (include/linux/mm.h). */
#define VM_SHARED_ 0x8ull
#define VM_GROWSDOWN_ 0x100ull
#define VM_NORESERVE_ 0x00200000ull

/* Largest image we build: the whole of it travels through guest RAM. */
#define MAX_IMAGE_BYTES (3ull << 30) /* and a newc cpio entry holds < 4 GiB */

/* An integer of any width from a dict; the checkpoint writes some fields as
 * u32 and some as u64, and a later minor version may widen one. */
static gboolean dict_int(GVariant *dict, const char *key, guint64 *ret)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);
	if (!v)
		return FALSE;
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64))
		*ret = g_variant_get_uint64(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
		*ret = g_variant_get_uint32(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
		*ret = (guint64)g_variant_get_int64(v);
	else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
		*ret = (guint64)(gint64)g_variant_get_int32(v);
	else
		return FALSE;
	return TRUE;
}

static gboolean need_int(GVariant *dict, const char *section, const char *key, guint64 *ret,
			 GError **error)
{
	if (dict_int(dict, key, ret))
		return TRUE;
	return sv_rimg_refuse(error, "the snapshot's %s section has no integer '%s'", section, key);
}

guint32 sv_rimg_add_string(GByteArray *s, const char *str)
{
	guint32 off = s->len;
	g_byte_array_append(s, (const guint8 *)str, strlen(str) + 1);
	return off;
}

void sv_rimg_hex_to_bytes(const char *hex, guint8 out[32])
{
	memset(out, 0, 32);
	for (int i = 0; i < 32 && hex[2 * i] && hex[2 * i + 1]; i++)
		out[i] = (guint8)(g_ascii_xdigit_value(hex[2 * i]) << 4 |
				  g_ascii_xdigit_value(hex[2 * i + 1]));
}

typedef SvRestorePageRun Run;

static gint compare_runs(gconstpointer a, gconstpointer b)
{
	const Run *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
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

static guint64 align_up(guint64 v, guint64 a)
{
	return (v + a - 1) / a * a;
}

gboolean sv_restore_image_write(SvSnapshotReader *r, const char *out_path, gboolean host_pages,
				SvRestoreImageInfo *ret_info, GError **error)
{
	const guint64 ps = sv_snapshot_reader_page_size(r);
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	g_autoptr(GVariant) regs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_REGS);
	g_autoptr(GVariant) fpu = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FPU);
	g_autoptr(GVariant) tls = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TLS);
	g_autoptr(GVariant) mm = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_MM);
	g_autoptr(GVariant) vmas = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_VMAS);
	g_autoptr(GVariant) pagemap = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGEMAP);
	static const char *const names[] = { "TASK", "REGS", "FPU", "TLS", "MM", "VMAS", "PAGEMAP" };
	GVariant *all[] = { task, regs, fpu, tls, mm, vmas, pagemap };
	for (guint i = 0; i < G_N_ELEMENTS(all); i++)
		if (!all[i])
			return sv_rimg_refuse(error, "the snapshot has no %s section: it cannot be restored",
				      names[i]);
	if (ps != 4096)
		return sv_rimg_refuse(error, "snapshot page size %" G_GUINT64_FORMAT " is not supported "
				     "(4096 only)", ps);

	struct sv_rimg_header h = { 0 };
	memcpy(h.magic, SV_RIMG_MAGIC, 8);
	h.version = SV_RIMG_VERSION;
	h.arch = sv_snapshot_reader_arch(r);
	h.page_size = (guint32)ps;
	h.header_size = sizeof(h);

	/* ---- task ---- */
	guint64 pid, tid, v;
	if (!need_int(task, "TASK", "pid", &pid, error) || !need_int(task, "TASK", "tid", &tid, error))
		return FALSE;
	if (pid != tid)
		return sv_rimg_refuse(error, "the snapshot is of thread %" G_GUINT64_FORMAT " of process %"
				     G_GUINT64_FORMAT "; only whole single-threaded processes restore",
			      tid, pid);
	h.pid = (guint32)pid;
	const char *comm = "";
	g_variant_lookup(task, "comm", "&s", &comm);
	g_strlcpy(h.comm, comm, sizeof(h.comm));
	struct {
		const char *key;
		guint64 *dst;
	} task_fields[] = {
		{ "clear_child_tid", &h.clear_child_tid }, { "robust_list", &h.robust_list },
		{ "rseq", &h.rseq },			   { "sigblocked", &h.sigblocked },
		{ "sigpending", &h.sigpending },	   { "sigpending_shared", &h.sigpending_shared },
		{ "sigaltstack_sp", &h.sigaltstack_sp },   { "sigaltstack_size", &h.sigaltstack_size },
	};
	for (guint i = 0; i < G_N_ELEMENTS(task_fields); i++)
		if (!need_int(task, "TASK", task_fields[i].key, task_fields[i].dst, error))
			return FALSE;
	if (!need_int(task, "TASK", "rseq_len", &v, error))
		return FALSE;
	h.rseq_len = (guint32)v;
	if (!need_int(task, "TASK", "rseq_sig", &v, error))
		return FALSE;
	h.rseq_sig = (guint32)v;
	if (!need_int(task, "TASK", "sigaltstack_flags", &v, error))
		return FALSE;
	h.sigaltstack_flags = (guint32)v;
	if (!need_int(task, "TASK", "personality", &v, error))
		return FALSE;
	h.personality = (guint32)v;
	/* A task caught inside sigsuspend or similar runs with its real mask
	 * saved aside; the restored one runs with the mask it will return to. */
	guint64 real_blocked = 0;
	if (dict_int(task, "sigblocked_real", &real_blocked) && real_blocked)
		h.sigblocked = real_blocked;

	g_autoptr(GArray) sigactions = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_sigaction));
	g_autoptr(GVariant) acts = g_variant_lookup_value(task, "sigactions", G_VARIANT_TYPE("a(utttt)"));
	if (acts) {
		GVariantIter it;
		struct sv_rimg_sigaction a = { 0 };
		guint32 signo;
		g_variant_iter_init(&it, acts);
		while (g_variant_iter_next(&it, "(utttt)", &signo, &a.handler, &a.flags, &a.restorer,
					   &a.mask)) {
			if (signo < 1 || signo > 64)
				return sv_rimg_refuse(error, "sigaction for signal %u is out of range", signo);
			a.signo = signo;
			g_array_append_val(sigactions, a);
		}
	}
	g_autoptr(GArray) sigqueue = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_sigqueue));
	static const char *const queues[] = { "sigqueue", "sigqueue_shared" };
	for (guint q = 0; q < 2; q++) {
		g_autoptr(GVariant) list = g_variant_lookup_value(task, queues[q], G_VARIANT_TYPE("a(uay)"));
		if (!list)
			continue;
		GVariantIter it;
		guint32 signo;
		GVariant *info;
		g_variant_iter_init(&it, list);
		while (g_variant_iter_next(&it, "(u@ay)", &signo, &info)) {
			struct sv_rimg_sigqueue e = { .signo = signo, .shared = q };
			gsize n;
			const guint8 *b = g_variant_get_fixed_array(info, &n, 1);
			memcpy(e.info, b, MIN(n, sizeof(e.info)));
			g_variant_unref(info);
			if (signo < 1 || signo > 64)
				return sv_rimg_refuse(error, "queued signal %u is out of range", signo);
			g_array_append_val(sigqueue, e);
		}
	}

	/* ---- registers: named, the arch restorer picks them by name ---- */
	g_autoptr(GArray) named = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_named));
	{
		g_autoptr(GVariant) dict = g_variant_get_child_value(regs, 0);
		GVariantIter it;
		const char *name;
		guint64 value;
		g_variant_iter_init(&it, dict);
		while (g_variant_iter_next(&it, "{&st}", &name, &value)) {
			struct sv_rimg_named e = { 0 };
			if (strlen(name) >= sizeof(e.name))
				return sv_rimg_refuse(error, "register name '%s' is too long", name);
			g_strlcpy(e.name, name, sizeof(e.name));
			e.value = value;
			g_array_append_val(named, e);
		}
	}
	/* TLS: its integers join the registers; descriptor tables (arrays)
	 * are not restored, so they must be empty. */
	{
		GVariantIter it;
		const char *key;
		GVariant *val;
		g_variant_iter_init(&it, tls);
		while (g_variant_iter_next(&it, "{&sv}", &key, &val)) {
			g_autoptr(GVariant) owned = val;
			guint64 x;
			if (g_variant_is_of_type(val, G_VARIANT_TYPE_BYTESTRING)) {
				gsize n;
				const guint8 *b = g_variant_get_fixed_array(val, &n, 1);
				for (gsize i = 0; i < n; i++)
					if (b[i])
						return sv_rimg_refuse(error,
							      "the process uses TLS descriptors (%s): "
							      "restoring them is not supported yet",
							      key);
				continue;
			}
			if (!dict_int(tls, key, &x))
				continue;
			struct sv_rimg_named e = { 0 };
			if (strlen(key) >= sizeof(e.name))
				continue;
			g_strlcpy(e.name, key, sizeof(e.name));
			e.value = x;
			g_array_append_val(named, e);
		}
	}
	/* ---- FPU ---- */
	g_autoptr(GVariant) fpu_raw = g_variant_get_child_value(fpu, 3);
	gsize fpu_size;
	const guint8 *fpu_bytes = g_variant_get_fixed_array(fpu_raw, &fpu_size, 1);
	g_variant_get_child(fpu, 1, "t", &h.fpu_features);
	if (fpu_size > 64 * 1024)
		return sv_rimg_refuse(error, "FPU state of %" G_GSIZE_FORMAT " bytes is too large", fpu_size);
	h.fpu_size = (guint32)fpu_size;

	/* ---- mm ---- */
	{
		g_autoptr(GVariant) fields = g_variant_get_child_value(mm, 0);
		struct {
			const char *key;
			guint64 *dst;
		} mm_fields[] = {
			{ "start_code", &h.start_code }, { "end_code", &h.end_code },
			{ "start_data", &h.start_data }, { "end_data", &h.end_data },
			{ "start_brk", &h.start_brk },	 { "brk", &h.brk },
			{ "start_stack", &h.start_stack }, { "arg_start", &h.arg_start },
			{ "arg_end", &h.arg_end },	 { "env_start", &h.env_start },
			{ "env_end", &h.env_end },
		};
		for (guint i = 0; i < G_N_ELEMENTS(mm_fields); i++)
			if (!g_variant_lookup(fields, mm_fields[i].key, "t", mm_fields[i].dst))
				return sv_rimg_refuse(error, "the snapshot's MM section has no '%s'",
					      mm_fields[i].key);
	}
	g_autoptr(GArray) auxv = g_array_new(FALSE, TRUE, sizeof(guint64));
	{
		g_autoptr(GVariant) pairs = g_variant_get_child_value(mm, 1);
		GVariantIter it;
		guint64 id, val;
		g_variant_iter_init(&it, pairs);
		while (g_variant_iter_next(&it, "(tt)", &id, &val)) {
			g_array_append_val(auxv, id);
			g_array_append_val(auxv, val);
			if (id == 0)
				break;
		}
		if (auxv->len == 0 || g_array_index(auxv, guint64, auxv->len - 2) != 0) {
			guint64 zero = 0;
			g_array_append_val(auxv, zero);
			g_array_append_val(auxv, zero);
		}
		if (auxv->len > 2 * 64)
			return sv_rimg_refuse(error, "saved auxv has %u entries; the kernel keeps at most 64",
				      auxv->len / 2);
	}

	/* ---- VMAs and the files they map ---- */
	g_autoptr(GByteArray) strings = g_byte_array_new();
	sv_rimg_add_string(strings, "");
	g_autoptr(GArray) rvmas = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_vma));
	g_autoptr(GArray) rfiles = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_file));
	g_autoptr(GPtrArray) file_shas = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) file_by_path = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gboolean no_files = FALSE;
	{
		GVariantIter it;
		guint64 start, end, vm_flags, pgoff;
		guint32 prot;
		const char *name, *sha;
		g_variant_iter_init(&it, vmas);
		while (g_variant_iter_next(&it, "(ttutt&s&s)", &start, &end, &prot, &vm_flags, &pgoff,
					   &name, &sha)) {
			struct sv_rimg_vma e = { .start = start, .end = end, .pgoff = pgoff,
						 .prot = prot & 7, .file = -1 };
			if (vm_flags & VM_SHARED_)
				e.flags |= SV_RIMG_VMA_SHARED;
			if (vm_flags & VM_GROWSDOWN_)
				e.flags |= SV_RIMG_VMA_GROWSDOWN;
			if (vm_flags & VM_NORESERVE_)
				e.flags |= SV_RIMG_VMA_NORESERVE;
			if (!strcmp(name, "[vdso]"))
				e.flags |= SV_RIMG_VMA_VDSO;
			else if (!strcmp(name, "[vvar]"))
				e.flags |= SV_RIMG_VMA_VVAR;
			else if (!strcmp(name, "[heap]"))
				e.flags |= SV_RIMG_VMA_HEAP;
			else if (name[0] == '[' && strcmp(name, "[stack]"))
				return sv_rimg_refuse(error, "mapping %s at 0x%" G_GINT64_MODIFIER "x is a kernel "
						     "special mapping restore does not know",
					      name, start);
			if (name[0] == '/') {
				gpointer idx;
				if (!g_hash_table_lookup_extended(file_by_path, name, NULL, &idx)) {
					struct sv_rimg_file f = { .path_off = sv_rimg_add_string(strings, name),
								  .carried = sha[0] != 0 };
					if (f.carried)
						sv_rimg_hex_to_bytes(sha, f.sha256);
					else
						no_files = TRUE;
					idx = GUINT_TO_POINTER(rfiles->len);
					g_array_append_val(rfiles, f);
					g_ptr_array_add(file_shas, g_strdup(sha));
					g_hash_table_insert(file_by_path, g_strdup(name), idx);
				}
				e.file = (gint32)GPOINTER_TO_UINT(idx);
			} else if (name[0] && name[0] != '[') {
				return sv_rimg_refuse(error, "mapping at 0x%" G_GINT64_MODIFIER "x is named '%s', "
						     "which is neither a file nor a known region",
					      start, name);
			}
			e.name_off = sv_rimg_add_string(strings, name);
			g_array_append_val(rvmas, e);
		}
	}
	/* ---- fds and process environment (may add files) ---- */
	g_autoptr(GArray) rfds = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_fd));
	g_autoptr(GArray) groups = g_array_new(FALSE, TRUE, sizeof(guint32));
	g_autoptr(GByteArray) fd_data = g_byte_array_new();
	{
		SvRimgFiles f = { .strings = strings, .files = rfiles, .shas = file_shas,
				  .by_path = file_by_path };
		if (!sv_rimg_fds_build(task, &h, &f, rfds, groups, fd_data, &no_files, error))
			return FALSE;
	}
	if (no_files)
		h.flags |= SV_RIMG_NO_FILES;
	if (host_pages)
		h.flags |= SV_RIMG_HOST_PAGES;

	/* ---- page runs ---- */
	g_autoptr(GArray) runs = g_array_new(FALSE, FALSE, sizeof(Run));
	{
		GVariantIter it;
		Run run;
		guint32 npages, section;
		g_variant_iter_init(&it, pagemap);
		while (g_variant_iter_next(&it, "(tuut)", &run.vaddr, &npages, &section, &run.offset)) {
			run.npages = npages;
			run.section = section;
			g_array_append_val(runs, run);
		}
		g_array_sort(runs, compare_runs);
	}
	/* Pages of a private file mapping that hold exactly the file's bytes
	 * need not be stored: the mapping reads them from the file. Leaving
	 * them out keeps an unwritten mapping unwritten in the restored
	 * process (no copy-on-write pages, no VM_ACCOUNT), and moves less. */
	{
		g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(Run));
		g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		for (guint i = 0; i < rfiles->len; i++)
			g_ptr_array_add(contents, NULL);
		guint vi = 0;
		for (guint i = 0; i < runs->len; i++) {
			const Run *x = &g_array_index(runs, Run, i);
			while (vi < rvmas->len && g_array_index(rvmas, struct sv_rimg_vma, vi).end <= x->vaddr)
				vi++;
			const struct sv_rimg_vma *v =
				vi < rvmas->len ? &g_array_index(rvmas, struct sv_rimg_vma, vi) : NULL;
			GBytes *file = NULL;
			if (v && v->file >= 0 && !(v->flags & SV_RIMG_VMA_SHARED) &&
			    g_array_index(rfiles, struct sv_rimg_file, v->file).carried) {
				if (!contents->pdata[v->file])
					contents->pdata[v->file] = sv_snapshot_reader_file(r, file_shas->pdata[v->file], error);
				if (!(file = contents->pdata[v->file]))
					return FALSE;
			}
			if (!file) {
				g_array_append_val(kept, *x);
				continue;
			}
			g_autoptr(GBytes) data = sv_snapshot_reader_section_data(r, x->section, error);
			if (!data)
				return FALSE;
			gsize flen;
			const guint8 *f = g_bytes_get_data(file, &flen);
			const guint8 *pg = (const guint8 *)g_bytes_get_data(data, NULL) + x->offset;
			static const guint8 zero[4096];
			for (guint64 k = 0; k < x->npages; k++, pg += ps) {
				guint64 va = x->vaddr + k * ps;
				guint64 foff = v->pgoff * ps + (va - v->start);
				gsize in = foff < flen ? MIN(ps, flen - foff) : 0;
				if ((in == 0 || !memcmp(pg, f + foff, in)) &&
				    (in == ps || !memcmp(pg + in, zero, ps - in)))
					continue;
				Run *last = kept->len ? &g_array_index(kept, Run, kept->len - 1) : NULL;
				guint64 off = x->offset + k * ps;
				if (last && last->section == x->section &&
				    last->vaddr + last->npages * ps == va && last->offset + last->npages * ps == off) {
					last->npages++;
					continue;
				}
				Run piece = { .vaddr = va, .npages = 1, .section = x->section, .offset = off };
				g_array_append_val(kept, piece);
			}
		}
		g_array_set_size(runs, 0);
		g_array_append_vals(runs, kept->data, kept->len);
	}

	/* ---- layout ---- */
	h.nvmas = rvmas->len;
	h.nfiles = rfiles->len;
	h.nsigactions = sigactions->len;
	h.nsigqueue = sigqueue->len;
	h.nauxv = auxv->len / 2;
	h.nregs = named->len;
	/* Adjacent runs become one: the data is written in vaddr order. */
	g_autoptr(GArray) rruns = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_run));
	for (guint i = 0; i < runs->len; i++) {
		const Run *x = &g_array_index(runs, Run, i);
		struct sv_rimg_run *last =
			rruns->len ? &g_array_index(rruns, struct sv_rimg_run, rruns->len - 1) : NULL;
		if (last && last->vaddr + last->npages * ps == x->vaddr) {
			last->npages += x->npages;
			continue;
		}
		struct sv_rimg_run e = { .vaddr = x->vaddr, .npages = x->npages };
		g_array_append_val(rruns, e);
	}
	h.nruns = rruns->len;
	guint64 off = sizeof(h);
#define PLACE(field, bytes) (h.field = off, off = align_up(off + (bytes), 16))
	PLACE(off_vmas, (guint64)rvmas->len * sizeof(struct sv_rimg_vma));
	PLACE(off_files, (guint64)rfiles->len * sizeof(struct sv_rimg_file));
	PLACE(off_runs, (guint64)rruns->len * sizeof(struct sv_rimg_run));
	PLACE(off_sigactions, (guint64)sigactions->len * sizeof(struct sv_rimg_sigaction));
	PLACE(off_sigqueue, (guint64)sigqueue->len * sizeof(struct sv_rimg_sigqueue));
	PLACE(off_auxv, (guint64)auxv->len * sizeof(guint64));
	PLACE(off_regs, (guint64)named->len * sizeof(struct sv_rimg_named));
	PLACE(off_fpu, fpu_size);
	PLACE(off_fds, (guint64)rfds->len * sizeof(struct sv_rimg_fd));
	PLACE(off_groups, (guint64)groups->len * sizeof(guint32));
	PLACE(off_data, fd_data->len);
	PLACE(off_strings, strings->len);
#undef PLACE
	h.strings_len = strings->len;
	off = align_up(off, ps);
	/* carried files */
	guint nfiles_carried = 0;
	for (guint i = 0; i < rfiles->len; i++) {
		struct sv_rimg_file *f = &g_array_index(rfiles, struct sv_rimg_file, i);
		if (!f->carried)
			continue;
		g_autoptr(GBytes) data = sv_snapshot_reader_file(r, file_shas->pdata[i], error);
		if (!data)
			return FALSE;
		f->size = g_bytes_get_size(data);
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
	h.file_size = off;
	if (off > MAX_IMAGE_BYTES)
		return sv_rimg_refuse(error, "the restore image would be %" G_GUINT64_FORMAT " MiB; at most %"
				     G_GUINT64_FORMAT " MiB are supported", off >> 20, (guint64)(MAX_IMAGE_BYTES >> 20));

	/* ---- write ---- */
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", out_path,
			    g_strerror(errno));
		return FALSE;
	}
	gboolean ok = ftruncate(fd, (off_t)h.file_size) == 0;
	if (!ok)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot size %s: %s", out_path,
			    g_strerror(errno));
	ok = ok && write_at(fd, &h, sizeof(h), 0, out_path, error) &&
	     write_at(fd, rvmas->data, rvmas->len * sizeof(struct sv_rimg_vma), h.off_vmas, out_path, error) &&
	     write_at(fd, rfiles->data, rfiles->len * sizeof(struct sv_rimg_file), h.off_files, out_path, error) &&
	     write_at(fd, rruns->data, rruns->len * sizeof(struct sv_rimg_run), h.off_runs, out_path, error) &&
	     write_at(fd, sigactions->data, sigactions->len * sizeof(struct sv_rimg_sigaction),
		      h.off_sigactions, out_path, error) &&
	     write_at(fd, sigqueue->data, sigqueue->len * sizeof(struct sv_rimg_sigqueue),
		      h.off_sigqueue, out_path, error) &&
	     write_at(fd, auxv->data, auxv->len * sizeof(guint64), h.off_auxv, out_path, error) &&
	     write_at(fd, named->data, named->len * sizeof(struct sv_rimg_named), h.off_regs, out_path, error) &&
	     write_at(fd, fpu_bytes, fpu_size, h.off_fpu, out_path, error) &&
	     write_at(fd, rfds->data, rfds->len * sizeof(struct sv_rimg_fd), h.off_fds, out_path, error) &&
	     write_at(fd, groups->data, groups->len * sizeof(guint32), h.off_groups, out_path, error) &&
	     write_at(fd, fd_data->data, fd_data->len, h.off_data, out_path, error) &&
	     write_at(fd, strings->data, strings->len, h.off_strings, out_path, error);
	for (guint i = 0; ok && i < rfiles->len; i++) {
		const struct sv_rimg_file *f = &g_array_index(rfiles, struct sv_rimg_file, i);
		if (!f->carried)
			continue;
		g_autoptr(GBytes) data = sv_snapshot_reader_file(r, file_shas->pdata[i], error);
		ok = data && write_at(fd, g_bytes_get_data(data, NULL), f->size, f->data_off, out_path, error);
	}
	/* Page data, snapshot runs in vaddr order: they land contiguously in
	 * the coalesced runs. Zero pages stay holes of the sparse file. */
	guint64 at = 0;
	guint ri = 0;
	for (guint i = 0; ok && !host_pages && i < runs->len; i++) {
		const Run *x = &g_array_index(runs, Run, i);
		while (ri < rruns->len) {
			const struct sv_rimg_run *e = &g_array_index(rruns, struct sv_rimg_run, ri);
			if (x->vaddr >= e->vaddr && x->vaddr < e->vaddr + e->npages * ps) {
				at = e->data_off + (x->vaddr - e->vaddr);
				break;
			}
			ri++;
		}
		g_autoptr(GBytes) data = sv_snapshot_reader_section_data(r, x->section, error);
		if (!data) {
			ok = FALSE;
			break;
		}
		const guint8 *p = g_bytes_get_data(data, NULL);
		ok = write_at(fd, p + x->offset, x->npages * ps, at, out_path, error);
	}
	if (close(fd) < 0 && ok) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "close %s: %s", out_path, g_strerror(errno));
		ok = FALSE;
	}
	if (!ok) {
		g_unlink(out_path);
		return FALSE;
	}
	if (ret_info) {
		*ret_info = (SvRestoreImageInfo){ .pid = h.pid, .image_bytes = h.file_size,
						  .pages = pages, .nvmas = rvmas->len,
						  .nfiles_carried = nfiles_carried, .no_files = no_files,
						  .runs = g_steal_pointer(&runs) };
		g_strlcpy(ret_info->comm, h.comm, sizeof(ret_info->comm));
	}
	return TRUE;
}

void sv_restore_image_info_clear(SvRestoreImageInfo *info)
{
	g_clear_pointer(&info->runs, g_array_unref);
}
