/* SPDX-License-Identifier: MIT */
/*
 * agent-client.h - the host end of the agent protocol (include/snapvm/agent-proto.h).
 *
 * The channel is a stream socket that QEMU (or our VMM) bridges to the
 * guest's virtio-serial port. Nothing the peer sends is trusted: frames are
 * checked before anything is allocated, every wait has a timeout, and a
 * closed channel is reported as SV_ERROR_PEER_GONE, never as a hang.
 */
#ifndef SNAPVM_AGENT_CLIENT_H
#define SNAPVM_AGENT_CLIENT_H

#include <glib.h>

#include "snapvm/agent-proto.h"

typedef struct SvAgentClient SvAgentClient;

typedef struct SvAgentFrame {
	guint16 type;
	guint32 tag;
	GBytes *payload;
} SvAgentFrame;

void sv_agent_frame_clear(SvAgentFrame *frame);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvAgentFrame, sv_agent_frame_clear)

typedef struct SvAgentInfo {
	guint32 proto_version;
	char agent_version[64];
	char machine[64];
	char kernel_release[128];
	guint64 uptime_ns;
} SvAgentInfo;

typedef struct SvGuestProcess {
	guint32 pid;
	guint32 ppid;
	char state;
	guint64 rss_kib;
	char comm[32];
} SvGuestProcess;

/* Points r at frame's payload (valid as long as the frame). */
void sv_agent_frame_reader(const SvAgentFrame *frame, struct sv_rbuf *r);
/* Decodes an SV_MSG_OUTPUT frame; *ret_bytes points into the frame. */
gboolean sv_agent_frame_parse_output(const SvAgentFrame *frame, guint32 *ret_pid,
				     guint32 *ret_stream, const guint8 **ret_bytes,
				     guint32 *ret_len, GError **error);
/* Decodes an SV_MSG_EXIT frame. */
gboolean sv_agent_frame_parse_exit(const SvAgentFrame *frame, guint32 *ret_pid,
				   int *ret_wait_status, GError **error);

/* Connects to a channel socket, retrying until it exists (QEMU creates it as
 * it starts) or timeout_ms passes. */
SvAgentClient *sv_agent_client_connect(const char *socket_path, guint timeout_ms, GError **error);
/* Wraps an already-connected stream fd (tests use a socketpair). Takes it. */
SvAgentClient *sv_agent_client_new_from_fd(int fd);
void sv_agent_client_free(SvAgentClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvAgentClient, sv_agent_client_free)

/*
 * If set, every wait also watches this fd and fails with SV_ERROR_INTERRUPTED
 * when it becomes readable (the CLI passes a signalfd for Ctrl-C).
 */
void sv_agent_client_set_interrupt_fd(SvAgentClient *client, int fd);

/* Handshake. The guest may still be booting: HELLO is repeated every second
 * until a reply comes or timeout_ms passes. */
gboolean sv_agent_client_hello(SvAgentClient *client, guint timeout_ms, SvAgentInfo *ret_info,
			       GError **error);

/* Sends one frame; returns its tag in *ret_tag (may be NULL). */
gboolean sv_agent_client_send(SvAgentClient *client, guint16 type, const void *payload, gsize len,
			      guint32 *ret_tag, GError **error);

/* Sends bytes as they are, unframed: for tests that feed the agent garbage. */
gboolean sv_agent_client_write_raw(SvAgentClient *client, const void *bytes, gsize len,
				   GError **error);

/* Next frame, queued ones first. timeout_ms < 0 waits without limit (but the
 * interrupt fd and a closed channel still end the wait). */
gboolean sv_agent_client_recv(SvAgentClient *client, gint timeout_ms, SvAgentFrame *ret_frame,
			      GError **error);

/* Waits for the reply to tag; other frames received meanwhile are queued for
 * sv_agent_client_recv. An SV_MSG_ERROR reply becomes SV_ERROR_AGENT, or
 * SV_ERROR_NOT_SUPPORTED when its errno is ENOSYS (the agent does not serve
 * that request type).
 * timeout_ms counts silence: every byte received moves the deadline. */
gboolean sv_agent_client_wait_reply(SvAgentClient *client, guint32 tag, guint16 want_type,
				    guint timeout_ms, SvAgentFrame *ret_frame, GError **error);

/* How long the agent may stay silent while a request waits for its reply
 * once the agent is up. Generous: TCG guests on a loaded 2-core machine can
 * be slow, but a dead agent must not hang us. Silent, not in total: the
 * deadline moves with every byte that arrives, so it scales with the
 * reply's size and the channel's speed - a 1 MiB READFILE reply takes
 * minutes through a UART under nested KVM (a few KB/s), and an agent that
 * is sending one is not dead. */
#define SV_AGENT_REQUEST_TIMEOUT_MS 30000

/* Sends a request and waits (timeout_ms of silence) for its reply of
 * want_type; r then reads the reply's payload, which lives as long as
 * *frame. The requests below are made of it. */
gboolean sv_agent_client_request(SvAgentClient *client, guint16 type, const void *payload,
				 gsize len, guint16 want_type, guint timeout_ms,
				 SvAgentFrame *frame, struct sv_rbuf *r, GError **error);

/* Starts argv in the guest; *ret_pid is its guest pid. */
gboolean sv_agent_client_run(SvAgentClient *client, const char *const *argv, guint32 flags,
			     guint32 *ret_pid, GError **error);
/* The same, with the whole environment envp (K=V; NULL: the agent's
 * default) and working directory cwd (NULL: "/"). An argv[0] without a
 * slash is looked up in envp's PATH. A start that fails is an SV_ERROR_AGENT
 * error whose message ends with the agent's strerror: ENOENT's when argv[0]
 * is not there, ENOEXEC's when it is but cannot start (no dynamic loader). */
gboolean sv_agent_client_run_in(SvAgentClient *client, const char *const *argv,
				const char *const *envp, const char *cwd, guint32 flags,
				guint32 *ret_pid, GError **error);

/* The agent's /proc view: an array of SvGuestProcess. */
GArray *sv_agent_client_ps(SvAgentClient *client, GError **error);

/* What a READFILE reply says besides the bytes. */
typedef struct SvAgentFileInfo {
	guint64 size;
	guint64 ino;
	guint64 mtime_ns;
} SvAgentFileInfo;

/* Decodes an SV_MSG_READFILE_REPLY payload; *ret_bytes points into it. */
gboolean sv_agent_parse_readfile_reply(GBytes *payload, SvAgentFileInfo *ret_info,
				       const guint8 **ret_bytes, guint32 *ret_len, GError **error);

/* One READFILE request: up to max_len (<= SV_READFILE_MAX_CHUNK) bytes of the
 * guest file path from offset (fewer only at its end), and its size and
 * identity. Only regular files; an agent error (no such file, ...) is
 * SV_ERROR_AGENT. */
gboolean sv_agent_client_read_file_chunk(SvAgentClient *client, const char *path, guint64 offset,
					 guint32 max_len, SvAgentFileInfo *ret_info,
					 GBytes **ret_bytes, GError **error);

/* The whole of a guest file, read in chunks. A file larger than max_total
 * is refused (SV_ERROR_INVALID_ARGUMENT) before its contents are read, and
 * one that changes while it is read (size, inode or mtime) fails with
 * SV_ERROR_FAILED. *ret_contents is untouched on failure. */
gboolean sv_agent_client_read_file(SvAgentClient *client, const char *path, guint64 max_total,
				   GBytes **ret_contents, GError **error);

/* Writes data as the guest file path (one name right in
 * SV_RIMG_GUEST_DIR, made with mode), in chunks. */
gboolean sv_agent_client_write_file(SvAgentClient *client, const char *path, guint32 mode,
				    const void *data, gsize len, GError **error);

/* Sends signal sig to guest process pid. */
gboolean sv_agent_client_kill(SvAgentClient *client, guint32 pid, guint32 sig, GError **error);

/* Freezes guest process pid (the agent's cgroup v2 freezer) and returns
 * once none of its threads can run, or fails after timeout_ms with the
 * process running as before. The hold ends with sv_agent_client_thaw, or
 * when this client disconnects. */
gboolean sv_agent_client_freeze(SvAgentClient *client, guint32 pid, guint timeout_ms,
				GError **error);
/* Ends a hold: the process runs on where it was. */
gboolean sv_agent_client_thaw(SvAgentClient *client, guint32 pid, GError **error);

/* arm: clears guest process pid's soft-dirty bits and records mark for
 * it; else only asks. *ret_mark (newly allocated): the mark recorded for
 * pid now, "" if none (SV_MSG_SOFT_DIRTY). */
gboolean sv_agent_client_soft_dirty(SvAgentClient *client, guint32 pid, gboolean arm,
				    const char *mark, char **ret_mark, GError **error);

#endif
