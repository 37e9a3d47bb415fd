// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal-stream: many long-lived TCP connections that each exchange a checkable
 * byte stream with an echo server (the lab runs socat), and count every one
 * that breaks - reset, closed, stalled or corrupted - by the node that served it.
 *
 * The server greets each connection with its node name and a newline, then
 * echoes. Each connection sends a pseudo-random stream of its own; every byte
 * that comes back must be the next byte of that stream.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 64
#define NAME_LEN 32

enum cstate { C_CONNECTING, C_GREETING, C_STREAMING, C_BROKEN, C_FAILED };

struct conn {
	int fd;
	enum cstate state;
	char node[NAME_LEN];
	size_t node_len;
	uint64_t seed;
	uint64_t sent;		/* stream bytes sent */
	uint64_t verified;	/* stream bytes echoed back correctly */
	uint64_t echoes;	/* messages fully echoed */
	double last_send;
	double last_progress;
	const char *reason;
	char src[INET6_ADDRSTRLEN];
	uint16_t sport;
};

static struct {
	struct sockaddr_storage dst;	/* IPv4 or IPv6; sources of the same family */
	socklen_t dst_len;
	struct sockaddr_storage src[MAX_SOURCES];
	int nsrc;
	int conns;
	int interval_ms;
	int bytes;
	int stall_s;
	int duration_s;
	const char *status;
} opt = { .conns = 200, .interval_ms = 100, .bytes = 64, .stall_s = 10 };

static struct conn *conns;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Byte `off` of connection c's stream: a position-keyed hash, so any offset is checkable. */
static uint8_t stream_byte(const struct conn *c, uint64_t off)
{
	uint64_t x = c->seed ^ (off / 8) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint8_t)(x >> ((off % 8) * 8));
}

static void broken(struct conn *c, const char *why)
{
	if (c->state == C_BROKEN || c->state == C_FAILED)
		return;
	c->state = c->state == C_CONNECTING ? C_FAILED : C_BROKEN;
	c->reason = why;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The status file: written whole to a temporary name, then renamed over. */
static void write_status(bool final)
{
	char tmp[4096];
	int i, j, established = 0, alive = 0, nbroken = 0, failed = 0, nnodes = 0;
	uint64_t echoes = 0, min_echoes = UINT64_MAX;
	char nodes[64][NAME_LEN];
	int node_alive[64] = { 0 }, node_broken[64] = { 0 };
	FILE *f;

	if (!opt.status)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.status);
	f = fopen(tmp, "w");
	if (!f)
		return;
	for (i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		int k = -1;

		echoes += c->echoes;
		if (c->state == C_FAILED) {
			failed++;
			continue;
		}
		if (c->state == C_CONNECTING)
			continue;
		established++;
		if (c->node_len) {
			for (j = 0; j < nnodes; j++) {
				if (!strcmp(nodes[j], c->node))
					k = j;
			}
			if (k < 0 && nnodes < 64) {
				k = nnodes++;
				snprintf(nodes[k], NAME_LEN, "%s", c->node);
			}
		}
		if (c->state == C_BROKEN) {
			nbroken++;
			if (k >= 0)
				node_broken[k]++;
		} else {
			alive++;
			if (k >= 0)
				node_alive[k]++;
			if (c->state == C_STREAMING && c->echoes < min_echoes)
				min_echoes = c->echoes;
		}
	}
	fprintf(f, "{\"final\":%s,\"conns\":%d,\"established\":%d,\"alive\":%d,\"broken\":%d,"
		"\"failed_connect\":%d,\"echoes\":%llu,\"min_echoes_alive\":%llu,\"by_node\":{",
		final ? "true" : "false", opt.conns, established, alive, nbroken, failed,
		(unsigned long long)echoes,
		(unsigned long long)(min_echoes == UINT64_MAX ? 0 : min_echoes));
	for (j = 0; j < nnodes; j++) {
		fprintf(f, "%s", j ? "," : "");
		json_str(f, nodes[j]);
		fprintf(f, ":{\"alive\":%d,\"broken\":%d}", node_alive[j], node_broken[j]);
	}
	fprintf(f, "},\"sample\":");
	/* One live connection, for `shoalctl flow` to be asked about. */
	for (i = 0; i < opt.conns && conns[i].state != C_STREAMING; i++)
		;
	if (i < opt.conns) {
		fprintf(f, "{\"src\":\"%s:%u\",\"node\":", conns[i].src, conns[i].sport);
		json_str(f, conns[i].node);
		fprintf(f, "}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\"broken_list\":[");
	for (i = 0, j = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];

		if (c->state != C_BROKEN && c->state != C_FAILED)
			continue;
		fprintf(f, "%s{\"id\":%d,\"node\":", j++ ? "," : "", i);
		json_str(f, c->node);
		fprintf(f, ",\"reason\":");
		json_str(f, c->reason ? c->reason : "?");
		fprintf(f, ",\"src\":\"%s:%u\",\"verified_bytes\":%llu}", c->src, c->sport,
			(unsigned long long)c->verified);
	}
	fprintf(f, "]}\n");
	if (fclose(f) == 0)
		rename(tmp, opt.status);
}

/* An address as a socket address of its family (port 0); 0 on success. */
static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int start_conn(int ep, int i)
{
	struct conn *c = &conns[i];
	struct sockaddr_storage src;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
	socklen_t sl = sizeof(src);
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->seed = 0x5eed0000ULL + (uint64_t)i * 0x100000001b3ULL;
	c->fd = socket(opt.dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.nsrc) {
		src = opt.src[i % opt.nsrc];
		if (bind(c->fd, (struct sockaddr *)&src, opt.dst_len) < 0) {
			broken(c, "bind");
			return 0;
		}
	}
	if (connect(c->fd, (struct sockaddr *)&opt.dst, opt.dst_len) < 0 && errno != EINPROGRESS) {
		broken(c, "connect");
		return 0;
	}
	getsockname(c->fd, (struct sockaddr *)&src, &sl);
	if (src.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&src)->sin6_addr, c->src, sizeof(c->src));
		c->sport = ntohs(((struct sockaddr_in6 *)&src)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&src)->sin_addr, c->src, sizeof(c->src));
		c->sport = ntohs(((struct sockaddr_in *)&src)->sin_port);
	}
	c->last_progress = now_s();
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) ? -errno : 0;
}

static void on_event(int ep, struct conn *c, uint32_t events)
{
	uint8_t buf[4096];
	ssize_t n, k;

	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			broken(c, err == ECONNREFUSED ? "refused" : err == ETIMEDOUT ? "connect timeout"
											 : "connect error");
			return;
		}
		if (events & (EPOLLOUT | EPOLLIN)) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

			ev.data.u32 = (uint32_t)(c - conns);
			c->state = C_GREETING;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			broken(c, errno == ECONNRESET ? "reset" : "read error");
			return;
		}
		if (n == 0) {
			broken(c, "closed by peer");
			return;
		}
		k = 0;
		while (c->state == C_GREETING && k < n) {
			if (buf[k] == '\n') {
				c->state = C_STREAMING;
				c->last_progress = now_s();
			} else if (c->node_len < NAME_LEN - 1) {
				c->node[c->node_len++] = (char)buf[k];
			}
			k++;
		}
		for (; k < n; k++) {
			if (c->verified >= c->sent || buf[k] != stream_byte(c, c->verified)) {
				broken(c, "corrupted stream");
				return;
			}
			c->verified++;
			if (c->verified % (uint64_t)opt.bytes == 0)
				c->echoes++;
			c->last_progress = now_s();
		}
	}
}

static void tick(void)
{
	double t = now_s();
	uint8_t msg[65536];
	int i;

	for (i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		ssize_t n;
		int b;

		if (c->state == C_CONNECTING && t - c->last_progress > opt.stall_s) {
			broken(c, "connect timeout");
			continue;
		}
		if (c->state != C_STREAMING)
			continue;
		if (c->verified < c->sent) {
			/* An echo outstanding for too long: the connection is dead. */
			if (t - c->last_progress > opt.stall_s)
				broken(c, "stalled");
			continue;
		}
		if ((t - c->last_send) * 1000 < opt.interval_ms)
			continue;
		for (b = 0; b < opt.bytes; b++)
			msg[b] = stream_byte(c, c->sent + (uint64_t)b);
		n = write(c->fd, msg, (size_t)opt.bytes);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n != opt.bytes) {
			broken(c, n < 0 && errno == ECONNRESET ? "reset" : "write error");
			continue;
		}
		c->sent += (uint64_t)n;
		c->last_send = t;
		c->last_progress = t;
	}
}

static int parse_dst(const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	/* [v6addr]:port, or v4addr:port */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (port < 1 || port > 65535 || parse_addr(host, (uint16_t)port, &opt.dst, &opt.dst_len))
		return -1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: shoal-stream [OPTIONS] ADDR:PORT   (IPv6: [ADDR]:PORT)\n"
		"  -n, --conns N       connections (default 200)\n"
		"  -s, --source ADDR   source address of ADDR's family, repeatable (round robin)\n"
		"  -i, --interval MS   pause between messages per connection (default 100)\n"
		"  -b, --bytes N       bytes per message (default 64)\n"
		"  -S, --stall SEC     an echo missing this long breaks the connection (default 10)\n"
		"  -d, --duration SEC  stop after SEC seconds (default: at SIGTERM or SIGINT)\n"
		"  -o, --status FILE   JSON status, written at SIGUSR1 and at exit\n"
		"Exit status: 0 if no connection broke or failed, 1 otherwise, 2 on usage errors.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "conns", required_argument, NULL, 'n' },  { "source", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' }, { "bytes", required_argument, NULL, 'b' },
		{ "stall", required_argument, NULL, 'S' },  { "duration", required_argument, NULL, 'd' },
		{ "status", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct epoll_event evs[256];
	sigset_t ss;
	double start;
	int c, ep, sfd, i, bad = 0;

	/* First thing: a status request arriving early must not kill us. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);

	while ((c = getopt_long(argc, argv, "n:s:i:b:S:d:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': opt.conns = atoi(optarg); break;
		case 's':
			if (opt.nsrc >= MAX_SOURCES ||
			    parse_addr(optarg, 0, &opt.src[opt.nsrc], &(socklen_t){ 0 })) {
				fprintf(stderr, "shoal-stream: bad source '%s'\n", optarg);
				return 2;
			}
			opt.nsrc++;
			break;
		case 'i': opt.interval_ms = atoi(optarg); break;
		case 'b': opt.bytes = atoi(optarg); break;
		case 'S': opt.stall_s = atoi(optarg); break;
		case 'd': opt.duration_s = atoi(optarg); break;
		case 'o': opt.status = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || parse_dst(argv[optind]) || opt.conns < 1 || opt.conns > 100000 ||
	    (opt.nsrc && opt.src[0].ss_family != opt.dst.ss_family) ||
	    opt.bytes < 1 || opt.bytes > 65536 || opt.interval_ms < 1 || opt.stall_s < 1) {
		usage(stderr);
		return 2;
	}
	conns = calloc((size_t)opt.conns, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!conns || ep < 0 || sfd < 0) {
		perror("shoal-stream: setup");
		return 1;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };

		epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	}
	for (i = 0; i < opt.conns; i++) {
		int err = start_conn(ep, i);

		if (err) {
			fprintf(stderr, "shoal-stream: connection %d: %s\n", i, strerror(-err));
			return 1;
		}
	}
	start = now_s();
	write_status(false);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 10);

		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGUSR1) {
						write_status(false);
						continue;
					}
					goto done;
				}
				continue;
			}
			if (conns[evs[i].data.u32].fd >= 0)
				on_event(ep, &conns[evs[i].data.u32], evs[i].events);
		}
		tick();
		if (opt.duration_s && now_s() - start >= opt.duration_s)
			break;
	}
done:
	write_status(true);
	for (i = 0; i < opt.conns; i++) {
		bad += conns[i].state == C_BROKEN || conns[i].state == C_FAILED;
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	}
	return bad ? 1 : 0;
}
