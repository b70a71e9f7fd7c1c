/* SPDX-License-Identifier: MIT */
/*
 * dirty-log.c - KVM's dirty log of guest RAM, for incremental checkpoints
 * (the "dirty-log MARK" control request; the host's side is
 * host/checkpoint/dirty-log.h, which says why it is sound).
 *
 * Off until the first request: logging write-protects guest RAM in KVM's
 * MMU (every first write to a page then exits to KVM once) and keeps
 * KVM from mapping it with huge pages, a cost only VMs that are
 * checkpointed should pay. The first request turns it on (the log then
 * starts empty); every later one takes the log since the one before
 * (KVM_GET_DIRTY_LOG returns and clears it: with every vCPU parked,
 * nothing written in between is lost), adds the pages the VMM itself
 * wrote into guest RAM, which KVM does not log (the disk's reads, the
 * agent's rings), and writes it to <vm_dir>/dirty-log: one bit per
 * guest-physical page up to the end of RAM, little-endian 64-bit words,
 * bit i of word w for the page at (64w + i) * 4096. Each request carries
 * a mark (the checkpoint's), so the host can tell whether the log it gets
 * runs from its parent's pause; a take that fails answers the next one
 * with LOST_MARK, no checkpoint's.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/errors.h"
#include "host/kvm/vmm-process.h"

#define PAGE_SHIFT 12
#define MARK_MAX 64
/* the previous mark after a take that failed: no checkpoint's (they name
 * a task, with ':'), so no child is judged by a log missing pages */
#define LOST_MARK "lost"

static gsize words_for(guint64 pages)
{
	return (gsize)((pages + 63) / 64);
}

static void set_bits(guint64 *bits, guint64 first, guint64 count)
{
	for (guint64 p = first; p < first + count; p++)
		bits[p / 64] |= 1ull << (p % 64);
}

/* Pages of guest-physical space the log covers: up to RAM's end. */
static guint64 gpa_pages(const SvVmm *vmm)
{
	guint64 end = 0;
	for (guint i = 0; i < vmm->vm.n_regions; i++)
		end = MAX(end, vmm->vm.regions[i].gpa.v + vmm->vm.regions[i].size);
	return end >> PAGE_SHIFT;
}

/* Marks the guest pages under [host, host + len) of the RAM mapping. */
static void set_host_range(const SvVmm *vmm, guint64 *bits, const guint8 *host, guint64 len)
{
	guint64 off = (guint64)(host - vmm->vm.ram);
	for (guint i = 0; i < vmm->vm.n_regions && len; i++) {
		const SvRamRegion *r = &vmm->vm.regions[i];
		if (off < r->file_offset || off - r->file_offset >= r->size)
			continue;
		guint64 gpa = r->gpa.v + (off - r->file_offset);
		guint64 first = gpa >> PAGE_SHIFT, last = (gpa + len - 1) >> PAGE_SHIFT;
		set_bits(bits, first, last - first + 1);
	}
}

void sv_kvm_dirty_note_ram(SvVmm *vmm, const guint8 *host, guint64 len)
{
	g_mutex_lock(&vmm->dirty.lock);
	if (vmm->dirty.vmm_written)
		set_host_range(vmm, vmm->dirty.vmm_written, host, len);
	g_mutex_unlock(&vmm->dirty.lock);
}

/* KVM's log of each slot since the last call, into bits. */
static gboolean take_kvm_log(SvVmm *vmm, guint64 *bits, GError **error)
{
	for (guint i = 0; i < vmm->vm.n_regions; i++) {
		const SvRamRegion *r = &vmm->vm.regions[i];
		guint64 pages = r->size >> PAGE_SHIFT;
		g_autofree guint64 *slot = g_new0(guint64, words_for(pages));
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = slot };
		if (ioctl(vmm->vm.vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "KVM_GET_DIRTY_LOG of RAM slot %u: %s", i, g_strerror(errno));
			return FALSE;
		}
		guint64 base = r->gpa.v >> PAGE_SHIFT;
		for (guint64 w = 0; w < words_for(pages); w++)
			for (guint64 v = slot[w]; v; v &= v - 1)
				set_bits(bits, base + w * 64 + (guint64)__builtin_ctzll(v), 1);
	}
	return TRUE;
}

/* The pages of the agent's accepted rings: the VMM writes them without
 * going through sv_kvm_ram_at each time. */
static void add_ring_pages(SvVmm *vmm, guint64 *bits)
{
	SvBridge *bridges[] = { &vmm->agent, &vmm->agent_control };
	for (guint i = 0; i < G_N_ELEMENTS(bridges); i++) {
		const guint8 *pages[SV_AGENT_RING_PAGES_MAX];
		guint n = sv_agent_ring_pages(bridges[i], pages, G_N_ELEMENTS(pages));
		for (guint k = 0; k < n; k++)
			set_host_range(vmm, bits, pages[k], 1);
	}
}

static gboolean valid_mark(const char *mark)
{
	gsize n = strlen(mark);
	if (n == 0 || n > MARK_MAX)
		return FALSE;
	for (gsize i = 0; i < n; i++)
		if (!g_ascii_isalnum(mark[i]) && mark[i] != ':')
			return FALSE;
	return TRUE;
}

char *sv_kvm_dirty_log_take(SvVmm *vmm, const char *mark, GError **error)
{
	if (!valid_mark(mark)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "a dirty-log mark is 1-%d letters, digits or ':'", MARK_MAX);
		return NULL;
	}
	if (!sv_kvm_vcpus_paused(vmm)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "the dirty log is taken only with the VM paused (pause it first)");
		return NULL;
	}
	guint64 pages = gpa_pages(vmm);
	if (!vmm->dirty.vmm_written) {
		if (!sv_kvm_vm_set_slots(vmm, KVM_MEM_LOG_DIRTY_PAGES, error)) {
			g_prefix_error(error, "turning KVM's dirty log on: ");
			return NULL;
		}
		g_mutex_lock(&vmm->dirty.lock);
		vmm->dirty.vmm_written = g_new0(guint64, words_for(pages));
		g_mutex_unlock(&vmm->dirty.lock);
		vmm->dirty.mark = g_strdup(mark);
		return g_strdup("none");
	}
	/* from here a failure may have cleared part of the log (KVM's of the
	 * slots already taken, the VMM's own): the log no longer runs from
	 * the last mark, and the next take must not say it does */
	g_autofree char *prev = g_steal_pointer(&vmm->dirty.mark);
	vmm->dirty.mark = g_strdup(LOST_MARK);
	g_autofree guint64 *bits = g_new0(guint64, words_for(pages));
	if (!take_kvm_log(vmm, bits, error))
		return NULL;
	g_mutex_lock(&vmm->devices);
	add_ring_pages(vmm, bits);
	g_mutex_unlock(&vmm->devices);
	g_mutex_lock(&vmm->dirty.lock);
	for (gsize w = 0; w < words_for(pages); w++) {
		bits[w] |= vmm->dirty.vmm_written[w];
		vmm->dirty.vmm_written[w] = 0;
	}
	g_mutex_unlock(&vmm->dirty.lock);
	for (gsize w = 0; w < words_for(pages); w++)
		bits[w] = GUINT64_TO_LE(bits[w]);
	g_autofree char *file = g_build_filename(vmm->vm_dir, "dirty-log", NULL);
	g_autoptr(GError) local = NULL;
	/* replaced whole, never fsync'ed: written with the VM paused, and
	 * g_file_set_contents would fsync it on every take after the first
	 * (the file exists); nothing needs it on disk, the host reads it from
	 * the page cache at once and a crash of the host loses the mark too */
	if (!g_file_set_contents_full(file, (const char *)bits,
				      (gssize)(words_for(pages) * sizeof(guint64)),
				      G_FILE_SET_CONTENTS_CONSISTENT, 0666, &local)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "writing the dirty log: %s",
			    local->message);
		return NULL;
	}
	g_free(vmm->dirty.mark);
	vmm->dirty.mark = g_strdup(mark);
	return g_strdup_printf("%s %s", prev, file);
}
