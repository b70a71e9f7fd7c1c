/* SPDX-License-Identifier: MIT */
/*
 * resumed.c - SV_MSG_RESUMED: a guest started from a saved state (a base,
 * every copy the same) made its own again: the host's entropy into the
 * kernel's input pool, the CRNG reseeded from it, the wall clock set.
 *
 * Why both ioctls: RNDADDENTROPY mixes the bytes into the input pool and
 * credits them; the CRNG that getrandom, /dev/urandom and AT_RANDOM draw
 * from only reads that pool at its next reseed, which a guest that has been
 * up for a while does once a minute at most. RNDRESEEDCRNG reseeds it now,
 * so the very next random bytes of every copy differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

int resumed_apply(const uint8_t *entropy, uint32_t len, uint64_t wall_ns, const char **what)
{
	int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*what = "opening /dev/urandom";
		return -errno;
	}
	struct rand_pool_info *info = malloc(sizeof(*info) + len);
	if (!info) {
		close(fd);
		*what = "allocating";
		return -ENOMEM;
	}
	info->entropy_count = (int)(len * 8);
	info->buf_size = (int)len;
	memcpy(info->buf, entropy, len);
	int rc = 0;
	if (ioctl(fd, RNDADDENTROPY, info) < 0) {
		rc = -errno;
		*what = "RNDADDENTROPY";
	} else if (ioctl(fd, RNDRESEEDCRNG) < 0) {
		rc = -errno;
		*what = "RNDRESEEDCRNG";
	}
	memset(info->buf, 0, len); /* the seed is not left lying in memory */
	free(info);
	close(fd);
	if (rc)
		return rc;
	struct timespec ts = { .tv_sec = (time_t)(wall_ns / 1000000000u),
			       .tv_nsec = (long)(wall_ns % 1000000000u) };
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		*what = "setting the wall clock";
		return -errno;
	}
	return 0;
}
