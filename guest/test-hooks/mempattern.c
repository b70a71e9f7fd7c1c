/* SPDX-License-Identifier: MIT */
/*
 * mempattern.c - proof that the host reads guest-physical memory right: the
 * agent fills pages of its own memory with a pattern the host can compute,
 * and reports each page's physical address from /proc/self/pagemap. For
 * tests only (test-hooks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/agent/test-hooks.h"

#define MAX_PAGES 4096u

static void *region;
static size_t region_len;

/* sv_pattern_byte a word at a time (byte i is byte i%8, little-endian, of
 * word i/8): 16 MiB byte by byte takes seconds under TCG. Checked against
 * the header's definition, so the two cannot drift apart unnoticed. */
static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t w = 0; w < len / 8; w++) {
		uint64_t z = seed + (w + 1) * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		sv_put_le64(p + 8 * w, z);
	}
	for (size_t i = 0; i < len; i += 4093) {
		if (p[i] != sv_pattern_byte(seed, i)) {
			for (size_t k = 0; k < len; k++)
				p[k] = sv_pattern_byte(seed, k);
			return;
		}
	}
}

void mempattern_reply(struct channel *ch, uint32_t tag, uint64_t seed, uint32_t npages)
{
	if (npages == 0 || npages > MAX_PAGES) {
		channel_send_error(ch, tag, SV_MSG_MEMPATTERN, EINVAL, "page count %u not in 1..%u",
				   npages, MAX_PAGES);
		return;
	}
	if (region)
		munmap(region, region_len);
	long page = sysconf(_SC_PAGESIZE);
	region_len = (size_t)npages * (size_t)page;
	region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		region = NULL;
		channel_send_error(ch, tag, SV_MSG_MEMPATTERN, errno, "mmap of %u pages", npages);
		return;
	}
	fill(region, region_len, seed);
	/* Locked, so the pages stay where pagemap says until the next request. */
	if (mlock(region, region_len) < 0) {
		channel_send_error(ch, tag, SV_MSG_MEMPATTERN, errno, "mlock");
		return;
	}
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		channel_send_error(ch, tag, SV_MSG_MEMPATTERN, errno, "open /proc/self/pagemap");
		return;
	}
	size_t cap = 16 + (size_t)npages * 8;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		close(fd);
		channel_send_error(ch, tag, SV_MSG_MEMPATTERN, ENOMEM, "out of memory");
		return;
	}
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, cap);
	sv_wbuf_u64(&w, (uint64_t)(uintptr_t)region);
	sv_wbuf_u32(&w, (uint32_t)page);
	sv_wbuf_u32(&w, npages);
	for (uint32_t i = 0; i < npages; i++) {
		uint64_t entry = 0;
		off_t off = (off_t)(((uintptr_t)region / (uintptr_t)page + i) * 8);
		if (pread(fd, &entry, 8, off) != 8)
			entry = 0;
		/* bit 63: present; bits 0-54: page frame number (root sees it) */
		uint64_t pa = (entry >> 63) ? (entry & ((1ull << 55) - 1)) * (uint64_t)page : 0;
		sv_wbuf_u64(&w, pa);
	}
	close(fd);
	channel_send(ch, SV_MSG_MEMPATTERN_REPLY, tag, buf, (uint32_t)w.len);
	free(buf);
}
