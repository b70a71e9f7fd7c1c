/* SPDX-License-Identifier: MIT */
/*
 * memcpy-limit MIB [REPS] - the limit a checkpoint's page copy is held to:
 * ms to memcpy MIB MiB of non-zero data, median of REPS (default 5), into
 *   warm: a destination already faulted in (the copy alone), and
 *   fresh: a freshly mapped anonymous destination, page faults included
 *          (what a copy into newly allocated host memory pays);
 *   thp:   the same with MADV_HUGEPAGE on the destination (one fault per
 *          2 MiB where transparent huge pages are enabled for madvise).
 * Prints one line: "warm_ms fresh_ms thp_ms".
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void *map(gsize len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memcpy-limit: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	if (mib <= 0 || reps <= 0 || reps > 100) {
		fprintf(stderr, "usage: %s MIB [REPS]\n", argv[0]);
		return 2;
	}
	gsize len = (gsize)mib << 20;
	guint64 *src = map(len);
	for (gsize i = 0; i < len / 8; i++)
		src[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
	guint8 *warm = map(len);
	memset(warm, 1, len);
	double w[100], f[100], h[100];
	for (int r = 0; r < reps; r++) {
		gint64 t0 = g_get_monotonic_time();
		memcpy(warm, src, len);
		w[r] = (g_get_monotonic_time() - t0) / 1000.0;
		guint8 *fresh = map(len);
		t0 = g_get_monotonic_time();
		memcpy(fresh, src, len);
		f[r] = (g_get_monotonic_time() - t0) / 1000.0;
		munmap(fresh, len);
		guint8 *huge = map(len);
		madvise(huge, len, MADV_HUGEPAGE);
		t0 = g_get_monotonic_time();
		memcpy(huge, src, len);
		h[r] = (g_get_monotonic_time() - t0) / 1000.0;
		munmap(huge, len);
	}
	qsort(w, reps, sizeof(double), cmp);
	qsort(f, reps, sizeof(double), cmp);
	qsort(h, reps, sizeof(double), cmp);
	printf("%.1f %.1f %.1f\n", w[reps / 2], f[reps / 2], h[reps / 2]);
	return warm[len - 1] == 0; /* keep the copies */
}
