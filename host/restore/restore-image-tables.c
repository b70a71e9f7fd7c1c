/* SPDX-License-Identifier: MIT */
/* restore-image-tables.c - the restore image's tables while they are built,
 * and what every part shares (see restore-image-parts.h). */
#include <string.h>

#include "base/errors.h"
#include "host/restore/restore-image-parts.h"

void sv_rimg_tables_init(SvRimgTables *t)
{
	*t = (SvRimgTables){ 0 };
	t->strings = g_byte_array_new();
	sv_rimg_add_string(t, "");
	t->files = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_file));
	t->file_shas = g_ptr_array_new_with_free_func(g_free);
	t->file_by_path = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	t->memfile_by_inode = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	t->memfile_by_vma = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	t->fsents = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_fsent));
	t->sigactions = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_sigaction));
	t->sigqueue = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_sigqueue));
	t->regs = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_named));
	t->auxv = g_array_new(FALSE, TRUE, sizeof(guint64));
	t->vmas = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_vma));
	t->page_runs = g_array_new(FALSE, FALSE, sizeof(SvRestorePageRun));
	t->lazy_runs = g_array_new(FALSE, FALSE, sizeof(SvRestorePageRun));
	t->fds = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_fd));
	t->groups = g_array_new(FALSE, TRUE, sizeof(guint32));
	t->fd_data = g_byte_array_new();
	t->threads = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_thread));
	t->thread_regs = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_named));
	t->thread_sigqueue = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_sigqueue));
	t->thread_fpu = g_byte_array_new();
}

void sv_rimg_tables_clear(SvRimgTables *t)
{
	g_clear_pointer(&t->strings, g_byte_array_unref);
	g_clear_pointer(&t->files, g_array_unref);
	g_clear_pointer(&t->file_shas, g_ptr_array_unref);
	g_clear_pointer(&t->file_by_path, g_hash_table_unref);
	g_clear_pointer(&t->memfile_by_inode, g_hash_table_unref);
	g_clear_pointer(&t->memfile_by_vma, g_hash_table_unref);
	g_clear_pointer(&t->fsents, g_array_unref);
	g_clear_pointer(&t->sigactions, g_array_unref);
	g_clear_pointer(&t->sigqueue, g_array_unref);
	g_clear_pointer(&t->regs, g_array_unref);
	g_clear_pointer(&t->fpu, g_variant_unref);
	g_clear_pointer(&t->auxv, g_array_unref);
	g_clear_pointer(&t->vmas, g_array_unref);
	g_clear_pointer(&t->page_runs, g_array_unref);
	g_clear_pointer(&t->lazy_runs, g_array_unref);
	g_clear_pointer(&t->fds, g_array_unref);
	g_clear_pointer(&t->groups, g_array_unref);
	g_clear_pointer(&t->fd_data, g_byte_array_unref);
	g_clear_pointer(&t->threads, g_array_unref);
	g_clear_pointer(&t->thread_regs, g_array_unref);
	g_clear_pointer(&t->thread_sigqueue, g_array_unref);
	g_clear_pointer(&t->thread_fpu, g_byte_array_unref);
}

guint32 sv_rimg_add_string(SvRimgTables *t, const char *str)
{
	guint32 off = t->strings->len;
	g_byte_array_append(t->strings, (const guint8 *)str, strlen(str) + 1);
	return off;
}

/* A snapshot's sha256 in hex as 32 bytes (zeros past the hex's end). */
static void hex_to_bytes(const char *hex, guint8 out[32])
{
	memset(out, 0, 32);
	for (int i = 0; i < 32 && hex[2 * i] && hex[2 * i + 1]; i++)
		out[i] = (guint8)(g_ascii_xdigit_value(hex[2 * i]) << 4 |
				  g_ascii_xdigit_value(hex[2 * i + 1]));
}

/* Appends a file entry; its index. */
static guint32 append_file(SvRimgTables *t, const char *path, const char *sha)
{
	struct sv_rimg_file f = { .path_off = sv_rimg_add_string(t, path), .carried = sha[0] != 0 };
	if (f.carried)
		hex_to_bytes(sha, f.sha256);
	else
		t->uncarried = TRUE;
	guint32 i = t->files->len;
	g_array_append_val(t->files, f);
	g_ptr_array_add(t->file_shas, g_strdup(sha));
	return i;
}

guint32 sv_rimg_add_file(SvRimgTables *t, const char *path, const char *sha)
{
	gpointer idx;
	if (g_hash_table_lookup_extended(t->file_by_path, path, NULL, &idx))
		return GPOINTER_TO_UINT(idx);
	guint32 i = append_file(t, path, sha);
	g_hash_table_insert(t->file_by_path, g_strdup(path), GUINT_TO_POINTER(i));
	return i;
}

struct sv_rimg_file *sv_rimg_add_memfile(SvRimgTables *t, const char *path, const char *sha,
					 guint32 *ret_index)
{
	*ret_index = append_file(t, path, sha);
	return &g_array_index(t->files, struct sv_rimg_file, *ret_index);
}

gboolean sv_rimg_refuse(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, msg);
	return FALSE;
}
