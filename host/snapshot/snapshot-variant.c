/* SPDX-License-Identifier: MIT */
#include "host/snapshot/snapshot-variant.h"

#include "snapvm/snapshot-fs-keys.h"

static const struct {
	const char *name;
	const char *type;
} sections[SV_SNAP_SECTION_KIND_MAX_] = {
	[SV_SNAP_SECTION_INDEX] = { "INDEX", SV_SNAP_INDEX_TYPE },
	[SV_SNAP_SECTION_TASK] = { "TASK", SV_SNAP_DICT_TYPE },
	[SV_SNAP_SECTION_REGS] = { "REGS", SV_SNAP_REGS_TYPE },
	[SV_SNAP_SECTION_FPU] = { "FPU", SV_SNAP_FPU_TYPE },
	[SV_SNAP_SECTION_TLS] = { "TLS", SV_SNAP_DICT_TYPE },
	[SV_SNAP_SECTION_MM] = { "MM", SV_SNAP_MM_TYPE },
	[SV_SNAP_SECTION_VMAS] = { "VMAS", SV_SNAP_VMAS_TYPE },
	[SV_SNAP_SECTION_FILE] = { "FILE", NULL },
	[SV_SNAP_SECTION_FILES] = { "FILES", SV_SNAP_FILES_TYPE },
	[SV_SNAP_SECTION_PAGES] = { "PAGES", NULL },
	[SV_SNAP_SECTION_PAGEMAP] = { "PAGEMAP", SV_SNAP_PAGEMAP_TYPE },
	[SV_SNAP_SECTION_PROVENANCE] = { "PROVENANCE", SV_SNAP_PROVENANCE_TYPE },
	[SV_SNAP_SECTION_PAGE_HASHES] = { "PAGE_HASHES", SV_SNAP_PAGE_HASHES_TYPE },
	[SV_SNAP_SECTION_PARENT] = { "PARENT", SV_SNAP_DICT_TYPE },
	[SV_SNAP_SECTION_IMAGE_FILES] = { "IMAGE_FILES", SV_SNAP_IMAGE_FILES_TYPE },
	[SV_SNAP_SECTION_FS] = { "FS", SV_SNAP_FS_TYPE },
	[SV_SNAP_SECTION_DIRTY_TRACK] = { "DIRTY_TRACK", SV_SNAP_DICT_TYPE },
	[SV_SNAP_SECTION_PAGE_HASHES_DELTA] = { "PAGE_HASHES_DELTA",
						SV_SNAP_PAGE_HASHES_DELTA_TYPE },
};

const char *sv_snap_section_name(guint32 kind)
{
	if (kind < SV_SNAP_SECTION_KIND_MAX_ && sections[kind].name)
		return sections[kind].name;
	return "UNKNOWN";
}

const char *sv_snap_metadata_type(guint32 kind)
{
	return kind < SV_SNAP_SECTION_KIND_MAX_ ? sections[kind].type : NULL;
}

GBytes *sv_snap_variant_to_le_bytes(GVariant *value)
{
	g_autoptr(GVariant) normal = g_variant_get_normal_form(value);
	if (G_BYTE_ORDER == G_BIG_ENDIAN) {
		g_autoptr(GVariant) swapped = g_variant_byteswap(normal);
		return g_variant_get_data_as_bytes(swapped);
	}
	return g_variant_get_data_as_bytes(normal);
}

static guint64 read_le(const guint8 *p, guint n)
{
	guint64 v = 0;
	for (guint i = 0; i < n; i++)
		v |= (guint64)p[i] << (8 * i);
	return v;
}

/*
 * The GVariant framing of "a(tat)", little-endian: the elements back to
 * back, each starting 8-aligned (zero bytes between), then the end of each
 * as an offset of the smallest width that can address the whole value (1,
 * 2, 4 or 8 bytes); the last offset is also where the offsets begin. An
 * element (t at) has no offsets of its own: its 8 bytes of t, then the
 * array, whose normal form is only a length of whole elements. So an
 * element is in normal form when its length is a multiple of 8 and at
 * least 8, and no byte of a hash need be looked at.
 */
gboolean sv_snap_page_hashes_normal(const guint8 *d, gsize size)
{
	if (size == 0)
		return TRUE;
	guint os = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffu ? 4 : 8;
	if (size < os)
		return FALSE;
	guint64 last_end = read_le(d + size - os, os);
	if (last_end > size || (size - last_end) % os || size == last_end)
		return FALSE;
	gsize n = (size - last_end) / os, offset = 0;
	for (gsize i = 0; i < n; i++) {
		guint64 end = read_le(d + last_end + i * os, os);
		if (end < offset || end > last_end)
			return FALSE;
		for (; offset % 8; offset++)
			if (offset >= end || d[offset])
				return FALSE;
		if (end - offset < 8 || (end - offset) % 8)
			return FALSE;
		offset = end;
	}
	return offset == last_end;
}

/*
 * v made again from its bytes as trusted, when it is in normal form (all
 * snapvm writes: sv_snap_variant_to_le_bytes), else NULL. GLib (2.74
 * here) marks such a value trusted but still checks, on every
 * g_variant_get_child_value of an array of variable-size elements, the
 * framing offsets of all the elements before it: reading every child is
 * quadratic (100k PAGE_HASHES runs: 2 s, 300k: 20 s), and so is bringing
 * a value that is not in normal form to it. One made trusted reads each
 * child in constant time; the check that it is in normal form is linear
 * (PAGE_HASHES' by its own framing: sv_snap_page_hashes_normal).
 */
static GVariant *normal_form(GVariant *v)
{
	gboolean normal = g_variant_is_of_type(v, G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE))
				  ? sv_snap_page_hashes_normal(g_variant_get_data(v),
							       g_variant_get_size(v))
				  : g_variant_is_normal_form(v);
	if (!normal)
		return NULL;
	g_autoptr(GBytes) b = g_variant_get_data_as_bytes(v);
	return g_variant_ref_sink(g_variant_new_from_bytes(g_variant_get_type(v), b, TRUE));
}

GVariant *sv_snap_variant_from_le_bytes(const char *type, GBytes *bytes)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(type),
									    bytes, FALSE));
	if (G_BYTE_ORDER == G_BIG_ENDIAN) {
		g_autoptr(GVariant) swapped = g_variant_byteswap(v);
		return normal_form(swapped);
	}
	return normal_form(v);
}

static const char *const arch_names[] = {
	[SV_SNAP_ARCH_X86_64] = "x86_64",
	[SV_SNAP_ARCH_AARCH64] = "aarch64",
	[SV_SNAP_ARCH_PPC64LE] = "ppc64le",
	[SV_SNAP_ARCH_RISCV64] = "riscv64",
};

const char *sv_snap_arch_name(guint16 arch)
{
	return arch < G_N_ELEMENTS(arch_names) && arch_names[arch] ? arch_names[arch] : NULL;
}

guint16 sv_snap_arch_from_name(const char *name)
{
	for (guint16 i = 0; i < G_N_ELEMENTS(arch_names); i++)
		if (arch_names[i] && g_strcmp0(arch_names[i], name) == 0)
			return i;
	return 0;
}
