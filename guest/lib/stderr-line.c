/* SPDX-License-Identifier: MIT */
/* stderr-line.c - see stderr-line.h. The message is formatted first, so a
 * line goes out whole in one write. */
#include "guest/lib/stderr-line.h"

#include <stdio.h>
#include <unistd.h>

void stderr_line(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	dprintf(STDERR_FILENO, "%s: %s\n", prefix, buf);
}
