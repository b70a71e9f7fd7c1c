/* SPDX-License-Identifier: MIT */
/*
 * The kvm VMM's end of the agent's rings (host/kvm/agent-ring.c), on a
 * VM without /dev/kvm: guest RAM is a plain buffer, the agent's side is
 * played here. Bytes cross both ways intact, wrapping around the rings
 * many times; a full host side holds the agent back and wakes it later;
 * every bad offer leaves the serial path in use, and a ring the guest
 * breaks afterwards is left, never read outside guest RAM.
 */
#include <glib.h>
#include <string.h>

#include "host/kvm/vmm-process.h"
#include "snapvm/agent-ring.h"

#define RAM_SIZE (4u << 20)
#define CTL_GPA 0x1000u
/* the data pages, scattered and backwards as a guest's may be */
#define PAGE_GPA(i) (RAM_SIZE - (1 + (i)) * 2 * SV_RING_PAGE_SIZE)

typedef struct {
	SvVmm vmm;
	SvBridge b;
	struct sv_ring_ctl *ctl;
	guint8 *to_host[SV_RING_DATA_PAGES];
	guint8 *to_guest[SV_RING_DATA_PAGES];
} Fixture;

static gboolean no_sink(gpointer user, const guint8 *buf, gsize len)
{
	return TRUE;
}

static void setup(Fixture *f, gconstpointer data)
{
	static const SvKvmUart where = { .port = 0x2f8, .irq = 3, .tty = "ttyS1" };
	f->vmm.vm.ram = g_malloc0(RAM_SIZE);
	f->vmm.vm.ram_size = RAM_SIZE;
	f->vmm.vm.regions[0] = (SvRamRegion){ .gpa = { 0 }, .size = RAM_SIZE };
	f->vmm.vm.n_regions = 1;
	f->vmm.vm.vm_fd = f->vmm.wake_fd = f->vmm.console_log_fd = -1;
	f->b.vmm = &f->vmm;
	f->b.name = "agent";
	f->b.mode = SV_BRIDGE_AWAIT_RING;
	f->b.client = 99; /* connected; agent-ring.c never does I/O on it */
	f->b.to_host = g_byte_array_new();
	f->b.to_guest = g_byte_array_new();
	f->b.uart = sv_serial_new(&f->vmm, &where, 1, no_sink, NULL);
	f->ctl = (struct sv_ring_ctl *)(f->vmm.vm.ram + CTL_GPA);
	f->ctl->magic = SV_RING_MAGIC;
	f->ctl->version = SV_RING_VERSION;
	f->ctl->data_pages = SV_RING_DATA_PAGES;
	for (guint i = 0; i < 2 * SV_RING_DATA_PAGES; i++) {
		f->ctl->page_gpa[i] = PAGE_GPA(i);
		guint8 *p = f->vmm.vm.ram + PAGE_GPA(i);
		if (i < SV_RING_DATA_PAGES)
			f->to_host[i] = p;
		else
			f->to_guest[i - SV_RING_DATA_PAGES] = p;
	}
}

static void teardown(Fixture *f, gconstpointer data)
{
	sv_serial_free(f->b.uart);
	g_byte_array_unref(f->b.to_host);
	g_byte_array_unref(f->b.to_guest);
	g_clear_pointer(&f->b.offer, g_byte_array_unref);
	g_free(f->b.ring); /* the VMM keeps it for the VM's life */
	g_free(f->vmm.vm.ram);
}

/* The agent's offer line, fed in pieces of step bytes; TRUE if every piece
 * was taken as ring traffic (not serial data). */
static gboolean offer(Fixture *f, const char *line, gsize step)
{
	gsize len = strlen(line);
	for (gsize i = 0; i < len; i += step) {
		g_autoptr(GByteArray) held = NULL;
		if (!sv_agent_ring_from_uart(&f->b, (const guint8 *)line + i, MIN(step, len - i),
					     &held))
			return FALSE;
	}
	return TRUE;
}

static void accept_offer(Fixture *f)
{
	g_autofree char *line = g_strdup_printf("\x1b%s %x\n", SV_RING_HELLO, CTL_GPA);
	g_assert_true(offer(f, line, 3));
	g_assert_cmpint(f->b.mode, ==, SV_BRIDGE_RING);
	g_assert_cmpuint(f->ctl->vmm_state, ==, SV_RING_ACCEPTED);
	/* the agent is woken to see the answer */
	g_assert_cmpuint(sv_serial_rx_pending(f->b.uart), ==, 1);
}

/* The agent's "\n" on its UART, as the VMM's UART sink passes it on. */
static void doorbell(Fixture *f)
{
	g_autoptr(GByteArray) held = NULL;
	g_assert_true(sv_agent_ring_from_uart(&f->b, (const guint8 *)"\n", 1, &held));
	g_assert_null(held);
	sv_agent_ring_drain(&f->b, 64u << 20); /* the host keeps up */
}

static void fill_random(guint8 *p, gsize n, guint32 seed)
{
	for (gsize i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (guint8)(seed >> 16);
	}
}

/* 3 MiB each way in uneven pieces: many trips around both rings. */
static void test_round_trip(Fixture *f, gconstpointer data)
{
	accept_offer(f);
	const gsize total = 3u << 20;
	g_autofree guint8 *src = g_malloc(total);
	fill_random(src, total, 1);
	/* agent -> host: the agent writes what fits, rings, the VMM drains */
	gsize sent = 0;
	for (guint32 piece = 1; sent < total; piece = piece * 7 % 300007 + 1) {
		guint32 head = f->ctl->to_host_head;
		guint32 room = SV_RING_BYTES - (head - f->ctl->to_host_tail);
		guint32 n = (guint32)MIN(MIN(piece, room), total - sent);
		sv_ring_copy_in(f->to_host, head, src + sent, n);
		f->ctl->to_host_head = head + n;
		sent += n;
		doorbell(f);
		g_assert_cmpuint(f->ctl->to_host_tail, ==, f->ctl->to_host_head);
	}
	g_assert_cmpuint(f->b.to_host->len, ==, total);
	g_assert_true(memcmp(f->b.to_host->data, src, total) == 0);

	/* host -> agent: the VMM fills what fits, the agent takes it */
	g_byte_array_append(f->b.to_guest, src, (guint)total);
	g_autofree guint8 *got = g_malloc(total);
	gsize have = 0;
	while (have < total) {
		sv_agent_ring_fill(&f->b);
		guint32 tail = f->ctl->to_guest_tail;
		guint32 n = f->ctl->to_guest_head - tail;
		g_assert_cmpuint(n, >, 0);
		g_assert_cmpuint(n, <=, SV_RING_BYTES);
		n = MIN(n, 100003u); /* the agent takes less than there is */
		sv_ring_copy_out(f->to_guest, tail, got + have, n);
		f->ctl->to_guest_tail = tail + n;
		have += n;
	}
	g_assert_cmpuint(f->b.to_guest->len, ==, 0);
	g_assert_true(memcmp(got, src, total) == 0);
}

/* A host side that is full holds the agent back; the agent is woken once
 * room is made. */
static void test_back_pressure(Fixture *f, gconstpointer data)
{
	accept_offer(f);
	guint8 buf[4096];
	fill_random(buf, sizeof(buf), 2);
	sv_ring_copy_in(f->to_host, 0, buf, sizeof(buf));
	f->ctl->to_host_head = sizeof(buf);
	f->ctl->agent_waits = 1;
	/* drain the wake-up of the offer, as the agent would */
	while (sv_serial_rx_pending(f->b.uart)) {
		guint8 c;
		sv_serial_io(f->b.uart, 0x2f8, FALSE, &c);
	}
	sv_agent_ring_drain(&f->b, 1000); /* room for 1000 bytes only */
	g_assert_cmpuint(f->b.to_host->len, ==, 1000);
	g_assert_cmpuint(f->ctl->to_host_tail, ==, 1000);
	g_assert_cmpuint(f->ctl->agent_waits, ==, 0);
	g_assert_cmpuint(sv_serial_rx_pending(f->b.uart), ==, 1);
	sv_agent_ring_drain(&f->b, 1000); /* still full: nothing moves */
	g_assert_cmpuint(f->ctl->to_host_tail, ==, 1000);
	g_byte_array_set_size(f->b.to_host, 0); /* sent to the host */
	sv_agent_ring_drain(&f->b, 1u << 20);
	g_assert_cmpuint(f->ctl->to_host_tail, ==, sizeof(buf));
	g_assert_true(memcmp(f->b.to_host->data, buf + 1000, sizeof(buf) - 1000) == 0);
}

/* Each bad offer: the bridge turns serial, and the agent is told when its
 * control page can be found. */
static void test_bad_offers(Fixture *f, gconstpointer data)
{
	struct {
		const char *what;
		const char *line;
	} cases[] = {
		{ "not hex", "\x1bSVRING 10zz\n" },
		{ "empty", "\x1bSVRING \n" },
		{ "the agent's own no", "\x1bSVRING 0\n" },
		{ "outside RAM", "\x1bSVRING 40000000\n" },
		{ "unaligned", "\x1bSVRING 1008\n" },
		{ "huge", "\x1bSVRING ffffffffffffffffff\n" },
		{ "other words", "\x1bHELLO 1000\n" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		f->b.mode = SV_BRIDGE_AWAIT_RING;
		f->ctl->vmm_state = SV_RING_PENDING;
		g_test_message("%s", cases[i].what);
		g_assert_true(offer(f, cases[i].line, 1));
		g_assert_cmpint(f->b.mode, ==, SV_BRIDGE_SERIAL);
		g_assert_null(f->b.ring);
	}
}

static void spoil_magic(Fixture *f)
{
	f->ctl->magic ^= 1;
}
static void spoil_pages(Fixture *f)
{
	f->ctl->data_pages = 1000;
}
static void spoil_page_gpa(Fixture *f)
{
	f->ctl->page_gpa[SV_RING_DATA_PAGES + 5] = RAM_SIZE;
}
static void spoil_page_align(Fixture *f)
{
	f->ctl->page_gpa[3] += 8;
}
static void spoil_indexes(Fixture *f)
{
	f->ctl->to_host_head = 5;
}

/* A control page that is in RAM but wrong: refused, and told so. */
static void test_bad_control_pages(Fixture *f, gconstpointer data)
{
	void (*spoil[])(Fixture *) = { spoil_magic, spoil_pages, spoil_page_gpa, spoil_page_align,
				       spoil_indexes };
	for (guint i = 0; i < G_N_ELEMENTS(spoil); i++) {
		teardown(f, NULL);
		memset(f, 0, sizeof(*f));
		setup(f, NULL);
		spoil[i](f);
		g_autofree char *line = g_strdup_printf("\x1b%s %x\n", SV_RING_HELLO, CTL_GPA);
		g_assert_true(offer(f, line, 5));
		g_assert_cmpint(f->b.mode, ==, SV_BRIDGE_SERIAL);
		g_assert_cmpuint(f->ctl->vmm_state, ==, SV_RING_REFUSED);
	}
}

/* An agent that offers nothing: its bytes are serial data, all of them. */
static void test_no_offer(Fixture *f, gconstpointer data)
{
	g_autoptr(GByteArray) held = NULL;
	g_assert_false(sv_agent_ring_from_uart(&f->b, (const guint8 *)"SNVA", 4, &held));
	g_assert_cmpint(f->b.mode, ==, SV_BRIDGE_SERIAL);
	g_assert_cmpmem(held->data, held->len, "SNVA", 4);
	/* an offer line too long to be one: what was held comes back too */
	f->b.mode = SV_BRIDGE_AWAIT_RING;
	g_autofree char *line = g_strnfill(100, 'x');
	line[0] = 0x1b;
	g_clear_pointer(&held, g_byte_array_unref);
	gboolean taken = TRUE;
	for (guint i = 0; i < 100 && taken; i++) {
		g_clear_pointer(&held, g_byte_array_unref);
		taken = sv_agent_ring_from_uart(&f->b, (const guint8 *)line + i, 1, &held);
	}
	g_assert_false(taken);
	g_assert_cmpint(f->b.mode, ==, SV_BRIDGE_SERIAL);
	g_assert_cmpuint(held->len, >, 60);
	g_assert_cmpint(held->data[0], ==, 0x1b);
}

/* After acceptance the guest breaks its indexes: the ring is left, and
 * nothing is copied from or to anywhere. */
static void test_broken_later(Fixture *f, gconstpointer data)
{
	accept_offer(f);
	f->ctl->to_host_head = f->ctl->to_host_tail + SV_RING_BYTES + 1;
	sv_agent_ring_drain(&f->b, 1u << 20);
	g_assert_cmpuint(f->b.to_host->len, ==, 0);
	f->ctl->to_host_head = f->ctl->to_host_tail + 10; /* mended: still left */
	sv_agent_ring_drain(&f->b, 1u << 20);
	g_assert_cmpuint(f->b.to_host->len, ==, 0);
	g_byte_array_append(f->b.to_guest, (const guint8 *)"abc", 3);
	sv_agent_ring_fill(&f->b);
	g_assert_cmpuint(f->b.to_guest->len, ==, 3);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
	ADD("/kvm/agent-ring/round-trip", test_round_trip);
	ADD("/kvm/agent-ring/back-pressure", test_back_pressure);
	ADD("/kvm/agent-ring/bad-offers", test_bad_offers);
	ADD("/kvm/agent-ring/bad-control-pages", test_bad_control_pages);
	ADD("/kvm/agent-ring/no-offer", test_no_offer);
	ADD("/kvm/agent-ring/broken-later", test_broken_later);
	return g_test_run();
}
