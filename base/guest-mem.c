/* SPDX-License-Identifier: MIT */
/* guest-mem.c - read-only mapping of guest RAM, see guest-mem.h. */
#include "base/guest-mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

struct SvGuestMem {
	const guint8 *base;
	gsize map_size;
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n_regions;
	SvGuestMemReadHook read_hook; /* tests only, see sv_guest_mem_set_read_hook */
	gpointer read_hook_data;
};

SvGuestMem *sv_guest_mem_open(const char *path, const SvRamRegion *regions, guint n_regions,
			      GError **error)
{
	if (n_regions == 0 || n_regions > SV_RAM_REGIONS_MAX) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest memory: %u RAM regions (1..%u allowed)", n_regions,
			    SV_RAM_REGIONS_MAX);
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "guest memory: cannot open %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "guest memory: stat %s: %s", path,
			    g_strerror(e));
		return NULL;
	}
	for (guint i = 0; i < n_regions; i++) {
		const SvRamRegion *r = &regions[i];
		if (r->size == 0 || r->file_offset > (guint64)st.st_size ||
		    r->size > (guint64)st.st_size - r->file_offset ||
		    r->gpa.v + r->size < r->gpa.v) {
			close(fd);
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest memory: region %u (gpa 0x%" G_GINT64_MODIFIER
				    "x, %" G_GUINT64_FORMAT
				    " bytes at file offset %" G_GUINT64_FORMAT
				    ") does not fit %s (%lld bytes)",
				    i, r->gpa.v, r->size, r->file_offset, path,
				    (long long)st.st_size);
			return NULL;
		}
	}
	void *base = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (base == MAP_FAILED) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "guest memory: mmap %s: %s", path,
			    g_strerror(e));
		return NULL;
	}
	SvGuestMem *mem = g_new0(SvGuestMem, 1);
	mem->base = base;
	mem->map_size = st.st_size;
	memcpy(mem->regions, regions, n_regions * sizeof(*regions));
	mem->n_regions = n_regions;
	return mem;
}

void sv_guest_mem_free(SvGuestMem *mem)
{
	if (!mem)
		return;
	munmap((void *)mem->base, mem->map_size);
	g_free(mem);
}

guint64 sv_guest_mem_size(const SvGuestMem *mem)
{
	guint64 total = 0;
	for (guint i = 0; i < mem->n_regions; i++)
		total += mem->regions[i].size;
	return total;
}

const void *sv_guest_mem_ptr(const SvGuestMem *mem, SvGpa gpa, gsize len, GError **error)
{
	for (guint i = 0; i < mem->n_regions; i++) {
		const SvRamRegion *r = &mem->regions[i];
		if (gpa.v < r->gpa.v || gpa.v - r->gpa.v >= r->size)
			continue;
		guint64 off = gpa.v - r->gpa.v;
		if (len > r->size - off)
			break;
		if (G_UNLIKELY(mem->read_hook))
			mem->read_hook(gpa, len, mem->read_hook_data);
		return mem->base + r->file_offset + off;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest-physical range 0x%" G_GINT64_MODIFIER "x+%" G_GSIZE_FORMAT
		    " is not inside guest RAM",
		    gpa.v, len);
	return NULL;
}

void sv_guest_mem_set_read_hook(SvGuestMem *mem, SvGuestMemReadHook fn, gpointer data)
{
	mem->read_hook = fn;
	mem->read_hook_data = data;
}

gboolean sv_guest_mem_read(const SvGuestMem *mem, SvGpa gpa, void *buf, gsize len, GError **error)
{
	const void *src = sv_guest_mem_ptr(mem, gpa, len, error);
	if (!src)
		return FALSE;
	memcpy(buf, src, len);
	return TRUE;
}
