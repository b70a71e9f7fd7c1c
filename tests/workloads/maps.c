/* SPDX-License-Identifier: MIT */
/*
 * maps [steps] [interval_ms]: its own /proc/self/maps, read at the start
 * and again every step, must stay as it was: a restored process has
 * exactly the mappings it had, nothing more (the restorer's own region
 * once stayed) and nothing less. Compared line by line on the range, the
 * permissions, the offset and the path; the device and inode numbers are
 * left out, since a fresh guest may give the same file other ones. Two
 * more threads sleep meanwhile (their stacks are mappings too, and the
 * restore's end is per thread).
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define MAX_TEXT (256 * 1024)
#define MAX_LINES 4096

struct maps {
	char text[MAX_TEXT];
	char *line[MAX_LINES];
	int n;
};

static struct maps at_start, now;

/* "start-end perms offset dev inode path" -> "start-end perms offset
 * path", in place */
static void drop_dev_inode(char *l)
{
	char *f[5];
	char *p = l;
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, ' ');
		if (!p)
			return;
		p++;
	}
	/* f[3] is dev, f[4] inode, p the padding and path after them */
	while (*p == ' ')
		p++;
	memmove(f[3], p, strlen(p) + 1);
}

/* One read of the whole file where it fits: a checkpoint between two
 * reads would give the rest from the restored process's text. */
static int read_maps(struct maps *m)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t r;
	while (len < MAX_TEXT - 1 && (r = read(fd, m->text + len, MAX_TEXT - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	m->text[len] = 0;
	m->n = 0;
	for (char *l = m->text, *nl; *l && m->n < MAX_LINES; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		*nl = 0;
		drop_dev_inode(l);
		m->line[m->n++] = l;
	}
	return 0;
}

static int has(const struct maps *m, const char *l)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->line[i], l))
			return 1;
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		workload_sleep_ms(50);
	return NULL;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	printf("maps start\n"); /* stdout's buffer is a mapping too: made now */
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, sleeper, NULL)) {
			printf("maps: cannot start a thread\n");
			return 1;
		}
	if (read_maps(&at_start) < 0) {
		printf("maps: cannot read /proc/self/maps\n");
		return 1;
	}
	for (long i = 0; i < a.steps; i++) {
		if (read_maps(&now) < 0) {
			printf("maps step %ld: cannot read /proc/self/maps\n", i);
			return 1;
		}
		int differ = 0;
		for (int k = 0; k < now.n; k++)
			if (!has(&at_start, now.line[k])) {
				printf("maps step %ld: a mapping more: %s\n", i, now.line[k]);
				differ = 1;
			}
		for (int k = 0; k < at_start.n; k++)
			if (!has(&now, at_start.line[k])) {
				printf("maps step %ld: a mapping less: %s\n", i, at_start.line[k]);
				differ = 1;
			}
		if (!differ)
			printf("maps step %ld: %s\n", i, "as at the start");
		workload_sleep_ms(a.interval_ms);
	}
	printf("maps done %ld steps\n", a.steps);
	return 0;
}
