/* SPDX-License-Identifier: MIT */
/* kallsyms.c - see kallsyms.h. */
#include "base/kallsyms.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"

#define TOKENS 256
#define MAX_SYMS 2000000u

typedef struct {
	guint64 addr;
	char type;
} Symbol;

/* Symbols come either freshly decoded from the image (by_name) or from the
 * cache file beside it (sorted, SV_KALLSYMS_CACHE_TYPE's array sorted by
 * name, searched in place). */
struct SvKallsyms {
	GHashTable *by_name; /* name -> Symbol* */
	GVariant *sorted;    /* a(sty) */
};

void sv_kallsyms_free(SvKallsyms *ks)
{
	if (!ks)
		return;
	g_clear_pointer(&ks->by_name, g_hash_table_unref);
	g_clear_pointer(&ks->sorted, g_variant_unref);
	g_free(ks);
}

guint sv_kallsyms_count(const SvKallsyms *ks)
{
	return ks->sorted ? (guint)g_variant_n_children(ks->sorted)
			  : g_hash_table_size(ks->by_name);
}

static gboolean lookup_sorted(GVariant *sorted, const char *name, guint64 *ret_addr, char *ret_type)
{
	gsize lo = 0, hi = g_variant_n_children(sorted);
	while (lo < hi) {
		gsize mid = lo + (hi - lo) / 2;
		const char *at;
		guint64 addr;
		guchar type;
		g_variant_get_child(sorted, mid, "(&sty)", &at, &addr, &type);
		int c = strcmp(name, at);
		if (c == 0) {
			if (ret_addr)
				*ret_addr = addr;
			if (ret_type)
				*ret_type = (char)type;
			return TRUE;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return FALSE;
}

gboolean sv_kallsyms_lookup(const SvKallsyms *ks, const char *name, guint64 *ret_addr,
			    char *ret_type)
{
	if (ks->sorted)
		return lookup_sorted(ks->sorted, name, ret_addr, ret_type);
	const Symbol *s = g_hash_table_lookup(ks->by_name, name);
	if (!s)
		return FALSE;
	if (ret_addr)
		*ret_addr = s->addr;
	if (ret_type)
		*ret_type = s->type;
	return TRUE;
}

/*
 * The cache beside the kernel file (<kernel>.kallsyms): decoding 90,000
 * compressed names costs ~70 ms, which every ps and checkpoint would pay.
 * Keyed by what the decoding depends on - the kernel file's size and
 * mtime (image directories are named by their inputs' hash and never
 * change) and the two load parameters. A cache that cannot be written
 * (read-only image) is simply not used.
 */
/* magic, key, symbols, the XXH3-64 of the symbols' bytes, the symbols */
#define CACHE_TYPE "(tttta(sty))"
#define CACHE_MAGIC 0x53564b53594d3031ull /* "SVKSYM01" */

static char *cache_path(const char *kernel_path)
{
	return g_strconcat(kernel_path, ".kallsyms", NULL);
}

static gboolean cache_key(const char *kernel_path, gboolean absolute_percpu,
			  guint64 unrelocated_base, guint64 *ret_key)
{
	GStatBuf st;
	if (g_stat(kernel_path, &st) != 0)
		return FALSE;
	*ret_key = (guint64)st.st_size * 1000003u ^ (guint64)st.st_mtime * 7919u ^
		   unrelocated_base ^ (absolute_percpu ? 1u : 0u);
	return TRUE;
}

static SvKallsyms *cache_load(const char *kernel_path, guint64 key)
{
	g_autofree char *path = cache_path(kernel_path);
	g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, NULL);
	if (!mf)
		return NULL;
	g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mf);
	g_autoptr(GVariant)
		v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(CACHE_TYPE), bytes,
								FALSE));
	guint64 magic, got_key, n, sum;
	g_autoptr(GVariant) syms = NULL;
	g_variant_get(v, "(tttt@a(sty))", &magic, &got_key, &n, &sum, &syms);
	if (magic != CACHE_MAGIC || got_key != key)
		return NULL;
	/* the symbols as cache_store wrote them (their checksum), so in
	 * normal form: read as trusted. GLib checks an untrusted array's
	 * framing up to each child asked for, and a lookup's binary search
	 * asks for 17 of 90,000 - ~15 ms of every checkpoint's start, as
	 * much as checking the whole array for normal form once */
	g_autoptr(GBytes) data = g_variant_get_data_as_bytes(syms);
	if (XXH3_64bits(g_bytes_get_data(data, NULL), g_bytes_get_size(data)) != sum)
		return NULL;
	g_clear_pointer(&syms, g_variant_unref);
	syms = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE("a(sty)"), data, TRUE));
	if (n != g_variant_n_children(syms) || n == 0)
		return NULL;
	SvKallsyms *ks = g_new0(SvKallsyms, 1);
	ks->sorted = g_steal_pointer(&syms);
	return ks;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void cache_store(const char *kernel_path, guint64 key, GHashTable *by_name_table)
{
	g_autofree gpointer *names = (gpointer *)g_hash_table_get_keys_as_array(by_name_table,
										NULL);
	guint n = g_hash_table_size(by_name_table);
	qsort(names, n, sizeof(*names), by_name);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(sty)"));
	for (guint i = 0; i < n; i++) {
		const Symbol *s = g_hash_table_lookup(by_name_table, names[i]);
		g_variant_builder_add(&b, "(sty)", (const char *)names[i], s->addr,
				      (guchar)s->type);
	}
	g_autoptr(GVariant) syms = g_variant_ref_sink(g_variant_builder_end(&b));
	guint64 sum = XXH3_64bits(g_variant_get_data(syms), g_variant_get_size(syms));
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new("(tttt@a(sty))", CACHE_MAGIC, key,
								 (guint64)n, sum, syms));
	g_autofree char *path = cache_path(kernel_path);
	/* g_file_set_contents writes a temp file and renames it over */
	g_file_set_contents(path, g_variant_get_data(v), (gssize)g_variant_get_size(v), NULL);
}

typedef struct {
	const guint8 *d;
	gsize len;
	gsize token_table, token_index; /* offsets in d */
	const char *tokens[TOKENS];
	gsize markers; /* start of kallsyms_markers */
	guint n_markers;
	gsize num_syms_at, names; /* kallsyms_num_syms, kallsyms_names */
	guint32 num_syms;
} Tables;

/* The token table: 256 NUL-terminated strings, "0".."9" at 48..57, followed
 * (aligned) by the u16 token index of each string's offset. The start of the
 * table is taken from the index, not by walking back: token 0 has no NUL in
 * front of it to find. */
static gboolean find_tokens(Tables *t)
{
	/* clang-format off */
	static const char digits[] = "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7\0" "8\0" "9";
	/* clang-format on */
	const guint8 *hit = t->d;
	gsize left = t->len;
	while ((hit = memmem(hit, left, digits, sizeof(digits)))) {
		gsize at = hit - t->d;
		/* the end of the table: tokens 48..255 from here */
		gsize end = at;
		gboolean ok = TRUE;
		for (int i = 48; i < TOKENS && ok; i++) {
			const guint8 *nul = memchr(t->d + end, 0, MIN(t->len - end, 64));
			ok = nul && nul != t->d + end;
			end = ok ? (gsize)(nul - t->d) + 1 : end;
		}
		for (gsize align = 0; ok && align < 8; align++) {
			gsize idx = end + align;
			if (idx % 2 || idx + 2 * TOKENS > t->len)
				continue;
			guint16 off48 = sv_get_le16(t->d + idx + 2 * 48);
			if (off48 > at || sv_get_le16(t->d + idx) != 0)
				continue;
			gsize start = at - off48;
			gboolean match = TRUE;
			for (int i = 0; i < TOKENS && match; i++) {
				gsize tok = start + sv_get_le16(t->d + idx + 2 * i);
				gsize next = i + 1 < TOKENS
						     ? start + sv_get_le16(t->d + idx + 2 * (i + 1))
						     : end;
				/* each token is non-empty and ends right where the next begins */
				match = tok < next && next <= end && t->d[next - 1] == 0 &&
					memchr(t->d + tok, 0, next - 1 - tok) == NULL;
				t->tokens[i] = (const char *)t->d + tok;
			}
			if (match) {
				t->token_table = start;
				t->token_index = idx;
				return TRUE;
			}
		}
		gsize next = at + 1;
		if (next >= t->len)
			break;
		hit = t->d + next;
		left = t->len - next;
	}
	return FALSE;
}

/* Does a name stream of num_syms entries start at names, end at the markers
 * (within alignment), and put every 256th entry where the markers say? */
static gboolean names_fit(const Tables *t, gsize names, guint32 num_syms)
{
	gsize pos = names;
	for (guint32 i = 0; i < num_syms; i++) {
		if (i % 256 == 0 && sv_get_le32(t->d + t->markers + 4 * (i / 256)) != pos - names)
			return FALSE;
		if (pos >= t->markers)
			return FALSE;
		guint len = t->d[pos++];
		if (len & 0x80) /* "big" symbols: a second length byte */
			len = (len & 0x7f) | ((guint)t->d[pos++] << 7);
		if (len == 0 || pos + len > t->markers)
			return FALSE;
		pos += len;
	}
	return t->markers - pos < 8;
}

/*
 * kallsyms_markers: u32, the first 0, then increasing, one per 256 names;
 * the names end right before them. Between the markers and the token table
 * there may be nothing but alignment, or (kernels with the 6.2 lookup
 * speed-up, which Debian's 6.1 has) 3 bytes per symbol of
 * kallsyms_seqs_of_names. So: every run that looks like markers, in the
 * 16 MiB before the token table, is tried with every marker count it
 * allows, looking back for kallsyms_num_syms right before a name stream
 * that fits those markers exactly.
 */
static gboolean find_names(Tables *t)
{
	gsize lo = t->token_table > (16u << 20) ? t->token_table - (16u << 20) : 0;
	for (gsize m = t->token_table & ~(gsize)3; m >= lo + 4; m -= 4) {
		gsize start = m - 4;
		if (sv_get_le32(t->d + start) != 0)
			continue;
		guint run = 1;
		while (start + 4 * (run + 1) <= t->token_table) {
			guint32 prev = sv_get_le32(t->d + start + 4 * (run - 1));
			guint32 v = sv_get_le32(t->d + start + 4 * run);
			if (v <= prev || v - prev > 65536)
				break;
			run++;
		}
		if (run < 8)
			continue;
		t->markers = start;
		for (guint n = run; n >= 8; n--) {
			guint32 last = sv_get_le32(t->d + start + 4 * (n - 1));
			guint32 lo_syms = 256 * (n - 1) + 1, hi_syms = 256 * n;
			if ((gsize)last + 8 > start)
				continue;
			gsize from = start - last;
			gsize until = from > 256 * 520 ? from - 256 * 520 : 0;
			for (gsize p = from & ~(gsize)3; p >= until + 8; p -= 4) {
				guint32 v = sv_get_le32(t->d + p - 4);
				if (v < lo_syms || v > hi_syms)
					continue;
				for (gsize names = p; names < p + 8; names += 4) {
					if (names_fit(t, names, v)) {
						t->n_markers = n;
						t->num_syms_at = p - 4;
						t->names = names;
						t->num_syms = v;
						return TRUE;
					}
				}
			}
		}
	}
	return FALSE;
}

static SvKallsyms *decode(const char *kernel_path, gboolean absolute_percpu,
			  guint64 unrelocated_base, GError **error);

SvKallsyms *sv_kallsyms_load(const char *kernel_path, gboolean absolute_percpu,
			     guint64 unrelocated_base, GError **error)
{
	guint64 key;
	gboolean keyed = cache_key(kernel_path, absolute_percpu, unrelocated_base, &key);
	SvKallsyms *ks = keyed ? cache_load(kernel_path, key) : NULL;
	if (ks)
		return ks;
	ks = decode(kernel_path, absolute_percpu, unrelocated_base, error);
	if (ks && keyed)
		cache_store(kernel_path, key, ks->by_name);
	return ks;
}

/* A plausible kallsyms_relative_base: a kernel-half address (ppc64's
 * 0xc000000000000000 as well as the top-of-space bases of the others). */
#define KERNEL_HALF 0x8000000000000000ull

static SvKallsyms *decode(const char *kernel_path, gboolean absolute_percpu,
			  guint64 unrelocated_base, GError **error)
{
	g_autoptr(GMappedFile) mf = g_mapped_file_new(kernel_path, FALSE, error);
	if (!mf)
		return NULL;
	Tables t = { .d = (const guint8 *)g_mapped_file_get_contents(mf),
		     .len = g_mapped_file_get_length(mf) };
	if (!find_tokens(&t) || !find_names(&t) || t.num_syms > MAX_SYMS) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "no kallsyms tables recognised in %s (is CONFIG_KALLSYMS set?)",
			    kernel_path);
		return NULL;
	}
	/* Up to 6.3 kallsyms_offsets (s32 each) and kallsyms_relative_base
	 * (u64) precede num_syms; from 6.4 (scripts/kallsyms "change the
	 * output order") they follow the token index, each 8-byte aligned. */
	gsize base_at = (t.num_syms_at - 8) & ~(gsize)7;
	guint64 base = sv_get_le64(t.d + base_at);
	/* (no room before: an offset that cannot fit, refused below) */
	gsize offsets = base_at >= 4 * (gsize)t.num_syms ? base_at - 4 * (gsize)t.num_syms
							 : G_MAXSIZE / 2;
	gsize after_index = (t.token_index + 2 * TOKENS + 7) & ~(gsize)7;
	gsize new_base_at = (after_index + 4 * (gsize)t.num_syms + 7) & ~(gsize)7;
	if (base < KERNEL_HALF && new_base_at + 8 <= t.len) {
		guint64 new_base = sv_get_le64(t.d + new_base_at);
		if (new_base >= KERNEL_HALF || (new_base == 0 && unrelocated_base)) {
			base_at = new_base_at;
			base = new_base;
			offsets = after_index;
		}
	}
	/* A relocatable image never relocated (a raw arm64 Image) holds 0
	 * there: the value is the addend of the R_AARCH64_RELATIVE entry for
	 * that slot in the image's own .rela.dyn, which the kernel applies to
	 * itself at boot. The slot's link address is the image base plus its
	 * file offset. */
	if (base == 0 && unrelocated_base) {
		guint8 needle[16];
		sv_put_le64(needle, unrelocated_base + base_at);
		sv_put_le64(needle + 8, 1027 /* R_AARCH64_RELATIVE */);
		const guint8 *rela = memmem(t.d, t.len - 8, needle, sizeof(needle));
		if (rela && (gsize)(rela - t.d) + 24 <= t.len)
			base = sv_get_le64(rela + 16);
	}
	if (offsets + 4 * (gsize)t.num_syms > base_at || base < KERNEL_HALF) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "kallsyms in %s: no relative base before kallsyms_num_syms",
			    kernel_path);
		return NULL;
	}
	SvKallsyms *ks = g_new0(SvKallsyms, 1);
	ks->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gsize pos = t.names;
	GString *name = g_string_new(NULL);
	for (guint32 i = 0; i < t.num_syms; i++) {
		guint len = t.d[pos++];
		if (len & 0x80)
			len = (len & 0x7f) | ((guint)t.d[pos++] << 7);
		g_string_truncate(name, 0);
		for (guint k = 0; k < len; k++)
			g_string_append(name, t.tokens[t.d[pos + k]]);
		pos += len;
		gint32 off = (gint32)sv_get_le32(t.d + offsets + 4 * (gsize)i);
		Symbol *s = g_new(Symbol, 1);
		if (absolute_percpu)
			s->addr = off >= 0 ? (guint64)off : base - 1 - (guint64)(gint64)off;
		else
			s->addr = base + (guint32)off;
		s->type = name->len ? name->str[0] : '?';
		/* the first character of a decoded name is its type letter;
		 * keep the first of duplicate names (static functions repeat) */
		if (name->len > 1 && !g_hash_table_contains(ks->by_name, name->str + 1))
			g_hash_table_insert(ks->by_name, g_strdup(name->str + 1), s);
		else
			g_free(s);
	}
	g_string_free(name, TRUE);
	return ks;
}
