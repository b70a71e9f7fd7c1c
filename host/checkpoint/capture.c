/* SPDX-License-Identifier: MIT */
/* capture.c - see capture.h. Runs while the VM is paused: it reads, decodes
 * and copies, and leaves all writing to disk for after the resume. */
#include "host/checkpoint/capture.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "snapvm/snapshot-format.h"
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/checkpoint/dirty-track.h"
#include "host/image/rootfs.h"
#include "host/introspect/page-walk.h"
#include "host/snapshot/snapshot-writer.h"

/* vm_flags (include/linux/mm.h): raw PFN and I/O mappings hold no pages of
 * the process's own (vvar is one). */
#define VM_PFNMAP 0x00000400ull
#define VM_IO 0x00004000ull

static void capture_vma_clear(SvCaptureVma *v)
{
	sv_guest_vma_clear(&v->vma);
	g_clear_pointer(&v->sha256, g_free);
}

void sv_capture_free(SvCapture *cap)
{
	if (!cap)
		return;
	g_clear_pointer(&cap->task, g_variant_unref);
	g_clear_pointer(&cap->regs, g_variant_unref);
	g_clear_pointer(&cap->fpu, g_variant_unref);
	g_clear_pointer(&cap->tls, g_variant_unref);
	g_clear_pointer(&cap->mm, g_variant_unref);
	g_clear_pointer(&cap->fds, g_variant_unref);
	g_clear_pointer(&cap->vmas, g_array_unref);
	g_clear_pointer(&cap->mapped_files, g_hash_table_unref);
	g_clear_pointer(&cap->runs, g_array_unref);
	sv_page_buffer_clear(&cap->buffer);
	g_free(cap);
}

/* Special mappings the fresh guest's kernel provides again on restore. */
static gboolean kernel_provided(const SvGuestVma *v)
{
	if (v->flags & (VM_PFNMAP | VM_IO))
		return TRUE;
	return v->name && (!strcmp(v->name, "[vdso]") || !strcmp(v->name, "[vvar]") ||
			   !strcmp(v->name, "[vsyscall]"));
}

/* TLS from memory, with the registers a vCPU holds live put over it. */
static GVariant *merge_tls(GVariant *saved, GVariant *live)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(saved);
	GVariantIter it;
	const char *key;
	GVariant *value;
	g_variant_iter_init(&it, live);
	while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
		g_variant_dict_insert_value(d, key, value);
		g_variant_unref(value);
	}
	return g_variant_ref_sink(g_variant_dict_end(d));
}

/* One thread's registers, FPU and TLS, as the REGS, FPU and TLS sections
 * hold them. */
typedef struct {
	GVariant *regs, *fpu, *tls;
	const char *source; /* "memory" or "vcpu" */
	SvSyscallFixup syscall;
} CpuState;

static void cpu_state_clear(CpuState *c)
{
	g_clear_pointer(&c->regs, g_variant_unref);
	g_clear_pointer(&c->fpu, g_variant_unref);
	g_clear_pointer(&c->tls, g_variant_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CpuState, cpu_state_clear)

/* Registers, FPU and TLS: saved in the task's kernel structures when it is
 * off its CPU, live in the vCPU when it was running in user mode. */
static gboolean capture_cpu_state(CpuState *out, const SvIntrospect *in, const SvTaskRef *ref,
				  const SvVcpuRegs *vcpu, GError **error)
{
	const SvArchOps *arch = sv_introspect_arch(in);
	const struct SvKernelTypes *types = sv_introspect_types(in);
	SvKernelReader rd = sv_introspect_reader(in);
	g_autoptr(GBytes) saved = NULL;
	g_autoptr(GVariant) tls = sv_arch_task_tls(arch, &rd, ref->task, error);
	g_auto(SvFpuState) fpu = { 0 };
	if (!tls)
		return FALSE;
	if (vcpu) {
		g_autoptr(GVariant) live = NULL;
		if (!sv_arch_vcpu_user_state(arch, types, vcpu, &saved, &live, &fpu, error) ||
		    !sv_arch_vcpu_fpu_complete(arch, &rd, ref->task, vcpu, &fpu, error))
			return FALSE;
		out->tls = merge_tls(tls, live);
		out->source = "vcpu";
	} else {
		saved = sv_introspect_task_ref_pt_regs(in, ref, error);
		if (!saved || !sv_arch_task_fpu(arch, &rd, ref->task, &fpu, error))
			return FALSE;
		out->tls = g_steal_pointer(&tls);
		out->source = "memory";
	}
	g_autoptr(GBytes)
		regs = sv_arch_syscall_fixup(arch, &rd, ref->task, saved, &out->syscall, error);
	g_autoptr(GVariant) named = regs ? sv_arch_named_regs(arch, types, regs, error) : NULL;
	if (!named) {
		g_prefix_error(error, "thread %u of guest pid %u: ", ref->tid, ref->pid);
		return FALSE;
	}
	out->regs =
		g_variant_ref_sink(g_variant_new("(@a{st}@ay)", named,
						 g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING,
									  regs, TRUE)));
	g_auto(GVariantBuilder) extra = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&extra, "{sv}", "format", g_variant_new_string(fpu.format));
	g_variant_builder_add(&extra, "{sv}", "source", g_variant_new_string(out->source));
	out->fpu =
		g_variant_ref_sink(g_variant_new("(ut@a{sv}@ay)",
						 (guint32)g_bytes_get_size(fpu.raw), fpu.features,
						 g_variant_builder_end(&extra),
						 g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING,
									  fpu.raw, TRUE)));
	return TRUE;
}

/* How the registers were found, into a thread's dict (the leader's TASK
 * dict or an SV_TASK_THREADS entry). */
static void add_capture_keys(GVariantDict *d, const CpuState *c, const SvTaskRef *ref)
{
	g_variant_dict_insert(d, SV_TASK_REGS_SOURCE, "s", c->source);
	g_variant_dict_insert(d, SV_TASK_SYSCALL_FIXUP, "s", sv_syscall_fixup_str(c->syscall));
	g_variant_dict_insert(d, SV_TASK_ON_CPU, "b", ref->on_cpu);
}

/* Every thread but the leader: its own fields and CPU state
 * (SV_TASK_THREADS). */
static GVariant *capture_threads(SvCapture *cap, const SvIntrospect *in, const SvTaskRef *threads,
				 guint nthreads, SvVcpuRegs *const *vcpus, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_THREADS_TYPE));
	for (guint i = 1; i < nthreads; i++) {
		g_auto(CpuState) c = { 0 };
		g_autoptr(GVariant)
			fields = sv_introspect_thread_fields(in, &threads[0], &threads[i], error);
		if (!fields ||
		    !capture_cpu_state(&c, in, &threads[i], vcpus ? vcpus[i] : NULL, error))
			return NULL;
		g_autoptr(GVariantDict) d = g_variant_dict_new(fields);
		add_capture_keys(d, &c, &threads[i]);
		g_variant_dict_insert_value(d, SV_TASK_THREAD_REGS, c.regs);
		g_variant_dict_insert_value(d, SV_TASK_THREAD_FPU, c.fpu);
		g_variant_dict_insert_value(d, SV_TASK_THREAD_TLS, c.tls);
		g_variant_builder_add_value(&b, g_variant_dict_end(d));
		if (!strcmp(c.source, "vcpu"))
			cap->threads_on_vcpu++;
	}
	return g_variant_builder_end(&b);
}

typedef struct {
	GArray *runs;
	guint64 total;
	guint vma; /* the VMA being walked: runs never span two */
	gboolean keep_zero;
	gboolean split_dirty; /* runs apart by their soft-dirty bits */
	gboolean vma_dirty;   /* VM_SOFTDIRTY: every page counts as written */
	gboolean tracked;
	/* the zero frames (sv_introspect_zero_frames): mapped there, a page
	 * counts as written whatever its bit says */
	guint64 zero_pfn, huge_zero_pfn, huge_pages;
	guint page_shift;
} Runs;

static gboolean zero_frame(const Runs *r, SvGpa pa)
{
	guint64 pfn = pa.v >> r->page_shift;
	return pfn == r->zero_pfn ||
	       (r->huge_zero_pfn != G_MAXUINT64 && pfn - r->huge_zero_pfn < r->huge_pages);
}

static gboolean add_run(guint64 va, SvGpa pa, guint64 len, guint flags, gpointer data,
			GError **error)
{
	Runs *r = data;
	gboolean dirty = r->split_dirty &&
			 ((flags & SV_WALK_SOFT_DIRTY) || r->vma_dirty || zero_frame(r, pa));
	gboolean huge = r->split_dirty && (flags & SV_WALK_HUGE);
	if (r->runs->len) {
		SvPageRun *last = &g_array_index(r->runs, SvPageRun, r->runs->len - 1);
		if (last->vma == r->vma && last->va + last->len == va &&
		    last->pa.v + last->len == pa.v && last->dirty == dirty && last->huge == huge) {
			last->len += len;
			r->total += len;
			return TRUE;
		}
	}
	SvPageRun run = { .va = va,
			  .len = len,
			  .offset = r->total,
			  .pa = pa,
			  .keep_zero = r->keep_zero,
			  .vma = r->vma,
			  .dirty = dirty,
			  .tracked = r->tracked,
			  .huge = huge };
	g_array_append_val(r->runs, run);
	r->total += len;
	return TRUE;
}

GArray *sv_capture_vmas(const SvIntrospect *in, guint32 pid, GError **error)
{
	g_autoptr(GArray) vmas = sv_introspect_vmas(in, pid, error);
	if (!vmas)
		return NULL;
	g_autoptr(GArray) out = g_array_sized_new(FALSE, TRUE, sizeof(SvCaptureVma), vmas->len);
	g_array_set_clear_func(out, (GDestroyNotify)capture_vma_clear);
	for (guint i = 0; i < vmas->len; i++) {
		SvGuestVma *v = &g_array_index(vmas, SvGuestVma, i);
		if (!sv_guest_vma_check_restorable(v, pid, error))
			return NULL;
		SvCaptureVma cv = { .vma = *v, .file_backed = v->name && v->name[0] == '/' };
		v->name = NULL; /* moved */
		g_array_append_val(out, cv);
	}
	return g_steal_pointer(&out);
}

GArray *sv_capture_walk_pages(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid,
			      const GArray *vmas, gboolean split_dirty, guint64 *ret_total,
			      GError **error)
{
	const SvArchOps *arch = sv_introspect_arch(in);
	SvGpa root;
	if (!sv_introspect_page_table_root(in, pid, &root, error))
		return NULL;
	Runs r = { .runs = g_array_new(FALSE, FALSE, sizeof(SvPageRun)),
		   .split_dirty = split_dirty && arch->soft_dirty,
		   .page_shift = (guint)g_bit_nth_lsf(arch->page_size, -1),
		   /* a huge zero page is a level-1 leaf: one table's worth of
		    * pages, 8-byte entries each */
		   .huge_pages = arch->page_size / 8 };
	g_autoptr(GArray) runs = r.runs;
	if (r.split_dirty && !sv_introspect_zero_frames(in, &r.zero_pfn, &r.huge_zero_pfn, error)) {
		g_prefix_error(error, "dirty tracking: ");
		return NULL;
	}
	SvPageWalkBudget budget; /* one for all VMAs: they share the tables */
	sv_page_walk_budget_init(&budget, mem);
	for (guint i = 0; i < vmas->len; i++) {
		const SvCaptureVma *cv = &g_array_index(vmas, SvCaptureVma, i);
		const SvGuestVma *v = &cv->vma;
		if (kernel_provided(v))
			continue;
		r.vma = i;
		r.keep_zero = cv->file_backed;
		r.vma_dirty = (v->flags & SV_VM_SOFTDIRTY) != 0;
		r.tracked = r.split_dirty && sv_dirty_vma_tracked(v);
		if (!sv_page_walk_range(arch, sv_introspect_kernel_space(in), mem, root, v->start,
					v->end, &budget, add_run, &r, error))
			return NULL;
	}
	*ret_total = r.total;
	return g_steal_pointer(&runs);
}

/* Linux 5.14; older headers lack it, and older kernels refuse it (EINVAL),
 * which only means the copy takes the faults instead. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

void sv_capture_prefault_source(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid)
{
	g_autoptr(GArray) vmas = sv_capture_vmas(in, pid, NULL);
	guint64 total = 0;
	g_autoptr(GArray)
		runs = vmas ? sv_capture_walk_pages(in, mem, pid, vmas, FALSE, &total, NULL) : NULL;
	const gsize page = (gsize)sysconf(_SC_PAGESIZE);
	for (guint i = 0; runs && i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		const guint8 *p = sv_guest_mem_ptr(mem, r->pa, r->len, NULL);
		guintptr at = (guintptr)p & ~(guintptr)(page - 1);
		if (p)
			(void)madvise((void *)at, r->len + ((guintptr)p - at), MADV_POPULATE_READ);
	}
}

/* The copy of the runs' pages (src: each run's, in guest memory) into the
 * buffer, on both cores, in pieces taken from both ends: one thread from
 * the front, the other from the back, until they meet, so both finish
 * together whatever each piece costs. Bytes below buffer.ready are stored
 * through the mapping (its pages faulted in before the pause); above it,
 * in a snapshot file split by sv_page_buffer_prepare_part, they are
 * written with pwritev, which allocates the file's pages as it copies
 * (never zeroed, never faulted in: no preparation to wait for). That is
 * slower per byte and serial on the file's lock, so the back thread's
 * share is what the preparation left out. */
#define COPY_PIECE (1u << 20)

typedef struct {
	SvCapture *cap;
	const GArray *runs;
	const guint8 *const *src;
	guint64 front, back; /* pieces [front, back) not yet taken (under lock) */
	GMutex lock;
	GError *error; /* the first failure (under lock) */
} Copy;

/* The first run that holds bytes at or after offset a. */
static guint run_at(const GArray *runs, guint64 a)
{
	guint lo = 0, hi = runs->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		const SvPageRun *r = &g_array_index(runs, SvPageRun, mid);
		if (r->offset + r->len <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Stores bytes [lo, hi) through the mapping. */
static void store_bytes(const Copy *c, guint64 lo, guint64 hi)
{
	for (guint i = run_at(c->runs, lo); i < c->runs->len; i++) {
		const SvPageRun *run = &g_array_index(c->runs, SvPageRun, i);
		guint64 a = MAX(run->offset, lo), e = MIN(run->offset + run->len, hi);
		if (a >= e)
			break;
		memcpy(c->cap->pages + a, c->src[i] + (a - run->offset), e - a);
	}
}

/* Writes bytes [lo, hi) into the snapshot file. */
static gboolean write_bytes(const Copy *c, guint64 lo, guint64 hi, GError **error)
{
	struct iovec v[64];
	guint n = 0;
	guint64 at = lo;
	for (guint i = run_at(c->runs, lo); i < c->runs->len; i++) {
		const SvPageRun *run = &g_array_index(c->runs, SvPageRun, i);
		guint64 a = MAX(run->offset, lo), e = MIN(run->offset + run->len, hi);
		if (a >= e)
			break;
		if (n == G_N_ELEMENTS(v)) {
			if (!sv_snapshot_writer_write_pages(c->cap->buffer.writer, at, v, n, error))
				return FALSE;
			n = 0;
			at = a;
		}
		v[n++] = (struct iovec){ (void *)(c->src[i] + (a - run->offset)), e - a };
	}
	return !n || sv_snapshot_writer_write_pages(c->cap->buffer.writer, at, v, n, error);
}

/* Takes the next piece from the front (or the back); FALSE when none is
 * left or a piece failed. */
static gboolean take_piece(Copy *c, gboolean from_front, guint64 *lo, guint64 *hi)
{
	g_mutex_lock(&c->lock);
	gboolean any = c->front < c->back && !c->error;
	if (any && from_front) {
		*lo = c->front;
		c->front = MIN(c->front + COPY_PIECE, c->back);
		*hi = c->front;
	} else if (any) {
		/* the back's pieces end on COPY_PIECE boundaries, but the last */
		*hi = c->back;
		c->back = MAX((c->back - 1) / COPY_PIECE * COPY_PIECE, c->front);
		*lo = c->back;
	}
	g_mutex_unlock(&c->lock);
	return any;
}

static void copy_piece(Copy *c, guint64 lo, guint64 hi)
{
	guint64 ready = MIN(MAX(c->cap->buffer.ready, lo), hi);
	g_autoptr(GError) error = NULL;
	if (lo < ready)
		store_bytes(c, lo, ready);
	if (ready < hi && !write_bytes(c, ready, hi, &error)) {
		g_mutex_lock(&c->lock);
		if (!c->error)
			c->error = g_steal_pointer(&error);
		g_mutex_unlock(&c->lock);
	}
}

static void copy_from(Copy *c, gboolean from_front, SvProgressFn progress, gpointer pdata)
{
	guint64 lo, hi, next_report = 64u << 20;
	while (take_piece(c, from_front, &lo, &hi)) {
		copy_piece(c, lo, hi);
		if (progress && hi >= next_report && hi < c->cap->pages_len) {
			progress("copying", hi, c->cap->pages_len, pdata);
			next_report = hi + (64u << 20);
		}
	}
}

static gpointer copy_thread(gpointer data)
{
	copy_from(data, FALSE, NULL, NULL);
	return NULL;
}

/* Finds every mapped page of the task's own VMAs, then copies them all. */
static gboolean capture_pages(SvCapture *cap, const SvIntrospect *in, const SvGuestMem *mem,
			      const SvTaskRef *ref, SvPageBuffer *buffer, SvProgressFn progress,
			      gpointer pdata, GError **error)
{
	Runs r = { 0 };
	r.runs = cap->runs = sv_capture_walk_pages(in, mem, ref->pid, cap->vmas,
						   buffer && buffer->select, &r.total, error);
	if (!r.runs)
		return FALSE;
	gint64 t0 = g_get_monotonic_time();
	if (buffer && buffer->select &&
	    !buffer->select(r.runs, &r.total, mem, buffer->select_data, error))
		return FALSE;
	if (r.total == 0)
		return TRUE;
	if (buffer) {
		cap->buffer = *buffer;
		*buffer = (SvPageBuffer){ 0 };
	}
	if (cap->buffer.len < r.total &&
	    !sv_page_buffer_prepare(&cap->buffer, r.total, FALSE, error))
		return FALSE;
	cap->pages = cap->buffer.data;
	cap->pages_len = r.total;
	g_autofree const guint8 **src = g_new(const guint8 *, r.runs->len + 1);
	for (guint i = 0; i < r.runs->len; i++) {
		const SvPageRun *run = &g_array_index(r.runs, SvPageRun, i);
		src[i] = sv_guest_mem_ptr(mem, run->pa, run->len, error);
		if (!src[i]) {
			g_prefix_error(error, "page at 0x%" G_GINT64_MODIFIER "x of guest pid %u: ",
				       run->va, ref->pid);
			return FALSE;
		}
	}
	/* on both cores: the copy's destination (and, at an incremental
	 * checkpoint, its first touch) is what the pause waits on */
	Copy c = { .cap = cap, .runs = r.runs, .src = src, .front = 0, .back = r.total };
	g_mutex_init(&c.lock);
	GThread *t = g_thread_try_new("sv-copy", copy_thread, &c, NULL);
	copy_from(&c, TRUE, progress, pdata);
	if (t)
		g_thread_join(t);
	g_mutex_clear(&c.lock);
	if (c.error) {
		g_propagate_prefixed_error(error, c.error,
					   "copying the pages of guest pid %u: ", ref->pid);
		return FALSE;
	}
	if (progress)
		progress("copying", r.total, r.total, pdata);
	cap->copy_ms = (g_get_monotonic_time() - t0) / 1000.0;
	return TRUE;
}

SvCapture *sv_capture(const SvIntrospect *in, const SvGuestMem *mem, const SvTaskRef *threads,
		      guint nthreads, SvVcpuRegs *const *vcpus, SvPageBuffer *buffer,
		      SvProgressFn progress, gpointer progress_data, GError **error)
{
	g_autoptr(SvCapture) cap = g_new0(SvCapture, 1);
	const SvTaskRef *ref = &threads[0];
	g_auto(CpuState) c = { 0 };
	if (!capture_cpu_state(&c, in, ref, vcpus ? vcpus[0] : NULL, error))
		return NULL;
	cap->regs = g_steal_pointer(&c.regs);
	cap->fpu = g_steal_pointer(&c.fpu);
	cap->tls = g_steal_pointer(&c.tls);
	cap->regs_source = c.source;
	cap->syscall = c.syscall;
	cap->threads_on_vcpu = !strcmp(c.source, "vcpu");
	cap->nthreads = nthreads;
	g_autoptr(GVariant) task = sv_introspect_task_fields(in, ref, error);
	cap->mm = task ? sv_introspect_mm_fields(in, ref, error) : NULL;
	if (!cap->mm)
		return NULL;
	g_autoptr(GVariantDict) d = g_variant_dict_new(task);
	add_capture_keys(d, &c, ref);
	if (nthreads > 1) {
		GVariant *others = capture_threads(cap, in, threads, nthreads, vcpus, error);
		if (!others)
			return NULL;
		g_variant_dict_insert_value(d, SV_TASK_THREADS, others);
	}
	if (!sv_introspect_process_env(in, ref, d, error) ||
	    !sv_introspect_process_view(in, ref, d, error))
		return NULL;
	cap->task = g_variant_ref_sink(g_variant_dict_end(d));
	cap->fds = sv_introspect_fds(in, ref, error);
	if (!cap->fds)
		return NULL;
	cap->vmas = sv_capture_vmas(in, ref->pid, error);
	if (!cap->vmas)
		return NULL;
	if (!capture_pages(cap, in, mem, ref, buffer, progress, progress_data, error))
		return NULL;
	return g_steal_pointer(&cap);
}

GVariant *sv_capture_vmas_variant(const SvCapture *cap)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	for (guint i = 0; i < cap->vmas->len; i++) {
		const SvCaptureVma *cv = &g_array_index(cap->vmas, SvCaptureVma, i);
		const SvGuestVma *v = &cv->vma;
		/* VM_READ, VM_WRITE, VM_EXEC are PROT_READ, PROT_WRITE, PROT_EXEC */
		g_variant_builder_add(&b, "(ttuttss)", v->start, v->end, (guint32)(v->flags & 7),
				      v->flags, v->pgoff, v->name ? v->name : "",
				      cv->sha256 ? cv->sha256 : "");
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

GVariant *sv_capture_provenance(const SvCapture *cap, const SvMachine *m, guint32 pid)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_PROVENANCE_TYPE));
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *when = g_date_time_format_iso8601(now);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	g_autofree char *release = NULL;
	g_autofree char *release_file =
		m->image_dir ? g_build_filename(m->image_dir, "kernel-release", NULL) : NULL;
	if (release_file && g_file_get_contents(release_file, &release, NULL, NULL))
		g_strstrip(release);
	g_variant_builder_add(&b, "{ss}", "tool", "snapvm " SNAPVM_VERSION);
	g_variant_builder_add(&b, "{ss}", "created", when);
	g_variant_builder_add(&b, "{ss}", "host", g_get_host_name());
	g_variant_builder_add(&b, "{ss}", "vm", m->name);
	g_variant_builder_add(&b, "{ss}", "backend", m->ops->backend);
	g_variant_builder_add(&b, "{ss}", "arch", m->arch->name);
	g_variant_builder_add(&b, "{ss}", "image", m->image_dir ? m->image_dir : "");
	g_variant_builder_add(&b, "{ss}", "kernel_release", release ? release : "");
	g_variant_builder_add(&b, "{ss}", "pid", pid_s);
	g_variant_builder_add(&b, "{ss}", "regs_source", cap->regs_source);
	/* the root filesystem image it ran on: restore boots the same one */
	g_autoptr(SvRootfs) rootfs = m->disk ? sv_rootfs_of_disk(m->disk, NULL) : NULL;
	if (rootfs) {
		g_variant_builder_add(&b, "{ss}", SV_PROV_ROOTFS_NAME,
				      rootfs->name ? rootfs->name : "");
		g_variant_builder_add(&b, "{ss}", SV_PROV_ROOTFS_SHA256, rootfs->image_sha256);
		g_autofree char *packages = g_strjoinv(",", rootfs->requested);
		g_variant_builder_add(&b, "{ss}", SV_PROV_ROOTFS_PACKAGES, packages);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}
