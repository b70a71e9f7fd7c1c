/* SPDX-License-Identifier: MIT */
/* gdb-tdesc.c - see gdb-tdesc.h. */
#include "host/qemu/gdb-tdesc.h"

#include <string.h>

#include "base/errors.h"

#define MAX_DOCUMENTS 16
#define MAX_REGISTERS 4096
#define MAX_BITSIZE 4096 /* an SVE Z register at its largest is 2048 */

typedef struct {
	SvGdbFetchFn fetch;
	gpointer data;
	GHashTable *regs;
	guint next_regnum;
	guint documents;
	guint depth;
} Loader;

static void reg_free(gpointer p)
{
	SvGdbReg *r = p;
	g_free(r->name);
	g_free(r);
}

static gboolean load_document(Loader *l, const char *annex, GError **error);

static gboolean parse_uint(const char *s, guint max, guint *ret)
{
	guint64 v;
	if (!s || !g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL))
		return FALSE;
	*ret = (guint)v;
	return TRUE;
}

static gboolean add_register(Loader *l, const char **names, const char **values, GError **error)
{
	const char *name = NULL, *bitsize = NULL, *regnum = NULL;
	for (guint i = 0; names[i]; i++) {
		if (!strcmp(names[i], "name"))
			name = values[i];
		else if (!strcmp(names[i], "bitsize"))
			bitsize = values[i];
		else if (!strcmp(names[i], "regnum"))
			regnum = values[i];
	}
	SvGdbReg r = { 0 };
	if (!name || !*name || strlen(name) > 64) {
		g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
			    "a register without a usable name");
		return FALSE;
	}
	if (!parse_uint(bitsize, MAX_BITSIZE, &r.bitsize) || r.bitsize == 0) {
		g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
			    "register %s has no sensible bitsize", name);
		return FALSE;
	}
	r.regnum = l->next_regnum;
	if (regnum && !parse_uint(regnum, G_MAXINT, &r.regnum)) {
		g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
			    "register %s has a bad regnum '%s'", name, regnum);
		return FALSE;
	}
	if (g_hash_table_size(l->regs) >= MAX_REGISTERS) {
		g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
			    "over %u registers", MAX_REGISTERS);
		return FALSE;
	}
	l->next_regnum = r.regnum + 1;
	/* A name seen again keeps its first register; the later one still
	 * takes its number. QEMU 7.2's ppc64 stub lists xer both in the core
	 * feature and among the SPRs (power-spr.xml). */
	if (g_hash_table_contains(l->regs, name))
		return TRUE;
	SvGdbReg *copy = g_memdup2(&r, sizeof(r));
	copy->name = g_strdup(name);
	g_hash_table_insert(l->regs, copy->name, copy);
	return TRUE;
}

static void start_element(GMarkupParseContext *ctx, const char *element, const char **names,
			  const char **values, gpointer data, GError **error)
{
	Loader *l = data;
	if (!strcmp(element, "reg")) {
		add_register(l, names, values, error);
		return;
	}
	if (strcmp(element, "xi:include") != 0)
		return;
	const char *href = NULL;
	for (guint i = 0; names[i]; i++)
		if (!strcmp(names[i], "href"))
			href = values[i];
	if (!href || !*href || strchr(href, '/') || strlen(href) > 64) {
		g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
			    "an include without a plain document name");
		return;
	}
	/* followed here, so its registers are numbered where it stands */
	load_document(l, href, error);
}

static const GMarkupParser tdesc_parser = { .start_element = start_element };

static gboolean load_document(Loader *l, const char *annex, GError **error)
{
	if (++l->documents > MAX_DOCUMENTS || l->depth >= 4) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: the target description includes too many documents");
		return FALSE;
	}
	g_autofree char *xml = l->fetch(annex, l->data, error);
	if (!xml)
		return FALSE;
	l->depth++;
	/* comments, <?xml?> and <!DOCTYPE> go to GMarkup's passthrough, unused */
	g_autoptr(GError) local = NULL;
	GMarkupParseContext *ctx = g_markup_parse_context_new(&tdesc_parser, 0, l, NULL);
	gboolean ok = g_markup_parse_context_parse(ctx, xml, -1, &local) &&
		      g_markup_parse_context_end_parse(ctx, &local);
	g_markup_parse_context_free(ctx);
	l->depth--;
	if (ok)
		return TRUE;
	/* GMarkup's errors and the callbacks' are about this document; an
	 * include's own (SV_ERROR) already say where they come from */
	if (local->domain == G_MARKUP_ERROR)
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: target description %s: %s", annex, local->message);
	else
		g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

GHashTable *sv_gdb_tdesc_load(SvGdbFetchFn fetch, gpointer data, GError **error)
{
	Loader l = { .fetch = fetch,
		     .data = data,
		     .regs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, reg_free) };
	if (!load_document(&l, "target.xml", error)) {
		g_hash_table_unref(l.regs);
		return NULL;
	}
	if (g_hash_table_size(l.regs) == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: target description lists no registers");
		g_hash_table_unref(l.regs);
		return NULL;
	}
	return l.regs;
}
