/* SPDX-License-Identifier: MIT */
/* entropy: prints the 16 bytes the kernel gave this process at exec
 * (AT_RANDOM, drawn from its CRNG) and 16 bytes read from /dev/urandom, in
 * hex, and the wall clock's seconds, then exits. Started anew in guests that resumed from one saved
 * state (snapvm restore --base), whose CRNGs must each be reseeded: two
 * such guests printing the same bytes share their randomness. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

static void print_hex(const char *what, const unsigned char *b, int n)
{
	printf("%s ", what);
	for (int i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void)
{
	const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
	unsigned char u[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (!at_random || fd < 0 || read(fd, u, sizeof(u)) != (ssize_t)sizeof(u))
		return 1;
	print_hex("at_random", at_random, 16);
	print_hex("urandom", u, 16);
	printf("time %lld\n", (long long)time(NULL));
	return 0;
}
