/* SPDX-License-Identifier: MIT */
/*
 * lazy-host.c - `restore --lazy`, the host's half (the design is at the
 * top of guest/restorer/lazy-pager.c; the protocol in
 * include/snapvm/restore-image-format.h, struct sv_rimg_lazy_ctl): the
 * pager's buffer frames, read from the restorer's stdout, then a thread
 * that fills the buffer's slots with the lazy pages - those a thread
 * waits for first, the rest in address order - writing into guest RAM
 * as the placer does, and polling the control page (no agent round trip
 * on the way of a fault).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "snapvm/restore-image-format.h"
#include "base/errors.h"
#include "base/guest-mem.h"
#include "host/restore/restore.h"
#include "host/util/io-util.h"

#define RECV_TIMEOUT_MS 600000
/* A waited-for page's neighbourhood: small, so that it comes soon */
#define WANT_CHUNK_PAGES 32
/* Nothing to send, nothing wanted: the host sleeps, longer each idle
 * round (a slot comes back every few ms under TCG; a want waits at most
 * the longest sleep) - it polled every 100 us, a tenth of a core */
#define IDLE_SLEEP_MIN_US 50
#define IDLE_SLEEP_MAX_US 1000
/* every page sent: only the pager's last word to wait for */
#define DRAIN_SLEEP_US 5000

gboolean sv_lazy_recv_buffer(SvAgentClient *agent, guint32 pid, int out_fd, int err_fd,
			     GArray **ret_frames, gboolean *ret_exited, int *ret_status,
			     GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	struct sv_rimg_lazy_header h;
	gsize need = 0;
	*ret_exited = FALSE;
	while (!need || buf->len < need) {
		g_auto(SvAgentFrame) f = { 0 };
		SvRestoreProcessEvent ev;
		if (!sv_restore_recv_process(agent, pid, RECV_TIMEOUT_MS, &f, &ev, error))
			return FALSE;
		if (ev.exited) {
			*ret_exited = TRUE;
			*ret_status = ev.status;
			return TRUE;
		}
		if (ev.stream != 1) {
			sv_write_all_fd(err_fd, ev.bytes, ev.len);
			continue;
		}
		g_byte_array_append(buf, ev.bytes, ev.len);
		if (need || buf->len < sizeof(h))
			continue;
		memcpy(&h, buf->data, sizeof(h));
		if (memcmp(h.magic, SV_RIMG_LAZY_MAGIC, 8) ||
		    h.buffer_pages != SV_RIMG_LAZY_BUFFER_PAGES || h.nruns == 0 ||
		    h.nruns > h.buffer_pages) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the guest restorer sent no valid lazy pager buffer message");
			return FALSE;
		}
		need = sizeof(h) + h.nruns * sizeof(struct sv_rimg_pfn_run);
	}
	g_autoptr(GArray)
		frames = g_array_sized_new(FALSE, FALSE, sizeof(guint64), (guint)h.buffer_pages);
	for (guint64 i = 0; i < h.nruns; i++) {
		struct sv_rimg_pfn_run run;
		memcpy(&run, buf->data + sizeof(h) + i * sizeof(run), sizeof(run));
		if (run.staging_page != frames->len || run.npages == 0 ||
		    run.npages > h.buffer_pages - frames->len || run.pfn > G_MAXUINT64 >> 13) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the lazy pager's frames do not cover its buffer in order");
			return FALSE;
		}
		for (guint64 k = 0; k < run.npages; k++) {
			guint64 pfn = run.pfn + k;
			g_array_append_val(frames, pfn);
		}
	}
	if (frames->len != h.buffer_pages) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the lazy pager's frames cover %u of its %" G_GUINT64_FORMAT " pages",
			    frames->len, (guint64)h.buffer_pages);
		return FALSE;
	}
	if (buf->len > need) /* the process's own first output */
		sv_write_all_fd(out_fd, buf->data + need, buf->len - need);
	*ret_frames = g_steal_pointer(&frames);
	return TRUE;
}

struct SvLazyServer {
	const SvGuestMem *mem;
	SvSnapshotReader *r;
	const GArray *runs; /* SvRestorePageRun, by vaddr */
	GArray *frames;	    /* guint64 per buffer page */
	guint64 ps;
	guint64 *first; /* page index of each run's first page */
	guint64 total;
	guint8 *sent;	/* a bit per lazy page */
	guint64 nsent;	/* pages sent */
	guint64 cursor; /* the background stream: pages below it are sent */
	guint64 seq[SV_RIMG_LAZY_SLOTS];
	guint64 want_tail;
	guint32 cur_section;
	GBytes *data; /* cur_section's pages */
	SvGuestRamWriter *w;
	GThread *thread;
	int done_fd; /* eventfd: the thread has ended */
	gint stop;
	gint64 stall_us; /* the pager shows no sign of life this long: give up */
	SvLazyStats stats;
};

void sv_lazy_stats_clear(SvLazyStats *s)
{
	g_clear_pointer(&s->error, g_free);
}

static gboolean is_sent(const SvLazyServer *s, guint64 i)
{
	return s->sent[i / 8] & (1u << (i % 8));
}

/* The run holding lazy page i. */
static guint run_of(const SvLazyServer *s, guint64 i)
{
	guint lo = 0, hi = s->runs->len;
	while (lo + 1 < hi) {
		guint mid = (lo + hi) / 2;
		if (s->first[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The lazy page at snapshot address va, or -1. */
static gint64 page_at(const SvLazyServer *s, guint64 va)
{
	guint lo = 0, hi = s->runs->len;
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		const SvRestorePageRun *x = &g_array_index(s->runs, SvRestorePageRun, mid);
		if (x->vaddr + x->npages * s->ps <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->runs->len)
		return -1;
	const SvRestorePageRun *x = &g_array_index(s->runs, SvRestorePageRun, lo);
	if (x->vaddr > va)
		return -1;
	return (gint64)(s->first[lo] + (va - x->vaddr) / s->ps);
}

/* The snapshot's bytes of pages [i, i + n) (one run, one section). */
static const guint8 *source(SvLazyServer *s, guint64 i, GError **error)
{
	const SvRestorePageRun *x = &g_array_index(s->runs, SvRestorePageRun, run_of(s, i));
	if (x->section != s->cur_section) {
		g_clear_pointer(&s->data, g_bytes_unref);
		s->data = sv_snapshot_reader_section_data(s->r, x->section, error);
		if (!s->data)
			return NULL;
		s->cur_section = x->section;
	}
	return (const guint8 *)g_bytes_get_data(s->data, NULL) + x->offset +
	       (i - s->first[run_of(s, i)]) * s->ps;
}

static gboolean write_u64s(SvLazyServer *s, guint64 gpa, const guint64 *v, gsize n, GError **error)
{
	return sv_guest_ram_write(s->w, s->mem, gpa, v, n * sizeof(guint64), error);
}

/* Sends pages [i, i + n) in slot k: data into its frames (a write per
 * physically contiguous piece), then vaddr, npages and the checksum, then
 * its seq. */
static gboolean fill_slot(SvLazyServer *s, guint k, guint64 i, guint64 n, gboolean wanted,
			  GError **error)
{
	const guint8 *src = source(s, i, error);
	if (!src)
		return FALSE;
	const guint64 *fr = &g_array_index(s->frames, guint64, 1 + k * SV_RIMG_LAZY_SLOT_PAGES);
	for (guint64 j = 0; j < n;) {
		guint64 m = 1;
		while (j + m < n && fr[j + m] == fr[j] + m)
			m++;
		if (!sv_guest_ram_write(s->w, s->mem, fr[j] * s->ps, src + j * s->ps, m * s->ps,
					error))
			return FALSE;
		j += m;
	}
	const SvRestorePageRun *x = &g_array_index(s->runs, SvRestorePageRun, run_of(s, i));
	guint64 ctl = g_array_index(s->frames, guint64, 0) * s->ps;
	guint64 va = x->vaddr + (i - s->first[run_of(s, i)]) * s->ps, seq = s->seq[k] + 1;
	struct sv_rimg_lazy_slot sl = {
		.vaddr = va, .npages = n, .wanted = wanted, .sum = sv_rimg_lazy_sum(src, n, va, seq)
	};
	guint64 off = G_STRUCT_OFFSET(struct sv_rimg_lazy_ctl, slot) +
		      k * sizeof(struct sv_rimg_lazy_slot);
	if (!sv_guest_ram_write(s->w, s->mem, ctl + off + 8, &sl.vaddr, sizeof(sl) - 8, error))
		return FALSE;
	/* the pages and the slot's fields before its seq, on a weakly
	 * ordered host too (the pager reads seq with acquire, then them) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (!write_u64s(s, ctl + off, &seq, 1, error))
		return FALSE;
	s->seq[k] = seq;
	for (guint64 j = 0; j < n; j++)
		s->sent[(i + j) / 8] |= (guint8)(1u << ((i + j) % 8));
	s->nsent += n;
	s->stats.bytes += n * s->ps;
	s->stats.chunks++;
	return TRUE;
}

/* The next pages to send: a waited-for page's neighbourhood if one is
 * posted and not sent yet, else the stream's next; up to the end of
 * their run, a sent page or max. FALSE when every page is sent. */
static gboolean next_chunk(SvLazyServer *s, const volatile struct sv_rimg_lazy_ctl *ctl,
			   guint64 *ret_i, guint64 *ret_n, gboolean *ret_wanted)
{
	guint64 head = __atomic_load_n(&ctl->want_head, __ATOMIC_ACQUIRE);
	if (head - s->want_tail > SV_RIMG_LAZY_WANTS)
		s->want_tail = head - SV_RIMG_LAZY_WANTS;
	guint64 i = G_MAXUINT64, max = SV_RIMG_LAZY_SLOT_PAGES;
	*ret_wanted = FALSE;
	while (s->want_tail < head && i == G_MAXUINT64) {
		guint64 va = ctl->want[s->want_tail++ % SV_RIMG_LAZY_WANTS];
		gint64 p = page_at(s, va & ~(s->ps - 1));
		if (p >= 0 && !is_sent(s, (guint64)p)) {
			i = (guint64)p;
			max = WANT_CHUNK_PAGES;
			*ret_wanted = TRUE;
		}
	}
	if (i == G_MAXUINT64) {
		while (s->cursor < s->total && is_sent(s, s->cursor))
			s->cursor++;
		if (s->cursor == s->total)
			return FALSE;
		i = s->cursor;
	}
	guint r = run_of(s, i);
	guint64 end = s->first[r] + g_array_index(s->runs, SvRestorePageRun, r).npages;
	guint64 n = 0;
	while (n < max && i + n < end && !is_sent(s, i + n))
		n++;
	*ret_i = i;
	*ret_n = n;
	return TRUE;
}

/* One pass: every free slot filled; *ret_busy if anything was sent. */
static gboolean serve_once(SvLazyServer *s, const volatile struct sv_rimg_lazy_ctl *ctl,
			   gboolean *ret_busy, GError **error)
{
	*ret_busy = FALSE;
	for (guint k = 0; k < SV_RIMG_LAZY_SLOTS; k++) {
		if (__atomic_load_n(&ctl->consumed[k], __ATOMIC_ACQUIRE) != s->seq[k])
			continue;
		guint64 i, n;
		gboolean wanted;
		if (!next_chunk(s, ctl, &i, &n, &wanted))
			return TRUE;
		if (!fill_slot(s, k, i, n, wanted, error))
			return FALSE;
		s->stats.wanted += wanted;
		*ret_busy = TRUE;
	}
	return TRUE;
}

/* What only moves while the pager runs: its counters, each of which only
 * grows (slots taken back, wants posted, faults seen). */
static guint64 pager_pulse(const volatile struct sv_rimg_lazy_ctl *ctl)
{
	guint64 sum = __atomic_load_n(&ctl->want_head, __ATOMIC_ACQUIRE) + ctl->faults;
	for (guint k = 0; k < SV_RIMG_LAZY_SLOTS; k++)
		sum += __atomic_load_n(&ctl->consumed[k], __ATOMIC_ACQUIRE);
	return sum;
}

static gpointer server_thread(gpointer data)
{
	SvLazyServer *s = data;
	g_autoptr(GError) error = NULL;
	guint64 ctl_gpa = g_array_index(s->frames, guint64, 0) * s->ps;
	const volatile struct sv_rimg_lazy_ctl *ctl = sv_guest_mem_ptr(s->mem, sv_gpa(ctl_gpa),
								       sizeof(*ctl), &error);
	gboolean told_all = FALSE;
	guint64 pulse = ctl ? pager_pulse(ctl) : 0;
	gint64 pulse_us = g_get_monotonic_time(), idle_us = IDLE_SLEEP_MIN_US;
	while (ctl && !g_atomic_int_get(&s->stop)) {
		guint64 state = __atomic_load_n(&ctl->pager_state, __ATOMIC_ACQUIRE);
		if (state == SV_RIMG_LAZY_DONE || state == SV_RIMG_LAZY_FAILED) {
			s->stats.done = state == SV_RIMG_LAZY_DONE;
			s->stats.done_us = g_get_monotonic_time();
			break;
		}
		/* A pager that died (its guard then kills the process, but
		 * cannot reach this page) never writes DONE or FAILED:
		 * without this, --detach would wait for it for ever. A live
		 * pager takes back every slot filled, at once, whatever the
		 * process does. */
		gint64 now = g_get_monotonic_time();
		if (pager_pulse(ctl) != pulse) {
			pulse = pager_pulse(ctl);
			pulse_us = now;
		} else if (now - pulse_us > s->stall_us) {
			g_set_error(&error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "the guest's pager took no page for %" G_GINT64_FORMAT
				    " s: it died, or the guest stopped; the process is "
				    "killed if it still runs "
				    "(restore without --lazy)",
				    s->stall_us / G_USEC_PER_SEC);
			break;
		}
		gboolean busy;
		if (!serve_once(s, ctl, &busy, &error))
			break;
		if (!told_all && s->nsent == s->total) {
			guint64 all = SV_RIMG_LAZY_SENT_ALL;
			if (!write_u64s(s,
					ctl_gpa + G_STRUCT_OFFSET(struct sv_rimg_lazy_ctl,
								  host_state),
					&all, 1, &error))
				break;
			told_all = TRUE;
		}
		if (busy)
			idle_us = IDLE_SLEEP_MIN_US;
		else {
			g_usleep(told_all ? DRAIN_SLEEP_US : idle_us);
			idle_us = MIN(idle_us * 2, IDLE_SLEEP_MAX_US);
		}
	}
	if (ctl) {
		s->stats.faults = ctl->faults;
		s->stats.zero_faults = ctl->zero_faults;
	}
	if (error) {
		/* the pager kills the process, saying the host stopped */
		guint64 failed = SV_RIMG_LAZY_FAILED;
		write_u64s(s, ctl_gpa + G_STRUCT_OFFSET(struct sv_rimg_lazy_ctl, host_state),
			   &failed, 1, NULL);
		s->stats.error = g_strdup(error->message);
	}
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		s->stats.cpu_us = ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
				  ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
	guint64 one = 1;
	(void)!write(s->done_fd, &one, sizeof(one));
	return NULL;
}

SvLazyServer *sv_lazy_server_start(const SvGuestMem *mem, SvSnapshotReader *r,
				   const GArray *lazy_runs, GArray *frames, gint64 stall_us,
				   GError **error)
{
	SvLazyServer *s = g_new0(SvLazyServer, 1);
	s->stall_us = stall_us;
	s->mem = mem;
	s->r = r;
	s->runs = lazy_runs;
	s->frames = frames;
	s->ps = sv_snapshot_reader_page_size(r);
	s->first = g_new0(guint64, lazy_runs->len + 1);
	for (guint i = 0; i < lazy_runs->len; i++)
		s->first[i + 1] = s->first[i] +
				  g_array_index(lazy_runs, SvRestorePageRun, i).npages;
	s->total = s->first[lazy_runs->len];
	s->sent = g_malloc0(s->total / 8 + 1);
	s->cur_section = G_MAXUINT32;
	s->w = sv_guest_ram_writer_new();
	s->done_fd = eventfd(0, EFD_CLOEXEC);
	if (s->done_fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "eventfd: %s", g_strerror(errno));
		SvLazyStats unused = { 0 };
		sv_lazy_server_finish(s, FALSE, &unused);
		return NULL;
	}
	s->thread = g_thread_try_new("snapvm-lazy", server_thread, s, error);
	if (!s->thread) {
		SvLazyStats unused = { 0 };
		sv_lazy_server_finish(s, FALSE, &unused);
		sv_lazy_stats_clear(&unused);
		return NULL;
	}
	return s;
}

gboolean sv_lazy_server_wait(SvLazyServer *s, int interrupt_fd)
{
	struct pollfd fds[2] = { { s->done_fd, POLLIN, 0 }, { interrupt_fd, POLLIN, 0 } };
	for (;;) {
		if (poll(fds, interrupt_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return TRUE; /* finish then waits for the thread */
		if (fds[0].revents)
			return TRUE;
		if (fds[1].revents)
			return FALSE;
	}
}

void sv_lazy_server_finish(SvLazyServer *s, gboolean wait, SvLazyStats *ret)
{
	if (!wait)
		g_atomic_int_set(&s->stop, 1);
	if (s->thread)
		g_thread_join(s->thread);
	*ret = s->stats;
	sv_guest_ram_writer_free(s->w);
	g_clear_pointer(&s->data, g_bytes_unref);
	g_array_unref(s->frames);
	g_free(s->first);
	g_free(s->sent);
	if (s->done_fd >= 0)
		close(s->done_fd);
	g_free(s);
}
