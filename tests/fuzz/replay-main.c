/* SPDX-License-Identifier: MIT */
/*
 * replay-introspect [FILE|DIR]... - runs fuzz-introspect's inputs once each
 * without libFuzzer: a plain program (any build, any sanitizer) that
 * replays the crashers fixed so far (tests/fuzz/introspect-regressions/),
 * for the test suite. Needs SNAPVM_FUZZ_RAM_SEED like the fuzzer.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static gint by_name(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static void replay(const char *path)
{
	gchar *data;
	gsize len;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &data, &len, &error)) {
		fprintf(stderr, "replay-introspect: %s\n", error->message);
		exit(1);
	}
	gint64 t0 = g_get_monotonic_time();
	LLVMFuzzerTestOneInput((const guint8 *)data, len);
	printf("%s: ok, %.1f ms\n", path, (g_get_monotonic_time() - t0) / 1000.0);
	g_free(data);
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			replay(argv[i]);
			continue;
		}
		g_autoptr(GDir) d = g_dir_open(argv[i], 0, NULL);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
		const char *n;
		while (d && (n = g_dir_read_name(d)))
			g_ptr_array_add(names, g_build_filename(argv[i], n, NULL));
		g_ptr_array_sort(names, by_name);
		for (guint k = 0; k < names->len; k++)
			replay(names->pdata[k]);
	}
	return 0;
}
