/* SPDX-License-Identifier: MIT */
/* arch-tables.h - private to arch/: the tables the registry lists, and the
 * helpers the per-arch files share. */
#ifndef SNAPVM_ARCH_TABLES_H
#define SNAPVM_ARCH_TABLES_H

#include "snapvm/arch.h"

extern const SvArchOps sv_arch_x86_64;
extern const SvArchOps sv_arch_aarch64;

/*
 * Calls fn for every "NAME=HEXVALUE" pair in QEMU monitor text. NAME may be
 * padded with spaces before '=' ("R8 =", "ES ="), as QEMU aligns columns; it
 * is passed lower-cased and trimmed. rest points just past the hex digits so
 * a caller can read the fields that follow (segment bases). Returns the
 * number of pairs seen.
 */
typedef void (*SvMonitorPairFn)(const char *name, guint64 value, const char *rest,
				gpointer user_data);
guint sv_monitor_scan_pairs(const char *text, SvMonitorPairFn fn, gpointer user_data);

/* Stores value into member member_path of a raw kernel struct of type
 * (len bytes), in the member's size. */
gboolean sv_arch_struct_set(const struct SvKernelTypes *types, const char *type,
			    const char *member_path, guint8 *raw, gsize len, guint64 value,
			    GError **error);

/* Reads the 64-bit (or 32-bit, sign-extended; 16- and 8-bit, zero-extended) member member_path of a raw
 * kernel struct of type, at the offset and size its BTF gives. */
gboolean sv_arch_struct_member(const struct SvKernelTypes *types, const char *type,
			       const char *member_path, GBytes *raw, guint64 *ret, GError **error);

#endif
