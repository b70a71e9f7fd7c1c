/* SPDX-License-Identifier: MIT */
/*
 * arch.h - the per-architecture seam.
 *
 * One binary knows every guest arch: a snapshot taken on one arch must be
 * refused (or, later, restored) on a host build that also knows the others,
 * so arch code is chosen at run time through one const ops table per arch,
 * looked up by name. Each arch/<arch>/ directory exports exactly one table;
 * nothing outside arch/ tests which arch it is dealing with.
 *
 * Required members are checked once, when the registry is first used
 * (sv_arch_registry_check); optional hooks are called only through the
 * wrappers in arch/arch.c, which fail with a GError naming the arch and hook.
 */
#ifndef SNAPVM_ARCH_H
#define SNAPVM_ARCH_H

#include <gio/gio.h>
#include <stdint.h>

#include "snapvm/types.h"

G_BEGIN_DECLS

/* One contiguous block of guest RAM as a board lays it out. */
typedef struct SvRamRegion {
	SvGpa gpa;	     /* first guest-physical address */
	guint64 size;	     /* bytes */
	guint64 file_offset; /* where the block starts in the RAM backing file */
} SvRamRegion;

#define SV_RAM_REGIONS_MAX 4

/* How QEMU builds a machine of this arch. The qemu backend reads all of it;
 * elsewhere only default_cpu (and default_cpu_disabled, max_cpu_summary)
 * are read, because snapvm names CPU models in QEMU's terms whatever the
 * backend: default_cpu is also the kvm board's portable model. */
typedef struct SvQemuBoard {
	const char *emulator;	  /* "qemu-system-x86_64" */
	const char *package;	  /* Debian package that installs it */
	const char *machine;	  /* QEMU machine type */
	const char *libvirt_arch; /* <type arch=...> */
	const char *default_cpu;  /* portable CPU model (see design.md) */
	/* Features of default_cpu to switch off so that TCG and KVM present the
	 * same CPU (NULL-terminated; NULL for none). */
	const char *const *default_cpu_disabled;
	/* What --cpu max is here, for --help: QEMU's "max" (libvirt's
	 * <cpu mode='maximum'>), every feature TCG emulates. */
	const char *max_cpu_summary;
	/* QEMU -global settings that --cpu max adds (NULL-terminated; NULL
	 * for none): libvirt's maximum mode takes no QEMU properties. */
	const char *const *max_cpu_globals;
	/* For an arch libvirt has no CPU driver for (it refuses any <cpu>):
	 * the CPU goes to QEMU as -cpu, default_cpu or, for --cpu max, this
	 * model string. NULL: libvirt's <cpu> element as usual. */
	const char *qemu_arg_max_cpu;
	/* QEMU arguments every machine of the arch gets (NULL-terminated; NULL
	 * for none): machine options libvirt has no element for. */
	const char *const *qemu_args;
	const char *console; /* kernel console device */
	const char *cmdline; /* arch-specific kernel parameters */
	/* Kernel parameters for the guest's clocks that depend on the host it
	 * runs on (a newly allocated string, or NULL for none); NULL hook:
	 * the guest's clocks need none (an arch whose timer frequency QEMU
	 * states, in the device tree or a register). */
	char *(*clock_cmdline)(void);
	/* Splits ram_size bytes of RAM the way the board maps it. Returns the
	 * number of regions written (at most SV_RAM_REGIONS_MAX). */
	guint (*ram_layout)(guint64 ram_size, SvRamRegion *regions);
} SvQemuBoard;

/* A paused vCPU's registers as a backend reads them (QEMU's gdbstub,
 * KVM's ioctls, each turned into these by the arch): named 64-bit values plus
 * the few every arch has, and the FPU/SIMD registers in the arch's snapshot
 * FPU format (see SvFpuState) when the backend can read them. */
#define SV_VCPU_REGS_MAX 80
#define SV_VCPU_FPU_MAX 4096
typedef struct SvVcpuRegs {
	guint64 pc;
	guint64 sp;
	gboolean user_mode; /* CPL3 / EL0 at the time of reading */
	guint count;
	struct {
		char name[16];
		guint64 value;
	} regs[SV_VCPU_REGS_MAX];
	guint32 fpu_size;     /* bytes of fpu in use; 0: the backend gave none */
	guint64 fpu_features; /* as SvFpuState.features */
	guint8 fpu[SV_VCPU_FPU_MAX];
} SvVcpuRegs;

/* A paused vCPU's registers as a GDB remote stub (QEMU's gdbstub) gives
 * them, by the names of the stub's target description. */
typedef struct SvGdbRegReader {
	/* Whether the target description has a register called name. */
	gboolean (*has)(gpointer ctx, const char *name);
	/* Copies register name into buf: len bytes, which must be its size in
	 * the target description, in the target's byte order. */
	gboolean (*read)(gpointer ctx, const char *name, void *buf, gsize len, GError **error);
	/* QEMU's HMP "info registers" text for the same vCPU, for what a stub
	 * cannot give (see the arch's gdb_vcpu_regs); owned by the reader. */
	const char *(*monitor_text)(gpointer ctx, GError **error);
	gpointer ctx;
} SvGdbRegReader;

/* What an arch needs to translate kernel virtual addresses, found once per
 * guest (see the kernel_space_* hooks). */
typedef struct SvKernelSpace {
	guint64 direct_map_base; /* VA of guest-physical 0 in the linear map */
	guint64 image_va_base;	 /* VA the kernel image is mapped at */
	guint64 image_pa_base;	 /* its guest-physical address */
	guint64 image_span;	 /* bytes of the image mapping to search (data, bss) */
	guint pt_levels;	 /* page-table levels in use (x86: 4 or 5, read from the guest) */
	/* index bits of the top table; 0: 9, as at every other level
	 * (ppc64 radix with 4 KiB pages: 13, a 64 KiB PGD) */
	guint top_level_bits;
	/* the struct page array (SPARSEMEM_VMEMMAP) where the arch fixes it:
	 * frame vmemmap_first_pfn's struct page is at vmemmap_start; 0 when
	 * it must be found in guest memory (introspect/files.c) */
	guint64 vmemmap_start, vmemmap_first_pfn;
} SvKernelSpace;

/* One page-table entry, decoded by the arch. Level 0 maps 4 KiB pages;
 * level 1 entries cover 2 MiB, level 2 1 GiB, and so on. */
typedef struct SvPte {
	gboolean present; /* maps something (a PROT_NONE page counts) */
	gboolean leaf;	  /* maps memory rather than pointing at a table */
	guint64 pa;	  /* next table's or the mapped page's guest-physical address */
	/* a leaf's soft-dirty bit (CONFIG_MEM_SOFT_DIRTY): written since the
	 * guest's last clear_refs "4"; FALSE where the arch has none */
	gboolean soft_dirty;
} SvPte;

struct SvGuestMem;
struct SvKallsyms;
struct SvKvmBoard; /* snapvm/kvm-board.h */
struct SvKernelTypes;

/* Kernel-virtual reads for the hooks that follow task structures (given by
 * introspection: every read is translated and bounds-checked there). */
typedef struct SvKernelReader {
	gboolean (*read)(gconstpointer ctx, guint64 va, void *buf, gsize len, GError **error);
	gconstpointer ctx;
	const struct SvKernelTypes *types;
} SvKernelReader;

/* A task's FPU/SIMD state in the arch's snapshot format: the layout the
 * arch's own user-space interfaces use, so restore can hand it back to the
 * kernel as it is (x86_64: a standard-format XSAVE image; aarch64: struct
 * user_fpsimd_state). */
typedef struct SvFpuState {
	GBytes *raw;
	guint64 features;   /* x86_64: XSTATE_BV of raw; aarch64: 0 */
	const char *format; /* "xsave", "fpsimd" */
} SvFpuState;
void sv_fpu_state_clear(SvFpuState *fpu);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvFpuState, sv_fpu_state_clear)

/* A CPU feature a snapshot's FPU/SIMD state needs of the CPU it is
 * restored on, in QEMU's terms so that a CPU model can be checked before
 * any guest boots: the CPU properties QMP's query-cpu-model-expansion
 * reports, all of which must be on. */
#define SV_CPU_NEED_PROPS_MAX 3
typedef struct SvCpuNeed {
	const char *what;			      /* for people: "AVX" */
	const char *props[SV_CPU_NEED_PROPS_MAX + 1]; /* NULL-terminated */
} SvCpuNeed;

/* What an arch did to a task's saved registers so that a restored task
 * carries on as the kernel would have carried it on (syscall restart). */
typedef enum {
	SV_SYSCALL_NONE,      /* not inside a syscall: registers as they are */
	SV_SYSCALL_REEXECUTE, /* asleep in a syscall: rewound to issue it again */
	SV_SYSCALL_RESTART,   /* -ERESTART* pending: rewound as with no handler */
	SV_SYSCALL_EINTR,     /* -ERESTART_RESTARTBLOCK: the call returns -EINTR */
} SvSyscallFixup;
const char *sv_syscall_fixup_str(SvSyscallFixup f);

typedef struct SvArchOps {
	const char *name;	 /* snapvm's and the snapshot's name: "x86_64" */
	const char *debian_arch; /* "amd64" */
	guint16 elf_machine;	 /* EM_* of binaries that run on it */
	guint32 page_size;
	/* Link address of the first byte of the boot kernel file: what an
	 * unrelocated raw image (arm64 Image) needs to resolve its symbols. */
	guint64 kernel_link_base;
	/* THREAD_SIZE: a task's kernel stack, whose top holds its user pt_regs */
	guint32 kernel_thread_size;
	const SvQemuBoard *qemu;
	/* How the kvm backend builds a machine of this arch; NULL: it has no
	 * board for it. */
	const struct SvKvmBoard *kvm;
	/* Optional: a paused vCPU's registers from a GDB remote stub, under
	 * the names vcpu_user_state looks up, with the FPU image in the
	 * snapshot's format (SvFpuState). */
	gboolean (*gdb_vcpu_regs)(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);
	/* Optional (introspection): reads from guest memory what kernel
	 * address translation needs. */
	gboolean (*kernel_space_init)(SvKernelSpace *ks, const struct SvGuestMem *mem,
				      const struct SvKallsyms *syms, GBytes *kernel_file,
				      GError **error);
	/* Optional: kernel VA to guest-physical, for the kernel image and the
	 * linear map (vmalloc needs the page-table walk, which comes later). */
	gboolean (*kernel_va_to_pa)(const SvKernelSpace *ks, guint64 va, SvGpa *ret_pa,
				    GError **error);
	/* Optional: decodes a page-table entry found at level (0 = last) for
	 * the generic walker (host/introspect/page-walk.c). */
	void (*decode_pte)(guint64 entry, guint level, SvPte *ret);
	/* Whether the guest kernels this arch boots keep the soft-dirty bit
	 * that decode_pte reports (CONFIG_MEM_SOFT_DIRTY), so a checkpoint can
	 * find the pages written since an earlier one without hashing them
	 * (host/checkpoint/dirty-track.h); FALSE: content hashes are used. */
	gboolean soft_dirty;

	/* Checkpoint hooks, all optional. A GVariant returned is a full
	 * (non-floating) reference. */
	/* Named user registers (a{st}) decoded from raw pt_regs. */
	GVariant *(*named_regs)(const struct SvKernelTypes *types, GBytes *pt_regs, GError **error);
	/* The FPU/SIMD state a task saved on leaving its CPU. */
	gboolean (*task_fpu)(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error);
	/* TLS and segment state a task saved on leaving its CPU (a{sv}). */
	GVariant *(*task_tls)(const SvKernelReader *rd, guint64 task, GError **error);
	/* A task running in user mode on a vCPU: its live registers as pt_regs,
	 * its live TLS registers (a{sv}, the keys of task_tls they replace) and
	 * FPU state, from the vCPU. */
	gboolean (*vcpu_user_state)(const struct SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error);
	/* Optional: completes the FPU image vcpu_user_state took from a vCPU
	 * with what the backend could not read there, from the task's saved
	 * state where that provably still holds (riscv64 under QEMU 7.2: fcsr). */
	gboolean (*vcpu_fpu_complete)(const SvKernelReader *rd, guint64 task,
				      const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error);
	/* Rewrites saved user registers so the task resumes as the kernel would
	 * resume it (syscall restart, guest-linux-facts.md 3); the task, for an
	 * arch whose registers alone cannot say where in a syscall it is. */
	GBytes *(*syscall_fixup)(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error);

	/* Restore hook, optional. Appends to ret_needs (const SvCpuNeed *,
	 * static) what a CPU must have to load a snapshot's FPU/SIMD state
	 * of fpu_size bytes with the given features (SvFpuState.features);
	 * fails on features the arch cannot name. Pure: no QEMU, no guest. */
	gboolean (*fpu_cpu_needs)(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error);
} SvArchOps;

/* Wrappers for the optional hooks: fail with an error naming the arch and
 * the hook when an arch lacks it. */
gboolean sv_arch_gdb_vcpu_regs(const SvArchOps *arch, const SvGdbRegReader *rd, SvVcpuRegs *out,
			       GError **error);
gboolean sv_arch_kernel_space_init(const SvArchOps *arch, SvKernelSpace *ks,
				   const struct SvGuestMem *mem, const struct SvKallsyms *syms,
				   GBytes *kernel_file, GError **error);
gboolean sv_arch_kernel_va_to_pa(const SvArchOps *arch, const SvKernelSpace *ks, guint64 va,
				 SvGpa *ret_pa, GError **error);
gboolean sv_arch_decode_pte(const SvArchOps *arch, guint64 entry, guint level, SvPte *ret,
			    GError **error);

GVariant *sv_arch_named_regs(const SvArchOps *arch, const struct SvKernelTypes *types,
			     GBytes *pt_regs, GError **error);
gboolean sv_arch_task_fpu(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			  SvFpuState *ret, GError **error);
GVariant *sv_arch_task_tls(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			   GError **error);
gboolean sv_arch_vcpu_user_state(const SvArchOps *arch, const struct SvKernelTypes *types,
				 const SvVcpuRegs *vcpu, GBytes **ret_pt_regs, GVariant **ret_tls,
				 SvFpuState *ret_fpu, GError **error);
/* TRUE without doing anything for an arch that has no such hook. */
gboolean sv_arch_vcpu_fpu_complete(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
				   const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error);
GBytes *sv_arch_syscall_fixup(const SvArchOps *arch, const SvKernelReader *rd, guint64 task,
			      GBytes *pt_regs, SvSyscallFixup *ret_fixup, GError **error);

gboolean sv_arch_fpu_cpu_needs(const SvArchOps *arch, guint64 features, gsize fpu_size,
			       GPtrArray *ret_needs, GError **error);

/* Lookup by name ("x86_64", "aarch64"); NULL with error listing the known
 * arches when unknown. */
const SvArchOps *sv_arch_lookup(const char *name, GError **error);
/* Lookup by ELF e_machine; NULL if no arch runs such binaries. */
const SvArchOps *sv_arch_by_elf_machine(guint16 machine);
/* For messages: the arch an ELF e_machine is for, by name, known to
 * snapvm or not ("an unknown machine" when it cannot tell). */
const char *sv_arch_elf_machine_name(guint16 machine);
/* The arch snapvm itself was built for, used as the default guest arch. */
const SvArchOps *sv_arch_host(void);
/* NULL-terminated list of every registered arch. */
const SvArchOps *const *sv_arch_all(void);
/* Comma-separated names, for messages and --help. */
const char *sv_arch_names(void);

/* Returns the value of a named register in regs, FALSE if absent. */
gboolean sv_vcpu_regs_get(const SvVcpuRegs *regs, const char *name, guint64 *value);
/* Adds a named register (silently capped at SV_VCPU_REGS_MAX). */
void sv_vcpu_regs_add(SvVcpuRegs *regs, const char *name, guint64 value);

G_END_DECLS

#endif
