/* SPDX-License-Identifier: MIT */
/*
 * kallsyms.h - the guest kernel's symbols, recovered on the host from the
 * kernel image's own kallsyms tables (the System.map Debian ships is a stub
 * and the -dbg package is 858 MB).
 *
 * Those tables are compressed names plus address offsets that the kernel
 * build embeds in .rodata (scripts/kallsyms.c): kallsyms_offsets,
 * kallsyms_relative_base, kallsyms_num_syms, kallsyms_names,
 * kallsyms_markers, kallsyms_token_table, kallsyms_token_index. Nothing
 * labels them in a stripped image, so they are found by their shape - the
 * token table holds the single-character tokens "0".."9" in a row at indices
 * 48..57 - and every step is cross-checked (token index, markers, the name
 * stream ending exactly at the markers) before a symbol is believed.
 *
 * Which symbols exist depends on the kernel's config: with KALLSYMS_ALL
 * (Debian amd64) data symbols such as init_task are there; without it
 * (Debian arm64) only text symbols are.
 */
#ifndef SNAPVM_KALLSYMS_H
#define SNAPVM_KALLSYMS_H

#include <glib.h>

typedef struct SvKallsyms SvKallsyms;

/*
 * Reads the tables out of a kernel file (ELF vmlinux or raw Image).
 * absolute_percpu: the kernel has CONFIG_KALLSYMS_ABSOLUTE_PERCPU (then a
 * non-negative offset is an absolute per-cpu address).
 * unrelocated_base: the link address of the file's first byte (arm64's
 * KIMAGE_VADDR, 0xffff800008000000), needed when the file was never
 * relocated and so holds no kallsyms_relative_base; 0 if not relocatable.
 */
SvKallsyms *sv_kallsyms_load(const char *kernel_path, gboolean absolute_percpu,
			     guint64 unrelocated_base, GError **error);
void sv_kallsyms_free(SvKallsyms *ks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvKallsyms, sv_kallsyms_free)

guint sv_kallsyms_count(const SvKallsyms *ks);
/* Address and type letter ('T', 'D', ...) of a symbol; FALSE if absent. */
gboolean sv_kallsyms_lookup(const SvKallsyms *ks, const char *name, guint64 *ret_addr,
			    char *ret_type);

#endif
