/* SPDX-License-Identifier: MIT */
/* log.c - the agent's messages: one line each on its stderr, which is the
 * guest's console when the agent runs as PID 1. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.h"

void agent_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "snapvm-agent: %s\n", buf);
}
