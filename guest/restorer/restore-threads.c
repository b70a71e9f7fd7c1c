/* SPDX-License-Identifier: MIT */
/*
 * restore-threads.c - the process's other threads, on the restorer's side
 * (the blob's side is rst_thread_main in restorer-blob.c).
 *
 * Each is created first thing, with the tid it had (clone3 with set_tid):
 * the sooner, the smaller the chance that a task of the fresh guest (a
 * kernel worker thread started late in its boot) takes that tid. It is
 * created parked: it shares this program's thread pointer, so it runs no
 * libc, only the arch's few instructions that wait on its struct rst_park
 * and then jump into the blob in the region, on its own stack there, with
 * its own record (struct rst_thread). Every thread inherits this program's
 * signal mask, all blocked, until its own frame's mask.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "restore.h"

/* uapi sched.h: a thread of this process, as pthread_create makes one */
#define CLONE_VM 0x00000100ul
#define CLONE_FS 0x00000200ul
#define CLONE_FILES 0x00000400ul
#define CLONE_SIGHAND 0x00000800ul
#define CLONE_THREAD 0x00010000ul
#define CLONE_SYSVSEM 0x00040000ul

#define THREAD_STACK (16ul * 1024) /* in the region, until its sigreturn */
#define PARK_STACK 1024ul	   /* the parked loop uses none; the kernel wants one */

/* struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1) */
struct clone_args_v1 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size;
};

static struct rst_park *parks;

/* The header as thread t sees it: its own task fields, registers and FPU
 * in place of the leader's, for the arch's frame builder. */
static struct sv_rimg_header thread_header(const struct sv_rimg_header *h,
					   const struct sv_rimg_thread *t)
{
	struct sv_rimg_header th = *h;
	th.nregs = t->nregs;
	th.fpu_size = t->fpu_size;
	th.fpu_features = t->fpu_features;
	th.sigblocked = t->sigblocked;
	th.sigaltstack_sp = t->sigaltstack_sp;
	th.sigaltstack_size = t->sigaltstack_size;
	th.sigaltstack_flags = t->sigaltstack_flags;
	th.personality = t->personality;
	return th;
}

size_t rst_threads_check(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
			 const uint8_t *tfpu)
{
	size_t need = 0;
	char msg[512];
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct sv_rimg_thread *t = &threads[i];
		if (t->first_reg > h->nthread_regs || t->nregs > h->nthread_regs - t->first_reg ||
		    t->first_sigqueue > h->nthread_sigqueue ||
		    t->nsigqueue > h->nthread_sigqueue - t->first_sigqueue ||
		    t->fpu_off > h->thread_fpu_len || t->fpu_size > h->thread_fpu_len - t->fpu_off)
			rst_die("corrupt restore image: thread %u's tables out of bounds", t->tid);
		if (t->tid < 2 || t->tid > 0x3fffffff || t->tid == h->pid)
			rst_die("corrupt restore image: thread id %u", t->tid);
		struct sv_rimg_header th = thread_header(h, t);
		if (rst_arch_check_cpu(&th, tfpu + t->fpu_off, msg, sizeof(msg)))
			rst_die("thread %u: %s", t->tid, msg);
		need += sizeof(struct rst_thread) + 64 + rst_arch_sigframe_size(&th) + 64 +
			THREAD_STACK + t->nsigqueue * sizeof(struct sv_rimg_sigqueue) + 64;
	}
	return need + h->ngroups * sizeof(uint32_t) + 64;
}

void rst_threads_park(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads)
{
	if (!h->nthreads)
		return;
	parks = calloc(h->nthreads, sizeof(*parks));
	uint8_t *stacks = aligned_alloc(16, h->nthreads * PARK_STACK);
	if (!parks || !stacks)
		rst_die("out of memory for %u threads", h->nthreads);
	for (uint32_t i = 0; i < h->nthreads; i++) {
		uint64_t tid = threads[i].tid;
		struct clone_args_v1 ca = {
			.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				 CLONE_SYSVSEM,
			.stack = (uint64_t)(uintptr_t)(stacks + i * PARK_STACK),
			.stack_size = PARK_STACK,
			.set_tid = (uint64_t)(uintptr_t)&tid,
			.set_tid_size = 1,
		};
		long r = rst_arch_park_thread(&ca, sizeof(ca), &parks[i]);
		if (r == -EEXIST)
			rst_die("thread id %u is taken in this guest: the process's thread cannot "
				"have it back",
				threads[i].tid);
		if (r < 0)
			rst_die("cannot create thread %u (clone3 with set_tid): %s", threads[i].tid,
				strerror((int)-r));
		if ((uint64_t)r != tid)
			rst_die("thread %u came back as tid %ld", threads[i].tid, r);
	}
}

void rst_threads_fill(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
		      const struct sv_rimg_named *tregs, const struct sv_rimg_sigqueue *tsigq,
		      const uint8_t *tfpu, const uint32_t *groups, struct rst_args *a,
		      struct rst_region *rg)
{
	char msg[512];
	a->nthreads = h->nthreads;
	a->threads = rst_take(rg, h->nthreads * sizeof(struct rst_thread));
	uint32_t *groups_copy = rst_take(rg, h->ngroups * sizeof(uint32_t));
	memcpy(groups_copy, groups, h->ngroups * sizeof(uint32_t));
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct sv_rimg_thread *t = &threads[i];
		struct rst_thread *rt = &a->threads[i];
		struct sv_rimg_header th = thread_header(h, t);
		const struct sv_rimg_named *regs = tregs + t->first_reg;
		struct rst_args tls = { 0 };
		rst_arch_tls(&th, regs, &tls);
		*rt = (struct rst_thread){
			.tid = t->tid,
			.stage = &a->stage,
			.creds = &a->creds,
			.groups = groups_copy,
			.ngroups = h->ngroups,
			.personality = t->personality,
			.tls = { tls.tls[0], tls.tls[1] },
			.clear_child_tid = t->clear_child_tid,
			.robust_list = t->robust_list,
			.rseq = t->rseq,
			.rseq_len = t->rseq_len,
			.rseq_sig = t->rseq_sig,
			.nsigqueue = t->nsigqueue,
			.sigpending = t->sigpending,
		};
		memcpy(rt->comm, t->comm, sizeof(rt->comm));
		rt->comm[15] = '\0';
		rt->sigqueue = rst_take(rg, t->nsigqueue * sizeof(*tsigq));
		memcpy(rt->sigqueue, tsigq + t->first_sigqueue, t->nsigqueue * sizeof(*tsigq));
		size_t frame_len = rst_arch_sigframe_size(&th);
		uint8_t *frame = rst_take(rg, frame_len);
		if (rst_arch_build_sigframe(frame, frame_len, &th, regs, tfpu + t->fpu_off,
					    &rt->sigframe_sp, msg, sizeof(msg)))
			rst_die("thread %u: %s", t->tid, msg);
		rt->sigframe_ip = rst_arch_sigframe_ip_offset()
					  ? rt->sigframe_sp + rst_arch_sigframe_ip_offset()
					  : 0;
		uint8_t *stack = rst_take(rg, THREAD_STACK);
		rt->stack = (uint64_t)(uintptr_t)stack;
		rt->stack_len = THREAD_STACK;
	}
}

void rst_threads_release(struct rst_args *a, uint64_t entry)
{
	/* the blob was written as data: the threads may run it before the
	 * leader does (a no-op where instruction fetch sees data writes) */
	__builtin___clear_cache((char *)(uintptr_t)entry,
				(char *)(uintptr_t)entry + (rst_blob_end - rst_blob_start));
	for (uint32_t i = 0; i < a->nthreads; i++) {
		struct rst_park *p = &parks[i];
		p->entry = entry;
		p->thread = (uint64_t)(uintptr_t)&a->threads[i];
		p->sp = a->threads[i].stack + a->threads[i].stack_len;
		__atomic_store_n(&p->go, 1, __ATOMIC_RELEASE);
		rst_futex_wake(&p->go);
	}
}
