/* SPDX-License-Identifier: MIT */
/*
 * manymaps [steps] [interval_ms]: 18,600 mappings (CRIU's maps06 has as
 * many): one anonymous region whose every other page is made read-only,
 * so no two neighbours merge. Each step writes into a few writable pages
 * and hashes them all, and checks that the region is still exactly those
 * mappings and the read-only pages' contents are as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

#define PAIRS 9300
#define PAGE 4096

/* Mappings inside [lo, hi), from /proc/self/maps. (Only its own: what
 * else a process has mapped is other workloads' business: maps.c checks
 * all of them.) The
 * file is read in several read()s, so a checkpoint may find it half-read:
 * the restored process reads on from the same offset of its own maps,
 * which may repeat part of a line if lines before ours differ; lines are
 * sorted by address, so only ascending starts count. */
static char maps_text[8 << 20];
static long count_maps(const void *lo, const void *hi)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(maps_text) - 1 &&
	       (n = read(fd, maps_text + len, sizeof(maps_text) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps_text[len] = 0;
	long count = 0;
	unsigned long last = 0;
	for (char *line = maps_text; *line;) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s >= (unsigned long)lo &&
		    e <= (unsigned long)hi && s >= last) {
			count++;
			last = e;
		}
		char *nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
	return count;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	unsigned char *p = mmap(NULL, 2ul * PAIRS * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("manymaps: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (long i = 0; i < PAIRS; i++) {
		p[(2 * i + 1) * PAGE] = (unsigned char)(i * 7 + 1);
		if (mprotect(p + (2 * i + 1) * PAGE, PAGE, PROT_READ)) {
			printf("manymaps: mprotect: %s\n", strerror(errno));
			return 1;
		}
	}
	unsigned char *end = p + 2ul * PAIRS * PAGE;
	long maps = count_maps(p, end);
	if (maps != 2 * PAIRS) {
		printf("manymaps: only %ld mappings\n", maps);
		return 1;
	}
	for (long step = 0; step < a.steps; step++) {
		for (long k = 0; k < 64; k++) {
			long i = (step * 131 + k * 977) % PAIRS;
			p[2 * i * PAGE + (size_t)(step * 8 + k) % PAGE] += (unsigned char)(k + 1);
		}
		uint32_t h = 0;
		for (long i = 0; i < PAIRS; i++) {
			h = workload_hash(h, p + 2 * i * PAGE, 64);
			if (p[(2 * i + 1) * PAGE] != (unsigned char)(i * 7 + 1)) {
				printf("manymaps FAILED at step %ld: read-only page %ld changed\n",
				       step, i);
				return 1;
			}
		}
		long now = count_maps(p, end);
		if (now != maps) {
			printf("manymaps FAILED at step %ld: %ld mappings, %ld at the start\n",
			       step, now, maps);
			return 1;
		}
		printf("manymaps step %ld hash %08x\n", step, h);
		workload_sleep_ms(a.interval_ms);
	}
	printf("manymaps done %ld\n", a.steps);
	return 0;
}
