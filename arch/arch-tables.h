/* SPDX-License-Identifier: MIT */
/* arch-tables.h - private to arch/: the tables the registry lists, and the
 * helpers the per-arch files share. */
#ifndef SNAPVM_ARCH_TABLES_H
#define SNAPVM_ARCH_TABLES_H

#include "base/errors.h"
#include "snapvm/arch.h"
#include "snapvm/le.h"

extern const SvArchOps sv_arch_x86_64;
extern const SvArchOps sv_arch_aarch64;
extern const SvArchOps sv_arch_riscv64;
extern const SvArchOps sv_arch_ppc64le;

/* Where a kernel image loaded raw (not relocated, mapped as it is) lies in
 * guest RAM: found by its contents at a 2 MiB-aligned base in the first
 * 256 MiB from ram_base (Linux asks boot loaders for that alignment on
 * arm64 and riscv64), because its header page does not survive boot. */
gboolean sv_arch_find_kernel_image(const struct SvGuestMem *mem, guint64 ram_base,
				   GBytes *kernel_file, guint64 *ret_base, GError **error);

/* Kernel VA to guest-physical where the kernel has two windows onto RAM:
 * its image (ks->image_*) and the linear map of linear_span bytes from
 * linear_start (PA = VA - ks->direct_map_base). */
gboolean sv_arch_image_or_linear_va_to_pa(const char *arch, const SvKernelSpace *ks,
					  guint64 linear_start, guint64 linear_span, guint64 va,
					  SvGpa *ret_pa, GError **error);

/* Whether a syscall's return value is one of the kernel-internal
 * -ERESTART* codes (include/linux/errno.h) a signal or freeze left behind. */
gboolean sv_arch_is_restart_code(gint64 ret);

/* Reads a register of up to 8 bytes (its size in the stub's target
 * description) from a gdbstub as a little-endian number. */
gboolean sv_arch_gdb_read_uint(const SvGdbRegReader *rd, const char *name, guint bytes,
			       guint64 *ret, GError **error);

/* Reads member path of the kernel struct of type at base (want bytes,
 * which must be the member's size). */
gboolean sv_arch_read_member(const SvKernelReader *rd, guint64 base, const char *type,
			     const char *path, void *buf, gsize want, GError **error);
gboolean sv_arch_read_u64(const SvKernelReader *rd, guint64 base, const char *type,
			  const char *path, guint64 *ret, GError **error);
gboolean sv_arch_read_u32(const SvKernelReader *rd, guint64 base, const char *type,
			  const char *path, guint32 *ret, GError **error);

/* Stores value into member member_path of a raw kernel struct of type
 * (len bytes), in the member's size. */
gboolean sv_arch_struct_set(const struct SvKernelTypes *types, const char *type,
			    const char *member_path, guint8 *raw, gsize len, guint64 value,
			    GError **error);

/* Reads member member_path of a raw kernel struct of type, at the offset
 * and size its BTF gives: 64-bit, 32-bit sign-extended, or 16- and 8-bit
 * zero-extended. */
gboolean sv_arch_struct_member(const struct SvKernelTypes *types, const char *type,
			       const char *member_path, GBytes *raw, guint64 *ret, GError **error);

#endif
