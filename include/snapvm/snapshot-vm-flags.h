/* SPDX-License-Identifier: MIT */
/*
 * snapshot-vm-flags.h - the kernel's vm_flags bits (include/linux/mm.h,
 * Linux 6.1; the same on every arch snapvm knows) as a snapshot's VMAS
 * section keeps them: the checkpoint stores vm_flags raw, so these bits
 * are part of the format. Named once here for the checkpoint (what it
 * refuses) and the restore image (what it re-applies).
 */
#ifndef SNAPVM_SNAPSHOT_VM_FLAGS_H
#define SNAPVM_SNAPSHOT_VM_FLAGS_H

#define SV_VM_SHARED 0x00000008ull
#define SV_VM_MAYSHARE \
	0x00000080ull /* MAP_SHARED even where the kernel dropped VM_SHARED (read-only) */
#define SV_VM_GROWSDOWN 0x00000100ull
#define SV_VM_UFFD_MISSING 0x00000200ull /* registered with userfaultfd */
#define SV_VM_PFNMAP 0x00000400ull
#define SV_VM_UFFD_WP 0x00001000ull
#define SV_VM_LOCKED 0x00002000ull /* mlock */
#define SV_VM_IO 0x00004000ull
#define SV_VM_SEQ_READ 0x00008000ull	/* MADV_SEQUENTIAL */
#define SV_VM_RAND_READ 0x00010000ull	/* MADV_RANDOM */
#define SV_VM_DONTCOPY 0x00020000ull	/* MADV_DONTFORK */
#define SV_VM_DONTEXPAND 0x00040000ull	/* drivers' and the kernel's own mappings */
#define SV_VM_LOCKONFAULT 0x00080000ull /* mlock2(MLOCK_ONFAULT) */
#define SV_VM_NORESERVE 0x00200000ull
#define SV_VM_HUGETLB 0x00400000ull
#define SV_VM_SYNC 0x00800000ull       /* MAP_SYNC (DAX) */
#define SV_VM_WIPEONFORK 0x02000000ull /* MADV_WIPEONFORK */
#define SV_VM_DONTDUMP 0x04000000ull   /* MADV_DONTDUMP */
#define SV_VM_MIXEDMAP 0x10000000ull
#define SV_VM_HUGEPAGE 0x20000000ull   /* MADV_HUGEPAGE */
#define SV_VM_NOHUGEPAGE 0x40000000ull /* MADV_NOHUGEPAGE */
#define SV_VM_MERGEABLE 0x80000000ull  /* MADV_MERGEABLE (KSM) */

#endif
