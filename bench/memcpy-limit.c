/* SPDX-License-Identifier: MIT */
/*
 * memcpy-limit MIB [REPS] - the limit a checkpoint's page copy is held to:
 * ms to copy MIB MiB of non-zero data, median of REPS (default 5):
 *   warm:  memcpy into a destination already faulted in (the copy alone);
 *   fresh: memcpy into a freshly mapped anonymous destination, page faults
 *          included (what a copy into newly allocated host memory pays);
 *   thp:   the same with MADV_HUGEPAGE on the destination (one fault per
 *          2 MiB where transparent huge pages are enabled for madvise);
 *   shm:   what snapvm's capture does: the source a read-only MAP_SHARED
 *          mapping, made just before, of a file on /dev/shm (as guest RAM
 *          is), the destination fresh anonymous memory: faults on both sides;
 *   shm+:  the same with the source populated by MADV_POPULATE_READ and
 *          MADV_HUGEPAGE on the destination.
 * Prints one line: "warm fresh thp shm shm+" (ms).
 */
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define MAX_REPS 100

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

static double ms_since(gint64 t0)
{
	return (g_get_monotonic_time() - t0) / 1000.0;
}

/* One copy from a fresh mapping of the shm file fd into fresh memory. */
static double copy_from_shm(int fd, gsize len, gboolean tuned)
{
	gint64 t0 = g_get_monotonic_time();
	const guint8 *src = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (src == MAP_FAILED) {
		perror("memcpy-limit: mmap shm");
		exit(1);
	}
	guint8 *dst = map(len);
	if (tuned) {
		madvise((void *)src, len, MADV_POPULATE_READ);
		madvise(dst, len, MADV_HUGEPAGE);
	}
	memcpy(dst, src, len);
	double ms = ms_since(t0);
	munmap((void *)src, len);
	munmap(dst, len);
	return ms;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	if (mib <= 0 || reps <= 0 || reps > MAX_REPS) {
		fprintf(stderr, "usage: %s MIB [REPS]\n", argv[0]);
		return 2;
	}
	gsize len = (gsize)mib << 20;
	guint64 *src = map(len);
	for (gsize i = 0; i < len / 8; i++)
		src[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
	guint8 *warm = map(len);
	memset(warm, 1, len);
	char shm_path[] = "/dev/shm/memcpy-limit-XXXXXX";
	int fd = mkstemp(shm_path);
	if (fd < 0 || write(fd, src, len) != (ssize_t)len) {
		perror("memcpy-limit: /dev/shm file");
		return 1;
	}
	unlink(shm_path);
	double w[MAX_REPS], f[MAX_REPS], h[MAX_REPS], s[MAX_REPS], t[MAX_REPS];
	for (int r = 0; r < reps; r++) {
		gint64 t0 = g_get_monotonic_time();
		memcpy(warm, src, len);
		w[r] = ms_since(t0);
		guint8 *fresh = map(len);
		t0 = g_get_monotonic_time();
		memcpy(fresh, src, len);
		f[r] = ms_since(t0);
		munmap(fresh, len);
		guint8 *huge = map(len);
		madvise(huge, len, MADV_HUGEPAGE);
		t0 = g_get_monotonic_time();
		memcpy(huge, src, len);
		h[r] = ms_since(t0);
		munmap(huge, len);
		s[r] = copy_from_shm(fd, len, FALSE);
		t[r] = copy_from_shm(fd, len, TRUE);
	}
	close(fd);
	printf("%.1f %.1f %.1f %.1f %.1f\n", median(w, reps), median(f, reps), median(h, reps),
	       median(s, reps), median(t, reps));
	return warm[len - 1] == 0; /* keep the copies */
}
