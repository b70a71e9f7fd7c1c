/* SPDX-License-Identifier: MIT */
/*
 * The restorer's IP and UNIX sockets (guest/restorer/restore-inet.c,
 * restore-unix.c, restore-sockbuf.c, compiled here for the host and run
 * against the host kernel): a bind to an address no interface has
 * succeeds only as the snapshot says the original was bound
 * (IP_FREEBIND kept, or set for the bind only), and otherwise stops the
 * restore naming the address; buffer sizes and SO_BUF_LOCK come back as a
 * socket of the host's own had them, or the restore stops naming the fd.
 * The buffer cases need CAP_NET_ADMIN (SO_SNDBUFFORCE), the IPv6 ones an
 * IPv6 stack: skipped without, saying so.
 */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include "guest/restorer/restore-inet.c"
#include "guest/restorer/restore-sockbuf.c"
#include "guest/restorer/restore-unix.c"

static char died[512];
static sigjmp_buf back;

void rst_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(died, sizeof(died), fmt, ap);
	va_end(ap);
	siglongjmp(back, 1);
}

int rst_move_up(int fd, int above, const char *what)
{
	(void)above;
	(void)what;
	return fd;
}

void rst_place(int tmp, const struct sv_rimg_fd *f)
{
	g_assert_cmpint(dup2(tmp, f->fd), ==, f->fd);
}

#define FD 200 /* where the tests' sockets are placed */

/* rst_inet_restore(f) with its address in data: "" or what it died of */
static const char *inet_restore(const struct sv_rimg_fd *f, const uint8_t *data)
{
	died[0] = 0;
	if (!sigsetjmp(back, 0))
		rst_inet_restore(f, data, 0);
	return died;
}

static struct sv_rimg_fd inet_fd(int family, uint32_t kind_flags, uint32_t alen)
{
	return (struct sv_rimg_fd){ .fd = FD,
				    .kind = SV_RIMG_FD_INET,
				    .dup_of = -1,
				    .kind_flags = kind_flags,
				    .value = { (uint64_t)family | (uint64_t)SOCK_DGRAM << 16 },
				    .data_len = alen };
}

static int getopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	g_assert_cmpint(getsockopt(fd, level, name, &v, &len), ==, 0);
	return v;
}

/* Can a socket of family bind to addr (alen bytes) without IP_FREEBIND
 * here? -1: no such family. */
static int plain_bind_works(int family, const uint8_t *addr, socklen_t alen)
{
	int s = socket(family, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	memcpy(family == AF_INET6 ? (void *)&a6.sin6_addr : (void *)&a4.sin_addr, addr, alen);
	int r = family == AF_INET6 ? bind(s, (struct sockaddr *)&a6, sizeof(a6))
				   : bind(s, (struct sockaddr *)&a4, sizeof(a4));
	close(s);
	return r == 0;
}

static void check_nonlocal(int family, const char *text)
{
	uint8_t addr[16];
	uint32_t alen = family == AF_INET6 ? 16 : 4;
	g_assert_cmpint(inet_pton(family, text, addr), ==, 1);
	int plain = plain_bind_works(family, addr, alen);
	if (plain < 0) {
		g_test_skip("no IPv6 here");
		return;
	}
	if (plain) {
		g_test_skip("a plain bind to the documentation address works here (it is "
			    "local, or ip_nonlocal_bind is set): nothing to test");
		return;
	}
	/* recorded neither way: the restore stops, naming the address */
	struct sv_rimg_fd f = inet_fd(family, 0, alen);
	const char *why = inet_restore(&f, addr);
	g_assert_nonnull(strstr(why, "fd 200: cannot bind its UDP socket to "));
	g_assert_nonnull(strstr(why, text));
	g_assert_nonnull(strstr(why, strerror(EADDRNOTAVAIL)));
	/* bound with IP_FREEBIND since cleared: bound, and cleared again */
	f = inet_fd(family, SV_RIMG_INET_NONLOCAL, alen);
	g_assert_cmpstr(inet_restore(&f, addr), ==, "");
	g_assert_cmpint(getopt_int(FD, SOL_IP, IP_FREEBIND), ==, 0);
	struct sockaddr_in6 got;
	socklen_t len = sizeof(got);
	g_assert_cmpint(getsockname(FD, (struct sockaddr *)&got, &len), ==, 0);
	const void *bound = family == AF_INET6
				    ? (const void *)&got.sin6_addr
				    : (const void *)&((struct sockaddr_in *)&got)->sin_addr;
	g_assert_cmpmem(bound, alen, addr, alen);
	/* IP_FREEBIND kept */
	f = inet_fd(family, SV_RIMG_INET_FREEBIND, alen);
	g_assert_cmpstr(inet_restore(&f, addr), ==, "");
	g_assert_cmpint(getopt_int(FD, SOL_IP, IP_FREEBIND), ==, 1);
	close(FD);
}

static void test_nonlocal_v4(void)
{
	check_nonlocal(AF_INET, "192.0.2.1");
}

static void test_nonlocal_v6(void)
{
	check_nonlocal(AF_INET6, "2001:db8::1");
}

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

typedef struct {
	int snd, rcv, lock;
} Bufs;

static Bufs bufs_of(int fd)
{
	return (Bufs){ getopt_int(fd, SOL_SOCKET, SO_SNDBUF), getopt_int(fd, SOL_SOCKET, SO_RCVBUF),
		       getopt_int(fd, SOL_SOCKET, SO_BUF_LOCK) };
}

/* A socket of type's with its sizes set as given (0: left) and then
 * SO_BUF_LOCK set to lock (-1: left), as a process would. */
static Bufs made_by_hand(int family, int type, int snd, int rcv, int lock)
{
	int s = socket(family, type, 0);
	g_assert_cmpint(s, >=, 0);
	if (snd)
		g_assert_cmpint(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)), ==, 0);
	if (rcv)
		g_assert_cmpint(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), ==, 0);
	if (lock >= 0)
		g_assert_cmpint(setsockopt(s, SOL_SOCKET, SO_BUF_LOCK, &lock, sizeof(lock)), ==, 0);
	Bufs b = bufs_of(s);
	close(s);
	return b;
}

static gboolean can_force(void)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), v = 4096;
	gboolean ok = setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) == 0;
	close(s);
	if (!ok)
		g_test_skip("no CAP_NET_ADMIN here: SO_SNDBUFFORCE is refused");
	return ok;
}

static void assert_bufs(int fd, Bufs want)
{
	Bufs got = bufs_of(fd);
	g_assert_cmpint(got.snd, ==, want.snd);
	g_assert_cmpint(got.rcv, ==, want.rcv);
	g_assert_cmpint(got.lock, ==, want.lock);
}

static void test_inet_buffers(void)
{
	if (!can_force())
		return;
	static const struct {
		int snd, rcv, lock;
	} cases[] = {
		{ 50000, 70000, -1 }, /* both set: both locked */
		{ 30000, 0, 0 },      /* set, then unlocked */
		{ 0, 0, 2 },	      /* the default receive size locked */
		{ 1, 1, -1 },	      /* below the minimum: the kernel's minimum */
	};
	const uint8_t any[4] = { 0 };
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		Bufs want = made_by_hand(AF_INET, SOCK_DGRAM, cases[i].snd, cases[i].rcv,
					 cases[i].lock);
		struct sv_rimg_fd f =
			inet_fd(AF_INET,
				SV_RIMG_SOCK_BUFS | (uint32_t)want.lock << SV_RIMG_SOCK_LOCKS_SHIFT,
				4);
		f.value[2] = (uint64_t)want.snd | (uint64_t)want.rcv << 32;
		g_assert_cmpstr(inet_restore(&f, any), ==, "");
		assert_bufs(FD, want);
		close(FD);
	}
	/* no setsockopt makes an odd size: the restore stops, naming the fd */
	struct sv_rimg_fd f = inet_fd(AF_INET, SV_RIMG_SOCK_BUFS, 4);
	f.value[2] = 50001 | (uint64_t)made_by_hand(AF_INET, SOCK_DGRAM, 0, 0, -1).rcv << 32;
	g_assert_cmpstr(inet_restore(&f, any), ==,
			"fd 200: its send buffer size comes back as 50000 bytes, not the 50001 it "
			"had (the kernel makes only even sizes from its minimum up)");
	close(FD);
}

/* A socketpair's ends, the first with its send size set and then its
 * locks cleared, the second with its default sizes locked
 * (SO_BUF_LOCK alone, which came back unlocked before). */
static void test_unix_buffers(void)
{
	if (!can_force())
		return;
	Bufs want[2] = { made_by_hand(AF_UNIX, SOCK_STREAM, 40000, 0, 0),
			 made_by_hand(AF_UNIX, SOCK_STREAM, 0, 0, 3) };
	struct sv_rimg_fd fds[2];
	for (int e = 0; e < 2; e++) {
		fds[e] = (struct sv_rimg_fd){
			.fd = FD + e,
			.kind = SV_RIMG_FD_UNIX,
			.dup_of = -1,
			.pipe = 1,
			.kind_flags = (uint32_t)e | SV_RIMG_SOCK_BUFS |
				      (uint32_t)want[e].lock << SV_RIMG_SOCK_LOCKS_SHIFT,
			.value = { SOCK_STREAM, (uint64_t)want[e].snd, (uint64_t)want[e].rcv },
		};
	}
	died[0] = 0;
	if (!sigsetjmp(back, 0))
		rst_unix_restore(fds, 2, 0, NULL, 0);
	g_assert_cmpstr(died, ==, "");
	for (int e = 0; e < 2; e++) {
		assert_bufs(FD + e, want[e]);
		close(FD + e);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restore-sockets/nonlocal-v4", test_nonlocal_v4);
	g_test_add_func("/restore-sockets/nonlocal-v6", test_nonlocal_v6);
	g_test_add_func("/restore-sockets/inet-buffers", test_inet_buffers);
	g_test_add_func("/restore-sockets/unix-buffers", test_unix_buffers);
	return g_test_run();
}
