/* SPDX-License-Identifier: MIT */
/*
 * rst_die for a unit test that compiles restorer code for the host: the
 * restorer's fatal error fails the test, with its message.
 */
#include <glib.h>
#include <stdarg.h>

#include "guest/restorer/restore.h"

void rst_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_error("rst_die: %s", msg);
}
