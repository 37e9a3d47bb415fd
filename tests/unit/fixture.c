// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test fixtures: a private network namespace, a configured data plane, frames, and checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "fixture.h"
#include "log.h"
#include "shoal/hash.h"

const __u8 fx_mac[FX_NODES + 1][6] = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe },	/* router */
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x04 },
};
const __u8 fx_prefix[3] = SHOAL_MAC_PREFIX_DEFAULT;

bool fx_is_root(void)
{
	return geteuid() == 0;
}

int fx_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "fixture: '%s' exited %d\n", cmd, rc);
	return rc;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static void quiet_log(enum shoal_log_level level, const char *msg)
{
	if (level == SHOAL_LOG_WARN)
		fprintf(stderr, "shoal: warning: %s\n", msg);
}

int fx_enter(void)
{
	if (!fx_is_root()) {
		fprintf(stderr, "SKIP: the data plane tests need root (BPF, network namespaces)\n");
		return -EPERM;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS)) {
		perror("unshare");
		return -errno;
	}
	/* Our mounts (bpffs, the /sys ip-netns might touch) stay ours. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("make / private");
		return -errno;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		perror("mount bpffs");
		return -errno;
	}
	/* Expected failures are checked through shoal_last_error(), not printed. */
	shoal_set_log(quiet_log);

	if (fx_sh("ip link set lo up") ||
	    fx_sh("ip addr add " FX_VIP4 "/32 dev lo && ip addr add " FX_VIP4_ANY "/32 dev lo") ||
	    fx_sh("ip addr add " FX_VIP6 "/128 dev lo nodad") ||
	    fx_sh("ip addr add " FX_CLIENT_LOCAL "/32 dev lo") ||
	    fx_sh("ip addr add " FX_CLIENT6_LOCAL "/128 dev lo nodad") ||
	    fx_sh("ip link add veth0 address 02:00:00:00:aa:00 type veth peer name veth1 address 02:00:00:00:aa:01") ||
	    fx_sh("ip link set veth0 up && ip link set veth1 up") ||
	    fx_sh("ip addr add 198.18.1.1/24 dev veth0") ||
	    fx_sh("ip -6 addr add 2001:db8:ff::1/64 dev veth0 nodad") ||
	    fx_sh("ip neigh replace " FX_CLIENT_FAR " lladdr 02:00:00:00:aa:01 dev veth0 nud permanent") ||
	    fx_sh("ip -6 neigh replace " FX_CLIENT6 " lladdr 02:00:00:00:aa:01 dev veth0 nud permanent") ||
	    /* GUE: the nodes' addresses are behind the router (fx_mac[0]) on veth0. */
	    fx_sh("ip neigh replace 198.18.1.254 lladdr 02:00:00:00:00:fe dev veth0 nud permanent") ||
	    fx_sh("ip route add " FX_NODE_NET4 " via 198.18.1.254 dev veth0") ||
	    fx_sh("ip -6 neigh replace fe80::fe lladdr 02:00:00:00:00:fe dev veth0 nud permanent") ||
	    fx_sh("ip -6 route add " FX_NODE_NET6 " via fe80::fe dev veth0"))
		return -EIO;
	write_file("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
	write_file("/proc/sys/net/ipv4/conf/veth0/rp_filter", "0");
	write_file("/proc/sys/net/ipv4/conf/veth0/accept_local", "1");
	return 0;
}

void fx_cluster(struct shoal_cluster *c)
{
	static const char *const names[] = { "", "a", "b", "c", "d" };
	static const struct {
		const char *addr;
		__u16 port;
		__u8 proto;
	} vips[] = {
		{ FX_VIP4, 80, IPPROTO_TCP },	 { FX_VIP4, 53, IPPROTO_UDP },
		{ FX_VIP4_ANY, 0, IPPROTO_TCP }, { FX_VIP4_ANY, 0, IPPROTO_UDP },
		{ FX_VIP6, 443, IPPROTO_TCP },	 { FX_VIP6, 53, IPPROTO_UDP },
	};
	size_t i;

	shoal_cluster_init(c);
	c->seed[0] = 0x0123456789abcdefULL;
	c->seed[1] = 0xfedcba9876543210ULL;
	c->m = 251;
	c->nodes = calloc(FX_NODES, sizeof(*c->nodes));
	c->pools = calloc(1, sizeof(*c->pools));
	c->vips = calloc(sizeof(vips) / sizeof(vips[0]), sizeof(*c->vips));
	c->pools[0].members = calloc(FX_NODES, sizeof(__u16));
	strcpy(c->pools[0].name, SHOAL_DEFAULT_POOL);
	c->npools = 1;
	for (i = 1; i <= FX_NODES; i++) {
		struct shoal_node_cfg *n = &c->nodes[c->nnodes++];
		char addr[32];

		strcpy(n->name, names[i]);
		n->id = (__u16)i;
		memcpy(n->mac, fx_mac[i], 6);
		snprintf(addr, sizeof(addr), "198.18.2.%zu", i);
		shoal_parse_addr(addr, &n->addr);
		n->weight = SHOAL_WEIGHT_DEFAULT;
		c->pools[0].members[c->pools[0].nmembers++] = (__u16)i;
	}
	for (i = 0; i < sizeof(vips) / sizeof(vips[0]); i++) {
		struct shoal_vip_cfg *v = &c->vips[c->nvips++];

		shoal_parse_addr(vips[i].addr, &v->addr);
		v->port = vips[i].port;
		v->proto = vips[i].proto;
		strcpy(v->pool, SHOAL_DEFAULT_POOL);
	}
}

void fx_cluster_gue(struct shoal_cluster *c, int family)
{
	size_t i;

	fx_cluster(c);
	c->forwarding = SHOAL_FWD_GUE;
	for (i = 0; i < c->nnodes; i++)
		fx_node_addr(c->nodes[i].id, family, &c->nodes[i].addr);
}

void fx_node_addr(__u16 id, int family, struct shoal_addr *a)
{
	char buf[64];

	if (family == 6)
		snprintf(buf, sizeof(buf), "fd00:2::%u", id);
	else
		snprintf(buf, sizeof(buf), "198.18.2.%u", id);
	shoal_parse_addr(buf, a);
}

struct shoal *fx_dataplane_model(const struct shoal_cluster *c, __u16 self,
				 struct shoal_apply_report *rep)
{
	struct shoal_apply_opts o = { .self = self };
	struct shoal *s;
	char err[512];

	if (shoal_create(&s, NULL, c->m))
		return NULL;
	if (shoal_cluster_apply(s, c, &o, rep, err, sizeof(err))) {
		fprintf(stderr, "fixture apply: %s\n", err);
		shoal_close(s);
		s = NULL;
	}
	return s;
}

struct shoal *fx_dataplane(__u16 self)
{
	struct shoal_cluster c;
	struct shoal *s;

	fx_cluster(&c);
	s = fx_dataplane_model(&c, self, NULL);
	shoal_cluster_free(&c);
	return s;
}

int fx_table_bucket(struct shoal *s, const struct shoal_bucket *b)
{
	__u32 m = shoal_m(s), i;
	struct shoal_bucket *t = malloc(sizeof(*t) * m);
	int err;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < m; i++)
		t[i] = *b;
	err = shoal_table_stage(s, 0, t);
	if (!err)
		err = shoal_commit(s);
	free(t);
	return err;
}

int fx_table_uniform(struct shoal *s, __u16 owner, const __u16 *prev, int nprev, int live)
{
	struct shoal_bucket b = { .owner = owner };
	__u32 now = shoal_now_ticks();
	int i;

	for (i = 0; i < nprev && i < SHOAL_MAX_PREV; i++) {
		b.prev[i] = prev[i];
		/* Ten minutes ahead, or ten minutes gone. */
		b.expire[i] = live ? now + 600 : now - 600;
	}
	return fx_table_bucket(s, &b);
}

static struct pkt_spec fx_base(const char *src, __u16 sport, const char *dst, __u16 dport,
			       __u8 proto)
{
	struct pkt_spec s = {};

	memcpy(s.dst_mac, fx_mac[FX_A], 6);
	memcpy(s.src_mac, fx_mac[0], 6);
	shoal_parse_addr(src, &s.src);
	shoal_parse_addr(dst, &s.dst);
	s.sport = sport;
	s.dport = dport;
	s.proto = proto;
	s.seq = 1000;
	return s;
}

struct pkt_spec fx_tcp4(const char *src, __u16 sport, const char *dst, __u16 dport, __u8 flags)
{
	struct pkt_spec s = fx_base(src, sport, dst, dport, IPPROTO_TCP);

	s.tcp_flags = flags;
	return s;
}

struct pkt_spec fx_udp4(const char *src, __u16 sport, const char *dst, __u16 dport)
{
	return fx_base(src, sport, dst, dport, IPPROTO_UDP);
}

struct pkt_spec fx_tcp6(const char *src, __u16 sport, const char *dst, __u16 dport, __u8 flags)
{
	return fx_tcp4(src, sport, dst, dport, flags);
}

struct pkt_spec fx_udp6(const char *src, __u16 sport, const char *dst, __u16 dport)
{
	return fx_udp4(src, sport, dst, dport);
}

void fx_from_peer(struct pkt_spec *s, __u16 sender, int hop)
{
	s->src_mac[0] = fx_prefix[0];
	s->src_mac[1] = fx_prefix[1];
	s->src_mac[2] = fx_prefix[2];
	s->src_mac[3] = (__u8)hop;
	s->src_mac[4] = (__u8)(sender >> 8);
	s->src_mac[5] = (__u8)sender;
}

int fx_run_raw(struct shoal *s, const __u8 *frame, size_t len, struct fx_result *r)
{
	struct shoal_counter before[SHOAL_R_MAX], after[SHOAL_R_MAX];
	struct shoal_run run;
	int err, i, moved_reasons = 0;

	memset(r, 0, sizeof(*r));
	r->reason = -1;
	if (len > sizeof(r->in))
		return -EINVAL;
	memcpy(r->in, frame, len);
	r->in_len = (__u32)len;
	err = shoal_stats_read(s, before);
	if (!err)
		err = shoal_run(s, frame, len, false, &run);
	if (!err)
		err = shoal_stats_read(s, after);
	if (err)
		return err;
	r->action = run.action;
	memcpy(r->out, run.out, run.out_len);
	r->out_len = run.out_len;
	for (i = 0; i < SHOAL_R_MAX; i++) {
		__u64 d = after[i].packets - before[i].packets;

		r->moved += (int)d;
		if (d) {
			r->reason = i;
			moved_reasons++;
		}
	}
	if (moved_reasons > 1)
		r->reason = -2;
	/*
	 * The traced run takes the program's general path, the counted one the
	 * fast path when the frame qualifies: they must reach the same verdict,
	 * reason and bytes, and the traced run must count nothing.
	 */
	err = shoal_run(s, frame, len, true, &run);
	if (err)
		return err;
	if (run.action != r->action || run.out_len != r->out_len ||
	    memcmp(run.out, r->out, r->out_len) || (r->reason >= 0 && run.trace.reason != r->reason)) {
		fprintf(stderr, "fixture: fast and general paths disagree: %s/%s vs %s/%s\n",
			shoal_action_name(r->action), shoal_reason_name(r->reason),
			shoal_action_name(run.action), shoal_reason_name(run.trace.reason));
		return -EPROTO;
	}
	r->trace = run.trace;
	if (shoal_stats_read(s, before))
		return -EIO;
	for (i = 0; i < SHOAL_R_MAX; i++) {
		if (before[i].packets != after[i].packets)
			return -EPROTO;
	}
	return 0;
}

int fx_run(struct shoal *s, const struct pkt_spec *spec, struct fx_result *r)
{
	__u8 buf[2048];
	size_t len = pkt_build(spec, buf, sizeof(buf));

	if (!len)
		return -EINVAL;
	return fx_run_raw(s, buf, len, r);
}

void fx_expect_forward(const struct fx_result *r, __u16 to, int hop, __u8 *exp)
{
	fx_expect_forward_frame(r->in, r->in_len, to, hop, exp);
}

void fx_expect_forward_frame(const __u8 *in, __u32 in_len, __u16 to, int hop, __u8 *exp)
{
	__u16 et;
	int l3;

	memcpy(exp, in, in_len);
	memcpy(exp, fx_mac[to], 6);
	exp[6] = fx_prefix[0];
	exp[7] = fx_prefix[1];
	exp[8] = fx_prefix[2];
	exp[9] = (__u8)hop;
	exp[10] = 0;
	exp[11] = FX_A;
	l3 = pkt_l3_offset(exp, in_len, &et);
	if (l3 < 0)
		return;
	if (et == 0x0800) {
		__u8 *ip = exp + l3;
		__u16 c;

		ip[8]--;
		c = pkt_ip4_csum(ip, (size_t)(ip[0] & 0xf) * 4);
		memcpy(ip + 10, &c, 2);
	} else if (et == 0x86dd) {
		exp[l3 + 7]--;
	}
}

/* ---- sockets ---- */

static int sockaddr_of(const char *addr, __u16 port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -1;
}

int fx_listen(const char *addr, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int af = sockaddr_of(addr, port, &ss, &len), fd, one = 1;

	fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int fx_connect(const char *src, __u16 sport, const char *dst, __u16 dport, int *server)
{
	struct sockaddr_storage ss, ds;
	socklen_t sl, dl;
	int af = sockaddr_of(src, sport, &ss, &sl), fd, one = 1, lfd;

	sockaddr_of(dst, dport, &ds, &dl);
	lfd = fx_listen(dst, dport);
	if (lfd < 0)
		return lfd;
	fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		close(lfd);
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, sl) || connect(fd, (void *)&ds, dl)) {
		int err = -errno;

		close(fd);
		close(lfd);
		return err;
	}
	*server = accept(lfd, NULL, NULL);
	close(lfd);
	if (*server < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int packet_socket(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex("veth1");
	if (bind(fd, (void *)&sll, sizeof(sll))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int fx_inject(const __u8 *frame, size_t len)
{
	int fd = packet_socket();
	ssize_t n;

	if (fd < 0)
		return fd;
	n = send(fd, frame, len, 0);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int cap_fd = -1;

int fx_capture_tcp(const char *dst, __u16 dport, __u32 *seq, __u8 *flags, int timeout_ms)
{
	struct shoal_addr want;
	__u8 buf[2048];
	int waited = 0;

	if (shoal_parse_addr(dst, &want))
		return -EINVAL;
	if (cap_fd < 0)
		cap_fd = packet_socket();
	if (cap_fd < 0)
		return cap_fd;
	while (waited < timeout_ms) {
		struct pollfd p = { .fd = cap_fd, .events = POLLIN };
		ssize_t n;
		__u16 et;
		int l3;

		if (poll(&p, 1, 50) <= 0) {
			waited += 50;
			continue;
		}
		n = recv(cap_fd, buf, sizeof(buf), 0);
		if (n <= 0)
			continue;
		l3 = pkt_l3_offset(buf, (size_t)n, &et);
		if (l3 < 0)
			continue;
		if (et == 0x0800 && want.family == 4 && n >= l3 + 40 && buf[l3 + 9] == IPPROTO_TCP &&
		    !memcmp(buf + l3 + 16, &want.a[0], 4)) {
			const __u8 *th = buf + l3 + (buf[l3] & 0xf) * 4;

			if ((th[2] << 8 | th[3]) != dport)
				continue;
			memcpy(seq, th + 4, 4);
			*seq = ntohl(*seq);
			*flags = th[13];
			return 0;
		}
		if (et == 0x86dd && want.family == 6 && n >= l3 + 60 && buf[l3 + 6] == IPPROTO_TCP &&
		    !memcmp(buf + l3 + 24, want.a, 16)) {
			const __u8 *th = buf + l3 + 40;

			if ((th[2] << 8 | th[3]) != dport)
				continue;
			memcpy(seq, th + 4, 4);
			*seq = ntohl(*seq);
			*flags = th[13];
			return 0;
		}
	}
	return -ETIMEDOUT;
}
