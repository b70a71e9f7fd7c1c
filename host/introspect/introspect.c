/* SPDX-License-Identifier: MIT */
/* introspect.c - see introspect.h; the process list is in tasks.c. */
#include "host/introspect/introspect-private.h"

#include <string.h>

#include "base/errors.h"

void sv_introspect_free(SvIntrospect *in)
{
	if (!in)
		return;
	sv_kernel_types_free(in->types);
	sv_kallsyms_free(in->syms);
	g_free(in);
}

SvIntrospect *sv_introspect_new(const SvArchOps *arch, const char *image_dir, const SvGuestMem *mem,
				GError **error)
{
	g_autoptr(SvIntrospect) in = g_new0(SvIntrospect, 1);
	in->arch = arch;
	in->mem = mem;
	g_autofree char *boot_name = NULL, *config = NULL;
	g_autofree char *boot_file = g_build_filename(image_dir, "boot-kernel", NULL);
	g_autofree char *config_file = g_build_filename(image_dir, "config", NULL);
	if (!g_file_get_contents(boot_file, &boot_name, NULL, error) ||
	    !g_file_get_contents(config_file, &config, NULL, error))
		return NULL;
	g_autofree char *kernel = g_build_filename(image_dir, g_strstrip(boot_name), NULL);
	gboolean abs_percpu = strstr(config, "\nCONFIG_KALLSYMS_ABSOLUTE_PERCPU=y") != NULL;
	in->types = sv_kernel_types_load(kernel, error);
	if (!in->types)
		return NULL;
	in->syms = sv_kallsyms_load(kernel, abs_percpu, arch->kernel_link_base, error);
	if (!in->syms)
		return NULL;
	g_autoptr(GMappedFile) mf = g_mapped_file_new(kernel, FALSE, error);
	if (!mf)
		return NULL;
	g_autoptr(GBytes) file = g_mapped_file_get_bytes(mf);
	if (!sv_arch_kernel_space_init(arch, &in->space, mem, in->syms, file, error))
		return NULL;
	return g_steal_pointer(&in);
}

gboolean sv_introspect_read(const SvIntrospect *in, guint64 va, void *buf, gsize len,
			    GError **error)
{
	/* page by page: contiguous virtual pages need not be contiguous in
	 * guest RAM, and each one is checked on its own */
	guint8 *out = buf;
	while (len) {
		gsize chunk = MIN(len, 4096 - (va & 4095));
		SvGpa pa;
		if (!sv_arch_kernel_va_to_pa(in->arch, &in->space, va, &pa, error) ||
		    !sv_guest_mem_read(in->mem, pa, out, chunk, error))
			return FALSE;
		out += chunk;
		va += chunk;
		len -= chunk;
	}
	return TRUE;
}

const SvKernelSpace *sv_introspect_kernel_space(const SvIntrospect *in)
{
	return &in->space;
}

const struct SvKernelTypes *sv_introspect_types(const SvIntrospect *in)
{
	return in->types;
}

const SvArchOps *sv_introspect_arch(const SvIntrospect *in)
{
	return in->arch;
}

gboolean sv_introspect_needs_guest_clock(const SvIntrospect *in)
{
	guint64 addr;
	return !sv_kallsyms_lookup(in->syms, "tk_core", &addr, NULL);
}

void sv_introspect_set_guest_clock(SvIntrospect *in, guint64 now_ns)
{
	in->clock_hint_ns = now_ns;
}
