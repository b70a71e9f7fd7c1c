/* SPDX-License-Identifier: MIT */
/*
 * cpuid.c - the CPU the guest sees: what this host's KVM supports, cut down
 * to the portable model the qemu backend uses by default.
 *
 * That model is QEMU's Haswell-noTSX-IBRS without pcid, x2apic,
 * tsc-deadline, invpcid and spec-ctrl (arch/x86_64: x86_64_disabled_features):
 * AVX2 but no AVX-512, and XSAVE limited to x87|SSE|AVX with the standard
 * (non-compacted) layout, so a process's FPU state taken under KVM has the
 * same shape as under TCG. The bits below are that model's feature words
 * (QEMU target/i386/cpu.c, builtin_x86_defs "Haswell"), intersected with
 * the host's. Vendor, family and brand stay the host's: a cross-vendor
 * guest would make KVM emulate SYSCALL/SYSENTER differences for nothing,
 * and no user process state depends on them.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/errors.h"

#define BIT(n) (1u << (n))

/* Leaf 1 EDX: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov
 * pat pse36 clflush mmx fxsr sse sse2 */
#define L1_EDX 0x078bfbffu
/* Leaf 1 ECX: sse3 pclmulqdq ssse3 fma cx16 sse4.1 sse4.2 movbe popcnt aes
 * xsave avx f16c rdrand, plus osxsave (KVM mirrors CR4) and hypervisor. */
#define L1_ECX                                                                                  \
	(BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
	 BIT(25) | BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(30) | BIT(31))
/* Leaf 7.0 EBX: fsgsbase bmi1 avx2 smep bmi2 erms (no hle/rtm: noTSX) */
#define L7_EBX (BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9))
/* Leaf 0x80000001: EDX syscall nx rdtscp lm; ECX lahf_lm abm */
#define LX1_EDX (BIT(11) | BIT(20) | BIT(27) | BIT(29))
#define LX1_ECX (BIT(0) | BIT(5))
/* XCR0 components: x87, SSE, AVX; their XSAVE area is 576 + 256 bytes */
#define XCR0_MASK 0x7u
#define XSAVE_SIZE_AVX 832u
#define XSAVE_SIZE_LEGACY 576u /* x87 and SSE: legacy area and header */

struct kvm_cpuid2 *sv_x86_kvm_cpuid_supported(int kvm_fd, GError **error)
{
	for (guint n = 64; n <= 1024; n *= 2) {
		struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		int e = errno;
		g_free(c);
		if (e != E2BIG) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_GET_SUPPORTED_CPUID: %s",
				    g_strerror(e));
			return NULL;
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_GET_SUPPORTED_CPUID: too many leaves");
	return NULL;
}

/* Keeps an entry (possibly edited) or drops it. */
static gboolean mask_entry(struct kvm_cpuid_entry2 *e)
{
	guint32 f = e->function;
	switch (f) {
	case 0:
		e->eax = MIN(e->eax, 0xdu);
		return TRUE;
	case 1:
		e->edx &= L1_EDX;
		e->ecx &= L1_ECX;
		/* one logical processor per package; APIC ID set per vCPU */
		e->ebx = (e->ebx & 0xffff) | (1u << 16);
		return TRUE;
	case 2:
	case 4:
		return TRUE; /* cache descriptors: harmless, help the guest's sizing */
	case 6:
		e->eax &= BIT(2); /* ARAT */
		e->ebx = e->ecx = e->edx = 0;
		return TRUE;
	case 7:
		if (e->index != 0)
			return FALSE;
		e->eax = 0;
		e->ebx &= L7_EBX;
		e->ecx = e->edx = 0;
		return TRUE;
	case 0xd:
		if (e->index == 0) {
			e->eax &= XCR0_MASK;
			e->edx = 0;
			/* the largest area the allowed components need */
			e->ecx = e->eax & BIT(2) ? XSAVE_SIZE_AVX : XSAVE_SIZE_LEGACY;
			return TRUE;
		}
		if (e->index == 1) {
			e->eax &= BIT(0); /* xsaveopt only: no compacted format */
			e->ebx = e->ecx = e->edx = 0;
			return TRUE;
		}
		return e->index == 2; /* AVX's offset and size */
	case 0x80000000:
		e->eax = MIN(e->eax, 0x80000008u);
		return TRUE;
	case 0x80000001:
		e->edx &= LX1_EDX;
		e->ecx &= LX1_ECX;
		return TRUE;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
	case 0x80000005:
	case 0x80000006:
		return TRUE;
	case 0x80000007:
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= BIT(8); /* invariant TSC */
		return TRUE;
	case 0x80000008:
		e->ebx = e->ecx = e->edx = 0; /* address sizes only */
		return TRUE;
	default:
		/* KVM's paravirtual leaves (kvmclock) are the hypervisor's, not
		 * the CPU model's: a process never sees them. */
		return f >= 0x40000000 && f < 0x40000100;
	}
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid2 *c, guint32 f,
						guint32 index)
{
	for (guint i = 0; i < c->nent; i++)
		if (c->entries[i].function == f && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

gboolean sv_x86_kvm_cpuid_covers_model(const struct kvm_cpuid2 *sup, GError **error)
{
	const struct kvm_cpuid_entry2 *l1 = find_leaf(sup, 1, 0), *l7 = find_leaf(sup, 7, 0),
				      *ld = find_leaf(sup, 0xd, 0);
	/* the model's instruction-set words; OSXSAVE and the hypervisor bit
	 * are the VMM's to set, not the CPU's to offer */
	guint32 want_ecx = L1_ECX & ~(BIT(27) | BIT(31));
	if (!l1 || (l1->ecx & want_ecx) != want_ecx || (l1->edx & L1_EDX) != L1_EDX || !l7 ||
	    (l7->ebx & L7_EBX) != L7_EBX || !ld || (ld->eax & XCR0_MASK) != XCR0_MASK) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "this host's KVM cannot present the portable CPU model "
			    "(Haswell-noTSX-IBRS features: SSE4.2, AVX, AVX2, XSAVE)");
		return FALSE;
	}
	return TRUE;
}

struct kvm_cpuid2 *sv_x86_kvm_cpuid_model(const struct kvm_cpuid2 *sup)
{
	struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + sup->nent * sizeof(c->entries[0]));
	for (guint i = 0; i < sup->nent; i++) {
		struct kvm_cpuid_entry2 e = sup->entries[i];
		if (mask_entry(&e))
			c->entries[c->nent++] = e;
	}
	return c;
}

struct kvm_cpuid2 *sv_x86_kvm_cpuid_for_vcpu(const struct kvm_cpuid2 *model, guint index)
{
	gsize size = sizeof(*model) + model->nent * sizeof(model->entries[0]);
	struct kvm_cpuid2 *c = g_memdup2(model, size);
	for (guint i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1)
			c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffff) | (index << 24);
	}
	return c;
}

guint64 sv_x86_kvm_cpuid_xcr0(const struct kvm_cpuid2 *model)
{
	const struct kvm_cpuid_entry2 *l1 = find_leaf(model, 1, 0), *ld = find_leaf(model, 0xd, 0);
	if (!l1 || !(l1->ecx & BIT(26)) || !ld)
		return 0;
	return ld->eax & XCR0_MASK;
}

gboolean sv_x86_kvm_cpuid_set(const struct kvm_cpuid2 *model, int vcpu_fd, guint index,
			      GError **error)
{
	g_autofree struct kvm_cpuid2 *c = sv_x86_kvm_cpuid_for_vcpu(model, index);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_SET_CPUID2 on vCPU %u: %s",
			    index, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}
