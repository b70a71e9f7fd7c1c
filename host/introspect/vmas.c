/* SPDX-License-Identifier: MIT */
/*
 * vmas.c - a process's memory map, from its mm's maple tree (6.1 keeps VMAs
 * in mm->mm_mt; include/linux/maple_tree.h, lib/maple_tree.c) and each file
 * mapping's path (paths.c).
 *
 * The tree comes from guest memory: node types are checked, depth and node
 * count are bounded, every child range must sit inside its parent's, VMAs
 * must come out sorted and not overlapping, and their count must equal
 * mm->map_count.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-vm-flags.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_DEPTH 31
#define MAX_NODES 200000u
#define MAX_VMAS 65536u

/* enode encoding (maple_tree.h): node pointer in the bits above 8, type in
 * bits 3-6; a root pointer has bit 1 set (xa_is_node). */
enum { MAPLE_DENSE, MAPLE_LEAF_64, MAPLE_RANGE_64, MAPLE_ARANGE_64 };
#define RANGE64_SLOTS 16
#define ARANGE64_SLOTS 10

typedef struct {
	/* maple nodes */
	guint64 r_pivot, r_slot, r_meta, a_pivot, a_slot, a_meta, meta_end;
	/* mm and vma */
	guint64 mm_mt, ma_root, map_count, start_brk, brk, start_stack;
	guint64 vm_start, vm_end, vm_flags, vm_pgoff, vm_file, vm_private;
	/* where a userfaultfd registration shows (CONFIG_USERFAULTFD) */
	guint64 vm_uffd_ctx;
	gboolean has_uffd_ctx;
	guint64 f_path;
} VmaLayout;

static gboolean vma_layout(const SvIntrospect *in, VmaLayout *l, GError **error)
{
	const SvMemberOffset want[] = {
		{ "maple_range_64", "pivot", &l->r_pivot },
		{ "maple_range_64", "slot", &l->r_slot },
		{ "maple_range_64", "meta", &l->r_meta },
		{ "maple_arange_64", "pivot", &l->a_pivot },
		{ "maple_arange_64", "slot", &l->a_slot },
		{ "maple_arange_64", "meta", &l->a_meta },
		{ "maple_metadata", "end", &l->meta_end },
		{ "mm_struct", "mm_mt", &l->mm_mt },
		{ "maple_tree", "ma_root", &l->ma_root },
		{ "mm_struct", "map_count", &l->map_count },
		{ "mm_struct", "start_brk", &l->start_brk },
		{ "mm_struct", "brk", &l->brk },
		{ "mm_struct", "start_stack", &l->start_stack },
		{ "vm_area_struct", "vm_start", &l->vm_start },
		{ "vm_area_struct", "vm_end", &l->vm_end },
		{ "vm_area_struct", "vm_flags", &l->vm_flags },
		{ "vm_area_struct", "vm_pgoff", &l->vm_pgoff },
		{ "vm_area_struct", "vm_file", &l->vm_file },
		{ "vm_area_struct", "vm_private_data", &l->vm_private },
		{ "file", "f_path", &l->f_path },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	l->has_uffd_ctx = sv_kernel_types_offset(in->types, "vm_area_struct",
						 "vm_userfaultfd_ctx.ctx", &l->vm_uffd_ctx, NULL);
	return TRUE;
}

static gboolean rd64(const SvIntrospect *in, guint64 va, guint64 *v, GError **error)
{
	guint8 b[8];
	if (!sv_introspect_read(in, va, b, 8, error))
		return FALSE;
	*v = sv_get_le64(b);
	return TRUE;
}

typedef struct {
	const SvIntrospect *in;
	const VmaLayout *l;
	GArray *vmas; /* guint64 VMA addresses, in order */
	guint nodes;
} Walk;

/* In-order walk of the node at enode covering [min, max]. */
static gboolean walk_node(Walk *w, guint64 enode, guint64 min, guint64 max, guint depth,
			  GError **error)
{
	const VmaLayout *l = w->l;
	if (depth > MAX_DEPTH || ++w->nodes > MAX_NODES) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest maple tree deeper than %u or over %u nodes", MAX_DEPTH,
			    MAX_NODES);
		return FALSE;
	}
	guint type = (enode >> 3) & 0xf;
	guint64 node = enode & ~0xffull;
	if (type != MAPLE_LEAF_64 && type != MAPLE_RANGE_64 && type != MAPLE_ARANGE_64) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest maple node 0x%" G_GINT64_MODIFIER
			    "x has type %u, not one an mm uses",
			    enode, type);
		return FALSE;
	}
	gboolean arange = type == MAPLE_ARANGE_64;
	guint slots = arange ? ARANGE64_SLOTS : RANGE64_SLOTS;
	guint8 buf[256];
	if (!sv_introspect_read(w->in, node, buf, sizeof(buf), error))
		return FALSE;
	const guint8 *pivot = buf + (arange ? l->a_pivot : l->r_pivot);
	const guint8 *slot = buf + (arange ? l->a_slot : l->r_slot);
	guint meta_end = buf[(arange ? l->a_meta : l->r_meta) + l->meta_end];
	/* how many slots are in use (ma_data_end) */
	guint end;
	if (arange)
		end = meta_end;
	else if (sv_get_le64(pivot + 8 * (slots - 2)) == 0)
		end = meta_end;
	else
		end = sv_get_le64(pivot + 8 * (slots - 2)) == max ? slots - 2 : slots - 1;
	if (end >= slots) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest maple node has %u slots in use", end + 1);
		return FALSE;
	}
	guint64 lo = min;
	for (guint i = 0; i <= end; i++) {
		guint64 hi = i < slots - 1 ? sv_get_le64(pivot + 8 * i) : max;
		if (i == end || (i > 0 && hi == 0))
			hi = max;
		if (hi < lo || hi > max) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest maple node 0x%" G_GINT64_MODIFIER
				    "x has pivots out of order",
				    node);
			return FALSE;
		}
		guint64 entry = sv_get_le64(slot + 8 * i);
		if (entry) {
			if (type == MAPLE_LEAF_64) {
				/* leaves hold VMA pointers; values (low bits 10) are not VMAs */
				if ((entry & 3) != 2) {
					if (w->vmas->len >= MAX_VMAS) {
						g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
							    "guest mm has over %u VMAs", MAX_VMAS);
						return FALSE;
					}
					g_array_append_val(w->vmas, entry);
				}
			} else if (!walk_node(w, entry, lo, hi, depth + 1, error)) {
				return FALSE;
			}
		}
		if (hi == max)
			break;
		lo = hi + 1;
	}
	return TRUE;
}

void sv_guest_vma_clear(SvGuestVma *v)
{
	g_clear_pointer(&v->name, g_free);
}

gboolean sv_guest_vma_check_restorable(const SvGuestVma *v, guint32 pid, GError **error)
{
	const char *what = NULL;
	/* the context pointer, not VM_UFFD_MINOR's bit: that bit moved (37 to
	 * 38 in 6.6), and a 6.12 arm64 guest had bit 37 set on a static
	 * binary's own mapping */
	if (v->uffd_ctx || (v->flags & (SV_VM_UFFD_MISSING | SV_VM_UFFD_WP)))
		/* a process restored with --lazy is, until its last page is
		 * in (guest/restorer/lazy-pager.c) */
		what = "is registered with a userfaultfd (a process restored with `snapvm "
		       "restore --lazy` is until its last page is in place: checkpoint it "
		       "again a moment later)";
	else if (v->flags & SV_VM_HUGETLB)
		what = "is a hugetlbfs mapping (huge pages restore would give back as small ones)";
	else if (v->flags & SV_VM_SYNC)
		what = "is a MAP_SYNC mapping of a DAX file";
	/* the kernel's own mappings ([vdso], [vvar]) and device mappings
	 * (PFNMAP/IO: their driver maps them again) are left to the restore
	 * guest's kernel; any other VM_DONTEXPAND one belongs to a kernel
	 * object: an aio ring (io_setup) in practice */
	else if ((v->flags & SV_VM_DONTEXPAND) && !(v->flags & (SV_VM_PFNMAP | SV_VM_IO)) &&
		 !(v->name && v->name[0] == '['))
		what = "is an aio ring (io_setup) or another kernel object's mapping "
		       "(VM_DONTEXPAND)";
	if (!what)
		return TRUE;
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
		    "guest pid %u: the mapping [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
		    "x)%s%s %s; snapvm cannot checkpoint it",
		    pid, v->start, v->end, v->name ? " of " : "", v->name ? v->name : "", what);
	return FALSE;
}

GArray *sv_introspect_vmas(const SvIntrospect *in, guint32 pid, GError **error)
{
	VmaLayout l;
	guint64 mm;
	if (!vma_layout(in, &l, error) || !sv_introspect_task_mm(in, pid, &mm, error))
		return NULL;
	guint64 root, brk_lo, brk_hi, stack;
	guint8 b[4];
	if (!rd64(in, mm + l.mm_mt + l.ma_root, &root, error) ||
	    !sv_introspect_read(in, mm + l.map_count, b, 4, error) ||
	    !rd64(in, mm + l.start_brk, &brk_lo, error) || !rd64(in, mm + l.brk, &brk_hi, error) ||
	    !rd64(in, mm + l.start_stack, &stack, error))
		return NULL;
	guint32 map_count = sv_get_le32(b);
	Walk w = { .in = in, .l = &l, .vmas = g_array_new(FALSE, FALSE, sizeof(guint64)) };
	g_autoptr(GArray) addrs = w.vmas;
	gboolean ok = TRUE;
	if ((root & 3) == 2 && root > 4096)
		ok = walk_node(&w, root & ~2ull, 0, G_MAXUINT64, 0, error);
	else if (root)
		g_array_append_val(addrs, root); /* a single entry at index 0 */
	if (!ok)
		return NULL;
	if (addrs->len != map_count) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u: %u VMAs in the maple tree, map_count says %u", pid,
			    addrs->len, map_count);
		return NULL;
	}
	g_autoptr(GArray) out = g_array_sized_new(FALSE, TRUE, sizeof(SvGuestVma), addrs->len);
	g_array_set_clear_func(out, (GDestroyNotify)sv_guest_vma_clear);
	guint64 prev_end = 0;
	for (guint i = 0; i < addrs->len; i++) {
		guint64 vma = g_array_index(addrs, guint64, i);
		SvGuestVma v = { 0 };
		guint64 file, priv;
		if (!rd64(in, vma + l.vm_start, &v.start, error) ||
		    !rd64(in, vma + l.vm_end, &v.end, error) ||
		    !rd64(in, vma + l.vm_flags, &v.flags, error) ||
		    !rd64(in, vma + l.vm_pgoff, &v.pgoff, error) ||
		    !rd64(in, vma + l.vm_file, &file, error) ||
		    !rd64(in, vma + l.vm_private, &priv, error) ||
		    (l.has_uffd_ctx && !rd64(in, vma + l.vm_uffd_ctx, &v.uffd_ctx, error)))
			return NULL;
		if (v.start >= v.end || v.start < prev_end) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: VMA [0x%" G_GINT64_MODIFIER
				    "x, 0x%" G_GINT64_MODIFIER
				    "x) is empty, unsorted or overlapping",
				    pid, v.start, v.end);
			return NULL;
		}
		prev_end = v.end;
		v.file = file;
		if (file) {
			v.name = sv_introspect_path(in, file + l.f_path, error);
			if (!v.name)
				return NULL;
		} else if (v.start <= brk_hi && v.end >= brk_lo && brk_hi > brk_lo) {
			v.name = g_strdup("[heap]");
		} else if (v.start <= stack && stack < v.end) {
			v.name = g_strdup("[stack]");
		} else if (priv) {
			/* special mappings: vm_private_data -> vm_special_mapping.name */
			guint64 name;
			char s[16] = { 0 };
			if (rd64(in, priv, &name, NULL) &&
			    sv_introspect_read(in, name, s, 15, NULL) && s[0] == '[' &&
			    g_utf8_validate(s, -1, NULL))
				v.name = g_strndup(s, 15);
		}
		g_array_append_val(out, v);
	}
	return g_steal_pointer(&out);
}
