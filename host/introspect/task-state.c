/* SPDX-License-Identifier: MIT */
/*
 * task-state.c - what a checkpoint needs of one task besides its registers
 * and memory: identity, credentials, the user-space pointers the kernel
 * keeps for it (clear_child_tid, robust futex list, rseq), its signal
 * state (include/linux/sched.h, sched/signal.h, signal_types.h) and the
 * mm's layout fields and saved auxv (include/linux/mm_types.h).
 *
 * Every offset comes from BTF; every value is read through the checked
 * kernel-virtual accessor.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-format.h"
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

/* task_struct.flags bits (include/linux/sched.h) */
#define PF_EXITING 0x00000004u
#define PF_KTHREAD 0x00200000u
/* the longest child list walked (a guest's pid_max bounds a real one;
 * this only stops a broken or looping list) */
#define MAX_CHILDREN 65536u
/* AT_VECTOR_SIZE bounds saved_auxv; the pairs end at AT_NULL */
#define AT_NULL 0

/* Reads a 1-, 2-, 4- or 8-byte member at base, zero-extended. */
static gboolean member(const SvIntrospect *in, guint64 base, const char *type, const char *path,
		       guint64 *ret, GError **error)
{
	guint64 off, size;
	if (!sv_kernel_types_offset(in->types, type, path, &off, error) ||
	    !sv_kernel_types_size(in->types, type, path, &size, error))
		return FALSE;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "%s.%s is %" G_GUINT64_FORMAT " bytes", type, path, size);
		return FALSE;
	}
	guint8 b[8] = { 0 };
	if (!sv_introspect_read(in, base + off, b, size, error))
		return FALSE;
	*ret = sv_get_le64(b);
	return TRUE;
}

static gboolean kernel_reader_read(gconstpointer ctx, guint64 va, void *buf, gsize len,
				   GError **error)
{
	return sv_introspect_read(ctx, va, buf, len, error);
}

SvKernelReader sv_introspect_reader(const SvIntrospect *in)
{
	return (SvKernelReader){ .read = kernel_reader_read, .ctx = in, .types = in->types };
}

/* A task of the process that is alive and has user state, or an error
 * naming it (what: "guest pid N" or "thread T of guest pid N"). */
static gboolean check_alive(const SvIntrospect *in, guint64 task, guint64 mm, const char *what,
			    gboolean thread, GError **error)
{
	guint64 flags, exit_state;
	if (!member(in, task, "task_struct", "flags", &flags, error) ||
	    !member(in, task, "task_struct", "exit_state", &exit_state, error))
		return FALSE;
	/* a thread other than the leader is reaped as it exits: caught on
	 * its way out, the process is still there */
	if (thread && (exit_state || (flags & PF_EXITING))) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s is exiting; try again", what);
		return FALSE;
	}
	if (exit_state || (flags & PF_EXITING)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "%s has exited (a zombie not yet reaped)", what);
		return FALSE;
	}
	if (!mm || (flags & PF_KTHREAD)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "%s is a kernel thread: it has no user state to checkpoint", what);
		return FALSE;
	}
	return TRUE;
}

/* Where a task runs: its CPU, and whether it is on it. */
static gboolean task_cpu(const SvIntrospect *in, guint64 task, guint32 *ret_cpu,
			 gboolean *ret_on_cpu, GError **error)
{
	guint64 on_cpu, cpu;
	if (!member(in, task, "task_struct", "on_cpu", &on_cpu, error) ||
	    !member(in, task, "task_struct", "thread_info.cpu", &cpu, error))
		return FALSE;
	*ret_cpu = (guint32)cpu;
	*ret_on_cpu = on_cpu != 0;
	return TRUE;
}

gboolean sv_introspect_find_task(const SvIntrospect *in, guint32 pid, SvTaskRef *ret,
				 GError **error)
{
	guint64 task, mm, signal, nr_threads, exit_state;
	g_autofree char *what = g_strdup_printf("guest pid %u", pid);
	SvTaskRef r = { .pid = pid, .tid = pid };
	if (!sv_introspect_task_address(in, pid, &task, &mm, error) ||
	    !member(in, task, "task_struct", "signal", &signal, error) ||
	    !member(in, signal, "signal_struct", "nr_threads", &nr_threads, error) ||
	    !member(in, task, "task_struct", "exit_state", &exit_state, error))
		return FALSE;
	if (exit_state && nr_threads > 1) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the main thread of guest pid %u has exited (pthread_exit) while its "
			    "other threads run on: snapvm takes a process with its main thread only",
			    pid);
		return FALSE;
	}
	if (!check_alive(in, task, mm, what, FALSE, error) ||
	    !task_cpu(in, task, &r.cpu, &r.on_cpu, error))
		return FALSE;
	if (nr_threads == 0 || nr_threads > SV_TASK_MAX_THREADS) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u has %" G_GUINT64_FORMAT " threads; at most %u are taken",
			    pid, nr_threads, SV_TASK_MAX_THREADS);
		return FALSE;
	}
	r.task = task;
	r.mm = mm;
	r.nr_threads = (guint32)nr_threads;
	*ret = r;
	return TRUE;
}

/*
 * The thread group: signal->thread_head links every live thread through
 * task_struct.thread_node (for_each_thread, include/linux/sched/signal.h),
 * in creation order, the leader first. The walk is bounded by nr_threads,
 * refuses loops, and each thread must share the leader's mm.
 */
GArray *sv_introspect_threads(const SvIntrospect *in, const SvTaskRef *leader, GError **error)
{
	guint64 signal, head_off, node_off;
	if (!member(in, leader->task, "task_struct", "signal", &signal, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "thread_head", &head_off, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "thread_node", &node_off, error))
		return NULL;
	g_autoptr(GArray) threads = g_array_new(FALSE, TRUE, sizeof(SvTaskRef));
	g_array_append_val(threads, *leader);
	guint64 head = signal + head_off, next;
	guint8 raw[8];
	if (!sv_introspect_read(in, head, raw, 8, error))
		return NULL;
	gboolean leader_seen = FALSE;
	next = sv_get_le64(raw);
	for (guint n = 0; next != head; n++) {
		if (n >= SV_TASK_MAX_THREADS || next < node_off) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: its thread list is over %u long or broken",
				    leader->pid, SV_TASK_MAX_THREADS);
			return NULL;
		}
		guint64 task = next - node_off, tid, mm;
		if (!member(in, task, "task_struct", "pid", &tid, error) ||
		    !member(in, task, "task_struct", "mm", &mm, error) ||
		    !sv_introspect_read(in, next, raw, 8, error))
			return NULL;
		next = sv_get_le64(raw);
		if (task == leader->task && !leader_seen) {
			leader_seen = TRUE;
			continue;
		}
		g_autofree char *what = g_strdup_printf("thread %" G_GUINT64_FORMAT
							" of guest pid %u",
							tid, leader->pid);
		SvTaskRef t = { .task = task, .mm = mm, .pid = leader->pid, .tid = (guint32)tid };
		if (!check_alive(in, task, mm, what, TRUE, error) ||
		    !task_cpu(in, task, &t.cpu, &t.on_cpu, error))
			return NULL;
		if (mm != leader->mm) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "%s has another address space than its leader", what);
			return NULL;
		}
		g_array_append_val(threads, t);
	}
	if (!leader_seen || threads->len != leader->nr_threads) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest pid %u: its thread list holds %u threads%s, nr_threads says %u "
			    "(a thread is being created or is exiting: try again)",
			    leader->pid, threads->len, leader_seen ? "" : " without its leader",
			    leader->nr_threads);
		return NULL;
	}
	return g_steal_pointer(&threads);
}

/*
 * The process's child processes: each thread's task_struct.children lists
 * the tasks it forked, linked through their task_struct.sibling (fork's
 * copy_process adds the child to its real parent thread's list; a zombie
 * stays there until reaped). Threads are not in it. The walk is bounded
 * and refuses loops.
 */
GArray *sv_introspect_children(const SvIntrospect *in, const GArray *threads, GError **error)
{
	guint64 children_off, sibling_off;
	if (!sv_kernel_types_offset(in->types, "task_struct", "children", &children_off, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "sibling", &sibling_off, error))
		return NULL;
	g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < threads->len; i++) {
		const SvTaskRef *t = &g_array_index(threads, SvTaskRef, i);
		guint64 head = t->task + children_off, next;
		guint8 raw[8];
		if (!sv_introspect_read(in, head, raw, 8, error))
			return NULL;
		next = sv_get_le64(raw);
		for (guint n = 0; next != head; n++) {
			guint64 pid;
			if (n >= MAX_CHILDREN || next < sibling_off) {
				g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
					    "guest pid %u: the child list of its thread %u is over "
					    "%u long or broken",
					    t->pid, t->tid, MAX_CHILDREN);
				return NULL;
			}
			if (!member(in, next - sibling_off, "task_struct", "pid", &pid, error) ||
			    !sv_introspect_read(in, next, raw, 8, error))
				return NULL;
			guint32 p32 = (guint32)pid;
			g_array_append_val(pids, p32);
			next = sv_get_le64(raw);
		}
	}
	return g_steal_pointer(&pids);
}

static void add_u64(GVariantBuilder *b, const char *key, guint64 v)
{
	g_variant_builder_add(b, "{sv}", key, g_variant_new_uint64(v));
}

static void add_u32(GVariantBuilder *b, const char *key, guint64 v)
{
	g_variant_builder_add(b, "{sv}", key, g_variant_new_uint32((guint32)v));
}

/* One member copied into the TASK dict under a key of its own. */
typedef struct {
	const char *path;
	const char *key;
} Field;

static gboolean add_members(const SvIntrospect *in, GVariantBuilder *b, guint64 base,
			    const char *type, const Field *fields, gboolean wide, GError **error)
{
	for (const Field *f = fields; f->path; f++) {
		guint64 v;
		if (!member(in, base, type, f->path, &v, error))
			return FALSE;
		if (wide)
			add_u64(b, f->key, v);
		else
			add_u32(b, f->key, v);
	}
	return TRUE;
}

/* Most queued signals a list may hold before the walk gives up: far above
 * RLIMIT_SIGPENDING's default for a small guest. */
#define MAX_QUEUED_SIGNALS 4096u

/* The siginfo of every signal queued on the sigpending at base (its list
 * of struct sigqueue), as (signo, raw kernel_siginfo): what a realtime
 * signal's payload needs to survive. */
static gboolean queued_signals(const SvIntrospect *in, guint64 pending, GVariant **ret,
			       GError **error)
{
	guint64 list_off, q_list, q_info, info_size;
	if (!sv_kernel_types_offset(in->types, "sigpending", "list", &list_off, error) ||
	    !sv_kernel_types_offset(in->types, "sigqueue", "list", &q_list, error) ||
	    !sv_kernel_types_offset(in->types, "sigqueue", "info", &q_info, error) ||
	    !sv_kernel_types_size(in->types, "sigqueue", "info", &info_size, error))
		return FALSE;
	if (info_size > 256) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "sigqueue.info is %" G_GUINT64_FORMAT " bytes", info_size);
		return FALSE;
	}
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_SIGQUEUE_TYPE));
	guint64 head = pending + list_off, next;
	guint8 raw[8], info[256];
	if (!sv_introspect_read(in, head, raw, 8, error))
		return FALSE;
	next = sv_get_le64(raw);
	for (guint n = 0; next != head; n++) {
		if (n >= MAX_QUEUED_SIGNALS || next < q_list) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "a guest signal queue is over %u entries long or broken",
				    MAX_QUEUED_SIGNALS);
			return FALSE;
		}
		guint64 q = next - q_list;
		if (!sv_introspect_read(in, q + q_info, info, info_size, error) ||
		    !sv_introspect_read(in, next, raw, 8, error))
			return FALSE;
		g_variant_builder_add(&b, "(u@ay)", sv_get_le32(info),
				      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, info,
								info_size, 1));
		next = sv_get_le64(raw);
	}
	*ret = g_variant_builder_end(&b);
	return TRUE;
}

/* sighand->action[]: one (signo, handler, flags, restorer, mask) per signal
 * whose action is not the default; the process's pending signals. */
static gboolean add_process_signals(const SvIntrospect *in, GVariantBuilder *b, guint64 task,
				    GError **error)
{
	guint64 sighand, signal, actions_off, actions_size, ksa_size, handler_off, flags_off,
		mask_off, restorer_off = G_MAXUINT64;
	if (!member(in, task, "task_struct", "sighand", &sighand, error) ||
	    !member(in, task, "task_struct", "signal", &signal, error) ||
	    !sv_kernel_types_offset(in->types, "sighand_struct", "action", &actions_off, error) ||
	    !sv_kernel_types_size(in->types, "sighand_struct", "action", &actions_size, error) ||
	    !sv_kernel_types_size(in->types, "k_sigaction", NULL, &ksa_size, error) ||
	    !sv_kernel_types_offset(in->types, "k_sigaction", "sa.sa_handler", &handler_off,
				    error) ||
	    !sv_kernel_types_offset(in->types, "k_sigaction", "sa.sa_flags", &flags_off, error) ||
	    !sv_kernel_types_offset(in->types, "k_sigaction", "sa.sa_mask", &mask_off, error))
		return FALSE;
	/* sa_restorer exists where the arch defines __ARCH_HAS_SA_RESTORER */
	sv_kernel_types_offset(in->types, "k_sigaction", "sa.sa_restorer", &restorer_off, NULL);
	guint n = ksa_size ? (guint)(actions_size / ksa_size) : 0;
	if (n == 0 || n > 128 || ksa_size > 256) {
		g_set_error(
			error, SV_ERROR, SV_ERROR_FAILED,
			"sighand_struct.action has an unexpected shape (%u entries of %" G_GUINT64_FORMAT
			" bytes)",
			n, ksa_size);
		return FALSE;
	}
	g_autofree guint8 *acts = g_malloc(actions_size);
	if (!sv_introspect_read(in, sighand + actions_off, acts, actions_size, error))
		return FALSE;
	g_auto(GVariantBuilder)
		ab = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_SIGACTIONS_TYPE));
	for (guint i = 0; i < n; i++) {
		const guint8 *a = acts + i * ksa_size;
		guint64 handler = sv_get_le64(a + handler_off);
		guint64 flags = sv_get_le64(a + flags_off);
		guint64 mask = sv_get_le64(a + mask_off);
		guint64 restorer = restorer_off < ksa_size ? sv_get_le64(a + restorer_off) : 0;
		if (handler || flags || mask || restorer)
			g_variant_builder_add(&ab, "(utttt)", i + 1, handler, flags, restorer,
					      mask);
	}
	g_variant_builder_add(b, "{sv}", SV_TASK_SIGACTIONS, g_variant_builder_end(&ab));
	static const Field shared_sig[] = {
		{ "shared_pending.signal.sig", SV_TASK_SIGPENDING_SHARED }, { NULL }
	};
	guint64 shared_off;
	GVariant *shared_queue;
	if (!add_members(in, b, signal, "signal_struct", shared_sig, TRUE, error) ||
	    !sv_kernel_types_offset(in->types, "signal_struct", "shared_pending", &shared_off,
				    error) ||
	    !queued_signals(in, signal + shared_off, &shared_queue, error))
		return FALSE;
	g_variant_builder_add(b, "{sv}", SV_TASK_SIGQUEUE_SHARED, shared_queue);
	return TRUE;
}

/* A thread's own signal state: masks, pending set and queue, altstack. */
static gboolean add_thread_signals(const SvIntrospect *in, GVariantBuilder *b, guint64 task,
				   GError **error)
{
	/* sigset_t is one word on 64-bit arches (_NSIG_WORDS) */
	static const Field task_sig[] = {
		{ "blocked.sig", SV_TASK_SIGBLOCKED },
		{ "real_blocked.sig", SV_TASK_SIGBLOCKED_REAL },
		{ "pending.signal.sig", SV_TASK_SIGPENDING },
		{ "sas_ss_sp", SV_TASK_SIGALTSTACK_SP },
		{ "sas_ss_size", SV_TASK_SIGALTSTACK_SIZE },
		{ NULL },
	};
	static const Field task_sig32[] = { { "sas_ss_flags", SV_TASK_SIGALTSTACK_FLAGS },
					    { NULL } };
	guint64 pending_off;
	GVariant *queue;
	if (!add_members(in, b, task, "task_struct", task_sig, TRUE, error) ||
	    !add_members(in, b, task, "task_struct", task_sig32, FALSE, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "pending", &pending_off, error) ||
	    !queued_signals(in, task + pending_off, &queue, error))
		return FALSE;
	g_variant_builder_add(b, "{sv}", SV_TASK_SIGQUEUE, queue);
	return TRUE;
}

/* What each thread has of its own: tid, name, the user pointers the kernel
 * keeps for it, state and signal state. */
static gboolean add_thread_fields(const SvIntrospect *in, GVariantBuilder *b, guint64 task,
				  GError **error)
{
	guint64 tid, comm_off;
	char comm[17] = { 0 };
	if (!member(in, task, "task_struct", "pid", &tid, error) ||
	    !sv_kernel_types_offset(in->types, "task_struct", "comm", &comm_off, error) ||
	    !sv_introspect_read(in, task + comm_off, comm, 16, error))
		return FALSE;
	add_u32(b, SV_TASK_TID, tid);
	g_variant_builder_add(b, "{sv}", SV_TASK_COMM,
			      g_variant_new_take_string(g_utf8_make_valid(comm, -1)));
	static const Field ptrs[] = {
		{ "clear_child_tid", SV_TASK_CLEAR_CHILD_TID },
		{ "set_child_tid", SV_TASK_SET_CHILD_TID },
		{ "robust_list", SV_TASK_ROBUST_LIST },
		{ "rseq", SV_TASK_RSEQ },
		{ NULL },
	};
	static const Field words[] = { { "__state", SV_TASK_STATE },
				       { "personality", SV_TASK_PERSONALITY },
				       { "rseq_sig", SV_TASK_RSEQ_SIG },
				       { NULL } };
	if (!add_members(in, b, task, "task_struct", ptrs, TRUE, error) ||
	    !add_members(in, b, task, "task_struct", words, FALSE, error) ||
	    !add_thread_signals(in, b, task, error))
		return FALSE;
	/* rseq_len joined task_struct in 6.3; before it every registration
	 * had the original 32-byte struct rseq (ORIG_RSEQ_SIZE) */
	guint64 rseq_len = 32, off;
	if (sv_kernel_types_offset(in->types, "task_struct", "rseq_len", &off, NULL) &&
	    !member(in, task, "task_struct", "rseq_len", &rseq_len, error))
		return FALSE;
	add_u32(b, SV_TASK_RSEQ_LEN, rseq_len);
	return TRUE;
}

static const Field cred_ids[] = {
	{ "uid.val", SV_TASK_UID },
	{ "gid.val", SV_TASK_GID },
	{ "suid.val", SV_TASK_SUID },
	{ "sgid.val", SV_TASK_SGID },
	{ "euid.val", SV_TASK_EUID },
	{ "egid.val", SV_TASK_EGID },
	{ "fsuid.val", SV_TASK_FSUID },
	{ "fsgid.val", SV_TASK_FSGID },
	{ NULL },
};

GVariant *sv_introspect_task_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	guint64 tgid, cred;
	if (!member(in, ref->task, "task_struct", "tgid", &tgid, error) ||
	    !member(in, ref->task, "task_struct", "cred", &cred, error))
		return NULL;
	add_u32(&b, SV_TASK_PID, tgid);
	if (!add_thread_fields(in, &b, ref->task, error) ||
	    !add_members(in, &b, cred, "cred", cred_ids, FALSE, error) ||
	    !add_process_signals(in, &b, ref->task, error))
		return NULL;
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* Restore gives every thread the leader's credentials: a thread that
 * changed its own (setuid(2) on one thread only, by raw syscall) is
 * refused, naming it. */
static gboolean same_credentials(const SvIntrospect *in, const SvTaskRef *leader,
				 const SvTaskRef *thread, GError **error)
{
	guint64 lc, tc;
	if (!member(in, leader->task, "task_struct", "cred", &lc, error) ||
	    !member(in, thread->task, "task_struct", "cred", &tc, error))
		return FALSE;
	for (const Field *f = cred_ids; lc != tc && f->path; f++) {
		guint64 a, b;
		if (!member(in, lc, "cred", f->path, &a, error) ||
		    !member(in, tc, "cred", f->path, &b, error))
			return FALSE;
		if (a != b) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "thread %u of guest pid %u has its own %s (%" G_GUINT64_FORMAT
				    ", the process %" G_GUINT64_FORMAT
				    "): snapvm restores one set of credentials per process",
				    thread->tid, leader->pid, f->key, b, a);
			return FALSE;
		}
	}
	return TRUE;
}

GVariant *sv_introspect_thread_fields(const SvIntrospect *in, const SvTaskRef *leader,
				      const SvTaskRef *thread, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	if (!same_credentials(in, leader, thread, error) ||
	    !add_thread_fields(in, &b, thread->task, error))
		return NULL;
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

GVariant *sv_introspect_mm_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error)
{
	static const char *const fields[] = {
		"start_code", "end_code",    "start_data", "end_data", "start_brk",
		"brk",	      "start_stack", "arg_start",  "arg_end",  "env_start",
		"env_end",    "mmap_base",   NULL,
	};
	g_auto(GVariantBuilder) fb = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{st}"));
	for (const char *const *f = fields; *f; f++) {
		guint64 v;
		if (!member(in, ref->mm, "mm_struct", *f, &v, error))
			return NULL;
		g_variant_builder_add(&fb, "{st}", *f, v);
	}
	guint64 auxv_off, auxv_size;
	if (!sv_kernel_types_offset(in->types, "mm_struct", "saved_auxv", &auxv_off, error) ||
	    !sv_kernel_types_size(in->types, "mm_struct", "saved_auxv", &auxv_size, error))
		return NULL;
	if (auxv_size > 4096 || auxv_size % 16) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "mm_struct.saved_auxv is %" G_GUINT64_FORMAT " bytes", auxv_size);
		return NULL;
	}
	g_autofree guint8 *auxv = g_malloc(auxv_size);
	if (!sv_introspect_read(in, ref->mm + auxv_off, auxv, auxv_size, error))
		return NULL;
	g_auto(GVariantBuilder) ab = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(tt)"));
	for (guint64 i = 0; i + 16 <= auxv_size; i += 16) {
		guint64 type = sv_get_le64(auxv + i), value = sv_get_le64(auxv + i + 8);
		g_variant_builder_add(&ab, "(tt)", type, value);
		if (type == AT_NULL)
			break;
	}
	return g_variant_ref_sink(g_variant_new("(a{st}a(tt))", &fb, &ab));
}
