/* SPDX-License-Identifier: MIT */
/*
 * guest-mem.h - the one way snapvm reads guest-physical memory.
 *
 * Every backend keeps guest RAM in a file (or memfd) it can share; this
 * accessor maps that file read-only and translates guest-physical addresses
 * through the board's RAM regions. Everything above it (introspection,
 * checkpoint) is backend- and board-independent.
 *
 * Addresses come from a guest and are untrusted: every read is bounds-checked
 * and a range that is not wholly inside one RAM region is an error, never a
 * read outside the mapping.
 */
#ifndef SNAPVM_GUEST_MEM_H
#define SNAPVM_GUEST_MEM_H

#include <glib.h>

#include "snapvm/arch.h"
#include "snapvm/types.h"

typedef struct SvGuestMem SvGuestMem;

/* Maps path read-only; regions say where each part of the file sits in the
 * guest-physical address space. Their total must fit the file. */
SvGuestMem *sv_guest_mem_open(const char *path, const SvRamRegion *regions, guint n_regions,
			      GError **error);
void sv_guest_mem_free(SvGuestMem *mem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvGuestMem, sv_guest_mem_free)

/* Total bytes of guest RAM. */
guint64 sv_guest_mem_size(const SvGuestMem *mem);

/* Copies len bytes at gpa into buf. */
gboolean sv_guest_mem_read(const SvGuestMem *mem, SvGpa gpa, void *buf, gsize len, GError **error);

/* Returns a pointer into the read-only mapping for [gpa, gpa+len), or NULL
 * with error. Valid until sv_guest_mem_free; for zero-copy readers. */
const void *sv_guest_mem_ptr(const SvGuestMem *mem, SvGpa gpa, gsize len, GError **error);

/* For tests and the fuzz harness: fn is called with every range a read or
 * sv_guest_mem_ptr hands out (after its bounds check). Off (NULL) unless
 * set; one pointer test per read when off. */
typedef void (*SvGuestMemReadHook)(SvGpa gpa, gsize len, gpointer data);
void sv_guest_mem_set_read_hook(SvGuestMem *mem, SvGuestMemReadHook fn, gpointer data);

#endif
