/* SPDX-License-Identifier: MIT */
/* monitor-text.c - tokenises QEMU's human-monitor register dumps. */
#include "arch/arch-tables.h"

#include <string.h>

static gboolean is_name_char(char c)
{
	return g_ascii_isalnum(c) || c == '_';
}

guint sv_monitor_scan_pairs(const char *text, SvMonitorPairFn fn, gpointer user_data)
{
	guint pairs = 0;
	for (const char *eq = strchr(text, '='); eq; eq = strchr(eq + 1, '=')) {
		/* Walk back over alignment spaces, then over the name itself. */
		const char *end = eq;
		while (end > text && end[-1] == ' ')
			end--;
		const char *start = end;
		while (start > text && is_name_char(start[-1]))
			start--;
		if (start == end || end - start >= 16)
			continue;
		const char *v = eq + 1;
		if (!g_ascii_isxdigit(*v))
			continue;
		char *after = NULL;
		guint64 value = g_ascii_strtoull(v, &after, 16);
		char name[16];
		memcpy(name, start, end - start);
		name[end - start] = '\0';
		g_autofree char *lower = g_ascii_strdown(name, -1);
		fn(lower, value, after, user_data);
		pairs++;
	}
	return pairs;
}
