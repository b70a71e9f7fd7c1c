/* SPDX-License-Identifier: MIT */
/*
 * loopback: a dynamically linked test program (the one workload that is
 * not static) for guests booted with a root filesystem image. It talks to
 * itself over TCP on 127.0.0.1 (the guest's lo must be up), prints what an
 * environment variable says and its working directory, and writes
 * result.txt there for --copy-out.
 *
 *   loopback WORD   ->  "loopback ok: sent 4 bytes, got back ping",
 *                       "env SNAPVM_TEST=<value>", "cwd <dir>", exit 0
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (srv < 0)
		return fail("socket");
	if (bind(srv, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("bind 127.0.0.1");
	if (listen(srv, 1) < 0 || getsockname(srv, (struct sockaddr *)&a, &len) < 0)
		return fail("listen");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("connect 127.0.0.1");
	int s = accept(srv, NULL, NULL);
	if (s < 0)
		return fail("accept");
	ssize_t n = write(c, "ping", 4);
	char buf[16] = { 0 };
	if (n != 4 || read(s, buf, sizeof(buf) - 1) != 4)
		return fail("loopback transfer");
	printf("loopback ok: sent %zd bytes, got back %s\n", n, buf);
	const char *env = getenv("SNAPVM_TEST");
	printf("env SNAPVM_TEST=%s\n", env ? env : "(unset)");
	char cwd[256];
	printf("cwd %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	FILE *f = fopen("result.txt", "w");
	if (!f)
		return fail("result.txt");
	fprintf(f, "result %s\n", argc > 1 ? argv[1] : "");
	return fclose(f) == 0 ? 0 : fail("fclose");
}
