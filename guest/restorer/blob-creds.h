/* SPDX-License-Identifier: MIT */
/*
 * blob-creds.h - the last thing the restorer blob does before the
 * process resumes (included once by restorer-blob.c, after its sys() and
 * check()): becoming the snapshot's user, with its capabilities. Until
 * here the restorer needed root (PR_SET_MM_MAP, the locks, closing).
 *
 * The order matters: keep capabilities across the uid change
 * (PR_SET_KEEPCAPS), drop the bounding set while still root, change the
 * gids then the uids (which empties the effective set), take every
 * permitted capability back to set the filesystem ids, the ambient set and
 * securebits (CAP_SETUID, CAP_SETPCAP), and only then narrow the sets to
 * the snapshot's.
 */
#ifndef SNAPVM_BLOB_CREDS_H
#define SNAPVM_BLOB_CREDS_H

#define PR_SET_KEEPCAPS_ 8
#define PR_CAPBSET_DROP_ 24
#define PR_SET_SECUREBITS_ 28
#define PR_CAP_AMBIENT_ 47
#define PR_CAP_AMBIENT_RAISE_ 2
#define CAP_VERSION_3_ 0x20080522
#define EINVAL_ 22

struct cap_header_ {
	uint32_t version;
	int32_t pid;
};
struct cap_data_ {
	uint32_t effective, permitted, inheritable;
};

static void capset_(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct cap_header_ h = { CAP_VERSION_3_, 0 };
	struct cap_data_ d[2] = {
		{ (uint32_t)eff, (uint32_t)perm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32) },
	};
	check(sys(__NR_capset, (long)&h, (long)d, 0), "capset", perm);
}

/* The permitted set now (capset may not widen it). */
static uint64_t permitted_now(void)
{
	struct cap_header_ h = { CAP_VERSION_3_, 0 };
	struct cap_data_ d[2];
	check(sys(__NR_capget, (long)&h, (long)d, 0), "capget", 0);
	return (uint64_t)d[1].permitted << 32 | d[0].permitted;
}

static void take_creds(const struct rst_creds *c)
{
	check(sys6(__NR_prctl, PR_SET_KEEPCAPS_, 1, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)", 0);
	for (long cap = 0; cap < 64; cap++) {
		if (c->caps[3] >> cap & 1)
			continue;
		long r = sys6(__NR_prctl, PR_CAPBSET_DROP_, cap, 0, 0, 0, 0);
		if (r != -EINVAL_) /* a capability this kernel does not have */
			check(r, "prctl(PR_CAPBSET_DROP)", (uint64_t)cap);
	}
	check(sys(__NR_setresgid, c->gids[0], c->gids[1], c->gids[2]), "setresgid", c->gids[1]);
	check(sys(__NR_setresuid, c->uids[0], c->uids[1], c->uids[2]), "setresuid", c->uids[1]);
	uint64_t all = permitted_now();
	capset_(all, all, c->caps[0]);
	/* setfsuid reports the old id, never an error: checked by reading */
	sys(__NR_setfsgid, c->gids[3], 0, 0);
	sys(__NR_setfsuid, c->uids[3], 0, 0);
	if ((uint32_t)sys(__NR_setfsuid, -1, 0, 0) != c->uids[3] ||
	    (uint32_t)sys(__NR_setfsgid, -1, 0, 0) != c->gids[3])
		fail("setfsuid/setfsgid", c->uids[3], -1);
	for (long cap = 0; cap < 64; cap++)
		if (c->caps[4] >> cap & 1)
			check(sys6(__NR_prctl, PR_CAP_AMBIENT_, PR_CAP_AMBIENT_RAISE_, cap, 0, 0,
				   0),
			      "prctl(PR_CAP_AMBIENT_RAISE)", (uint64_t)cap);
	check(sys6(__NR_prctl, PR_SET_SECUREBITS_, c->securebits, 0, 0, 0, 0),
	      "prctl(PR_SET_SECUREBITS)", c->securebits);
	capset_(c->caps[2], c->caps[1], c->caps[0]);
}

#endif
