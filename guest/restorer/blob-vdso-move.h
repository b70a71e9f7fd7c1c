/* SPDX-License-Identifier: MIT */
/*
 * blob-vdso-move.h - the restorer blob's arch_vdso_kept and arch_place_vdso
 * for arches whose vDSO cannot be mapped anew, only moved (no
 * ARCH_MAP_VDSO: aarch64, riscv64), included by their blob-arch.h after
 * sys6() and USER_END. The restorer's own [vvar] and [vdso] survive the
 * unmapping and are moved with mremap where the snapshot had them; the
 * kernel lets the vdso special mapping move and follows it (its
 * vdso_mremap sets mm->context.vdso, which the signal return trampoline
 * uses). The vDSO code finds its data page-relatively, so both move by the
 * same distance, one VMA at a time (mremap does not span VMAs).
 */
static int arch_vdso_kept(void)
{
	return 1;
}

static void move_vdso_pair(const struct rst_args *a, uint64_t from, uint64_t to)
{
	uint64_t len = a->vdso_now_end - a->vdso_now_start, vvar = a->vvar_len;
	check(sys6(__NR_mremap, (long)from, (long)vvar, (long)vvar, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (long)to, 0),
	      "moving [vvar]", to);
	check(sys6(__NR_mremap, (long)(from + vvar), (long)(len - vvar), (long)(len - vvar),
		   MREMAP_MAYMOVE | MREMAP_FIXED, (long)(to + vvar), 0),
	      "moving [vdso]", to + vvar);
}

static int clashes(const struct rst_args *a, uint64_t s, uint64_t len)
{
	uint64_t e = s + len;
	return s < PAGE || e > USER_END || (s < a->region_end && a->region_start < e) ||
	       (a->staging_len && s < a->staging_start + a->staging_len && a->staging_start < e);
}

static void arch_place_vdso(const struct rst_args *a)
{
	uint64_t now = a->vdso_now_start, len = a->vdso_now_end - now, to = a->vdso_vvar_start;
	if (!now || a->vvar_len >= len)
		fail("the restorer has no [vvar] and [vdso] to move", to, -22);
	if (now == to)
		return;
	/* A move onto an overlapping range is refused (EINVAL): park the pair
	 * beside both ranges first (all else but the region and the staging
	 * area is unmapped by now). */
	if (to < now + len && now < to + len) {
		uint64_t hi = (to > now ? to : now) + len, lo = to < now ? to : now;
		uint64_t park = hi;
		if (clashes(a, park, len))
			park = lo >= len ? lo - len : 0;
		if (!park || clashes(a, park, len))
			fail("no room to move the vDSO through", to, -12);
		move_vdso_pair(a, now, park);
		now = park;
	}
	move_vdso_pair(a, now, to);
}
