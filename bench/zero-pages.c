/* SPDX-License-Identifier: MIT */
/*
 * zero-pages MIB: the guest workload of bench/restore-zeroing.sh. Times
 * how fast the guest kernel hands out MIB MiB of fresh anonymous memory -
 * what a restore's staging area costs in the guest, where the kernel
 * zeroes every page it faults in (clear_page; under QEMU's TCG the variant
 * the kernel picks decides the speed) - as huge pages (mlock of a 2 MiB-
 * aligned mapping, as the restorer stages) and as 4 KiB pages
 * (MADV_NOHUGEPAGE), then memset of the same size for comparison (user
 * space, already faulted). Prints the CPU flags that choose the kernel's
 * clear_page on x86_64 ("zero-pages: flags erms rep_good", as
 * /proc/cpuinfo has them), one line per measure ("zero-pages: WHAT MS ms
 * MB/s"), then "zero-pages: done".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE (2ul << 20)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint8_t *map_aligned(size_t len)
{
	uint8_t *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	if (p == MAP_FAILED) {
		perror("zero-pages: mmap");
		exit(1);
	}
	return (uint8_t *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
}

static void report(const char *what, size_t len, double ms)
{
	printf("zero-pages: %s %.0f ms %.0f MB/s\n", what, ms, len / 1e3 / (ms > 0 ? ms : 1));
	fflush(stdout);
}

/* Which of the flags that pick clear_page's variant the kernel kept
 * (ERMS: rep stosb; REP_GOOD: rep stosq; neither: an unrolled loop). */
static void print_flags(void)
{
	static const char *const names[] = { " erms", " rep_good", " fsrm" };
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	printf("zero-pages: flags");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *at = strstr(line, names[i]);
			size_t n = strlen(names[i]);
			if (at && (at[n] == ' ' || at[n] == '\n'))
				printf("%s", names[i]);
		}
		break;
	}
	printf("\n");
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
	if (mib <= 0) {
		fprintf(stderr, "usage: %s MIB\n", argv[0]);
		return 2;
	}
	size_t len = (size_t)mib << 20;
	print_flags();
	uint8_t *huge = map_aligned(len);
	double t0 = now_ms();
	if (mlock(huge, len) < 0) {
		perror("zero-pages: mlock");
		return 1;
	}
	report("fault-huge", len, now_ms() - t0);
	t0 = now_ms();
	memset(huge, 0x5a, len);
	report("memset", len, now_ms() - t0);
	munmap(huge, len);

	uint8_t *small = map_aligned(len);
	madvise(small, len, MADV_NOHUGEPAGE);
	t0 = now_ms();
	if (mlock(small, len) < 0) {
		perror("zero-pages: mlock");
		return 1;
	}
	report("fault-4k", len, now_ms() - t0);
	munmap(small, len);
	printf("zero-pages: done\n");
	return 0;
}
