/* SPDX-License-Identifier: MIT */
/*
 * kernel-types.h - the guest kernel's structure layouts, from its own BTF.
 *
 * Every offset snapvm uses to read a kernel structure comes from here, never
 * from a table in our code: the types are parsed (libbpf) out of the image's
 * kernel file on the host - an ELF vmlinux (x86_64) carries a .BTF section;
 * a raw arm64 Image is scanned for the BTF header. A member that does not
 * exist is an error naming it.
 *
 * Answers are kept beside the kernel file (<kernel>.types, written when
 * the handle is freed), so a later process answers the same questions
 * without parsing the BTF: 10 ms of each checkpoint's start. A handle may
 * be asked from several threads at once.
 */
#ifndef SNAPVM_KERNEL_TYPES_H
#define SNAPVM_KERNEL_TYPES_H

#include <glib.h>

typedef struct SvKernelTypes SvKernelTypes;

/* Loads the BTF of the kernel file at path (ELF vmlinux or raw Image). */
SvKernelTypes *sv_kernel_types_load(const char *kernel_path, GError **error);
void sv_kernel_types_free(SvKernelTypes *kt);
/* For tests: whether this handle has parsed the BTF (it does at load only
 * when there are no kept answers, else at the first question they lack). */
gboolean sv_kernel_types_btf_parsed(const SvKernelTypes *kt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvKernelTypes, sv_kernel_types_free)

/* Byte offset of a member path in a struct, following nested and anonymous
 * members: ("task_struct", "thread.fsbase"), ("mm_struct", "pgd"). */
gboolean sv_kernel_types_offset(const SvKernelTypes *kt, const char *type, const char *member_path,
				guint64 *ret_offset, GError **error);
/* Size in bytes of a struct, or of the member at member_path (NULL: whole). */
gboolean sv_kernel_types_size(const SvKernelTypes *kt, const char *type, const char *member_path,
			      guint64 *ret_size, GError **error);

/* A bitfield member: its offset in bits from the struct's start and its
 * width (little-endian guests: the field is bits ret_bit_offset % 8
 * upwards of the bytes from ret_bit_offset / 8). Fails if it is not a
 * bitfield. */
gboolean sv_kernel_types_bitfield(const SvKernelTypes *kt, const char *type,
				  const char *member_path, guint64 *ret_bit_offset,
				  guint32 *ret_bit_size, GError **error);

/* The type a pointer member points to, by its name as declared: a typedef
 * keeps its own name ("fsnotify_connp_t"), a struct or union its tag, and
 * void is "void"; qualifiers are skipped. Tells apart layouts whose member
 * kept its name and size but changed what it points at. Fails if the
 * member is not a pointer. */
gboolean sv_kernel_types_pointee(const SvKernelTypes *kt, const char *type, const char *member_path,
				 char **ret_name, GError **error);

/* The value of enumerator name in the kernel's enum enum_type
 * ("fsnotify_obj_type", "FSNOTIFY_OBJ_TYPE_INODE"); enum_type NULL: in
 * whichever enum has it (the kernel's anonymous enums of bit numbers). */
gboolean sv_kernel_types_enum_value(const SvKernelTypes *kt, const char *enum_type,
				    const char *name, gint64 *ret_value, GError **error);

/* Resolves a table of member offsets at once; the first missing one fails. */
typedef struct SvMemberOffset {
	const char *type;
	const char *member_path;
	guint64 *ret_offset;
} SvMemberOffset;
gboolean sv_kernel_types_offsets(const SvKernelTypes *kt, const SvMemberOffset *want, gsize n,
				 GError **error);

#endif
