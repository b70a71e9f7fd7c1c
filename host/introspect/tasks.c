/* SPDX-License-Identifier: MIT */
/*
 * tasks.c - the process list, walked from init_task (init/init_task.c)
 * along task_struct.tasks, which links thread-group leaders only.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"
#include "host/introspect/page-walk.h"

/* A guest with more is either huge or lying: the walk stops there. */
#define MAX_TASKS 65536u

/* Task state letters as /proc shows them (fs/proc/array.c task_state_array),
 * indexed by fls() of the reported state (include/linux/sched.h). */
static const char state_letters[] = "RSDTtXZPI";
#define TASK_REPORT 0x7fu
#define TASK_IDLE 0x402u /* TASK_UNINTERRUPTIBLE | TASK_NOLOAD */
#define TASK_RTLOCK_WAIT 0x1000u
#define TASK_REPORT_IDLE 0x80u

static char state_letter(guint32 state, guint32 exit_state)
{
	guint32 s = (state | exit_state) & TASK_REPORT;
	if ((state & TASK_IDLE) == TASK_IDLE)
		s = TASK_REPORT_IDLE;
	if (state & TASK_RTLOCK_WAIT)
		s = 2;
	guint idx = s ? (guint)g_bit_nth_msf(s, -1) + 1 : 0;
	return idx < sizeof(state_letters) - 1 ? state_letters[idx] : '?';
}

/* Offsets the walk needs, all from the kernel's BTF. */
typedef struct {
	guint64 tasks, pid, tgid, comm, state, exit_state, real_parent, mm, rss;
	/* rss_stat[i] is at rss + i * rss_stride + rss_count */
	guint64 rss_stride, rss_count;
	guint64 size; /* bytes of task_struct read per task */
} Layout;

static gboolean layout(const SvIntrospect *in, Layout *l, GError **error)
{
	const SvMemberOffset want[] = {
		{ "task_struct", "tasks", &l->tasks },
		{ "task_struct", "pid", &l->pid },
		{ "task_struct", "tgid", &l->tgid },
		{ "task_struct", "comm", &l->comm },
		{ "task_struct", "__state", &l->state },
		{ "task_struct", "exit_state", &l->exit_state },
		{ "task_struct", "real_parent", &l->real_parent },
		{ "task_struct", "mm", &l->mm },
		{ "mm_struct", "rss_stat", &l->rss },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	/* up to 6.1 struct mm_rss_stat, atomic_long_t count[NR_MM_COUNTERS];
	 * from 6.2 struct percpu_counter rss_stat[NR_MM_COUNTERS], summed
	 * over CPUs as /proc does (only count, what get_mm_counter() reads,
	 * where the kernel names no per-CPU offsets) */
	guint64 rss_size, counter_size;
	l->rss_stride = 8;
	l->rss_count = 0;
	if (sv_kernel_types_size(in->types, "mm_struct", "rss_stat", &rss_size, NULL) &&
	    sv_kernel_types_size(in->types, "percpu_counter", NULL, &counter_size, NULL) &&
	    counter_size > 8 && rss_size == 4 * counter_size) {
		if (!sv_kernel_types_offset(in->types, "percpu_counter", "count", &l->rss_count,
					    error))
			return FALSE;
		l->rss_stride = counter_size;
	}
	l->size = MAX(MAX(l->tasks + 16, l->comm + 16), MAX(l->real_parent, l->mm) + 8);
	l->size = MAX(l->size, MAX(l->pid, l->tgid) + 4);
	l->size = MAX(l->size, MAX(l->state, l->exit_state) + 4);
	return TRUE;
}

static gboolean read_u64(const SvIntrospect *in, guint64 va, guint64 *ret, GError **error)
{
	guint8 b[8];
	if (!sv_introspect_read(in, va, b, 8, error))
		return FALSE;
	*ret = sv_get_le64(b);
	return TRUE;
}

/*
 * init_task without a symbol (kernels built without KALLSYMS_ALL, such as
 * Debian's arm64 one): it lives in the kernel image's data, named
 * "swapper/0" once the boot CPU's idle task is set up, with pid 0, and its
 * tasks.next leads to pid 1. Searched for in the image's memory; every
 * candidate must pass all three checks.
 */
static gboolean find_init_task(const SvIntrospect *in, const Layout *l, guint64 *ret,
			       GError **error)
{
	if (sv_kallsyms_lookup(in->syms, "init_task", ret, NULL))
		return TRUE;
	const SvKernelSpace *ks = &in->space;
	guint64 span = MIN(ks->image_span, sv_guest_mem_size(in->mem));
	const guint8 *image = NULL;
	while (span >= 4096 &&
	       !(image = sv_guest_mem_ptr(in->mem, sv_gpa(ks->image_pa_base), span, NULL)))
		span /= 2;
	static const char name[] = "swapper/0";
	for (const guint8 *p = image;
	     image && (p = memmem(p, span - (p - image), name, sizeof(name))); p++) {
		guint64 off = p - image;
		if (off < l->comm)
			continue;
		guint64 task = ks->image_va_base + off - l->comm;
		guint8 b[8];
		guint64 next;
		if (!sv_introspect_read(in, task + l->pid, b, 4, NULL) || sv_get_le32(b) != 0 ||
		    !sv_introspect_read(in, task + l->tasks, b, 8, NULL))
			continue;
		next = sv_get_le64(b);
		if (next < l->tasks ||
		    !sv_introspect_read(in, next - l->tasks + l->pid, b, 4, NULL) ||
		    sv_get_le32(b) != 1)
			continue;
		*ret = task;
		return TRUE;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
		    "%s: the guest kernel has no init_task symbol and no task named swapper/0 "
		    "was found in its image",
		    in->arch->name);
	return FALSE;
}

/* Calls fn for every task on the list after init_task; fn returns FALSE
 * to stop early. The walk is bounded and refuses loops. */
typedef gboolean (*TaskFn)(const SvIntrospect *in, const Layout *l, guint64 task, const guint8 *t,
			   gpointer data, GError **error);

static gboolean walk_tasks(const SvIntrospect *in, const Layout *l, TaskFn fn, gpointer data,
			   GError **error)
{
	guint64 init_task;
	if (!find_init_task(in, l, &init_task, error))
		return FALSE;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_autofree guint8 *t = g_malloc(l->size);
	g_autofree guint64 *keys = g_new(guint64, MAX_TASKS);
	guint64 task = init_task;
	for (guint n = 0;; n++) {
		if (n >= MAX_TASKS) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest task list has over %u entries; refusing to walk further",
				    MAX_TASKS);
			return FALSE;
		}
		keys[n] = task;
		if (!g_hash_table_add(seen, &keys[n])) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest task list loops at 0x%" G_GINT64_MODIFIER "x without "
				    "returning to init_task",
				    task);
			return FALSE;
		}
		if (!sv_introspect_read(in, task, t, l->size, error)) {
			g_prefix_error(error,
				       "reading task_struct at 0x%" G_GINT64_MODIFIER "x: ", task);
			return FALSE;
		}
		/* init_task (pid 0) is the walk's anchor, not a process /proc shows */
		if (task != init_task) {
			g_autoptr(GError) local = NULL;
			if (!fn(in, l, task, t, data, &local)) {
				if (!local)
					return TRUE; /* stopped early, by choice */
				g_propagate_error(error, g_steal_pointer(&local));
				return FALSE;
			}
		}
		guint64 next = sv_get_le64(t + l->tasks);
		if (next < l->tasks) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest task list has a bad link 0x%" G_GINT64_MODIFIER "x",
				    next);
			return FALSE;
		}
		task = next - l->tasks;
		if (task == init_task)
			return TRUE;
	}
}

static gboolean add_process(const SvIntrospect *in, const Layout *l, guint64 task, const guint8 *t,
			    gpointer data, GError **error)
{
	GArray *procs = data;
	SvGuestProcess p = { 0 };
	p.pid = sv_get_le32(t + l->tgid);
	memcpy(p.comm, t + l->comm, 16);
	p.comm[15] = '\0';
	p.state = state_letter(sv_get_le32(t + l->state), sv_get_le32(t + l->exit_state));
	guint64 parent = sv_get_le64(t + l->real_parent);
	guint64 mm = sv_get_le64(t + l->mm);
	guint8 b[4];
	if (parent && sv_introspect_read(in, parent + l->tgid, b, 4, NULL))
		p.ppid = sv_get_le32(b);
	if (mm) {
		/* get_mm_rss(): file + anon + shmem pages (MM_FILEPAGES 0,
		 * MM_ANONPAGES 1, MM_SHMEMPAGES 3) */
		guint64 c[4] = { 0 };
		for (guint i = 0; i < 4; i++) {
			gint64 sum;
			if (l->rss_stride != 8 &&
			    sv_introspect_percpu_counter_sum(in, mm + l->rss + l->rss_stride * i,
							     &sum, NULL))
				c[i] = sum > 0 ? (guint64)sum : 0;
			else if (!read_u64(in, mm + l->rss + l->rss_stride * i + l->rss_count,
					   &c[i], error))
				return FALSE;
		}
		guint64 pages = c[0] + c[1] + c[3];
		p.rss_kib = pages < (1ull << 40) ? pages * (in->arch->page_size / 1024) : 0;
	}
	g_array_append_val(procs, p);
	return TRUE;
}

GArray *sv_introspect_processes(const SvIntrospect *in, GError **error)
{
	Layout l;
	if (!layout(in, &l, error))
		return NULL;
	g_autoptr(GArray) procs = g_array_new(FALSE, TRUE, sizeof(SvGuestProcess));
	if (!walk_tasks(in, &l, add_process, procs, error))
		return NULL;
	return g_steal_pointer(&procs);
}

typedef struct {
	guint32 pid;
	guint64 mm;
	guint64 task;
	gboolean found;
} FindMm;

static gboolean find_mm(const SvIntrospect *in, const Layout *l, guint64 task, const guint8 *t,
			gpointer data, GError **error)
{
	FindMm *f = data;
	if (sv_get_le32(t + l->tgid) != f->pid)
		return TRUE;
	f->found = TRUE;
	f->mm = sv_get_le64(t + l->mm);
	f->task = task;
	return FALSE;
}

/* The task of a user process (one with an mm); what names what a kernel
 * thread lacks, for the error. */
static gboolean find_user_task(const SvIntrospect *in, const Layout *l, guint32 pid,
			       const char *what, FindMm *ret, GError **error)
{
	*ret = (FindMm){ .pid = pid };
	if (!walk_tasks(in, l, find_mm, ret, error))
		return FALSE;
	if (!ret->found || !ret->mm) {
		if (ret->found)
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "guest pid %u is a kernel thread (no %s)", pid, what);
		else
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "no guest process with pid %u", pid);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_introspect_task_mm(const SvIntrospect *in, guint32 pid, guint64 *ret_mm, GError **error)
{
	Layout l;
	FindMm f;
	if (!layout(in, &l, error) || !find_user_task(in, &l, pid, "address space", &f, error))
		return FALSE;
	*ret_mm = f.mm;
	return TRUE;
}

gboolean sv_introspect_task_address(const SvIntrospect *in, guint32 pid, guint64 *ret_task,
				    guint64 *ret_mm, GError **error)
{
	Layout l;
	FindMm f = { .pid = pid };
	if (!layout(in, &l, error) || !walk_tasks(in, &l, find_mm, &f, error))
		return FALSE;
	if (!f.found) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "no guest process with pid %u",
			    pid);
		return FALSE;
	}
	*ret_task = f.task;
	*ret_mm = f.mm;
	return TRUE;
}

gboolean sv_introspect_page_table_root(const SvIntrospect *in, guint32 pid, SvGpa *ret_root,
				       GError **error)
{
	guint64 pgd_off, mm;
	if (!sv_kernel_types_offset(in->types, "mm_struct", "pgd", &pgd_off, error) ||
	    !sv_introspect_task_mm(in, pid, &mm, error))
		return FALSE;
	guint64 pgd;
	if (!read_u64(in, mm + pgd_off, &pgd, error))
		return FALSE;
	return sv_arch_kernel_va_to_pa(in->arch, &in->space, pgd, ret_root, error);
}

static gboolean maps(const SvIntrospect *in, SvGpa root, guint64 va, SvGpa *ret_pa)
{
	SvWalkResult res;
	guint64 page;
	return sv_page_walk(in->arch, &in->space, in->mem, root, va, &res, ret_pa, &page, NULL) &&
	       res == SV_WALK_MAPPED;
}

/* Does root map the kernel image where it is, and va at all? */
static gboolean is_kernel_root(const SvIntrospect *in, SvGpa root, guint64 va)
{
	/* 1 MiB into the kernel's text, on every arch: past the link base
	 * (x86_64 maps nothing below _text there) and past where the image
	 * runs (arm64's moved in 6.x) */
	const guint64 probe = MAX(in->arch->kernel_link_base, in->space.image_va_base) + 0x100000;
	SvGpa pa, want;
	return sv_arch_kernel_va_to_pa(in->arch, &in->space, probe, &want, NULL) &&
	       maps(in, root, probe, &pa) && pa.v == want.v && maps(in, root, va, &pa);
}

/*
 * Page tables that map kernel address va (a vmalloc'd stack). init_task's
 * active_mm is init_mm only until the boot CPU first borrows a user mm (lazy
 * TLB), and on arm64 a user pgd does not map the kernel half; then the
 * kernel's tables (swapper_pg_dir, a page of the image with no symbol on
 * Debian arm64) are found among the image's pages as the one that maps the
 * image itself where it lies and also maps va.
 */
static gboolean kernel_root(const SvIntrospect *in, const Layout *l, guint64 va, SvGpa *ret,
			    GError **error)
{
	guint64 init_task, active_off, pgd_off, mm = 0, pgd;
	if (!find_init_task(in, l, &init_task, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "active_mm", &active_off, error) ||
	    !sv_kernel_types_offset(in->types, "mm_struct", "pgd", &pgd_off, error))
		return FALSE;
	/* init_mm where the kernel names it; else what the boot CPU's idle task
	 * borrows - NULL while that CPU runs a user task (context_switch) */
	if (!sv_kallsyms_lookup(in->syms, "init_mm", &mm, NULL) &&
	    !read_u64(in, init_task + active_off, &mm, error))
		return FALSE;
	if (mm && read_u64(in, mm + pgd_off, &pgd, NULL) &&
	    sv_arch_kernel_va_to_pa(in->arch, &in->space, pgd, ret, NULL) &&
	    is_kernel_root(in, *ret, va))
		return TRUE;
	guint64 span = MIN(in->space.image_span, sv_guest_mem_size(in->mem));
	for (guint64 off = 0; off < span; off += 4096) {
		SvGpa candidate = sv_gpa(in->space.image_pa_base + off);
		if (is_kernel_root(in, candidate, va)) {
			*ret = candidate;
			return TRUE;
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
		    "%s: no kernel page tables mapping 0x%" G_GINT64_MODIFIER "x found",
		    in->arch->name, va);
	return FALSE;
}

/* pt_regs at the top of the kernel stack of the task at task (task_pt_regs) */
static GBytes *task_pt_regs(const SvIntrospect *in, const Layout *l, guint64 task, guint32 pid,
			    GError **error)
{
	guint64 stack_off, regs_size;
	if (!sv_kernel_types_offset(in->types, "task_struct", "stack", &stack_off, error) ||
	    !sv_kernel_types_size(in->types, "pt_regs", NULL, &regs_size, error))
		return NULL;
	guint64 stack;
	SvGpa root;
	if (!read_u64(in, task + stack_off, &stack, error) ||
	    !kernel_root(in, l, stack + in->arch->kernel_thread_size - 4096, &root, error))
		return NULL;
	guint64 thread_size = in->arch->kernel_thread_size;
	if (regs_size > thread_size || stack % 4096) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u: kernel stack at 0x%" G_GINT64_MODIFIER
			    "x is not page-aligned",
			    pid, stack);
		return NULL;
	}
	guint64 va = stack + thread_size - regs_size;
	g_autofree guint8 *buf = g_malloc(regs_size);
	for (guint64 done = 0; done < regs_size;) {
		SvWalkResult res;
		SvGpa pa;
		guint64 page;
		guint64 at = va + done;
		if (!sv_page_walk(in->arch, &in->space, in->mem, root, at, &res, &pa, &page, error))
			return NULL;
		if (res != SV_WALK_MAPPED) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: its kernel stack page 0x%" G_GINT64_MODIFIER
				    "x is not mapped",
				    pid, at);
			return NULL;
		}
		guint64 chunk = MIN(regs_size - done, page - (at & (page - 1)));
		if (!sv_guest_mem_read(in->mem, pa, buf + done, chunk, error))
			return NULL;
		done += chunk;
	}
	return g_bytes_new_take(g_steal_pointer(&buf), regs_size);
}

GBytes *sv_introspect_task_pt_regs(const SvIntrospect *in, guint32 pid, GError **error)
{
	Layout l;
	FindMm f;
	if (!layout(in, &l, error) || !find_user_task(in, &l, pid, "user registers", &f, error))
		return NULL;
	return task_pt_regs(in, &l, f.task, pid, error);
}

GBytes *sv_introspect_task_ref_pt_regs(const SvIntrospect *in, const SvTaskRef *ref, GError **error)
{
	Layout l;
	if (!layout(in, &l, error))
		return NULL;
	return task_pt_regs(in, &l, ref->task, ref->pid, error);
}
