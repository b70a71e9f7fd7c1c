/* SPDX-License-Identifier: MIT */
/* test-paths.h - where the tests find what meson built (SNAPVM_BUILD_DIR is
 * set by tests/meson.build). */
#ifndef SNAPVM_TEST_PATHS_H
#define SNAPVM_TEST_PATHS_H

#include <glib.h>

static inline char *sv_test_build_path(const char *rel)
{
	const char *b = g_getenv("SNAPVM_BUILD_DIR");
	g_assert_nonnull(b); /* run the tests through meson test */
	return g_build_filename(b, rel, NULL);
}

static inline char *sv_test_workload(const char *name, const char *arch)
{
	g_autofree char *rel = g_strdup_printf("tests/workloads/%s-%s", name, arch);
	return sv_test_build_path(rel);
}

#endif
