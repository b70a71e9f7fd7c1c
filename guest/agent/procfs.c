/* SPDX-License-Identifier: MIT */
/* procfs.c - the guest's processes as /proc tells them: the oracle that
 * introspection from the host is checked against. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define MAX_PROCS 4096

/* /proc/PID/stat is "pid (comm) state ppid ..."; comm may hold spaces and
 * parentheses, so it ends at the last ')'. */
static bool parse_stat(const char *stat, char *comm, size_t cap, char *state, unsigned *ppid)
{
	const char *open = strchr(stat, '(');
	const char *close = strrchr(stat, ')');
	if (!open || !close || close < open)
		return false;
	size_t n = (size_t)(close - open - 1);
	if (n >= cap)
		n = cap - 1;
	memcpy(comm, open + 1, n);
	comm[n] = '\0';
	return sscanf(close + 1, " %c %u", state, ppid) == 2;
}

void procfs_reply_ps(struct channel *ch, uint32_t tag)
{
	DIR *d = opendir("/proc");
	if (!d) {
		channel_send_error(ch, tag, SV_MSG_PS, 2, "cannot open /proc");
		return;
	}
	/* count, then entries of at most 4+4+4+8+4+16 bytes each */
	size_t cap = 4 + MAX_PROCS * 48;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		closedir(d);
		channel_send_error(ch, tag, SV_MSG_PS, 12, "out of memory");
		return;
	}
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, cap);
	sv_wbuf_u32(&w, 0); /* patched below */
	uint32_t count = 0;
	long page_kib = sysconf(_SC_PAGESIZE) / 1024;
	struct dirent *e;
	while ((e = readdir(d)) && count < MAX_PROCS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], stat[1024], statm[256], comm[32];
		char state;
		unsigned ppid;
		unsigned long size = 0, resident = 0;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!agent_read_file(path, stat, sizeof(stat)) ||
		    !parse_stat(stat, comm, sizeof(comm), &state, &ppid))
			continue; /* exited meanwhile */
		snprintf(path, sizeof(path), "/proc/%s/statm", e->d_name);
		if (agent_read_file(path, statm, sizeof(statm)))
			sscanf(statm, "%lu %lu", &size, &resident);
		sv_wbuf_u32(&w, (uint32_t)strtoul(e->d_name, NULL, 10));
		sv_wbuf_u32(&w, ppid);
		sv_wbuf_u32(&w, (uint32_t)(unsigned char)state);
		sv_wbuf_u64(&w, (uint64_t)resident * (uint64_t)page_kib);
		sv_wbuf_str(&w, comm);
		count++;
	}
	closedir(d);
	if (w.overflow) { /* cannot happen with comm <= 15 bytes; never send a cut list */
		free(buf);
		channel_send_error(ch, tag, SV_MSG_PS, 75 /* EOVERFLOW */, "process list too long");
		return;
	}
	sv_put_le32(buf, count);
	channel_send(ch, SV_MSG_PS_REPLY, tag, buf, (uint32_t)w.len);
	free(buf);
}
