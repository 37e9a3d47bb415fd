// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal-echo: the lab nodes' stream service. Every connection, IPv4 or IPv6,
 * is greeted with the node's name and a newline, then gets back every byte
 * it sends. One process and one epoll loop for all connections: hundreds of
 * long-lived streams cost the lab's two CPUs little (a forking server with a
 * pipe to `cat` per connection spent most of them moving bytes between
 * processes).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

struct conn {
	int fd;
	size_t pending, off;	/* bytes read but not yet written back */
	char buf[BUF];
};

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Write back what is pending; 0 when it is all out, 1 when the socket is full, -1 on error. */
static int flush(struct conn *c)
{
	while (c->off < c->pending) {
		ssize_t n = write(c->fd, c->buf + c->off, c->pending - c->off);

		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
		c->off += (size_t)n;
	}
	c->pending = c->off = 0;
	return 0;
}

static void serve(int ep, struct conn *c, unsigned int events)
{
	struct epoll_event ev = { .data.ptr = c };
	int r;

	if (events & (EPOLLERR | EPOLLHUP)) {
		drop(ep, c);
		return;
	}
	r = flush(c);
	while (r == 0) {
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));

		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			drop(ep, c);
			return;
		}
		if (n < 0)
			break;
		c->pending = (size_t)n;
		r = flush(c);
	}
	if (r < 0) {
		drop(ep, c);
		return;
	}
	/* Socket full: wait until it drains, and read nothing more meanwhile. */
	ev.events = r ? EPOLLOUT : EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct epoll_event ev, evs[64];
	int lfd, ep, one = 1, zero = 0, i, n;
	char greeting[80];
	long port;

	if (argc != 3 || (port = strtol(argv[1], NULL, 10)) < 1 || port > 65535 ||
	    strlen(argv[2]) > 64) {
		fprintf(stderr, "Usage: shoal-echo PORT NAME\n"
				"Greet every connection (IPv4 or IPv6) with NAME and a newline, then echo it.\n");
		return 2;
	}
	snprintf(greeting, sizeof(greeting), "%s\n", argv[2]);
	signal(SIGPIPE, SIG_IGN);
	sa.sin6_port = htons((unsigned short)port);
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
		perror("shoal-echo: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("shoal-echo: epoll");
		return 1;
	}
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (c) {
				serve(ep, c, evs[i].events);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				memcpy(c->buf, greeting, strlen(greeting));
				c->pending = strlen(greeting);
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
					close(fd);
					free(c);
					continue;
				}
				serve(ep, c, 0);
			}
		}
	}
}
