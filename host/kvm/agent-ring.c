/* SPDX-License-Identifier: MIT */
/*
 * agent-ring.c - the VMM's end of the agent's fast transport
 * (snapvm/agent-ring.h): the agent's offer on its UART, the rings in guest
 * RAM read and written directly, the UART kept as the doorbell.
 *
 * The guest is not trusted: the offer is checked page by page against
 * guest RAM, page addresses are copied once, and every index read from
 * the guest is checked before use; a ring found broken is left (its bridge
 * then carries nothing more), never a crash or a read outside guest RAM.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/vmm-process.h"
#include "snapvm/agent-ring.h"

/* "\x1b" SV_RING_HELLO " " up to 16 hex digits "\n", with room to spare */
#define OFFER_MAX 64

struct SvAgentRing {
	struct sv_ring_ctl *ctl;
	guint8 *to_host[SV_RING_DATA_PAGES];
	guint8 *to_guest[SV_RING_DATA_PAGES];
	gboolean broken;
};

G_STATIC_ASSERT(SV_AGENT_RING_PAGES_MAX == 1 + 2 * SV_RING_DATA_PAGES);

guint sv_agent_ring_pages(SvBridge *b, const guint8 **pages, guint max)
{
	const SvAgentRing *r = b->ring;
	if (!r || max < SV_AGENT_RING_PAGES_MAX)
		return 0;
	guint n = 0;
	pages[n++] = (const guint8 *)r->ctl;
	for (guint i = 0; i < SV_RING_DATA_PAGES; i++) {
		pages[n++] = r->to_host[i];
		pages[n++] = r->to_guest[i];
	}
	return n;
}

static guint32 load(const guint32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(guint32 *p, guint32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void sv_agent_ring_note(SvBridge *b, const char *what)
{
	g_autofree char *line = g_strdup_printf("snapvm kvm: %s channel: %s\n", b->name, what);
	sv_vmm_console_write(b->vmm, line, strlen(line));
	if (!b->vmm->vm_dir)
		return;
	g_autofree char *file = g_strdup_printf("%s/%s-channel", b->vmm->vm_dir, b->name);
	g_file_set_contents(file, line + strlen("snapvm kvm: "), -1, NULL);
}

static void note(SvBridge *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(SvBridge *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	sv_agent_ring_note(b, what);
}

/* A "\n" for the agent, unless one it has not read is still waiting. */
static void notify(SvBridge *b)
{
	if (!sv_serial_rx_pending(b->uart))
		sv_serial_receive(b->uart, (const guint8 *)"\n", 1);
}

static gboolean map_pages(SvVmm *vmm, const guint64 *gpas, guint8 **pages, const char **why)
{
	for (guint i = 0; i < SV_RING_DATA_PAGES; i++) {
		guint64 gpa = gpas[i];
		if (gpa % SV_RING_PAGE_SIZE ||
		    !(pages[i] = sv_kvm_ram_at(vmm, gpa, SV_RING_PAGE_SIZE))) {
			*why = "a data page outside guest RAM or not page-aligned";
			return FALSE;
		}
	}
	return TRUE;
}

/* The offer's control page at gpa, checked; NULL with *why if refused. */
static SvAgentRing *accept(SvBridge *b, guint64 gpa, const char **why)
{
	guint8 *page = gpa % SV_RING_PAGE_SIZE ? NULL
					       : sv_kvm_ram_at(b->vmm, gpa, SV_RING_PAGE_SIZE);
	if (!page) {
		*why = "its control page is outside guest RAM or not page-aligned";
		return NULL;
	}
	struct sv_ring_ctl *ctl = (struct sv_ring_ctl *)page;
	/* one copy of what the guest could change under us */
	guint64 gpas[2 * SV_RING_DATA_PAGES];
	memcpy(gpas, (const void *)ctl->page_gpa, sizeof(gpas));
	guint32 magic = load(&ctl->magic), version = load(&ctl->version),
		n = load(&ctl->data_pages);
	g_autofree SvAgentRing *r = g_new0(SvAgentRing, 1);
	if (magic != SV_RING_MAGIC || version != SV_RING_VERSION)
		*why = "not a version-1 ring";
	else if (n != SV_RING_DATA_PAGES)
		*why = "a ring size this VMM does not use";
	else if (map_pages(b->vmm, gpas, r->to_host, why) &&
		 map_pages(b->vmm, gpas + SV_RING_DATA_PAGES, r->to_guest, why)) {
		r->ctl = ctl;
		/* the rings start empty, wherever the agent put its indexes */
		if (load(&ctl->to_host_head) != load(&ctl->to_host_tail) ||
		    load(&ctl->to_guest_head) != load(&ctl->to_guest_tail)) {
			*why = "rings that do not start empty";
			return NULL;
		}
		return g_steal_pointer(&r);
	}
	return NULL;
}

/* The whole offer line (without "\n"): the bridge turns RING or SERIAL. */
static void take_offer(SvBridge *b, const char *line)
{
	const char *why = "not an offer";
	g_autofree char *prefix = g_strdup_printf("\x1b%s ", SV_RING_HELLO);
	SvAgentRing *r = NULL;
	if (g_str_has_prefix(line, prefix)) {
		const char *hex = line + strlen(prefix);
		char *end = NULL;
		errno = 0;
		guint64 gpa = g_ascii_strtoull(hex, &end, 16);
		if (!*hex || *end || errno)
			why = "a bad control page address";
		else if (!g_strcmp0(hex, "0"))
			why = "the agent could not set its ring up (its console says why)";
		else
			r = accept(b, gpa, &why);
		if (!r && gpa && !*end) {
			guint8 *page = sv_kvm_ram_at(b->vmm, gpa, SV_RING_PAGE_SIZE);
			if (page && gpa % SV_RING_PAGE_SIZE == 0)
				store(&((struct sv_ring_ctl *)page)->vmm_state, SV_RING_REFUSED);
		}
	}
	if (r) {
		b->ring = r;
		b->mode = SV_BRIDGE_RING;
		store(&r->ctl->vmm_state, SV_RING_ACCEPTED);
		note(b, "shared-memory rings, 2 x %u KiB in guest RAM (the UART a doorbell)",
		     SV_RING_BYTES / 1024);
	} else {
		b->mode = SV_BRIDGE_SERIAL;
		note(b, "serial, a byte an exit (ring refused: %s)", why);
	}
	notify(b);
	sv_vmm_wake(b->vmm); /* host bytes held back can flow now */
}

gboolean sv_agent_ring_from_uart(SvBridge *b, const guint8 *buf, gsize len, GByteArray **ret_held)
{
	*ret_held = NULL;
	if (b->mode == SV_BRIDGE_RING)
		return TRUE; /* doorbells: what they say is in the ring */
	if (!b->offer)
		b->offer = g_byte_array_new();
	for (gsize i = 0; i < len; i++) {
		guint8 c = buf[i];
		if ((b->offer->len == 0 && c != 0x1b) || b->offer->len >= OFFER_MAX) {
			/* an agent that speaks serial: what it said so far is
			 * data, and so is the rest */
			b->mode = SV_BRIDGE_SERIAL;
			note(b, "serial, a byte an exit (the agent offered no ring)");
			g_byte_array_append(b->offer, buf + i, (guint)(len - i));
			*ret_held = g_steal_pointer(&b->offer);
			sv_vmm_wake(b->vmm);
			return FALSE;
		}
		if (c == '\n') {
			g_byte_array_append(b->offer, (const guint8 *)"", 1);
			take_offer(b, (const char *)b->offer->data);
			g_clear_pointer(&b->offer, g_byte_array_unref);
			/* bytes after the offer, in the same burst: the
			 * agent's first doorbell, or serial data */
			if (i + 1 == len)
				return TRUE;
			if (b->mode == SV_BRIDGE_RING)
				return TRUE;
			*ret_held = g_byte_array_new();
			g_byte_array_append(*ret_held, buf + i + 1, (guint)(len - i - 1));
			return FALSE;
		}
		g_byte_array_append(b->offer, &c, 1);
	}
	return TRUE;
}

/* Bytes in a ring between tail and head, or -1 if the guest broke it. */
static gint64 filled(SvBridge *b, guint32 head, guint32 tail)
{
	guint32 n = head - tail;
	if (n <= SV_RING_BYTES)
		return n;
	b->ring->broken = TRUE;
	note(b, "the agent's ring is broken (head %u, tail %u): nothing more is carried", head,
	     tail);
	return -1;
}

void sv_agent_ring_drain(SvBridge *b, gsize max)
{
	SvAgentRing *r = b->ring;
	if (b->mode != SV_BRIDGE_RING || r->broken)
		return;
	guint32 tail = load(&r->ctl->to_host_tail);
	gint64 n = filled(b, load(&r->ctl->to_host_head), tail);
	if (n <= 0)
		return;
	if (b->client >= 0) {
		/* as the UART's sink does: past max, the agent waits */
		gsize room = b->to_host->len < max ? max - b->to_host->len : 0;
		n = MIN((gsize)n, room);
		if (!n)
			return;
		gsize at = b->to_host->len;
		g_byte_array_set_size(b->to_host, (guint)(at + n));
		sv_ring_copy_out(r->to_host, tail, b->to_host->data + at, (guint32)n);
		if (at == 0)
			sv_vmm_wake(b->vmm);
	}
	store(&r->ctl->to_host_tail, tail + (guint32)n);
	/* the agent sets agent_waits, then looks at the tail again: one of
	 * us sees the other's store */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&r->ctl->agent_waits, 0, __ATOMIC_ACQ_REL))
		notify(b);
}

void sv_agent_ring_fill(SvBridge *b)
{
	SvAgentRing *r = b->ring;
	if (b->mode != SV_BRIDGE_RING || r->broken || !b->to_guest->len)
		return;
	guint32 head = load(&r->ctl->to_guest_head);
	gint64 used = filled(b, head, load(&r->ctl->to_guest_tail));
	if (used < 0)
		return;
	guint32 n = (guint32)MIN((gsize)(SV_RING_BYTES - used), b->to_guest->len);
	if (!n)
		return;
	sv_ring_copy_in(r->to_guest, head, b->to_guest->data, n);
	store(&r->ctl->to_guest_head, head + n);
	g_byte_array_remove_range(b->to_guest, 0, n);
	notify(b);
}
