/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the agent's end of the kvm backend's fast transport
 * (include/snapvm/agent-ring.h): two rings in this process's memory,
 * pinned, whose guest-physical pages the VMM reads and writes; the port
 * is only the doorbell. channel.c moves its frames through them once the
 * VMM has accepted them.
 *
 * Pinned: the pages are mlocked (never swapped or unmapped), kept from
 * transparent huge pages and out of forked children (no copy-on-write),
 * and compaction is told to leave mlocked pages alone, so their physical
 * addresses hold for the agent's life.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "snapvm/agent-ring.h"

/* The VMM answers the offer as it reads it; this only bounds a VMM that
 * is not snapvm's (--fast-channel given by hand). */
#define OFFER_TIMEOUT_MS 10000

struct ring {
	int fd;
	uint8_t *mem;
	struct sv_ring_ctl *ctl;
	uint64_t ctl_gpa;
	uint8_t *to_host[SV_RING_DATA_PAGES];
	uint8_t *to_guest[SV_RING_DATA_PAGES];
};

#define MEM_SIZE ((1 + 2 * SV_RING_DATA_PAGES) * SV_RING_PAGE_SIZE)

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The guest-physical address of a resident page of ours, or 0. */
static uint64_t physical(int pagemap, const void *page)
{
	uint64_t e = 0;
	off_t at = (off_t)((uintptr_t)page / SV_RING_PAGE_SIZE * 8);
	if (pread(pagemap, &e, sizeof(e), at) != (ssize_t)sizeof(e) || !(e >> 63))
		return 0;
	/* bits 0-54: the frame number; 0 when we may not see it (not root) */
	return (e & ((1ull << 55) - 1)) * SV_RING_PAGE_SIZE;
}

static int now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Pinned memory for the rings with each page's address in the control
 * page; false (having said why) when that cannot be had. */
static bool build(struct ring *r)
{
	r->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED) {
		r->mem = NULL;
		agent_log("fast channel: mmap: %s", strerror(errno));
		return false;
	}
	madvise(r->mem, MEM_SIZE, MADV_NOHUGEPAGE);
	/* a fork would make our pages copy-on-write, and the agent's next
	 * write would land in a copy the VMM never sees */
	if (madvise(r->mem, MEM_SIZE, MADV_DONTFORK) != 0) {
		agent_log("fast channel: madvise(MADV_DONTFORK): %s", strerror(errno));
		return false;
	}
	if (mlock(r->mem, MEM_SIZE) != 0) {
		agent_log("fast channel: mlock: %s", strerror(errno));
		return false;
	}
	int c = open("/proc/sys/vm/compact_unevictable_allowed", O_WRONLY | O_CLOEXEC);
	if (c >= 0) {
		if (write(c, "0", 1) != 1)
			agent_log("fast channel: compaction may move mlocked pages");
		close(c);
	}
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		agent_log("fast channel: /proc/self/pagemap: %s", strerror(errno));
		return false;
	}
	r->ctl = (struct sv_ring_ctl *)r->mem;
	memset(r->mem, 0, SV_RING_PAGE_SIZE);
	bool ok = true;
	for (unsigned i = 0; i < 2 * SV_RING_DATA_PAGES && ok; i++) {
		uint8_t *page = r->mem + (1 + i) * SV_RING_PAGE_SIZE;
		uint64_t gpa = physical(pagemap, page);
		ok = gpa != 0;
		r->ctl->page_gpa[i] = gpa;
		if (i < SV_RING_DATA_PAGES)
			r->to_host[i] = page;
		else
			r->to_guest[i - SV_RING_DATA_PAGES] = page;
	}
	r->ctl_gpa = ok ? physical(pagemap, r->mem) : 0;
	close(pagemap);
	if (!r->ctl_gpa) {
		agent_log("fast channel: no physical address in /proc/self/pagemap");
		return false;
	}
	r->ctl->magic = SV_RING_MAGIC;
	r->ctl->version = SV_RING_VERSION;
	r->ctl->data_pages = SV_RING_DATA_PAGES;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

/* One byte off the port, waiting up to timeout_ms; false if none came. */
static bool read_byte(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t c;
	return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN) && read(fd, &c, 1) == 1;
}

/*
 * Waits for the VMM's answer and takes its one wake-up byte off the port,
 * and nothing more: after a refusal the host's bytes follow on the port
 * as serial data. The VMM sends nothing else before it answers and stores
 * the answer before it sends the byte, so a byte read while the answer
 * was not yet seen is that wake-up.
 */
static uint32_t await_answer(struct ring *r)
{
	int until = now_ms() + OFFER_TIMEOUT_MS;
	uint32_t state;
	bool woken = false;
	while ((state = load(&r->ctl->vmm_state)) == SV_RING_PENDING && now_ms() < until)
		woken = read_byte(r->fd, 50);
	if (state != SV_RING_PENDING && !woken)
		read_byte(r->fd, 1000);
	return state;
}

static void ring_free(struct ring *r)
{
	if (r->mem)
		munmap(r->mem, MEM_SIZE);
	free(r);
}

struct ring *ring_offer(int fd)
{
	struct ring *r = calloc(1, sizeof(*r));
	if (!r) {
		agent_log("fast channel: out of memory");
		return NULL;
	}
	r->fd = fd;
	/* an offer of 0 tells the VMM to use the serial path at once */
	uint64_t gpa = build(r) ? r->ctl_gpa : 0;
	char line[64];
	int n = snprintf(line, sizeof(line), "\x1b%s %llx\n", SV_RING_HELLO,
			 (unsigned long long)gpa);
	if (write(fd, line, (size_t)n) != n) {
		agent_log("fast channel: cannot write the offer: %s", strerror(errno));
		ring_free(r);
		return NULL;
	}
	uint32_t state = gpa ? await_answer(r) : SV_RING_REFUSED;
	if (state == SV_RING_ACCEPTED)
		return r;
	if (gpa)
		agent_log("fast channel: %s; using the serial path",
			  state == SV_RING_PENDING ? "the VMM did not answer"
						   : "the VMM refused it");
	ring_free(r);
	return NULL;
}

size_t ring_write(struct ring *r, const void *buf, size_t len)
{
	uint32_t head = r->ctl->to_host_head; /* ours */
	uint32_t room = SV_RING_BYTES - (head - load(&r->ctl->to_host_tail));
	if (room < len) {
		/* the VMM clears agent_waits and wakes us once it took bytes;
		 * look again after saying so, or that wake-up may be missed */
		__atomic_store_n(&r->ctl->agent_waits, 1, __ATOMIC_SEQ_CST);
		room = SV_RING_BYTES - (head - load(&r->ctl->to_host_tail));
	}
	uint32_t n = len < room ? (uint32_t)len : room;
	if (n) {
		sv_ring_copy_in(r->to_host, head, buf, n);
		store(&r->ctl->to_host_head, head + n);
	}
	return n;
}

size_t ring_read(struct ring *r, void *buf, size_t cap)
{
	uint32_t tail = r->ctl->to_guest_tail; /* ours */
	uint32_t avail = load(&r->ctl->to_guest_head) - tail;
	if (avail > SV_RING_BYTES) {
		agent_log("fast channel: the VMM's ring is broken (%u bytes ahead)", avail);
		return 0;
	}
	uint32_t n = cap < avail ? (uint32_t)cap : avail;
	if (n) {
		sv_ring_copy_out(r->to_guest, tail, buf, n);
		store(&r->ctl->to_guest_tail, tail + n);
	}
	return n;
}

void ring_doorbell(struct ring *r)
{
	/* a full tty buffer only means doorbells are already on their way */
	if (write(r->fd, "\n", 1) < 0) {
	}
}

void ring_drain_port(struct ring *r)
{
	uint8_t junk[256];
	while (read(r->fd, junk, sizeof(junk)) > 0)
		;
}
