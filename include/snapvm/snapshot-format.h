/* SPDX-License-Identifier: MIT */
/*
 * snapshot-format.h - the on-disk layout of a snapvm snapshot.
 *
 * One self-contained file, readable on any host whatever its byte order
 * (every integer is little-endian). Written front to back in one pass; the
 * index that finds everything comes last, so the writer can stream pages
 * without knowing in advance how many there are.
 *
 *   offset 0   file header, 64 bytes
 *                0  magic "SNAPVM\r\n"  (the CR LF catches text-mode mangling)
 *                8  u16 format major     (a reader refuses a newer major)
 *               10  u16 format minor     (a reader accepts any minor of its major)
 *               12  u16 arch             (enum sv_snap_arch)
 *               14  u8  byte order of the guest (1 little, 2 big)
 *               15  u8  reserved, 0
 *               16  u32 guest page size
 *               20  u32 header size (64)
 *               24  u8[32] reserved, 0
 *               56  u64 xxh3-64 of bytes 0..55
 *
 *   64         sections, back to back, each:
 *                section header, 48 bytes
 *                0  magic "SVSECT\0\0"
 *                8  u32 kind             (enum sv_snap_section)
 *               12  u32 flags            (SV_SNAP_SECTION_ZSTD)
 *               16  u64 stored length    (bytes that follow the header)
 *               24  u64 raw length       (after decompression; = stored if raw)
 *               32  u64 xxh3-64 of the stored payload
 *               40  u64 xxh3-64 of header bytes 0..39
 *                payload
 *              A PAGES section is padded in front (zero bytes) so that its
 *              payload starts on a 4 KiB boundary of the file: an uncompressed
 *              one can be mmap'd page by page.
 *
 *   end - 64   trailer, 64 bytes
 *                0  magic "SVTRAILR"
 *                8  u64 offset of the INDEX section's header
 *               16  u64 file size (trailer included)
 *               24  u8[16] xxh3-128 of every byte before the trailer
 *               40  u8[16] reserved, 0
 *               56  u64 xxh3-64 of trailer bytes 0..55
 *
 * Metadata sections hold one serialized GVariant each (GLib's typed,
 * self-describing binary encoding, which GLib checks before use on untrusted
 * bytes); its type per kind is below. The INDEX lists every section, in
 * file order, as (kind, flags, offset of the section header, stored length,
 * raw length); the reader trusts nothing until it has checked that the index
 * and every section header agree.
 */
#ifndef SNAPVM_SNAPSHOT_FORMAT_H
#define SNAPVM_SNAPSHOT_FORMAT_H

#define SV_SNAP_MAGIC "SNAPVM\r\n"
#define SV_SNAP_SECTION_MAGIC "SVSECT\0\0"
#define SV_SNAP_TRAILER_MAGIC "SVTRAILR"
#define SV_SNAP_MAJOR 1
/* Minor 1 added PAGE_HASHES, PARENT, IMAGE_FILES, FS and DIRTY_TRACK (13-17). A reader
 * skips a section kind it does not know only in a file of a newer minor. */
#define SV_SNAP_MINOR 1
#define SV_SNAP_HEADER_SIZE 64
#define SV_SNAP_SECTION_HEADER_SIZE 48
#define SV_SNAP_TRAILER_SIZE 64
#define SV_SNAP_PAGE_ALIGN 4096

/* Stable numbers: they are in files. */
enum sv_snap_arch {
	SV_SNAP_ARCH_X86_64 = 1,
	SV_SNAP_ARCH_AARCH64 = 2,
	SV_SNAP_ARCH_PPC64LE = 3,
	SV_SNAP_ARCH_RISCV64 = 4,
};

enum sv_snap_byte_order {
	SV_SNAP_LITTLE_ENDIAN = 1,
	SV_SNAP_BIG_ENDIAN = 2,
};

/* Section kinds. Stable numbers: they are in files. */
enum sv_snap_section {
	SV_SNAP_SECTION_INDEX = 1,	  /* a(uuttt): kind, flags, offset, stored, raw */
	SV_SNAP_SECTION_TASK = 2,	  /* a{sv}: one task, keys in snapshot-task-keys.h */
	SV_SNAP_SECTION_REGS = 3,	  /* (a{st}ay): named registers, raw arch layout */
	SV_SNAP_SECTION_FPU = 4,	  /* (uta{sv}ay): size, xfeatures, extras, raw state */
	SV_SNAP_SECTION_TLS = 5,	  /* a{sv} */
	SV_SNAP_SECTION_MM = 6,		  /* (a{st}a(tt)): mm fields, saved auxv */
	SV_SNAP_SECTION_VMAS = 7,	  /* a(ttuttss): start, end, prot, vm_flags, pgoff,
					 * path, sha256 of the file contents ("" if none) */
	SV_SNAP_SECTION_FILE = 8,	  /* raw file contents; named in FILES */
	SV_SNAP_SECTION_FILES = 9,	  /* a(su): sha256, index of its FILE section */
	SV_SNAP_SECTION_PAGES = 10,	  /* raw page data */
	SV_SNAP_SECTION_PAGEMAP = 11,	  /* a(tuut): vaddr, pages, PAGES section index,
					 * byte offset in its raw payload */
	SV_SNAP_SECTION_PROVENANCE = 12,  /* a{ss} */
	SV_SNAP_SECTION_PAGE_HASHES = 13, /* a(tat): per run of present pages, its
					   * vaddr and each page's xxh3-128 as two
					   * u64 (low, high) */
	SV_SNAP_SECTION_PARENT = 14,	  /* a{sv}: the snapshot this one adds to
					   * (SV_SNAP_PARENT_* keys) */
	/* a(sst): path, sha256, size of each file referenced in the root
	 * filesystem image the provenance names (rootfs_sha256) instead of
	 * carried; its VMAs and fds name it with sha256 "" (not carried) */
	SV_SNAP_SECTION_IMAGE_FILES = 15,
	/* aa{sv}: the files the guest wrote since boot, keys in
	 * snapshot-fs-keys.h; absent with checkpoint --no-fs */
	SV_SNAP_SECTION_FS = 16,
	/* a{sv}: how a later incremental checkpoint may find the pages
	 * written since this one (SV_SNAP_DIRTY_* keys); absent: hash them */
	SV_SNAP_SECTION_DIRTY_TRACK = 17,
	/* (a(tt)a(tat)): an incremental snapshot's page hashes written as a
	 * change to its parent's, in place of PAGE_HASHES (below) */
	SV_SNAP_SECTION_PAGE_HASHES_DELTA = 18,
	SV_SNAP_SECTION_KIND_MAX_,
};

#define SV_SNAP_SECTION_ZSTD (1u << 0)

#define SV_SNAP_INDEX_TYPE "a(uuttt)"
#define SV_SNAP_DICT_TYPE "a{sv}"
#define SV_SNAP_REGS_TYPE "(a{st}ay)"
#define SV_SNAP_FPU_TYPE "(uta{sv}ay)"
#define SV_SNAP_MM_TYPE "(a{st}a(tt))"
#define SV_SNAP_VMAS_TYPE "a(ttuttss)"
#define SV_SNAP_FILES_TYPE "a(su)"
#define SV_SNAP_PAGEMAP_TYPE "a(tuut)"
#define SV_SNAP_PROVENANCE_TYPE "a{ss}"
#define SV_SNAP_PAGE_HASHES_TYPE "a(tat)"
#define SV_SNAP_PAGE_HASHES_DELTA_TYPE "(a(tt)a(tat))"

/*
 * An incremental snapshot (one with a PARENT section) stores only the pages
 * whose hash differs from its parent's at the same address, or which the
 * parent lacks; its PAGE_HASHES lists every page present all the same. A
 * page it lists but does not store is its parent's (following the chain),
 * and zeros where no ancestor stores it. A page it does not list is absent,
 * whatever the parent holds there.
 *
 * It may list its pages in PAGE_HASHES_DELTA instead, so that it need not
 * rewrite the hash of every page (16 bytes a page: 4 MiB for 1 GiB) when a
 * few changed: first the runs of every page present (vaddr, pages), then
 * in PAGE_HASHES' form the hashes of the pages whose hash is not the
 * parent's for the same address, or that the parent does not list. Every
 * other page present has the parent's hash (through its own delta, up the
 * chain). Only a snapshot with a PARENT has one, and then no PAGE_HASHES.
 */
#define SV_SNAP_PARENT_PATH "path"     /* s: as written; relative: to this file's folder */
#define SV_SNAP_PARENT_DIGEST "digest" /* s: hex of the parent's trailer xxh3-128 */
#define SV_SNAP_PARENT_SIZE "size"     /* t: the parent's file size */

/* DIRTY_TRACK keys (host/checkpoint/dirty-track.h). */
#define SV_SNAP_DIRTY_METHOD "method" /* s: "soft-dirty" or "dirty-log" (the kvm backend) */
/* s: the guest agent's mark of the clear_refs the pages were read after */
#define SV_SNAP_DIRTY_MARK "mark"
/* Ancestors a reader follows at most. */
#define SV_SNAP_MAX_CHAIN 64
#define SV_SNAP_IMAGE_FILES_TYPE "a(sst)"

/* Limits a reader enforces before it allocates anything. */
#define SV_SNAP_MAX_SECTIONS 1000000u
#define SV_SNAP_MAX_METADATA (64u << 20)
#define SV_SNAP_MAX_CHUNK (64u << 20)

#endif
