/* SPDX-License-Identifier: MIT */
/*
 * soft-dirty.c - SV_MSG_SOFT_DIRTY: re-arms a process's soft-dirty bits
 * (the kernel's clear_refs "4") and remembers, per pid, the mark the host
 * gave for that moment. The host reads the bits itself from the guest's
 * page tables; what it needs from inside is the clearing, which only the
 * guest kernel can do soundly (it write-protects the pages and flushes
 * every TLB, so no write can slip past), and a record of which arm is the
 * latest, so a checkpoint never trusts bits that a later arm cleared.
 *
 * The marks live only in this process's memory: a rebooted guest has none.
 * A table of fixed size; the oldest entry makes room for a new one, which
 * only costs the evicted process its next incremental checkpoint's use of
 * soft-dirty (the host then hashes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define MARKS 64

static struct {
	uint32_t pid;
	uint64_t age; /* when set, for eviction */
	char mark[SV_SOFT_DIRTY_MAX_MARK + 1];
} marks[MARKS];
static uint64_t clock_;

static int slot_of(uint32_t pid)
{
	for (int i = 0; i < MARKS; i++)
		if (marks[i].pid == pid)
			return i;
	return -1;
}

static int free_slot(void)
{
	int oldest = 0;
	for (int i = 0; i < MARKS; i++) {
		if (!marks[i].pid)
			return i;
		if (marks[i].age < marks[oldest].age)
			oldest = i;
	}
	return oldest;
}

static int clear_refs(uint32_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/clear_refs", pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* 4: clear the soft-dirty bits (Documentation/admin-guide/mm/soft-dirty.rst) */
	int rc = write(fd, "4", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

void soft_dirty_reply(struct channel *ch, uint32_t tag, const struct sv_soft_dirty_req *req)
{
	int i = slot_of(req->pid);
	if (req->arm) {
		/* forgotten first: a failed clear leaves no mark to trust */
		if (i >= 0)
			marks[i].pid = 0;
		int rc = clear_refs(req->pid);
		if (rc < 0) {
			channel_send_error(ch, tag, SV_MSG_SOFT_DIRTY, -rc,
					   "clearing the soft-dirty bits of pid %u: %s", req->pid,
					   strerror(-rc));
			return;
		}
		i = free_slot();
		marks[i].pid = req->pid;
		marks[i].age = ++clock_;
		memcpy(marks[i].mark, req->mark, req->mark_len);
		marks[i].mark[req->mark_len] = '\0';
	}
	const char *mark = i >= 0 && marks[i].pid == req->pid ? marks[i].mark : "";
	uint8_t buf[4 + SV_SOFT_DIRTY_MAX_MARK];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_str(&w, mark);
	channel_send(ch, SV_MSG_SOFT_DIRTY_REPLY, tag, buf, w.len);
}
