/* SPDX-License-Identifier: MIT */
/*
 * fd-socket.c - a socket fd (file->private_data is its struct socket,
 * socket->sk its struct sock, include/net/sock.h). Carried: UNIX sockets
 * that are not bound to a name - a socketpair's ends (each names its peer,
 * which must be another fd of the process; restore-image-kobjects.c
 * checks) and unconnected ones - with the bytes or datagrams still unread
 * in their receive queues (struct unix_sock, net/unix/af_unix.c; a
 * stream's first message may be partly read: UNIXCB(skb).consumed).
 * Refused, naming the fd and what it is: a bound or listening UNIX socket,
 * fds in flight (SCM_RIGHTS), a TCP connection (its addresses: its peer
 * lives outside the guest), listening TCP and bound UDP sockets (by
 * address), any other family.
 *
 * Entries: SV_TASK_FD_SOCKET (family, type, this socket's identity, its
 * peer's or 0, sk_shutdown, sk_sndbuf, sk_rcvbuf) and, if anything is
 * unread, SV_TASK_FD_SOCKET_QUEUE (the messages, oldest first).
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define AF_UNIX_ 1u
#define AF_INET_ 2u
#define AF_INET6_ 10u
#define SOCK_STREAM_ 1u
#define SOCK_DGRAM_ 2u
#define SOCK_SEQPACKET_ 5u
#define TCP_ESTABLISHED_ 1u
#define TCP_LISTEN_ 10u
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
	return type == SOCK_STREAM_ ? "stream" : type == SOCK_DGRAM_ ? "datagram" : "seqpacket";
}

/* An IPv4 or IPv6 socket: what it is, with its addresses, for the refusal. */
static gboolean refuse_inet(const SvIntrospect *in, guint64 sk, guint64 family, guint64 type,
			    guint64 state, guint32 pid, guint fd, GError **error)
{
	guint64 o_daddr, o_saddr, o_dport, o_num, o_v6d, o_v6s;
	if (!sv_kernel_types_offset(in->types, "sock_common", "skc_daddr", &o_daddr, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_rcv_saddr", &o_saddr, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_dport", &o_dport, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_num", &o_num, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_v6_daddr", &o_v6d, error) ||
	    !sv_kernel_types_offset(in->types, "sock_common", "skc_v6_rcv_saddr", &o_v6s, error))
		return FALSE;
	guint8 s[16], d[16], dp[2];
	guint64 num;
	gboolean v6 = family == AF_INET6_;
	if (!sv_introspect_read(in, sk + (v6 ? o_v6s : o_saddr), s, v6 ? 16 : 4, error) ||
	    !sv_introspect_read(in, sk + (v6 ? o_v6d : o_daddr), d, v6 ? 16 : 4, error) ||
	    !sv_introspect_read(in, sk + o_dport, dp, 2, error) ||
	    !sv_introspect_read_uint(in, sk + o_num, 2, &num, error))
		return FALSE;
	g_autoptr(GInetAddress) sa = g_inet_address_new_from_bytes(s, v6 ? G_SOCKET_FAMILY_IPV6
									 : G_SOCKET_FAMILY_IPV4);
	g_autoptr(GInetAddress) da = g_inet_address_new_from_bytes(d, v6 ? G_SOCKET_FAMILY_IPV6
									 : G_SOCKET_FAMILY_IPV4);
	g_autofree char *ss = g_inet_address_to_string(sa), *ds = g_inet_address_to_string(da);
	guint dport = (guint)dp[0] << 8 | dp[1];
	const char *proto = type == SOCK_STREAM_ ? "TCP" : type == SOCK_DGRAM_ ? "UDP" : "IP";
	g_autofree char *what = NULL;
	if (type == SOCK_STREAM_ && state == TCP_ESTABLISHED_)
		what = g_strdup_printf("a TCP connection from %s%s%s:%u to %s%s%s:%u (its peer "
				       "lives outside the guest, so it cannot be restored)",
				       v6 ? "[" : "", ss, v6 ? "]" : "", (guint)num, v6 ? "[" : "",
				       ds, v6 ? "]" : "", dport);
	else if (type == SOCK_STREAM_ && state == TCP_LISTEN_)
		what = g_strdup_printf("a TCP socket listening on %s%s%s:%u (not carried yet)",
				       v6 ? "[" : "", ss, v6 ? "]" : "", (guint)num);
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
		    (type == SOCK_STREAM_ &&
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
	if (family == AF_INET_ || family == AF_INET6_)
		return refuse_inet(in, sk, family, type, state, pid, fd, error);
	if (family != AF_UNIX_) {
		g_autofree char *what = g_strdup_printf("a socket of address family %u (only "
							"UNIX sockets are carried)",
							(guint)family);
		return refuse(error, pid, fd, what);
	}
	if (type != SOCK_STREAM_ && type != SOCK_DGRAM_ && type != SOCK_SEQPACKET_) {
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
	GVariant *q = unix_queue(in, &l, sk, type, pid, fd, error);
	if (!q)
		return FALSE;
	if (g_variant_n_children(q))
		g_variant_dict_insert_value(d, SV_TASK_FD_SOCKET_QUEUE, q);
	else
		g_variant_unref(g_variant_ref_sink(q));
	return TRUE;
}
