/* SPDX-License-Identifier: MIT */
/*
 * refuse.c - how the restorer gives up: one line on stderr, which the agent
 * forwards to the host as the restored workload's output, and exit status
 * SV_RIMG_EXIT_FAILED, which tells the host the restore itself failed (not
 * the restored process). Also the image's strings, each checked before use
 * (a corrupt image is refused, never followed).
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "guest/lib/stderr-line.h"
#include "restore.h"

void (*rst_before_giving_up)(void);

void rst_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	stderr_line("snapvm restore: in the guest", fmt, ap);
	va_end(ap);
	if (rst_before_giving_up)
		rst_before_giving_up();
	_exit(SV_RIMG_EXIT_FAILED);
}

const char *rst_str(const struct sv_rimg_header *h, uint32_t off)
{
	if (off >= h->strings_len)
		rst_die("corrupt restore image: string offset %u", off);
	const char *s = (const char *)h + h->off_strings + off;
	if (!memchr(s, '\0', h->strings_len - off))
		rst_die("corrupt restore image: unterminated string");
	return s;
}
