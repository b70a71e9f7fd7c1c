/* SPDX-License-Identifier: MIT */
/*
 * linux-uapi.h - the few Linux user-ABI numbers the host reads in guest
 * kernel objects and writes into restore images (address families, socket
 * types, clock ids), the same on every arch snapvm knows. The host does
 * not take them from its own libc: the guest's kernel is the authority,
 * and the names here say so.
 */
#ifndef SNAPVM_LINUX_UAPI_H
#define SNAPVM_LINUX_UAPI_H

#define SV_LINUX_AF_UNIX 1u
#define SV_LINUX_AF_INET 2u
#define SV_LINUX_AF_INET6 10u

#define SV_LINUX_SOCK_STREAM 1u
#define SV_LINUX_SOCK_DGRAM 2u
#define SV_LINUX_SOCK_SEQPACKET 5u

#define SV_LINUX_CLOCK_REALTIME 0u
#define SV_LINUX_CLOCK_MONOTONIC 1u
#define SV_LINUX_CLOCK_BOOTTIME 7u

#endif
