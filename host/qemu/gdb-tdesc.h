/* SPDX-License-Identifier: MIT */
/*
 * gdb-tdesc.h - a GDB target description (GDB manual, "Target
 * Descriptions"): which registers a stub has, their numbers and sizes.
 *
 * Registers are only ever looked up by name here: the numbers are the
 * stub's to give (QEMU numbers its coprocessor and system registers at run
 * time), so nothing may assume them.
 */
#ifndef SNAPVM_GDB_TDESC_H
#define SNAPVM_GDB_TDESC_H

#include <glib.h>

typedef struct SvGdbReg {
	char *name;
	guint regnum; /* what 'p' takes */
	guint bitsize;
} SvGdbReg;

/* Fetches one description document (annex "target.xml" or one it
 * includes) as text. */
typedef char *(*SvGdbFetchFn)(const char *annex, gpointer data, GError **error);

/*
 * Reads target.xml and what it includes (<xi:include href=...>, followed
 * where it stands) through fetch and numbers the registers as GDB does: a
 * register takes its regnum attribute, else one more than the register
 * before it in document order. Returns name -> SvGdbReg (the table owns
 * them). Malformed XML, a register without a name or a sensible size, a
 * name given twice, or more than a few includes or thousands of registers
 * are errors: the stub is not trusted.
 */
GHashTable *sv_gdb_tdesc_load(SvGdbFetchFn fetch, gpointer data, GError **error);

#endif
