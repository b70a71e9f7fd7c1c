/* SPDX-License-Identifier: MIT */
/*
 * blob-user-end.h - the restorer blob's end of user space for arches where
 * it depends on how the kernel set up paging (riscv64: Sv39 vs Sv48/57;
 * ppc64le: 64 TiB with 4 KiB pages, 4 PiB with 64 KiB), included by their
 * blob-arch.h after sys6(). Below `high` nothing is mapped unless a program
 * asks for it by address (the mmap window and the stack stay there), and the
 * restorer never does; so `high` unless the page at `low` is beyond
 * TASK_SIZE: an mmap there that must not replace anything fails with ENOMEM
 * only then (EEXIST says it exists).
 */
#define MAP_FIXED_NOREPLACE 0x100000 /* uapi mman-common.h */

static uint64_t probe_user_end(uint64_t low, uint64_t high)
{
	long r = sys6(__NR_mmap, (long)low, PAGE, 0 /* PROT_NONE */,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == (long)low)
		sys6(__NR_munmap, r, PAGE, 0, 0, 0, 0);
	return r == -12 /* ENOMEM */ ? low : high;
}
