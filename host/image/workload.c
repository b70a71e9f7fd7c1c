/* SPDX-License-Identifier: MIT */
/* workload.c - checks and packs the program a `snapvm run` starts. */
#include "host/image/workload.h"

#include <elf.h>
#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "snapvm/agent-proto.h"
#include "host/util/cpio.h"
#include "base/errors.h"

/* Workloads larger than this are refused: they travel in the initramfs,
 * which lives in guest RAM. */
#define MAX_WORKLOAD_BYTES (256u << 20)

gboolean sv_workload_check(const char *path, const SvArchOps *arch, GError **error)
{
	return sv_workload_check_with_libraries(path, arch, FALSE, error);
}

gboolean sv_workload_check_with_libraries(const char *path, const SvArchOps *arch,
					  gboolean has_libraries, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	struct stat st;
	if (stat(path, &st) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "program %s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is not a regular file", path);
		return FALSE;
	}
	if ((guint64)st.st_size > MAX_WORKLOAD_BYTES) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is %lld bytes; the limit is %u MiB", path,
			    (long long)st.st_size, MAX_WORKLOAD_BYTES >> 20);
		return FALSE;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return FALSE;
	if (len < sizeof(Elf64_Ehdr) || memcmp(data, ELFMAG, SELFMAG) != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is not an ELF executable; snapvm runs static binaries "
			    "built for the guest (%s)",
			    path, arch->name);
		return FALSE;
	}
	if (data[EI_CLASS] != ELFCLASS64 || data[EI_DATA] != ELFDATA2LSB) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is not a 64-bit little-endian ELF; the %s guest needs one",
			    path, arch->name);
		return FALSE;
	}
	Elf64_Ehdr eh;
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_machine != arch->elf_machine) {
		const SvArchOps *other = sv_arch_by_elf_machine(eh.e_machine);
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is built for %s, but the guest is %s%s%s", path,
			    sv_arch_elf_machine_name(eh.e_machine), arch->name,
			    other ? "; run it with --arch " : "", other ? other->name : "");
		return FALSE;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s is not an executable (ELF type %u)", path, eh.e_type);
		return FALSE;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (guint64)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s has a corrupt ELF program header table", path);
		return FALSE;
	}
	gboolean has_entry_segment = FALSE;
	for (guint i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		/* The minimal guest has no dynamic loader or libraries: only
		 * static (including static-pie) programs can start there. */
		if (ph.p_type == PT_INTERP && !has_libraries) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "program %s is dynamically linked; the minimal guest has no "
				    "shared libraries: rebuild it with -static, or run it from an "
				    "image that has them (snapvm image build --packages libc6,... "
				    "--name NAME, then snapvm run --image NAME)",
				    path);
			return FALSE;
		}
		has_entry_segment |= ph.p_type == PT_LOAD;
	}
	if (!has_entry_segment) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "program %s has no loadable segment", path);
		return FALSE;
	}
	return TRUE;
}

char *sv_workload_interpreter(const char *path)
{
	g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, NULL);
	if (!f)
		return NULL;
	const char *data = g_mapped_file_get_contents(f);
	gsize len = g_mapped_file_get_length(f);
	Elf64_Ehdr eh;
	if (len < sizeof(eh) || memcmp(data, ELFMAG, SELFMAG) != 0 || data[EI_CLASS] != ELFCLASS64)
		return NULL;
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (guint64)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return NULL;
	for (guint i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP && ph.p_offset < len && ph.p_filesz <= len - ph.p_offset)
			return g_strndup(data + ph.p_offset, ph.p_filesz);
	}
	return NULL;
}

static gboolean add_program(GOutputStream *out, const char *program, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;
	if (!g_file_get_contents(program, &data, &len, error))
		return FALSE;
	g_autofree char *base = g_path_get_basename(program);
	g_autofree char *name = g_strdup_printf("%s/%s", &SV_GUEST_WORKLOAD_DIR[1], base);
	return sv_cpio_add(out, name, S_IFREG | 0755, data, len, error);
}

static gboolean add_extra(GOutputStream *out, const SvInitrdExtra *e, GError **error)
{
	const char *name = e->guest_path[0] == '/' ? e->guest_path + 1 : e->guest_path;
	if (!e->host_path)
		return sv_cpio_add(out, name, S_IFDIR | (e->mode & 07777), NULL, 0, error);
	g_autoptr(GMappedFile) f = g_mapped_file_new(e->host_path, FALSE, error);
	if (!f)
		return FALSE;
	return sv_cpio_add(out, name, S_IFREG | (e->mode & 07777), g_mapped_file_get_contents(f),
			   g_mapped_file_get_length(f), error);
}

gboolean sv_workload_build_initrd(const char *base_initramfs, const char *const *programs,
				  const char *out_path, GError **error)
{
	return sv_workload_build_initrd_extra(base_initramfs, programs, NULL, 0, out_path, error);
}

gboolean sv_workload_build_initrd_extra(const char *base_initramfs, const char *const *programs,
					const SvInitrdExtra *extras, gsize n, const char *out_path,
					GError **error)
{
	const char *archives[] = { base_initramfs, NULL };
	return sv_workload_build_initrd_layers(archives, programs, extras, n, out_path, error);
}

/* Copies one archive into out, padded to the 4-byte boundary the next one
 * starts on (the kernel skips zero padding between concatenated archives). */
static gboolean add_archive(GOutputStream *out, const char *path, GError **error)
{
	g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, error);
	if (!f)
		return FALSE;
	gsize len = g_mapped_file_get_length(f);
	return g_output_stream_write_all(out, g_mapped_file_get_contents(f), len, NULL, NULL,
					 error) &&
	       g_output_stream_write_all(out, "\0\0\0\0", (4 - len % 4) % 4, NULL, NULL, error);
}

gboolean sv_workload_build_initrd_layers(const char *const *archives, const char *const *programs,
					 const SvInitrdExtra *extras, gsize n, const char *out_path,
					 GError **error)
{
	/* Written beside out_path, synced, then renamed over it: a reader never
	 * sees half an initrd, and a failure leaves nothing behind. */
	g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", out_path);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", tmp,
			    g_strerror(errno));
		return FALSE;
	}
	g_autoptr(GOutputStream) out = g_unix_output_stream_new(fd, TRUE);
	gboolean ok = TRUE;
	for (const char *const *a = archives; ok && *a; a++)
		ok = add_archive(out, *a, error);
	ok = ok && sv_cpio_add(out, &SV_GUEST_WORKLOAD_DIR[1], S_IFDIR | 0755, NULL, 0, error);
	for (const char *const *p = programs; ok && *p; p++)
		ok = add_program(out, *p, error);
	for (gsize i = 0; ok && i < n; i++)
		ok = add_extra(out, &extras[i], error);
	ok = ok && sv_cpio_finish(out, error);
	if (ok && fsync(fd) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "fsync %s: %s", tmp,
			    g_strerror(errno));
		ok = FALSE;
	}
	ok = g_output_stream_close(out, NULL, ok ? error : NULL) && ok;
	if (ok && rename(tmp, out_path) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "rename to %s: %s", out_path,
			    g_strerror(errno));
		ok = FALSE;
	}
	if (!ok)
		g_unlink(tmp);
	return ok;
}
