/* SPDX-License-Identifier: MIT */
/*
 * domain-xml.c - builds the libvirt domain XML for a guest.
 *
 * Choices, and why:
 *  - RAM is a shared file (memoryBacking source=file, access=shared) so the
 *    host can map it read-only and read guest-physical memory directly.
 *  - Direct kernel boot of the image's kernel + initramfs, with the arch's
 *    parameters and those its clocks need on this host (clock_cmdline:
 *    x86_64's TSC frequency, arch/x86_64/tcg-clock.c); a disk only for
 *    a root filesystem image (read-only: many guests share the one file).
 *  - No USB controller, no balloon, no graphics: fewer devices boot faster
 *    under TCG and leave less to emulate.
 *  - Console on the first serial port into a file (kernel messages, for
 *    diagnosing a guest that does not come up); the agent on a virtio-serial
 *    port bridged to a unix socket in the VM directory, and its control
 *    port on a second one (so a second snapvm process can talk to the
 *    agent while the first streams a workload's output).
 *  - Poweroff, reboot and crash all end the domain: a guest that dies must
 *    show up as a closed agent channel, never as a silent reboot loop.
 *    libvirt does that by watching QEMU's events, but snapvm holds no libvirt
 *    connection while a VM just runs (see libvirt-worker.h), and libvirt
 *    starts QEMU with -no-shutdown, which would leave a powered-off guest's
 *    QEMU waiting for ever. So QEMU is told directly, with -action (later on
 *    the command line, so it wins), to exit on poweroff and on reboot.
 */
#include "host/qemu/domain-xml.h"

#include "host/qemu/qmp-socket.h"

#include "snapvm/agent-proto.h"

static void add_text_element(GString *s, const char *indent, const char *tag, const char *text)
{
	g_autofree char *esc = g_markup_escape_text(text, -1);
	g_string_append_printf(s, "%s<%s>%s</%s>\n", indent, tag, esc, tag);
}

/* The CPU. libvirt knows QEMU's "max" only as mode='maximum' (as a model
 * name it says "Unknown CPU model max"); check='none' everywhere since
 * libvirt cannot ask TCG which features it has, and QEMU itself warns
 * about a model it cannot provide. "host" never gets here: TCG cannot pass
 * a CPU through (sv_machine_start refuses it). */
static void add_cpu(GString *s, const SvQemuBoard *board, const char *model)
{
	if (board->qemu_arg_max_cpu)
		return; /* add_qemu_args passes it */
	if (g_strcmp0(model, SV_CPU_MAX) == 0) {
		g_string_append(s, "  <cpu mode='maximum' check='none'/>\n");
		return;
	}
	g_autofree char *cpu = g_markup_escape_text(model ? model : board->default_cpu, -1);
	g_string_append_printf(s,
			       "  <cpu mode='custom' match='exact' check='none'>\n"
			       "    <model fallback='forbid'>%s</model>\n",
			       cpu);
	for (const char *const *f = board->default_cpu_disabled; !model && f && *f; f++)
		g_string_append_printf(s, "    <feature policy='disable' name='%s'/>\n", *f);
	g_string_append(s, "  </cpu>\n");
}

/* QEMU arguments libvirt has no element for: -action (see above), the
 * arch's settings for --cpu max (maximum mode takes no properties), and the
 * CPU itself where libvirt has no CPU driver for the arch. */
static void add_qemu_args(GString *s, const SvMachine *m, const SvQemuBoard *board,
			  const char *model)
{
	g_string_append(s, "  <qemu:commandline>\n"
			   "    <qemu:arg value='-action'/>\n"
			   "    <qemu:arg value='reboot=shutdown,shutdown=poweroff'/>\n");
	/* snapvm's own monitor (qmp-socket.h); a VM dir too deep for a socket
	 * path goes without it, through libvirt */
	g_autofree char *qmp = m->vm_dir ? g_build_filename(m->vm_dir, SV_QMP_SOCKET_NAME, NULL)
					 : NULL;
	if (qmp && strlen(qmp) < 108) {
		/* a chardev spec: commas in the path are doubled */
		g_auto(GStrv) parts = g_strsplit(qmp, ",", -1);
		g_autofree char *doubled = g_strjoinv(",,", parts);
		g_autofree char *arg = g_strdup_printf("unix:%s,server=on,wait=off", doubled);
		g_autofree char *esc = g_markup_escape_text(arg, -1);
		g_string_append_printf(s,
				       "    <qemu:arg value='-qmp'/>\n"
				       "    <qemu:arg value='%s'/>\n",
				       esc);
	}
	for (const char *const *a = board->qemu_args; a && *a; a++) {
		g_autofree char *esc = g_markup_escape_text(*a, -1);
		g_string_append_printf(s, "    <qemu:arg value='%s'/>\n", esc);
	}
	if (board->qemu_arg_max_cpu) {
		const char *cpu = g_strcmp0(model, SV_CPU_MAX) == 0 ? board->qemu_arg_max_cpu
				  : model			    ? model
								    : board->default_cpu;
		g_autofree char *esc = g_markup_escape_text(cpu, -1);
		g_string_append_printf(s,
				       "    <qemu:arg value='-cpu'/>\n"
				       "    <qemu:arg value='%s'/>\n",
				       esc);
	}
	for (const char *const *g = board->max_cpu_globals;
	     g_strcmp0(model, SV_CPU_MAX) == 0 && g && *g; g++) {
		g_autofree char *esc = g_markup_escape_text(*g, -1);
		g_string_append_printf(s,
				       "    <qemu:arg value='-global'/>\n"
				       "    <qemu:arg value='%s'/>\n",
				       esc);
	}
	g_string_append(s, "  </qemu:commandline>\n");
}

char *sv_domain_xml_build(const SvMachine *m, const SvMachineConfig *config, const char *emulator)
{
	const SvQemuBoard *board = m->arch->qemu;
	GString *s = g_string_new("<domain type='qemu' "
				  "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n");
	add_text_element(s, "  ", "name", m->name);
	if (config->uuid)
		add_text_element(s, "  ", "uuid", config->uuid);
	g_string_append_printf(s,
			       "  <metadata>\n"
			       "    <snapvm:machine xmlns:snapvm='%s' arch='%s'/>\n"
			       "  </metadata>\n",
			       SV_DOMAIN_XMLNS, m->arch->name);
	g_string_append_printf(s, "  <memory unit='MiB'>%u</memory>\n", config->memory_mib);
	g_string_append_printf(s, "  <vcpu>%u</vcpu>\n", MAX(config->vcpus, 1));
	g_string_append(s, "  <memoryBacking>\n"
			   "    <source type='file'/>\n"
			   "    <access mode='shared'/>\n"
			   "  </memoryBacking>\n");
	g_string_append_printf(s, "  <os>\n    <type arch='%s' machine='%s'>hvm</type>\n",
			       board->libvirt_arch, board->machine);
	add_text_element(s, "    ", "kernel", config->kernel);
	add_text_element(s, "    ", "initrd", config->initrd);
	g_autofree char *clock = board->clock_cmdline ? board->clock_cmdline() : NULL;
	g_autofree char *cmdline =
		g_strdup_printf("console=%s %s%s%s quiet panic=-1%s%s", board->console,
				board->cmdline, clock ? " " : "", clock ? clock : "",
				config->cmdline_extra ? " " : "",
				config->cmdline_extra ? config->cmdline_extra : "");
	add_text_element(s, "    ", "cmdline", cmdline);
	g_string_append(s, "  </os>\n");
	add_cpu(s, board, config->cpu_model);
	g_string_append(s, "  <clock offset='utc'/>\n"
			   "  <on_poweroff>destroy</on_poweroff>\n"
			   "  <on_reboot>destroy</on_reboot>\n"
			   "  <on_crash>destroy</on_crash>\n"
			   "  <devices>\n");
	add_text_element(s, "    ", "emulator", emulator);
	g_autofree char *log = g_markup_escape_text(m->console_log, -1);
	g_autofree char *sock = g_markup_escape_text(m->agent_socket, -1);
	g_autofree char *control = g_markup_escape_text(m->agent_control_socket, -1);
	if (config->disk) {
		g_autofree char *disk = g_markup_escape_text(config->disk, -1);
		g_string_append_printf(s,
				       "    <disk type='file' device='disk'>\n"
				       "      <driver name='qemu' type='raw'/>\n"
				       "      <source file='%s'/>\n"
				       "      <target dev='vda' bus='virtio'/>\n"
				       "      <readonly/>\n"
				       "    </disk>\n",
				       disk);
	}
	g_string_append_printf(s,
			       "    <controller type='usb' model='none'/>\n"
			       "    <memballoon model='none'/>\n"
			       "    <serial type='file'>\n"
			       "      <source path='%s'/>\n"
			       "      <target port='0'/>\n"
			       "    </serial>\n"
			       "    <channel type='unix'>\n"
			       "      <source mode='bind' path='%s'/>\n"
			       "      <target type='virtio' name='" SV_AGENT_PORT_NAME "'/>\n"
			       "    </channel>\n"
			       "    <channel type='unix'>\n"
			       "      <source mode='bind' path='%s'/>\n"
			       "      <target type='virtio' name='" SV_AGENT_CONTROL_PORT_NAME
			       "'/>\n"
			       "    </channel>\n"
			       "  </devices>\n",
			       log, sock, control);
	add_qemu_args(s, m, board, config->cpu_model);
	g_string_append(s, "</domain>\n");
	return g_string_free(s, FALSE);
}
