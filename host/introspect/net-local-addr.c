/* SPDX-License-Identifier: MIT */
/*
 * net-local-addr.c - whether a socket's bound address is one its network
 * namespace lets any socket bind to, as the kernel's bind checks it
 * (inet_addr_valid_or_nonlocal, net/ipv4/af_inet.c; ipv6_chk_addr,
 * net/ipv6/addrconf.c): an interface's own address, any address of a
 * loopback interface's prefix (127.0.0.0/8), a broadcast or multicast
 * one. Walked from the socket's struct net (sock_common.skc_net): its
 * devices (dev_base_head), their IPv4 addresses (in_device.ifa_list) and
 * IPv6 ones (inet6_dev.addr_list). An address outside that set was bound
 * with IP_FREEBIND, IP_TRANSPARENT or ip_nonlocal_bind: restore binds it
 * the same way (SV_TASK_INET_NONLOCAL), and an address inside it plainly,
 * so a guest that lacks it stops the restore, naming it.
 */
#include <string.h>

#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_DEVICES 4096u
#define MAX_ADDRS 4096u
#define IFF_LOOPBACK_ 0x8u

typedef struct {
	guint64 net, dev_base, dev_list, dev_flags, ip_ptr, ip6_ptr, ifa_list, ifa_next, ifa_local,
		ifa_mask, ifa_broadcast, addr_list, if_list, v6_addr;
} NetLayout;

/* Is the IPv4 address a (network order) one of the in_device at idev's? */
static gboolean v4_in_device(const SvIntrospect *in, const NetLayout *l, guint64 idev,
			     gboolean loopback, const guint8 a[4], gboolean *ret_local,
			     GError **error)
{
	guint64 ifa;
	if (!sv_introspect_read_uint(in, idev + l->ifa_list, 8, &ifa, error))
		return FALSE;
	for (guint n = 0; ifa; n++) {
		guint8 local[4], mask[4], bcast[4];
		if (n >= MAX_ADDRS) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "an interface of the guest has over %u IPv4 addresses",
				    MAX_ADDRS);
			return FALSE;
		}
		if (!sv_introspect_read(in, ifa + l->ifa_local, local, 4, error) ||
		    !sv_introspect_read(in, ifa + l->ifa_mask, mask, 4, error) ||
		    !sv_introspect_read(in, ifa + l->ifa_broadcast, bcast, 4, error))
			return FALSE;
		gboolean same_net = TRUE, all_ones_host = TRUE, all_zero_host = TRUE;
		for (guint i = 0; i < 4; i++) {
			same_net &= ((a[i] ^ local[i]) & mask[i]) == 0;
			all_ones_host &= (a[i] | mask[i]) == 0xff;
			all_zero_host &= (a[i] & (guint8)~mask[i]) == 0;
		}
		/* its own address, its broadcast address; on loopback every
		 * address of its prefix; the prefix's network and broadcast
		 * addresses, which the kernel routes as broadcast */
		if (!memcmp(a, local, 4) || (!memcmp(a, bcast, 4) && memcmp(bcast, "\0\0\0", 4)) ||
		    (same_net && (loopback || all_ones_host || all_zero_host))) {
			*ret_local = TRUE;
			return TRUE;
		}
		if (!sv_introspect_read_uint(in, ifa + l->ifa_next, 8, &ifa, error))
			return FALSE;
	}
	return TRUE;
}

/* Is the IPv6 address a one of the inet6_dev at idev's? */
static gboolean v6_in_device(const SvIntrospect *in, const NetLayout *l, guint64 idev,
			     const guint8 a[16], gboolean *ret_local, GError **error)
{
	guint64 head = idev + l->addr_list, node;
	if (!sv_introspect_read_uint(in, head, 8, &node, error))
		return FALSE;
	for (guint n = 0; node != head; n++) {
		guint8 addr[16];
		if (n >= MAX_ADDRS || !node) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "an interface of the guest has a broken IPv6 address list");
			return FALSE;
		}
		if (!sv_introspect_read(in, node - l->if_list + l->v6_addr, addr, 16, error))
			return FALSE;
		if (!memcmp(addr, a, 16)) {
			*ret_local = TRUE;
			return TRUE;
		}
		if (!sv_introspect_read_uint(in, node, 8, &node, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_introspect_inet_addr_local(const SvIntrospect *in, guint64 sk, gboolean v6,
				       const guint8 *addr, gboolean *ret_local, GError **error)
{
	NetLayout l;
	const SvMemberOffset want[] = {
		{ "sock_common", "skc_net", &l.net },
		{ "net", "dev_base_head", &l.dev_base },
		{ "net_device", "dev_list", &l.dev_list },
		{ "net_device", "flags", &l.dev_flags },
		{ "net_device", "ip_ptr", &l.ip_ptr },
		{ "net_device", "ip6_ptr", &l.ip6_ptr },
		{ "in_device", "ifa_list", &l.ifa_list },
		{ "in_ifaddr", "ifa_next", &l.ifa_next },
		{ "in_ifaddr", "ifa_local", &l.ifa_local },
		{ "in_ifaddr", "ifa_mask", &l.ifa_mask },
		{ "in_ifaddr", "ifa_broadcast", &l.ifa_broadcast },
		{ "inet6_dev", "addr_list", &l.addr_list },
		{ "inet6_ifaddr", "if_list", &l.if_list },
		{ "inet6_ifaddr", "addr", &l.v6_addr },
	};
	static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	*ret_local = FALSE;
	/* an IPv4-mapped address on an IPv6 socket is checked as IPv4 */
	if (v6 && !memcmp(addr, v4_mapped, 12)) {
		addr += 12;
		v6 = FALSE;
	}
	guint alen = v6 ? 16 : 4;
	static const guint8 zero[16] = { 0 };
	/* the wildcard (unbound), multicast and the limited broadcast */
	if (!memcmp(addr, zero, alen) || (v6 && addr[0] == 0xff) ||
	    (!v6 && ((addr[0] & 0xf0) == 0xe0 || !memcmp(addr, "\xff\xff\xff\xff", 4)))) {
		*ret_local = TRUE;
		return TRUE;
	}
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	guint64 net, head, node;
	if (!sv_introspect_read_uint(in, sk + l.net, 8, &net, error))
		return FALSE;
	head = net + l.dev_base;
	if (!sv_introspect_read_uint(in, head, 8, &node, error))
		return FALSE;
	for (guint n = 0; node != head && !*ret_local; n++) {
		if (n >= MAX_DEVICES || !node) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the guest's list of network devices is broken");
			return FALSE;
		}
		guint64 dev = node - l.dev_list, flags, idev;
		if (!sv_introspect_read_uint(in, dev + l.dev_flags, 4, &flags, error) ||
		    !sv_introspect_read_uint(in, dev + (v6 ? l.ip6_ptr : l.ip_ptr), 8, &idev,
					     error))
			return FALSE;
		if (idev && !(v6 ? v6_in_device(in, &l, idev, addr, ret_local, error)
				 : v4_in_device(in, &l, idev, (flags & IFF_LOOPBACK_) != 0, addr,
						ret_local, error)))
			return FALSE;
		if (!sv_introspect_read_uint(in, node, 8, &node, error))
			return FALSE;
	}
	return TRUE;
}
