/* SPDX-License-Identifier: MIT */
/*
 * The kvm backend's boards (snapvm/kvm-board.h), no /dev/kvm needed:
 * x86_64 has one and aarch64 none (--accel kvm says so, naming the arch);
 * the x86_64 board lays RAM out as QEMU's pc board does, so either
 * backend's snapshots see one memory map; its UARTs are distinct PC COM
 * ports; and only the PC's reset writes end the VM.
 */
#include <glib.h>
#include <string.h>

#include "base/errors.h"
#include "host/machine/machine-backend.h"
#include "snapvm/kvm-board.h"

static void test_which_arches(void)
{
	const SvArchOps *x = sv_arch_lookup("x86_64", NULL), *a = sv_arch_lookup("aarch64", NULL);
	g_assert_nonnull(x->kvm);
	g_assert_null(a->kvm);
	SvMachineConfig config = { .arch = a, .accel = "kvm" };
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_machine_choose_backend(&config, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "no board for aarch64"));
	g_assert_nonnull(strstr(error->message, "--accel tcg"));
	/* auto passes over the kvm backend for it, without a word */
	config.accel = "auto";
	g_clear_error(&error);
	const SvMachineBackend *b = sv_machine_choose_backend(&config, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(b->name, ==, "qemu");
}

static void test_ram_layout(void)
{
	const SvArchOps *x = sv_arch_lookup("x86_64", NULL);
	const guint64 sizes[] = { 64ull << 20, 512ull << 20, 3584ull << 20, 4ull << 30,
				  9ull << 30 };
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		SvRamRegion k[SV_RAM_REGIONS_MAX], q[SV_RAM_REGIONS_MAX];
		memset(k, 0xa5, sizeof(k));
		memset(q, 0x5a, sizeof(q));
		guint nk = x->kvm->ram_layout(sizes[i], k), nq = x->qemu->ram_layout(sizes[i], q);
		g_assert_cmpuint(nk, ==, nq);
		g_assert_cmpmem(k, nk * sizeof(k[0]), q, nq * sizeof(q[0]));
	}
}

static void test_uarts(void)
{
	const SvKvmBoard *b = sv_arch_lookup("x86_64", NULL)->kvm;
	const SvKvmUart *u[] = { &b->console, &b->agent, &b->agent_control };
	for (guint i = 0; i < G_N_ELEMENTS(u); i++) {
		g_assert_cmpuint(u[i]->irq, <, SV_KVM_IRQ_LINES);
		g_assert_nonnull(u[i]->tty);
		for (guint j = 0; j < i; j++) {
			/* eight ports each, none shared */
			g_assert_true(u[i]->port + 8 <= u[j]->port || u[j]->port + 8 <= u[i]->port);
			g_assert_cmpstr(u[i]->tty, !=, u[j]->tty);
		}
	}
	/* the 8250 driver's legacy probe: COM1 the console */
	g_assert_cmphex(b->console.port, ==, 0x3f8);
	g_assert_cmpstr(b->console.tty, ==, "ttyS0");
	g_assert_nonnull(b->caps);
	guint n = 0;
	while (b->caps[n].what)
		n++;
	g_assert_cmpuint(n, >, 0);
}

static void test_ports(void)
{
	const SvKvmBoard *b = sv_arch_lookup("x86_64", NULL)->kvm;
	g_assert_true(b->port_write_resets(0x64, 0xfe));    /* i8042 pulse reset */
	g_assert_false(b->port_write_resets(0x64, 0xd1));   /* another i8042 command */
	g_assert_true(b->port_write_resets(0xcf9, 0x06));   /* reset, hard */
	g_assert_false(b->port_write_resets(0xcf9, 0x02));  /* only the mode bit */
	g_assert_false(b->port_write_resets(0x80, 0xfe));   /* POST code */
	g_assert_cmphex(b->port_read_idle(0x64), ==, 0x00); /* i8042 idle */
	g_assert_cmphex(b->port_read_idle(0x61), ==, 0xff);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/board/which-arches", test_which_arches);
	g_test_add_func("/kvm/board/ram-layout", test_ram_layout);
	g_test_add_func("/kvm/board/uarts", test_uarts);
	g_test_add_func("/kvm/board/ports", test_ports);
	return g_test_run();
}
