/* SPDX-License-Identifier: MIT */
/*
 * dump-ram-seed VM PID DIR - pauses a running snapvm VM (qemu backend),
 * saves its RAM and what introspection needs into DIR (see ram-seed.h),
 * then checks that the saved copy introspects cleanly for PID: a seed the
 * fuzzer starts from must be one snapvm itself fully understands. The VM is
 * left paused; make-ram-seed.sh stops it.
 */
#include <stdio.h>

#include "tests/fuzz/ram-seed.h"
#include "host/machine/machine.h"

static gboolean dump(const char *name, guint32 pid, const char *dir, GError **error)
{
	g_autoptr(SvMachine) m = sv_machine_open(name, error);
	SvMachineState state;
	if (!m || !sv_machine_check_introspectable(m, &state, error) || !sv_machine_pause(m, error))
		return FALSE;
	g_autoptr(SvGuestMem) live = sv_machine_map_ram(m, error);
	if (!live)
		return FALSE;
	if (!m->arch->qemu) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not a qemu VM");
		return FALSE;
	}
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n = m->arch->qemu->ram_layout((guint64)m->memory_mib << 20, regions);
	if (g_mkdir_with_parents(dir, 0755) < 0 ||
	    !sv_ram_seed_save(dir, m->arch, m->image_dir, pid, live, regions, n, error))
		return FALSE;
	/* the saved copy, exactly as the fuzzer will open it */
	g_autoptr(SvRamSeed) seed = sv_ram_seed_load(dir, error);
	g_autoptr(SvGuestMem) mem = seed ? sv_guest_mem_open(seed->ram_path, seed->regions,
							     seed->n_regions, error)
					 : NULL;
	g_autoptr(SvIntrospect)
		in = mem ? sv_introspect_new(seed->arch, seed->image_dir, mem, error) : NULL;
	if (!in)
		return FALSE;
	g_autoptr(GString) log = g_string_new(NULL);
	guint ok = sv_ram_seed_exercise(in, mem, pid, log);
	if (log->len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the saved RAM does not introspect cleanly:\n%s", log->str);
		return FALSE;
	}
	printf("dump-ram-seed: %s, %u MiB, pid %u, %u steps ok\n", dir, m->memory_mib, pid, ok);
	return TRUE;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: dump-ram-seed VM PID DIR\n");
		return 2;
	}
	g_autoptr(GError) error = NULL;
	if (!dump(argv[1], (guint32)g_ascii_strtoull(argv[2], NULL, 10), argv[3], &error)) {
		fprintf(stderr, "dump-ram-seed: %s\n", error->message);
		return 1;
	}
	return 0;
}
