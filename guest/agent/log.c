/* SPDX-License-Identifier: MIT */
/* log.c - the agent's messages: one line each on its stderr, which is the
 * guest's console when the agent runs as PID 1. */
#include <stdarg.h>

#include "agent.h"
#include "guest/lib/stderr-line.h"

void agent_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	stderr_line("snapvm-agent", fmt, ap);
	va_end(ap);
}
