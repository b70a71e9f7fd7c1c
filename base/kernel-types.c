/* SPDX-License-Identifier: MIT */
/* kernel-types.c - see kernel-types.h. */
#include "base/kernel-types.h"

#include <bpf/btf.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "base/errors.h"

/* A BTF blob starts with this little-endian header (include/uapi/linux/btf.h). */
#define BTF_MAGIC_LE 0xeb9f
#define BTF_HEADER_LEN 24

/*
 * Every answer is kept (answers), and written beside the kernel file when
 * the handle is freed (<kernel>.types, keyed by the file's size and
 * mtime, checksummed): the next process answers from it without parsing
 * the BTF at all. That parse copies 4 MiB out of the file and indexes
 * 126k types - 10 ms of every checkpoint's start on this machine, a
 * quarter of an incremental one - for the two hundred answers a
 * checkpoint needs. The BTF is parsed at the first question the file
 * cannot answer (and at load when there is no file: a kernel without BTF
 * still fails there).
 */
#define ANSWERS_MAGIC 0x73767479706573ull /* "svtypes" */
#define ANSWERS_TYPE "(ttta{s(bitts)})"	  /* magic, key, sum of the dict, dict */

typedef struct {
	gboolean ok;
	gint code;    /* !ok: the SV_ERROR code */
	guint64 a, b; /* offset, size, bit offset and width, enum value */
	char *text;   /* pointee name, or !ok: the error message */
} Answer;

struct SvKernelTypes {
	/* the answers and the lazily parsed BTF: a checkpoint asks from two
	 * threads at once */
	GMutex lock;
	char *source;
	guint64 key;	      /* of the kernel file; 0: unknown, nothing stored */
	GHashTable *answers;  /* question -> Answer */
	gboolean answers_new; /* some not in the file yet */
	struct btf *btf;      /* NULL until a question needs it */
	/* struct/union name -> BTF id + 1: btf__find_by_name_kind scans every
	 * type, and a checkpoint asks for the same few structs a hundred times;
	 * and "enumerator NAME" -> the BTF id of the enum that has it */
	GHashTable *ids;
};

static void answer_free(gpointer p)
{
	Answer *a = p;
	g_free(a->text);
	g_free(a);
}

static char *answers_path(const char *kernel_path)
{
	return g_strconcat(kernel_path, ".types", NULL);
}

/* The kernel file's size and modification time, mixed; 0 if unknown. */
static guint64 file_key(const char *path)
{
	GStatBuf st;
	if (g_stat(path, &st) != 0)
		return 0;
	guint64 k = (guint64)st.st_size * 1000003u ^ (guint64)st.st_mtime * 7919u ^
		    (guint64)st.st_mtim.tv_nsec;
	return k ? k : 1;
}

static void answers_read(SvKernelTypes *kt)
{
	g_autofree char *path = answers_path(kt->source);
	g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, NULL);
	if (!mf || !kt->key)
		return;
	g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mf);
	g_autoptr(GVariant)
		v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(ANSWERS_TYPE), bytes,
								FALSE));
	guint64 magic, key, sum;
	g_autoptr(GVariant) dict = NULL;
	g_variant_get(v, "(ttt@a{s(bitts)})", &magic, &key, &sum, &dict);
	/* a file of another kernel, or damaged: parsed from the BTF again */
	if (magic != ANSWERS_MAGIC || key != kt->key ||
	    XXH3_64bits(g_variant_get_data(dict), g_variant_get_size(dict)) != sum)
		return;
	GVariantIter it;
	const char *question, *text;
	Answer a;
	g_variant_iter_init(&it, dict);
	while (g_variant_iter_next(&it, "{&s(bitt&s)}", &question, &a.ok, &a.code, &a.a, &a.b,
				   &text)) {
		Answer *copy = g_memdup2(&a, sizeof(a));
		copy->text = g_strdup(text);
		g_hash_table_replace(kt->answers, g_strdup(question), copy);
	}
}

/* Best effort: without the file, the next process parses the BTF. */
static void answers_write(SvKernelTypes *kt)
{
	if (!kt->answers_new || !kt->key)
		return;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{s(bitts)}"));
	GHashTableIter it;
	gpointer question, value;
	g_hash_table_iter_init(&it, kt->answers);
	while (g_hash_table_iter_next(&it, &question, &value)) {
		const Answer *a = value;
		g_variant_builder_add(&b, "{s(bitts)}", (const char *)question, a->ok, a->code,
				      a->a, a->b, a->text ? a->text : "");
	}
	g_autoptr(GVariant) dict = g_variant_ref_sink(g_variant_builder_end(&b));
	guint64 sum = XXH3_64bits(g_variant_get_data(dict), g_variant_get_size(dict));
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new("(ttt@a{s(bitts)})", ANSWERS_MAGIC,
								 kt->key, sum, dict));
	g_autofree char *path = answers_path(kt->source);
	/* g_file_set_contents writes a temp file and renames it over: a
	 * reader sees the old file or the new, and of two writers one wins */
	(void)g_file_set_contents(path, g_variant_get_data(v), (gssize)g_variant_get_size(v), NULL);
}

void sv_kernel_types_free(SvKernelTypes *kt)
{
	if (!kt)
		return;
	answers_write(kt);
	btf__free(kt->btf);
	g_free(kt->source);
	g_clear_pointer(&kt->answers, g_hash_table_unref);
	g_clear_pointer(&kt->ids, g_hash_table_unref);
	g_mutex_clear(&kt->lock);
	g_free(kt);
}

/* A raw kernel Image has no sections: find the BTF blob by its header
 * (magic 0xeb9f, version 1, header length 24) and a size that fits. */
static struct btf *btf_from_raw_image(const guint8 *data, gsize len)
{
	for (gsize off = 0; off + BTF_HEADER_LEN <= len; off += 4) {
		if (data[off] != 0x9f || data[off + 1] != 0xeb || data[off + 2] != 1 ||
		    data[off + 3] != 0)
			continue;
		guint32 hdr_len = data[off + 4] | data[off + 5] << 8 | data[off + 6] << 16 |
				  (guint32)data[off + 7] << 24;
		if (hdr_len != BTF_HEADER_LEN)
			continue;
		guint32 f[4];
		memcpy(f, data + off + 8,
		       sizeof(f)); /* type_off, type_len, str_off, str_len (LE) */
		guint64 total = (guint64)hdr_len + MAX((guint64)f[0] + f[1], (guint64)f[2] + f[3]);
		if (total > len - off)
			continue;
		struct btf *btf = btf__new(data + off, (guint32)total);
		if (btf && btf__type_cnt(btf) > 1000) /* a kernel's, not some stray match */
			return btf;
		btf__free(btf);
	}
	return NULL;
}

/* Parses the BTF out of the kernel file (ELF vmlinux or raw Image). */
static gboolean parse_btf(SvKernelTypes *kt, GError **error)
{
	g_autoptr(GMappedFile) mf = g_mapped_file_new(kt->source, FALSE, error);
	if (!mf)
		return FALSE;
	const guint8 *data = (const guint8 *)g_mapped_file_get_contents(mf);
	gsize len = g_mapped_file_get_length(mf);
	if (len >= 4 && memcmp(data, "\177ELF", 4) == 0)
		kt->btf = btf__parse_elf(kt->source, NULL);
	else
		kt->btf = btf_from_raw_image(data, len);
	if (!kt->btf) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "no BTF type information in %s (the kernel needs CONFIG_DEBUG_INFO_BTF)",
			    kt->source);
		return FALSE;
	}
	return TRUE;
}

SvKernelTypes *sv_kernel_types_load(const char *kernel_path, GError **error)
{
	g_autoptr(SvKernelTypes) kt = g_new0(SvKernelTypes, 1);
	g_mutex_init(&kt->lock);
	kt->source = g_strdup(kernel_path);
	kt->key = file_key(kernel_path);
	kt->answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, answer_free);
	kt->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	answers_read(kt);
	if (g_hash_table_size(kt->answers) == 0 && !parse_btf(kt, error))
		return NULL;
	return g_steal_pointer(&kt);
}

gboolean sv_kernel_types_btf_parsed(const SvKernelTypes *kt)
{
	SvKernelTypes *m = (SvKernelTypes *)kt;
	g_mutex_lock(&m->lock);
	gboolean parsed = m->btf != NULL;
	g_mutex_unlock(&m->lock);
	return parsed;
}

/* Follows typedefs and qualifiers to the underlying type. */
static const struct btf_type *resolve(const struct btf *btf, guint32 *id)
{
	*id = btf__resolve_type(btf, *id);
	return (int)*id < 0 ? NULL : btf__type_by_id(btf, *id);
}

/* Finds member name in struct/union type_id, searching anonymous members;
 * adds its bit offset to *bits and returns its type id, or -1. */
static gint64 find_member(const struct btf *btf, guint32 type_id, const char *name, guint64 *bits,
			  guint32 *bitsz, int depth)
{
	const struct btf_type *t = resolve(btf, &type_id);
	if (!t || !(btf_is_struct(t) || btf_is_union(t)) || depth > 16)
		return -1;
	const struct btf_member *m = btf_members(t);
	for (guint i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		guint64 off = btf_member_bit_offset(t, i);
		if (mname && *mname) {
			if (strcmp(mname, name) == 0) {
				*bits += off;
				*bitsz = btf_member_bitfield_size(t, i);
				return m->type;
			}
			continue;
		}
		guint64 inner = 0;
		gint64 found = find_member(btf, m->type, name, &inner, bitsz, depth + 1);
		if (found >= 0) {
			*bits += off + inner;
			return found;
		}
	}
	return -1;
}

static gboolean walk(const SvKernelTypes *kt, const char *type, const char *member_path,
		     guint64 *ret_bits, guint32 *ret_type, guint32 *ret_bitsz, GError **error)
{
	gint32 id = GPOINTER_TO_INT(g_hash_table_lookup(kt->ids, type)) - 1;
	if (id < 0) {
		id = btf__find_by_name_kind(kt->btf, type, BTF_KIND_STRUCT);
		if (id < 0)
			id = btf__find_by_name_kind(kt->btf, type, BTF_KIND_UNION);
		if (id >= 0)
			g_hash_table_insert(kt->ids, g_strdup(type), GINT_TO_POINTER(id + 1));
	}
	if (id < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "guest kernel has no struct %s (%s)", type, kt->source);
		return FALSE;
	}
	guint64 bits = 0;
	guint32 cur = (guint32)id, bitsz = 0;
	g_auto(GStrv) parts = member_path ? g_strsplit(member_path, ".", 0) : g_new0(char *, 1);
	for (char **p = parts; *p; p++) {
		gint64 next = find_member(kt->btf, cur, *p, &bits, &bitsz, 0);
		if (next < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "guest kernel's struct %s has no member %s (%s)", type,
				    member_path, kt->source);
			return FALSE;
		}
		cur = (guint32)next;
	}
	*ret_bits = bits;
	*ret_type = cur;
	if (ret_bitsz)
		*ret_bitsz = bitsz;
	return TRUE;
}

static gboolean compute_bitfield(const SvKernelTypes *kt, const char *type, const char *member_path,
				 Answer *a, GError **error)
{
	guint32 t, width;
	if (!walk(kt, type, member_path, &a->a, &t, &width, error))
		return FALSE;
	a->b = width;
	if (width == 0 || width > 32) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s.%s is not a bitfield of up to 32 bits", type, member_path);
		return FALSE;
	}
	return TRUE;
}

static gboolean compute_offset(const SvKernelTypes *kt, const char *type, const char *member_path,
			       Answer *a, GError **error)
{
	guint64 bits;
	guint32 t;
	if (!walk(kt, type, member_path, &bits, &t, NULL, error))
		return FALSE;
	if (bits % 8) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s.%s is a bitfield, not byte-addressable", type, member_path);
		return FALSE;
	}
	a->a = bits / 8;
	return TRUE;
}

static gboolean compute_size(const SvKernelTypes *kt, const char *type, const char *member_path,
			     Answer *a, GError **error)
{
	guint64 bits;
	guint32 t;
	if (!walk(kt, type, member_path, &bits, &t, NULL, error))
		return FALSE;
	gint64 size = btf__resolve_size(kt->btf, t);
	if (size < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "size of %s%s%s is unknown",
			    type, member_path ? "." : "", member_path ? member_path : "");
		return FALSE;
	}
	a->a = (guint64)size;
	return TRUE;
}

/* Skips const/volatile/restrict/type tags, but not typedefs (their name
 * is what a caller asks about). */
static guint32 skip_modifiers(const struct btf *btf, guint32 id)
{
	for (int depth = 0; id && depth < 16; depth++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !(btf_is_mod(t) || btf_kind(t) == BTF_KIND_TYPE_TAG))
			break;
		id = t->type;
	}
	return id;
}

static gboolean compute_pointee(const SvKernelTypes *kt, const char *type, const char *member_path,
				Answer *a, GError **error)
{
	guint64 bits;
	guint32 id;
	if (!walk(kt, type, member_path, &bits, &id, NULL, error))
		return FALSE;
	const struct btf_type *t = resolve(kt->btf, &id);
	if (!t || !btf_is_ptr(t)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest kernel's %s.%s is not a pointer (%s)", type, member_path,
			    kt->source);
		return FALSE;
	}
	guint32 to = skip_modifiers(kt->btf, t->type);
	const struct btf_type *pt = to ? btf__type_by_id(kt->btf, to) : NULL;
	const char *name = pt ? btf__name_by_offset(kt->btf, pt->name_off) : NULL;
	a->text = g_strdup(!to ? "void" : name ? name : "");
	return TRUE;
}

/* enumerator name's value in enum t, TRUE if t has it */
static gboolean enum_has(const struct btf *btf, const struct btf_type *t, const char *name,
			 gint64 *ret_value)
{
	gboolean wide = btf_is_enum64(t);
	for (guint i = 0; i < btf_vlen(t); i++) {
		const char *n = btf__name_by_offset(btf, wide ? btf_enum64(t)[i].name_off
							      : btf_enum(t)[i].name_off);
		if (n && strcmp(n, name) == 0) {
			*ret_value = wide ? (gint64)btf_enum64_value(btf_enum64(t) + i)
					  : btf_enum(t)[i].val;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean find_enum_value(const SvKernelTypes *kt, const char *enum_type, const char *name,
				gint64 *ret_value, GError **error)
{
	if (!enum_type) {
		/* an anonymous enum (the kernel's flag-bit numbers): any enum
		 * that has the enumerator. The scan visits every type (0.4 ms
		 * for 6.18's 126k) and is asked again for each socket at the
		 * pause: the enum found is kept in ids, under a key no struct
		 * name can be ("enumerator NAME") */
		g_autofree char *key = g_strconcat("enumerator ", name, NULL);
		guint32 known = GPOINTER_TO_UINT(g_hash_table_lookup(kt->ids, key));
		const struct btf_type *cached = known ? btf__type_by_id(kt->btf, known) : NULL;
		if (cached && enum_has(kt->btf, cached, name, ret_value))
			return TRUE;
		guint32 n = btf__type_cnt(kt->btf);
		for (guint32 id = 1; id < n; id++) {
			const struct btf_type *t = btf__type_by_id(kt->btf, id);
			if (t && (btf_is_enum(t) || btf_is_enum64(t)) &&
			    enum_has(kt->btf, t, name, ret_value)) {
				g_hash_table_insert(kt->ids, g_steal_pointer(&key),
						    GUINT_TO_POINTER(id));
				return TRUE;
			}
		}
	} else {
		gint32 id = btf__find_by_name_kind(kt->btf, enum_type, BTF_KIND_ENUM);
		if (id < 0)
			id = btf__find_by_name_kind(kt->btf, enum_type, BTF_KIND_ENUM64);
		const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(kt->btf, (guint32)id);
		if (t && enum_has(kt->btf, t, name, ret_value))
			return TRUE;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "guest kernel has no %s in enum %s (%s)",
		    name, enum_type ? enum_type : "(any)", kt->source);
	return FALSE;
}

/* enum_type NULL: any enum (see sv_kernel_types_enum_value) */
static gboolean compute_enum(const SvKernelTypes *kt, const char *enum_type, const char *name,
			     Answer *a, GError **error)
{
	gint64 v = 0;
	gboolean found = find_enum_value(kt, enum_type, name, &v, error);
	a->a = (guint64)v;
	return found;
}

typedef gboolean (*ComputeFn)(const SvKernelTypes *kt, const char *type, const char *name,
			      Answer *a, GError **error);

/* The answer to question kind about (type, name): kept, from the file or
 * an earlier question, or computed from the BTF (parsed now if need be)
 * and kept - failures too: "no such member" is as much a fact of the
 * kernel as an offset. FALSE with the answer's error. *ret's text is the
 * caller's. */
static gboolean ask(const SvKernelTypes *ckt, char kind, const char *type, const char *name,
		    ComputeFn compute, Answer *ret, GError **error)
{
	/* what is kept changes no answer a caller sees */
	SvKernelTypes *kt = (SvKernelTypes *)ckt;
	g_autofree char *question = g_strdup_printf("%c %s %s", kind, type ? type : "",
						    name ? name : "");
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&kt->lock);
	const Answer *known = g_hash_table_lookup(kt->answers, question);
	if (!known) {
		if (!kt->btf && !parse_btf(kt, error))
			return FALSE;
		Answer *fresh = g_new0(Answer, 1);
		g_autoptr(GError) why = NULL;
		fresh->ok = compute(kt, type, name, fresh, &why);
		if (!fresh->ok) {
			g_free(fresh->text);
			fresh->code = why->code;
			fresh->text = g_strdup(why->message);
		}
		g_hash_table_replace(kt->answers, g_steal_pointer(&question), fresh);
		kt->answers_new = TRUE;
		known = fresh;
	}
	if (!known->ok) {
		g_set_error_literal(error, SV_ERROR, known->code, known->text);
		return FALSE;
	}
	*ret = *known;
	ret->text = g_strdup(known->text);
	return TRUE;
}

gboolean sv_kernel_types_offset(const SvKernelTypes *kt, const char *type, const char *member_path,
				guint64 *ret_offset, GError **error)
{
	Answer a;
	if (!ask(kt, 'o', type, member_path, compute_offset, &a, error))
		return FALSE;
	*ret_offset = a.a;
	g_free(a.text);
	return TRUE;
}

gboolean sv_kernel_types_size(const SvKernelTypes *kt, const char *type, const char *member_path,
			      guint64 *ret_size, GError **error)
{
	Answer a;
	if (!ask(kt, 's', type, member_path, compute_size, &a, error))
		return FALSE;
	*ret_size = a.a;
	g_free(a.text);
	return TRUE;
}

gboolean sv_kernel_types_bitfield(const SvKernelTypes *kt, const char *type,
				  const char *member_path, guint64 *ret_bit_offset,
				  guint32 *ret_bit_size, GError **error)
{
	Answer a;
	if (!ask(kt, 'b', type, member_path, compute_bitfield, &a, error))
		return FALSE;
	*ret_bit_offset = a.a;
	*ret_bit_size = (guint32)a.b;
	g_free(a.text);
	return TRUE;
}

gboolean sv_kernel_types_pointee(const SvKernelTypes *kt, const char *type, const char *member_path,
				 char **ret_name, GError **error)
{
	Answer a;
	if (!ask(kt, 'p', type, member_path, compute_pointee, &a, error))
		return FALSE;
	*ret_name = a.text;
	return TRUE;
}

gboolean sv_kernel_types_enum_value(const SvKernelTypes *kt, const char *enum_type,
				    const char *name, gint64 *ret_value, GError **error)
{
	Answer a;
	if (!ask(kt, 'e', enum_type, name, compute_enum, &a, error))
		return FALSE;
	*ret_value = (gint64)a.a;
	g_free(a.text);
	return TRUE;
}

gboolean sv_kernel_types_offsets(const SvKernelTypes *kt, const SvMemberOffset *want, gsize n,
				 GError **error)
{
	for (gsize i = 0; i < n; i++)
		if (!sv_kernel_types_offset(kt, want[i].type, want[i].member_path,
					    want[i].ret_offset, error))
			return FALSE;
	return TRUE;
}
