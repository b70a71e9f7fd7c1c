/* SPDX-License-Identifier: MIT */
/*
 * agent-ring.h - the kvm backend's fast transport for the agent's byte
 * stream: two rings in guest RAM that the VMM reads and writes directly,
 * with the agent's UART left as the doorbell only. The frames of
 * agent-proto.h travel in it unchanged; only the transport differs.
 *
 * Why: through the emulated 16550 every byte is a trapped port write (a
 * few KB/s under nested KVM); here a doorbell carries up to a ring's worth.
 *
 * Set-up. The VMM puts --fast-channel among the agent's arguments. The
 * agent allocates one control page and 2 * SV_RING_DATA_PAGES data pages,
 * mlocks them, learns their guest-physical addresses from
 * /proc/self/pagemap, fills the control page, and writes the record
 *     "\x1b" SV_RING_HELLO " " <control page address, hex> "\n"
 * as the first bytes on its port. The VMM holds the host's bytes back until
 * that record (or any other first byte: then the port stays a plain serial
 * line), checks the control page, copies the page addresses once (later
 * changes by the guest are not looked at), sets vmm_state and sends one
 * notification byte. Anything it refuses leaves the serial path in use.
 *
 * Control page (u32 fields unless noted, in the machine's byte order, which
 * under KVM the guest and the VMM share; at these offsets):
 *   0 magic SV_RING_MAGIC   4 version SV_RING_VERSION
 *   8 data_pages            12 vmm_state (VMM: 1 accepted, 2 refused)
 *  16 to_host_head (agent)  20 to_host_tail (VMM)
 *  24 to_guest_head (VMM)   28 to_guest_tail (agent)
 *  32 agent_waits: the agent found to_host full; the VMM clears it and
 *     sends a notification byte once it has taken bytes out
 *  40 u64 page_gpa[2 * data_pages]: to_host's pages, then to_guest's
 * Heads and tails count bytes, free-running mod 2^32; byte i of a ring
 * lives at page (i / 4096) % data_pages, offset i % 4096. Each side stores
 * its own index with release order after the bytes and loads the other's
 * with acquire order (both run on one machine: the host order is the
 * guest's). A peer whose head runs more than a ring ahead of the tail is
 * broken, and the ring is not used any more.
 *
 * Doorbells. Agent -> VMM: a "\n" on the port after it added bytes (the
 * UART passes a line at once). VMM -> agent: a "\n" in the port's receive
 * FIFO when it added bytes or freed room the agent waits for, unless a
 * byte is still in the FIFO (the agent reads the ring after it drains the
 * port, so that byte covers the new bytes too).
 */
#ifndef SNAPVM_AGENT_RING_H
#define SNAPVM_AGENT_RING_H

#include <stdint.h>

#define SV_RING_HELLO "SVRING"
#define SV_RING_MAGIC 0x474e5253u /* "SRNG" read as le32 */
#define SV_RING_VERSION 1u
#define SV_RING_PAGE_SIZE 4096u
/* Per direction: 256 KiB, a quarter of the largest frame. */
#define SV_RING_DATA_PAGES 64u
#define SV_RING_BYTES (SV_RING_DATA_PAGES * SV_RING_PAGE_SIZE)

enum sv_ring_state {
	SV_RING_PENDING = 0,
	SV_RING_ACCEPTED = 1,
	SV_RING_REFUSED = 2,
};

struct sv_ring_ctl {
	uint32_t magic;
	uint32_t version;
	uint32_t data_pages;
	uint32_t vmm_state;
	uint32_t to_host_head;
	uint32_t to_host_tail;
	uint32_t to_guest_head;
	uint32_t to_guest_tail;
	uint32_t agent_waits;
	uint32_t reserved;
	uint64_t page_gpa[2 * SV_RING_DATA_PAGES];
};

_Static_assert(sizeof(struct sv_ring_ctl) <= SV_RING_PAGE_SIZE, "one control page");
_Static_assert(__builtin_offsetof(struct sv_ring_ctl, page_gpa) == 40, "layout above");

/* Copies n bytes between a ring (its pages, mapped wherever each side
 * maps them) at byte position pos and a flat buffer; n <= SV_RING_BYTES. */
static inline void sv_ring_copy_out(uint8_t *const pages[SV_RING_DATA_PAGES], uint32_t pos,
				    void *dst, uint32_t n)
{
	uint8_t *d = dst;
	while (n) {
		uint32_t off = pos % SV_RING_PAGE_SIZE;
		uint32_t k = SV_RING_PAGE_SIZE - off < n ? SV_RING_PAGE_SIZE - off : n;
		__builtin_memcpy(d, pages[(pos / SV_RING_PAGE_SIZE) % SV_RING_DATA_PAGES] + off, k);
		d += k;
		pos += k;
		n -= k;
	}
}

static inline void sv_ring_copy_in(uint8_t *const pages[SV_RING_DATA_PAGES], uint32_t pos,
				   const void *src, uint32_t n)
{
	const uint8_t *s = src;
	while (n) {
		uint32_t off = pos % SV_RING_PAGE_SIZE;
		uint32_t k = SV_RING_PAGE_SIZE - off < n ? SV_RING_PAGE_SIZE - off : n;
		__builtin_memcpy(pages[(pos / SV_RING_PAGE_SIZE) % SV_RING_DATA_PAGES] + off, s, k);
		s += k;
		pos += k;
		n -= k;
	}
}

#endif
