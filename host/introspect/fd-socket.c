/* SPDX-License-Identifier: MIT */
/*
 * fd-socket.c - a socket fd (file->private_data is its struct socket,
 * socket->sk its struct sock, include/net/sock.h). Carried: UNIX sockets
 * that are not bound to a name - a socketpair's ends (each names its peer,
 * which must be another fd of the process; restore-image-kobjects.c
 * checks) and unconnected ones - with the bytes or datagrams still unread
 * in their receive queues (struct unix_sock, net/unix/af_unix.c; a
 * stream's first message may be partly read: UNIXCB(skb).consumed).
 * IPv4 and IPv6 sockets that need no peer: a listening TCP socket with no
 * connection waiting, a TCP socket not yet connected, an unconnected UDP
 * socket with nothing unread - bound again at restore (SV_TASK_FD_INET).
 * Refused, naming the fd and what it is: a bound or listening UNIX socket,
 * fds in flight (SCM_RIGHTS), a TCP connection (its addresses: its peer
 * lives outside the guest) or one closed since it was connected, a
 * connected UDP socket, an ICMP "ping" socket, any other family.
 *
 * Entries: SV_TASK_FD_SOCKET (family, type, this socket's identity, its
 * peer's or 0, sk_shutdown, sk_sndbuf, sk_rcvbuf) and, if anything is
 * unread, SV_TASK_FD_SOCKET_QUEUE (the messages, oldest first); for UNIX
 * and IP sockets alike SV_TASK_FD_SOCKET_BUFS (the buffer sizes and their
 * locks, which SO_SNDBUF/SO_RCVBUF and SO_BUF_LOCK set).
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/linux-uapi.h"
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define TCP_ESTABLISHED_ 1u
#define TCP_LISTEN_ 10u
#define TCP_CLOSE_ 7u
#define MAX_QUEUE 4096u
#define MAX_QUEUE_BYTES (16u << 20)

typedef struct {
	guint64 sock_sk, family, state, type, shutdown, sndbuf, rcvbuf, rqueue;
	guint64 u_addr, u_peer, skb_next, skb_len, skb_data_len, skb_data, skb_cb, cb_fp,
		cb_consumed;
} SockLayout;

static gboolean refuse(GError **error, guint32 pid, guint fd, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is %s; snapvm cannot checkpoint it", pid, fd, what);
	return FALSE;
}

static const char *type_name(guint64 type)
{
	return type == SV_LINUX_SOCK_STREAM  ? "stream"
	       : type == SV_LINUX_SOCK_DGRAM ? "datagram"
					     : "seqpacket";
}

/* One of struct inet_sock's flags: 6.1 keeps each as a bitfield of its
 * own (field), later kernels as bit enum_name of its `inet_flags`
 * (include/net/inet_sock.h).
 * - IP_FREEBIND (or IPV6_FREEBIND, the same flag): a socket bound with it
 *   may hold an address no interface has, so restore sets it before the
 *   bind.
 * - IP_TRANSPARENT (or IPV6_TRANSPARENT, the same flag): the socket may
 *   bind to and send from any address and take packets a TPROXY rule
 *   steers to it; restore sets it before the bind too. */
static gboolean read_inet_flag(const SvIntrospect *in, guint64 sk, const char *field,
			       const char *enum_name, gboolean *ret_on, GError **error)
{
	guint64 bit, word;
	guint32 width;
	if (sv_kernel_types_bitfield(in->types, "inet_sock", field, &bit, &width, NULL)) {
		if (!sv_introspect_read_uint(in, sk + bit / 8, 1, &word, error))
			return FALSE;
		*ret_on = (word >> (bit % 8) & 1) != 0;
		return TRUE;
	}
	guint64 o_flags;
	gint64 nr;
	if (!sv_kernel_types_offset(in->types, "inet_sock", "inet_flags", &o_flags, error) ||
	    !sv_kernel_types_enum_value(in->types, NULL, enum_name, &nr, error))
		return FALSE;
	if (nr < 0 || nr > 63) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest kernel's %s is bit %lld", enum_name, (long long)nr);
		return FALSE;
	}
	if (!sv_introspect_read_uint(in, sk + o_flags, 8, &word, error))
		return FALSE;
	*ret_on = (word >> nr & 1) != 0;
	return TRUE;
}

/* SV_TASK_FD_SOCKET_BUFS: sk_sndbuf, sk_rcvbuf and sk_userlocks'
 * SOCK_SNDBUF_LOCK (1) and SOCK_RCVBUF_LOCK (2), which setsockopt(SO_SNDBUF
 * / SO_RCVBUF) sets and SO_BUF_LOCK (Linux 5.14) sets or clears; a locked
 * size is one the kernel no longer tunes. sk_userlocks is a 4-bit
 * bitfield in 6.1, a u8 of its own in later kernels. Restore makes them
 * again and checks they read back the same (restore-sockbuf.c). */
static gboolean add_bufs(const SvIntrospect *in, guint64 sk, GVariantDict *d, GError **error)
{
	guint64 o_snd, o_rcv, bit, word, sndbuf, rcvbuf;
	guint32 width = 8;
	if (!sv_kernel_types_offset(in->types, "sock", "sk_sndbuf", &o_snd, error) ||
	    !sv_kernel_types_offset(in->types, "sock", "sk_rcvbuf", &o_rcv, error))
		return FALSE;
	if (!sv_kernel_types_bitfield(in->types, "sock", "sk_userlocks", &bit, &width, NULL)) {
		if (!sv_kernel_types_offset(in->types, "sock", "sk_userlocks", &bit, error))
			return FALSE;
		bit *= 8;
	}
	if (!sv_introspect_read_uint(in, sk + bit / 8, 1, &word, error) ||
	    !sv_introspect_read_uint(in, sk + o_snd, 4, &sndbuf, error) ||
	    !sv_introspect_read_uint(in, sk + o_rcv, 4, &rcvbuf, error))
		return FALSE;
	g_variant_dict_insert(d, SV_TASK_FD_SOCKET_BUFS, SV_TASK_FD_SOCKET_BUFS_TYPE,
			      (guint32)sndbuf, (guint32)rcvbuf, (guint32)(word >> (bit % 8)) & 3u);
	return TRUE;
}

#define IPPROTO_ICMP_ 1u
#define IPPROTO_ICMPV6_ 58u

/* What makes an IPv4/IPv6 socket in a state carry_inet takes come back
 * otherwise, found by zdtm: *ret_what says what (NULL: nothing). An ICMP
 * echo ("ping") socket is made again as UDP (socket_icmp: sends fail with
 * EINVAL); a TCP socket in CLOSE that was connected (its peer gone or
 * reset: sk_shutdown set, or a peer port kept) comes back never connected,
 * so a read says ENOTCONN, not what it said (socket-tcp-close2). */
static gboolean refused_inet(const SvIntrospect *in, guint64 sk, guint64 type, guint64 state,
			     const char *ends, char **ret_what, GError **error)
{
	guint64 o_proto, o_shutdown, o_dport, proto, shutdown, dport;
	const SvMemberOffset want[] = {
		{ "sock", "sk_protocol", &o_proto },
		{ "sock", "sk_shutdown", &o_shutdown },
		{ "sock_common", "skc_dport", &o_dport },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_introspect_read_uint(in, sk + o_proto, 2, &proto, error) ||
	    !sv_introspect_read_uint(in, sk + o_shutdown, 1, &shutdown, error) ||
	    !sv_introspect_read_uint(in, sk + o_dport, 2, &dport, error))
		return FALSE;
	*ret_what = NULL;
	if (type == SV_LINUX_SOCK_DGRAM && (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_))
		*ret_what = g_strdup_printf("an ICMP%s echo (\"ping\") socket, which restore does "
					    "not make again (close it before checkpointing)",
					    proto == IPPROTO_ICMPV6_ ? "v6" : "");
	else if (type == SV_LINUX_SOCK_STREAM && state == TCP_CLOSE_ && (shutdown || dport))
		*ret_what = g_strdup_printf(
			"a TCP socket whose connection %s is closed (state CLOSE, shutdown %u): "
			"restore would make it never connected, so reads would say ENOTCONN; "
			"close it before checkpointing",
			ends, (guint)(shutdown & 3));
	return TRUE;
}

/* A listening TCP socket with nothing waiting to be accepted, a TCP
 * socket not yet connected, an unconnected UDP socket with nothing
 * unread: carried (SV_TASK_FD_INET), TRUE. Otherwise FALSE, with *ret_what
 * saying why when it is a refusal of its own, or an error. */
static gboolean carry_inet(const SvIntrospect *in, guint64 sk, guint64 family, guint64 type,
			   guint64 state, guint alen, const guint8 *addr, guint32 port,
			   const char *ends, GVariantDict *d, char **ret_what, GError **error)
{
	if (!(type == SV_LINUX_SOCK_STREAM && (state == TCP_LISTEN_ || state == TCP_CLOSE_)) &&
	    !(type == SV_LINUX_SOCK_DGRAM && state == TCP_CLOSE_))
		return FALSE;
	if (!refused_inet(in, sk, type, state, ends, ret_what, error) || *ret_what)
		return FALSE;
	guint64 o_backlog, o_acks, o_qlen, o_rq, b_reuse, b_reuseport, b_v6only;
	guint32 w_reuse, w_reuseport, w_v6only;
	if (!sv_kernel_types_offset(in->types, "sock", "sk_max_ack_backlog", &o_backlog, error) ||
	    !sv_kernel_types_offset(in->types, "sock", "sk_ack_backlog", &o_acks, error) ||
	    !sv_kernel_types_offset(in->types, "sock", "sk_receive_queue", &o_rq, error) ||
	    !sv_kernel_types_offset(in->types, "sk_buff_head", "qlen", &o_qlen, error) ||
	    !sv_kernel_types_bitfield(in->types, "sock_common", "skc_reuse", &b_reuse, &w_reuse,
				      error) ||
	    !sv_kernel_types_bitfield(in->types, "sock_common", "skc_reuseport", &b_reuseport,
				      &w_reuseport, error) ||
	    !sv_kernel_types_bitfield(in->types, "sock_common", "skc_ipv6only", &b_v6only,
				      &w_v6only, error))
		return FALSE;
	guint64 backlog, acks, qlen, reuse, reuseport, v6only;
	if (!sv_introspect_read_uint(in, sk + o_backlog, 4, &backlog, error) ||
	    !sv_introspect_read_uint(in, sk + o_acks, 4, &acks, error) ||
	    !sv_introspect_read_uint(in, sk + o_rq + o_qlen, 4, &qlen, error) ||
	    !sv_introspect_read_uint(in, sk + b_reuse / 8, 4, &reuse, error) ||
	    !sv_introspect_read_uint(in, sk + b_reuseport / 8, 4, &reuseport, error) ||
	    !sv_introspect_read_uint(in, sk + b_v6only / 8, 4, &v6only, error))
		return FALSE;
	reuse = reuse >> (b_reuse % 8) & ((1u << w_reuse) - 1);
	reuseport = reuseport >> (b_reuseport % 8) & ((1u << w_reuseport) - 1);
	v6only = v6only >> (b_v6only % 8) & ((1u << w_v6only) - 1);
	if (state == TCP_LISTEN_ && acks) {
		*ret_what = g_strdup_printf("a listening TCP socket with %u connections waiting to "
					    "be accepted (their peers live outside the guest)",
					    (guint)acks);
		return FALSE;
	}
	if (type == SV_LINUX_SOCK_DGRAM && qlen) {
		*ret_what = g_strdup_printf("a UDP socket with %u datagrams unread (sent from "
					    "outside the process)",
					    (guint)qlen);
		return FALSE;
	}
	gboolean freebind = FALSE, transparent = FALSE, local = TRUE;
	if (!read_inet_flag(in, sk, "freebind", "INET_FLAGS_FREEBIND", &freebind, error) ||
	    !read_inet_flag(in, sk, "transparent", "INET_FLAGS_TRANSPARENT", &transparent, error) ||
	    !add_bufs(in, sk, d, error) ||
	    (!freebind && !sv_introspect_inet_addr_local(in, sk, family == SV_LINUX_AF_INET6, addr,
							 &local, error)))
		return FALSE;
	guint32 flags = (reuse ? SV_TASK_INET_REUSEADDR : 0) |
			(freebind ? SV_TASK_INET_FREEBIND : 0) |
			(transparent ? SV_TASK_INET_TRANSPARENT : 0) |
			(local ? 0 : SV_TASK_INET_NONLOCAL) |
			(reuseport ? SV_TASK_INET_REUSEPORT : 0) |
			(v6only ? SV_TASK_INET_V6ONLY : 0) |
			(state == TCP_LISTEN_ ? SV_TASK_INET_LISTEN : 0);
	g_variant_dict_insert(d, SV_TASK_FD_KIND, "s", SV_TASK_FD_KIND_INET);
	g_variant_dict_insert(d, SV_TASK_FD_INET, "(uu@ayuuu)", (guint32)family, (guint32)type,
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, addr, alen, 1), port,
			      (guint32)backlog, flags);
	return TRUE;
}

/* An IPv4 or IPv6 socket: carried if carry_inet can, else what it is, with
 * its addresses, for the refusal. */
static gboolean inet(const SvIntrospect *in, guint64 sk, guint64 family, guint64 type,
		     guint64 state, guint32 pid, guint fd, GVariantDict *d, GError **error)
{
	guint64 o_daddr, o_saddr, o_dport, o_num, o_v6d, o_v6s;
	if (!sv_kernel_types_offset(in->types, "sock_common", "skc_daddr", &o_daddr, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_rcv_saddr", &o_saddr, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_dport", &o_dport, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_num", &o_num, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_v6_daddr", &o_v6d, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_v6_rcv_saddr", &o_v6s, error))
		return FALSE;
	guint8 s[16], da_bytes[16], dp[2];
	guint64 num;
	gboolean v6 = family == SV_LINUX_AF_INET6;
	if (!sv_introspect_read(in, sk + (v6 ? o_v6s : o_saddr), s, v6 ? 16 : 4, error) ||
	    !sv_introspect_read(in, sk + (v6 ? o_v6d : o_daddr), da_bytes, v6 ? 16 : 4, error) ||
	    !sv_introspect_read(in, sk + o_dport, dp, 2, error) ||
	    !sv_introspect_read_uint(in, sk + o_num, 2, &num, error))
		return FALSE;
	g_autoptr(GInetAddress) sa = g_inet_address_new_from_bytes(s, v6 ? G_SOCKET_FAMILY_IPV6
									 : G_SOCKET_FAMILY_IPV4);
	g_autoptr(GInetAddress)
		da = g_inet_address_new_from_bytes(da_bytes, v6 ? G_SOCKET_FAMILY_IPV6
								: G_SOCKET_FAMILY_IPV4);
	g_autofree char *ss = g_inet_address_to_string(sa), *ds = g_inet_address_to_string(da);
	guint dport = (guint)dp[0] << 8 | dp[1];
	const char *proto = type == SV_LINUX_SOCK_STREAM  ? "TCP"
			    : type == SV_LINUX_SOCK_DGRAM ? "UDP"
							  : "IP";
	g_autofree char *what = NULL;
	g_autofree char *ends = g_strdup_printf("from %s%s%s:%u to %s%s%s:%u", v6 ? "[" : "", ss,
						v6 ? "]" : "", (guint)num, v6 ? "[" : "", ds,
						v6 ? "]" : "", dport);
	if (carry_inet(in, sk, family, type, state, v6 ? 16 : 4, s, (guint32)num, ends, d, &what,
		       error))
		return TRUE;
	if (!what && error && *error)
		return FALSE;
	if (what)
		return refuse(error, pid, fd, what);
	if (type == SV_LINUX_SOCK_STREAM && state == TCP_ESTABLISHED_)
		what = g_strdup_printf("a TCP connection %s (its peer lives outside the guest, "
				       "so it cannot be restored)",
				       ends);
	else
		what = g_strdup_printf("an %s %s socket on %s%s%s:%u (state %u; not carried yet)",
				       v6 ? "IPv6" : "IPv4", proto, v6 ? "[" : "", ss,
				       v6 ? "]" : "", (guint)num, (guint)state);
	return refuse(error, pid, fd, what);
}

/* The unread messages of a UNIX socket's receive queue. */
static GVariant *unix_queue(const SvIntrospect *in, const SockLayout *l, guint64 sk, guint64 type,
			    guint32 pid, guint fd, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("aay"));
	guint64 head = sk + l->rqueue, skb, total = 0;
	if (!sv_introspect_read_uint(in, head + l->skb_next, 8, &skb, error))
		return NULL;
	for (guint n = 0; skb != head; n++) {
		guint64 len, data_len, data, fp, consumed = 0;
		if (n >= MAX_QUEUE) {
			refuse(error, pid, fd, "a UNIX socket with over 4096 unread messages");
			return NULL;
		}
		if (!sv_introspect_read_uint(in, skb + l->skb_len, 4, &len, error) ||
		    !sv_introspect_read_uint(in, skb + l->skb_data_len, 4, &data_len, error) ||
		    !sv_introspect_read_uint(in, skb + l->skb_data, 8, &data, error) ||
		    !sv_introspect_read_uint(in, skb + l->skb_cb + l->cb_fp, 8, &fp, error) ||
		    (type == SV_LINUX_SOCK_STREAM &&
		     !sv_introspect_read_uint(in, skb + l->skb_cb + l->cb_consumed, 4, &consumed,
					      error)))
			return NULL;
		if (fp) {
			refuse(error, pid, fd,
			       "a UNIX socket with fds in flight (SCM_RIGHTS) unread in it");
			return NULL;
		}
		if (data_len) {
			refuse(error, pid, fd,
			       "a UNIX socket with an unread message larger than a page "
			       "(kept in page fragments, which are not read yet)");
			return NULL;
		}
		if (consumed > len || len > 65536 || (total += len) > MAX_QUEUE_BYTES) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: fd %u: a UNIX socket's queue is out of bounds",
				    pid, fd);
			return NULL;
		}
		g_autofree guint8 *bytes = g_malloc(len - consumed + 1);
		if (!sv_introspect_read(in, data + consumed, bytes, len - consumed, error))
			return NULL;
		g_variant_builder_add_value(&b,
					    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bytes,
								      len - consumed, 1));
		if (!sv_introspect_read_uint(in, skb + l->skb_next, 8, &skb, error))
			return NULL;
	}
	return g_variant_builder_end(&b);
}

/* enum sock_flags (include/net/sock.h): what setsockopt sets there */
#define SOCK_URGINLINE_ 2
#define SOCK_KEEPOPEN_ 3
#define SOCK_LINGER_ 4
#define SOCK_BROADCAST_ 6

/* Socket options restore does not set again (zdtm's sock_opts00,
 * socket-linger, sock_filter00, sock_opts01 found them lost without a
 * word): refused, naming the fd and the option. */
static gboolean uncarried_options(const SvIntrospect *in, guint64 sk, guint32 pid, guint fd,
				  GError **error)
{
	guint64 o_filter, o_prio, o_mark, o_dev, o_flags, filter, prio, mark, dev, flags;
	const SvMemberOffset want[] = {
		{ "sock", "sk_filter", &o_filter },
		{ "sock", "sk_priority", &o_prio },
		{ "sock", "sk_mark", &o_mark },
		{ "sock_common", "skc_bound_dev_if", &o_dev },
		{ "sock_common", "skc_flags", &o_flags },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_introspect_read_uint(in, sk + o_filter, 8, &filter, error) ||
	    !sv_introspect_read_uint(in, sk + o_prio, 4, &prio, error) ||
	    !sv_introspect_read_uint(in, sk + o_mark, 4, &mark, error) ||
	    !sv_introspect_read_uint(in, sk + o_dev, 4, &dev, error) ||
	    !sv_introspect_read_uint(in, sk + o_flags, 8, &flags, error))
		return FALSE;
	static const struct {
		guint bit;
		const char *name;
	} flag_opts[] = {
		{ SOCK_LINGER_, "SO_LINGER" },
		{ SOCK_KEEPOPEN_, "SO_KEEPALIVE" },
		{ SOCK_BROADCAST_, "SO_BROADCAST" },
		{ SOCK_URGINLINE_, "SO_OOBINLINE" },
	};
	const char *opt = filter ? "a socket filter (SO_ATTACH_FILTER or SO_ATTACH_BPF)"
			  : prio ? "SO_PRIORITY"
			  : mark ? "SO_MARK"
			  : dev	 ? "a device it is bound to (SO_BINDTODEVICE)"
				 : NULL;
	for (guint i = 0; !opt && i < G_N_ELEMENTS(flag_opts); i++)
		if (flags & (1ull << flag_opts[i].bit))
			opt = flag_opts[i].name;
	if (!opt)
		return TRUE;
	g_autofree char *what =
		g_strdup_printf("a socket with %s set, which restore does not set again", opt);
	return refuse(error, pid, fd, what);
}

#define IPPROTO_TCP_ 6u

/* TCP options restore does not set again (zdtm's sock_tcp_opts00 lost
 * TCP_CORK and TCP_NODELAY without a word): refused, naming the fd and the
 * option. Each is 0 until the process sets it (struct tcp_sock,
 * include/linux/tcp.h; nonagle holds TCP_NAGLE_OFF 1, TCP_NAGLE_CORK 2,
 * TCP_NAGLE_PUSH 4). */
static gboolean uncarried_tcp_options(const SvIntrospect *in, guint64 sk, guint32 pid, guint fd,
				      GError **error)
{
	guint64 o_proto, o_idle, o_intvl, o_probes, o_mss, o_user_to, b_nagle;
	guint32 w_nagle;
	const SvMemberOffset want[] = {
		{ "sock", "sk_protocol", &o_proto },
		{ "tcp_sock", "keepalive_time", &o_idle },
		{ "tcp_sock", "keepalive_intvl", &o_intvl },
		{ "tcp_sock", "keepalive_probes", &o_probes },
		{ "tcp_sock", "rx_opt.user_mss", &o_mss },
		{ "inet_connection_sock", "icsk_user_timeout", &o_user_to },
	};
	guint64 proto, nagle, idle, intvl, probes, mss, user_to;
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_kernel_types_bitfield(in->types, "tcp_sock", "nonagle", &b_nagle, &w_nagle,
				      error) ||
	    !sv_introspect_read_uint(in, sk + o_proto, 2, &proto, error))
		return FALSE;
	if (proto != IPPROTO_TCP_)
		return TRUE;
	if (!sv_introspect_read_uint(in, sk + b_nagle / 8, 1, &nagle, error) ||
	    !sv_introspect_read_uint(in, sk + o_idle, 4, &idle, error) ||
	    !sv_introspect_read_uint(in, sk + o_intvl, 4, &intvl, error) ||
	    !sv_introspect_read_uint(in, sk + o_probes, 1, &probes, error) ||
	    !sv_introspect_read_uint(in, sk + o_mss, 2, &mss, error) ||
	    !sv_introspect_read_uint(in, sk + o_user_to, 4, &user_to, error))
		return FALSE;
	nagle = nagle >> (b_nagle % 8) & ((1u << w_nagle) - 1);
	const char *opt = (nagle & 2) ? "TCP_CORK"
			  : nagle     ? "TCP_NODELAY"
			  : idle      ? "TCP_KEEPIDLE"
			  : intvl     ? "TCP_KEEPINTVL"
			  : probes    ? "TCP_KEEPCNT"
			  : mss	      ? "TCP_MAXSEG"
			  : user_to   ? "TCP_USER_TIMEOUT"
				      : NULL;
	if (!opt)
		return TRUE;
	g_autofree char *what =
		g_strdup_printf("a TCP socket with %s set, which restore does not set again", opt);
	return refuse(error, pid, fd, what);
}

gboolean sv_introspect_fd_socket(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
				 GVariantDict *d, GError **error)
{
	SockLayout l;
	guint64 priv_off;
	const SvMemberOffset want[] = {
		{ "socket", "sk", &l.sock_sk },
		{ "sock_common", "skc_family", &l.family },
		{ "sock_common", "skc_state", &l.state },
		{ "sock", "sk_type", &l.type },
		{ "sock", "sk_shutdown", &l.shutdown },
		{ "sock", "sk_sndbuf", &l.sndbuf },
		{ "sock", "sk_rcvbuf", &l.rcvbuf },
		{ "sock", "sk_receive_queue", &l.rqueue },
		{ "unix_sock", "addr", &l.u_addr },
		{ "unix_sock", "peer", &l.u_peer },
		{ "sk_buff", "next", &l.skb_next },
		{ "sk_buff", "len", &l.skb_len },
		{ "sk_buff", "data_len", &l.skb_data_len },
		{ "sk_buff", "data", &l.skb_data },
		{ "sk_buff", "cb", &l.skb_cb },
		{ "unix_skb_parms", "fp", &l.cb_fp },
		{ "unix_skb_parms", "consumed", &l.cb_consumed },
		{ "file", "private_data", &priv_off },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	guint64 sock, sk, family, state, type;
	if (!sv_introspect_read_uint(in, file + priv_off, 8, &sock, error) ||
	    !sv_introspect_read_uint(in, sock + l.sock_sk, 8, &sk, error))
		return FALSE;
	if (!sk)
		return refuse(error, pid, fd, "a socket without a sock (being torn down)");
	if (!sv_introspect_read_uint(in, sk + l.family, 2, &family, error) ||
	    !sv_introspect_read_uint(in, sk + l.state, 1, &state, error) ||
	    !sv_introspect_read_uint(in, sk + l.type, 2, &type, error))
		return FALSE;
	if (!uncarried_options(in, sk, pid, fd, error))
		return FALSE;
	if ((family == SV_LINUX_AF_INET || family == SV_LINUX_AF_INET6) &&
	    type == SV_LINUX_SOCK_STREAM && !uncarried_tcp_options(in, sk, pid, fd, error))
		return FALSE;
	if (family == SV_LINUX_AF_INET || family == SV_LINUX_AF_INET6)
		return inet(in, sk, family, type, state, pid, fd, d, error);
	if (family != SV_LINUX_AF_UNIX) {
		g_autofree char *what = g_strdup_printf("a socket of address family %u (only "
							"UNIX sockets are carried)",
							(guint)family);
		return refuse(error, pid, fd, what);
	}
	if (type != SV_LINUX_SOCK_STREAM && type != SV_LINUX_SOCK_DGRAM &&
	    type != SV_LINUX_SOCK_SEQPACKET) {
		g_autofree char *what = g_strdup_printf("a UNIX socket of type %u", (guint)type);
		return refuse(error, pid, fd, what);
	}
	guint64 addr, peer, shutdown, sndbuf, rcvbuf;
	if (!sv_introspect_read_uint(in, sk + l.u_addr, 8, &addr, error) ||
	    !sv_introspect_read_uint(in, sk + l.u_peer, 8, &peer, error) ||
	    !sv_introspect_read_uint(in, sk + l.shutdown, 1, &shutdown, error) ||
	    !sv_introspect_read_uint(in, sk + l.sndbuf, 4, &sndbuf, error) ||
	    !sv_introspect_read_uint(in, sk + l.rcvbuf, 4, &rcvbuf, error))
		return FALSE;
	if (addr) {
		g_autofree char *what = g_strdup_printf(
			"a UNIX %s socket bound to a name%s (bound and listening UNIX sockets are "
			"not carried yet)",
			type_name(type), state == TCP_LISTEN_ ? ", listening" : "");
		return refuse(error, pid, fd, what);
	}
	g_variant_dict_insert(d, SV_TASK_FD_SOCKET, SV_TASK_FD_SOCKET_TYPE, (guint32)family,
			      (guint32)type, sk, peer, (guint32)(shutdown & 3), (guint32)sndbuf,
			      (guint32)rcvbuf);
	if (!add_bufs(in, sk, d, error))
		return FALSE;
	GVariant *q = unix_queue(in, &l, sk, type, pid, fd, error);
	if (!q)
		return FALSE;
	if (g_variant_n_children(q))
		g_variant_dict_insert_value(d, SV_TASK_FD_SOCKET_QUEUE, q);
	else
		g_variant_unref(g_variant_ref_sink(q));
	return TRUE;
}
