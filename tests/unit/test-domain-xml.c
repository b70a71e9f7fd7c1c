/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line in the libvirt domain XML (host/qemu/domain-xml.c)
 * every qemu-backend guest boots with (run, restore, pool): an x86_64
 * guest's carries the host's TSC frequency (arch/x86_64/tcg-clock.c) next
 * to the board's parameters and before the caller's; the other arches',
 * whose timers QEMU states, carry no clock parameter.
 */
#include <glib.h>
#include <string.h>

#include "host/qemu/domain-xml.h"
#include "snapvm/arch.h"

/* The XML of a domain built for arch, with extra and uuid. */
static char *domain_of(const char *arch_name, const char *extra, const char *uuid)
{
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = sv_arch_lookup(arch_name, &error);
	g_assert_no_error(error);
	SvMachine m = {
		.arch = arch,
		.name = (char *)"clock-test",
		.vm_dir = (char *)"/nonexistent/vm",
		.agent_socket = (char *)"/nonexistent/vm/agent.sock",
		.agent_control_socket = (char *)"/nonexistent/vm/agent-control.sock",
		.console_log = (char *)"/nonexistent/vm/console.log",
		.memory_mib = 256,
	};
	SvMachineConfig config = {
		.arch = arch,
		.memory_mib = 256,
		.kernel = "/nonexistent/vmlinux",
		.initrd = "/nonexistent/initrd",
		.cmdline_extra = extra,
		.uuid = uuid,
	};
	return sv_domain_xml_build(&m, &config, "/usr/bin/qemu");
}

/* The <cmdline> element of a domain built for arch, with extra. */
static char *cmdline_of(const char *arch_name, const char *extra)
{
	g_autofree char *xml = domain_of(arch_name, extra, NULL);
	const char *start = strstr(xml, "<cmdline>");
	g_assert_nonnull(start);
	start += strlen("<cmdline>");
	const char *end = strstr(start, "</cmdline>");
	g_assert_nonnull(end);
	return g_strndup(start, end - start);
}

static void test_x86_64_carries_tsc(void)
{
	const SvArchOps *x86 = sv_arch_lookup("x86_64", NULL);
	g_autofree char *clock = x86->qemu->clock_cmdline();
	if (!clock) {
		g_test_skip("this host gives x86_64 guests no TSC frequency (not x86_64, or its "
			    "TSC's rate is not constant)");
		return;
	}
	g_autofree char *cmdline = cmdline_of("x86_64", "clearcpuid=erms");
	g_test_message("%s", cmdline);
	g_autofree char *want = g_strdup_printf("%s %s ", x86->qemu->cmdline, clock);
	g_assert_nonnull(strstr(cmdline, want));
	g_assert_true(g_str_has_suffix(cmdline, " clearcpuid=erms"));
	g_assert_true(strstr(cmdline, "tsc_early_khz=") < strstr(cmdline, "clearcpuid"));
}

static void test_others_carry_none(void)
{
	static const char *const others[] = { "aarch64", "riscv64", "ppc64le" };
	for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
		g_autofree char *cmdline = cmdline_of(others[i], NULL);
		g_assert_null(strstr(cmdline, "tsc"));
		g_assert_true(g_str_has_suffix(cmdline, "quiet panic=-1"));
	}
}

/* A saved base's domain (host/pool/pool-base.h) names its UUID, which
 * libvirt starts the saved state only under; others leave it to libvirt. */
static void test_uuid(void)
{
	static const char uuid[] = "d612e1d0-0533-4ed6-8b0b-f43b6fbec910";
	g_autofree char *with = domain_of("x86_64", NULL, uuid);
	g_autofree char *without = domain_of("x86_64", NULL, NULL);
	g_assert_nonnull(strstr(with, "\n  <uuid>d612e1d0-0533-4ed6-8b0b-f43b6fbec910</uuid>\n"));
	g_assert_true(strstr(with, "<uuid>") > strstr(with, "</name>"));
	g_assert_null(strstr(without, "<uuid>"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/domain-xml/cmdline/x86_64-carries-tsc", test_x86_64_carries_tsc);
	g_test_add_func("/domain-xml/cmdline/others-carry-none", test_others_carry_none);
	g_test_add_func("/domain-xml/uuid", test_uuid);
	return g_test_run();
}
