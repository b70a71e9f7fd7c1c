/* SPDX-License-Identifier: MIT */
/* restorers.h - the guest restorer programs (snapvm-restore-<arch>) built
 * into the host library, so into snapvm and the tests alike, one per arch
 * that can restore (generated: embed-restorers.py). */
#ifndef SNAPVM_RESTORERS_H
#define SNAPVM_RESTORERS_H

typedef struct SvEmbeddedRestorer {
	const char *arch;
	const unsigned char *start, *end;
	/* kernel parameters a restore guest of this arch boots with
	 * (arch/<arch>/restorer/restore-cmdline; "" for none) */
	const char *cmdline;
	/* and those only under TCG (its 'tcg:' lines) */
	const char *cmdline_tcg;
} SvEmbeddedRestorer;

/* Ends with an entry whose arch is NULL. */
extern const SvEmbeddedRestorer sv_embedded_restorers[];

#endif
