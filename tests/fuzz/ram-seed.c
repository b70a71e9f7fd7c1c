/* SPDX-License-Identifier: MIT */
/* ram-seed.c - see ram-seed.h. */
#include "tests/fuzz/ram-seed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/checkpoint/capture.h"
#include "host/checkpoint/fs-carry.h"
#include "host/checkpoint/memfiles.h"
#include "base/errors.h"

#define GROUP "seed"

gboolean sv_ram_seed_save(const char *dir, const SvArchOps *arch, const char *image_dir,
			  guint32 pid, const SvGuestMem *mem, const SvRamRegion *regions,
			  guint n_regions, GError **error)
{
	g_autofree char *ram = g_build_filename(dir, "ram", NULL);
	int fd = open(ram, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s: %s", ram, g_strerror(errno));
		return FALSE;
	}
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_key_file_set_string(kf, GROUP, "arch", arch->name);
	g_key_file_set_string(kf, GROUP, "image_dir", image_dir);
	g_key_file_set_uint64(kf, GROUP, "pid", pid);
	g_key_file_set_uint64(kf, GROUP, "regions", n_regions);
	for (guint i = 0; i < n_regions; i++) {
		const SvRamRegion *r = &regions[i];
		const void *p = sv_guest_mem_ptr(mem, r->gpa, r->size, error);
		if (!p || pwrite(fd, p, r->size, r->file_offset) != (ssize_t)r->size) {
			if (p)
				g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "writing %s: %s", ram,
					    g_strerror(errno));
			close(fd);
			return FALSE;
		}
		g_autofree char *key = g_strdup_printf("region%u", i);
		g_autofree char *val = g_strdup_printf("%" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER
						       "x %" G_GINT64_MODIFIER "x",
						       r->gpa.v, r->size, r->file_offset);
		g_key_file_set_string(kf, GROUP, key, val);
	}
	close(fd);
	g_autofree char *ini = g_build_filename(dir, "seed.ini", NULL);
	return g_key_file_save_to_file(kf, ini, error);
}

void sv_ram_seed_free(SvRamSeed *seed)
{
	if (!seed)
		return;
	g_free(seed->image_dir);
	g_free(seed->ram_path);
	g_free(seed);
}

SvRamSeed *sv_ram_seed_load(const char *dir, GError **error)
{
	g_autofree char *ini = g_build_filename(dir, "seed.ini", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, ini, G_KEY_FILE_NONE, error))
		return NULL;
	g_autoptr(SvRamSeed) seed = g_new0(SvRamSeed, 1);
	g_autofree char *arch = g_key_file_get_string(kf, GROUP, "arch", error);
	if (!arch || !(seed->arch = sv_arch_lookup(arch, error)))
		return NULL;
	seed->image_dir = g_key_file_get_string(kf, GROUP, "image_dir", error);
	seed->pid = (guint32)g_key_file_get_uint64(kf, GROUP, "pid", NULL);
	seed->n_regions = (guint)g_key_file_get_uint64(kf, GROUP, "regions", NULL);
	seed->ram_path = g_build_filename(dir, "ram", NULL);
	if (!seed->image_dir || seed->n_regions == 0 || seed->n_regions > SV_RAM_REGIONS_MAX) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "%s is incomplete", ini);
		return NULL;
	}
	for (guint i = 0; i < seed->n_regions; i++) {
		g_autofree char *key = g_strdup_printf("region%u", i);
		g_autofree char *val = g_key_file_get_string(kf, GROUP, key, error);
		SvRamRegion *r = &seed->regions[i];
		guint64 gpa;
		if (!val || sscanf(val,
				   "%" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER
				   "x %" G_GINT64_MODIFIER "x",
				   &gpa, &r->size, &r->file_offset) != 3) {
			if (val)
				g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
					    "%s: bad %s", ini, key);
			return NULL;
		}
		r->gpa = sv_gpa(gpa);
	}
	return g_steal_pointer(&seed);
}

SvGuestMem *sv_ram_seed_open_writable(const SvRamSeed *seed, guint8 **ret_ram, gsize *ret_size,
				      GError **error)
{
	g_autoptr(GMappedFile) mf = g_mapped_file_new(seed->ram_path, FALSE, error);
	if (!mf)
		return NULL;
	gsize size = g_mapped_file_get_length(mf);
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);
	guint8 *ram = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, size) == 0)
		ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "a %" G_GSIZE_FORMAT "-byte memfd: %s", size, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memcpy(ram, g_mapped_file_get_contents(mf), size);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	SvGuestMem *mem = sv_guest_mem_open(path, seed->regions, seed->n_regions, error);
	close(fd); /* both mappings keep it */
	if (!mem) {
		munmap(ram, size);
		return NULL;
	}
	*ret_ram = ram;
	*ret_size = size;
	return mem;
}

gint64 sv_ram_seed_offset(const SvRamSeed *seed, guint64 gpa, gsize len)
{
	for (guint i = 0; i < seed->n_regions; i++) {
		const SvRamRegion *r = &seed->regions[i];
		if (gpa >= r->gpa.v && gpa - r->gpa.v < r->size &&
		    len <= r->size - (gpa - r->gpa.v))
			return (gint64)(r->file_offset + gpa - r->gpa.v);
	}
	return -1;
}

static void step(GString *log, const char *what, GError *error, guint *ok)
{
	if (!error) {
		(*ok)++;
		return;
	}
	if (log)
		g_string_append_printf(log, "%s: %s\n", what, error->message);
}

guint sv_ram_seed_exercise(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid, GString *log)
{
	guint ok = 0;
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GArray) procs = sv_introspect_processes(in, &error);
		g_assert(!procs == !!error);
		step(log, "processes", error, &ok);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GArray) vmas = sv_introspect_vmas(in, pid, &error);
		g_assert(!vmas == !!error);
		step(log, "vmas", error, &ok);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) regs = sv_introspect_task_pt_regs(in, pid, &error);
		g_assert(!regs == !!error);
		step(log, "pt_regs", error, &ok);
	}
	SvTaskRef ref;
	g_autoptr(GError) error = NULL;
	gboolean found = sv_introspect_find_task(in, pid, &ref, &error);
	g_assert(found == !error);
	step(log, "find_task", error, &ok);
	if (!found)
		return ok;
	g_autoptr(GArray) threads = sv_introspect_threads(in, &ref, &error);
	g_assert(!threads == !!error);
	step(log, "threads", error, &ok);
	if (!threads)
		return ok;
	g_autoptr(SvCapture) cap = sv_capture(in, mem, (const SvTaskRef *)threads->data,
					      threads->len, NULL, NULL, NULL, NULL, &error);
	g_assert(!cap == !!error);
	step(log, "capture", error, &ok);
	if (!cap)
		return ok;
	/* what checkpoint makes of it before writing */
	g_autoptr(GVariant) v = sv_capture_vmas_variant(cap);
	ok += v != NULL;
	/* and what it reads while still paused: files only memory holds,
	 * and the files the guest wrote */
	g_autoptr(GError) mf_error = NULL;
	g_autoptr(SvMemFiles) mf = sv_memfiles_capture(in, pid, cap->fds, cap->vmas,
						       sizeof(SvCaptureVma), &mf_error);
	g_assert(!mf == !!mf_error);
	step(log, "memfiles", mf_error, &ok);
	g_autoptr(GError) fs_error = NULL;
	guint64 fs_bytes = 0;
	g_autoptr(GPtrArray)
		fs = sv_introspect_guest_fs(in, &ref, SV_FS_CARRY_MAX_BYTES, &fs_bytes, &fs_error);
	g_assert(!fs == !!fs_error);
	step(log, "guest_fs", fs_error, &ok);
	return ok;
}
