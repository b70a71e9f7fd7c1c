/* SPDX-License-Identifier: MIT */
/* lab-provenance.c - a lab unit's provenance record (lab-provenance.h). */
#include "host/lab/lab-provenance.h"

#include <libvirt/libvirt.h>
#include <string.h>

#include "host/image/image.h"
#include "host/lab/lab-proc.h"
#include "host/lab/lab-results.h"
#include "host/qemu/libvirt-dl.h"
#include "include/snapvm/arch.h"
#include "lab-commit.h"

static char *host_cpu_model(void)
{
	g_autofree char *info = NULL;
	if (!g_file_get_contents("/proc/cpuinfo", &info, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		/* x86: "model name"; arm64 has no name, only "CPU part" ids */
		if (g_str_has_prefix(lines[i], "model name") ||
		    g_str_has_prefix(lines[i], "Model")) {
			const char *colon = strchr(lines[i], ':');
			if (colon)
				return g_strstrip(g_strdup(colon + 1));
		}
	}
	return NULL;
}

static char *qemu_version(const SvArchOps *arch)
{
	g_autofree char *out = NULL;
	const char *argv[] = { arch->qemu->emulator, "--version", NULL };
	if (!sv_lab_proc_capture(argv, 30, &out, NULL, NULL))
		return NULL;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	return g_strdup(out);
}

static char *libvirt_version(void)
{
	unsigned long v = 0;
	if (!sv_libvirt_load(NULL) || virGetVersion(&v, NULL, NULL) < 0)
		return NULL;
	return g_strdup_printf("%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

char *sv_lab_now_iso8601(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

void sv_lab_where_add(JsonBuilder *b)
{
	sv_lab_json_add_str(b, "host", g_get_host_name());
	sv_lab_json_add_str(b, "slurm_job_id", g_getenv("SLURM_JOB_ID"));
	sv_lab_json_add_str(b, "slurm_array_job_id", g_getenv("SLURM_ARRAY_JOB_ID"));
	sv_lab_json_add_str(b, "slurm_array_task_id", g_getenv("SLURM_ARRAY_TASK_ID"));
	sv_lab_json_add_str(b, "slurm_node", g_getenv("SLURMD_NODENAME"));
}

void sv_lab_provenance_add(JsonBuilder *b, const char *arch_name, const char *accel,
			   const char *manifest_sha256, const char *program_sha256,
			   const char *rootfs_sha256, JsonObject *checkpoint_where)
{
	const SvArchOps *arch = sv_arch_lookup(arch_name, NULL);
	g_autoptr(SvImage) image = arch ? sv_image_open(arch, NULL, NULL) : NULL;
	g_autofree char *cpu = host_cpu_model();
	g_autofree char *qemu = arch ? qemu_version(arch) : NULL;
	g_autofree char *libvirt = libvirt_version();
	json_builder_set_member_name(b, "provenance");
	json_builder_begin_object(b);
	sv_lab_json_add_str(b, "snapvm_version", SNAPVM_VERSION);
	sv_lab_json_add_str(b, "snapvm_commit", SNAPVM_COMMIT);
	sv_lab_json_add_str(b, "manifest_sha256", manifest_sha256);
	sv_lab_json_add_str(b, "workload_sha256", program_sha256);
	sv_lab_json_add_str(b, "arch", arch_name);
	sv_lab_json_add_str(b, "accel", accel);
	sv_lab_json_add_str(b, "image_sha256", image ? image->image_sha256 : NULL);
	sv_lab_json_add_str(b, "rootfs_image_sha256", rootfs_sha256);
	sv_lab_json_add_str(b, "kernel_release", image ? image->kernel_release : NULL);
	sv_lab_json_add_str(b, "qemu_version", qemu);
	sv_lab_json_add_str(b, "libvirt_version", libvirt);
	sv_lab_json_add_str(b, "machine_type", arch ? arch->qemu->machine : NULL);
	sv_lab_json_add_str(b, "cpu_model", arch ? arch->qemu->default_cpu : NULL);
	sv_lab_json_add_str(b, "host_cpu", cpu);
	sv_lab_where_add(b);
	/* the same facts of the run that took the snapshot, prefixed */
	for (const char *const *k =
		     (const char *const[]){ "host", "slurm_job_id", "slurm_array_job_id",
					    "slurm_array_task_id", "slurm_node", NULL };
	     checkpoint_where && *k; k++) {
		g_autofree char *name = g_strconcat("checkpoint_", *k, NULL);
		JsonNode *v = json_object_get_member(checkpoint_where, *k);
		/* a file in the results directory: anything but a string is null */
		sv_lab_json_add_str(b, name,
				    v && JSON_NODE_HOLDS_VALUE(v) &&
						    json_node_get_value_type(v) == G_TYPE_STRING
					    ? json_node_get_string(v)
					    : NULL);
	}
	json_builder_end_object(b);
}
