// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Peers: authenticated UDP heartbeats between nodes' addresses tell who is
 * alive and whose service is healthy; a peer silent for daemon.dead_after is
 * dead, one that returns waits out a hold-down that doubles when it flaps.
 * Heartbeats carry digests of the model and the tables: a node whose model
 * agrees with the leader's (the lowest live id) but whose tables do not takes
 * the leader's tables over TCP on the same port, so live nodes converge.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shoald.h"
#include "siphash.h"

#define HB_MAGIC	0x53484842U	/* "SHHB" */
#define HB_VERSION	1
#define HB_F_HEALTHY	0x01
#define HB_F_SERVING	0x02	/* has tables; a joining node does not */
#define HB_F_RESTARTING	0x04	/* the daemon stops, its data plane serves on: allow restart_grace */
#define HOLD_MAX_NS	(60ULL * 1000000000ULL)
#define FETCH_MAX	(64u << 20)

struct heartbeat {
	__be32 magic;
	__u8 version;
	__u8 flags;
	__be16 sender;
	__be64 seq;		/* grows for the sender's lifetime and across its restarts */
	__u64 config_digest;
	__u64 model_digest;
	__u64 table_digest;
	__u64 mac;		/* SipHash-2-4 of everything before it, keyed by the seed */
};

_Static_assert(sizeof(struct heartbeat) == 48, "heartbeat layout");

/*
 * A hash report, every 10 s on the heartbeat port: how the sender keys
 * flows, for `shoalctl hash check`. Its own message, not a heartbeat field,
 * so that heartbeats keep their format; the RSS key goes as a digest keyed by
 * the seed. Authenticated and replay-checked like heartbeats.
 */
#define HI_MAGIC	0x53484849U	/* "SHHI" */
#define HI_VERSION	1

struct hash_report {
	__be32 magic;
	__u8 version;
	__u8 mode;
	__be16 sender;
	__be64 seq;		/* from the heartbeats' counter */
	__u8 rss_ok;
	__u8 hfunc;
	__u8 key_len;
	__u8 pad;
	__be32 fields[SHOAL_RSS_FLOWS];
	__u64 key_digest;
	__u32 pad2;
	__u64 mac;
} __attribute__((packed));

_Static_assert(sizeof(struct hash_report) == 56, "hash report layout");

static const char *const state_name[] = { "unknown", "alive", "holding", "dead" };

/*
 * A peer owns buckets once it is alive and serving: a joining node heartbeats
 * before it has tables and an attached program, and must not be sent frames yet.
 */
bool peer_counts(const struct peer *p)
{
	return (p->state == PEER_ALIVE && (p->serving || p->presumed)) ||
	       (p->state == PEER_UNKNOWN && p->presumed);
}

static socklen_t to_sockaddr(const struct shoal_addr *a, __u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &a->a[0], 4);
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->a, 16);
		return sizeof(*s6);
	}
}

static bool from_addr(const struct sockaddr_storage *ss, struct shoal_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->family = 4;
		memcpy(&a->a[0], &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		a->family = 6;
		memcpy(a->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return true;
	}
	return false;
}

static struct peer *peer_by_id(struct daemon *d, __u16 id)
{
	size_t i;

	for (i = 0; i < d->npeers; i++) {
		if (d->peers[i].id == id)
			return &d->peers[i];
	}
	return NULL;
}

static struct peer *peer_by_addr(struct daemon *d, const struct shoal_addr *a)
{
	size_t i;

	for (i = 0; i < d->npeers; i++) {
		if (shoal_addr_eq(&d->peers[i].addr, a))
			return &d->peers[i];
	}
	return NULL;
}

static int open_sockets(struct daemon *d)
{
	const struct shoal_node_cfg *me = shoal_cluster_node_id(&d->cfg, d->self);
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (d->udp >= 0)
		return 0;
	if (!me || !me->addr.family) {
		dlog(1, "this node has no address in the config: no heartbeats, peers presumed alive");
		return 0;
	}
	len = to_sockaddr(&me->addr, d->cfg.daemon.peer_port, &ss);
	d->udp = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	d->tcp = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->udp < 0 || d->tcp < 0)
		return -errno;
	setsockopt(d->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(d->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(d->udp, (void *)&ss, len) || bind(d->tcp, (void *)&ss, len) || listen(d->tcp, 16))
		return -errno;
	/* Echo probes (see probe_peer()); without them a silent peer is simply dead. */
	d->icmp = socket(ss.ss_family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 ss.ss_family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (d->icmp >= 0 && ss.ss_family == AF_INET6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		setsockopt(d->icmp, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
	if (d->icmp < 0)
		dlog(1, "no ICMP socket (%s): a peer whose daemon is down counts as dead",
		     strerror(errno));
	d->echo_id = (__u16)(getpid() ^ (d->self << 8));
	return 0;
}

static __u16 csum16(const void *p, size_t len)
{
	const __u8 *b = p;
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

/*
 * A peer that stopped heartbeating may have lost only its daemon: its program
 * and tables are pinned and serve on. An ICMP echo to its address answers
 * that: the reply crosses its uplink, its XDP program (not a VIP: passed) and
 * its kernel. The identifier is ours, the sequence number the peer's id.
 */
static void probe_peer(struct daemon *d, const struct peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(&p->addr, 0, &ss);
	__u8 pkt[16] = { 0 };
	struct icmphdr *h = (void *)pkt;

	if (d->icmp < 0)
		return;
	h->type = p->addr.family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	h->un.echo.id = htons(d->echo_id);
	h->un.echo.sequence = htons(p->id);
	memcpy(pkt + 8, "shoal-dp", 8);
	if (p->addr.family == 4)
		h->checksum = csum16(pkt, sizeof(pkt));	/* ICMPv6's is the kernel's */
	sendto(d->icmp, pkt, sizeof(pkt), 0, (void *)&ss, len);
}

void peers_echo_receive(struct daemon *d)
{
	__u8 buf[256];

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(d->icmp, buf, sizeof(buf), 0, (void *)&ss, &sl);
		const struct icmphdr *h = (const void *)buf;
		struct shoal_addr from;
		struct peer *p;
		size_t off = 0;

		if (n < 0)
			return;
		if (ss.ss_family == AF_INET) {	/* IPv4 raw sockets hand us the IP header */
			if ((size_t)n < sizeof(struct iphdr))
				continue;
			off = (size_t)(((const struct iphdr *)buf)->ihl * 4);
			h = (const void *)(buf + off);
		}
		if ((size_t)n < off + 16 ||
		    h->type != (ss.ss_family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) ||
		    ntohs(h->un.echo.id) != d->echo_id || !from_addr(&ss, &from) ||
		    !(p = peer_by_id(d, ntohs(h->un.echo.sequence))) || !shoal_addr_eq(&p->addr, &from))
			continue;
		p->echo_at = now_ns();
	}
}

/*
 * Peers are the config's other nodes. State carries over a reload by id. A peer
 * the running data plane already knew is presumed alive until proven dead, so a
 * restart changes no table; a new one counts once it is heard.
 */
int peers_setup(struct daemon *d)
{
	struct peer *old = d->peers;
	size_t nold = d->npeers, i, j;

	d->peers = calloc(d->cfg.nnodes ? d->cfg.nnodes : 1, sizeof(*d->peers));
	d->npeers = 0;
	if (!d->peers)
		return -ENOMEM;
	for (i = 0; i < d->cfg.nnodes; i++) {
		const struct shoal_node_cfg *n = &d->cfg.nodes[i];
		struct peer *p;
		struct shoal_node raw;

		if (n->id == d->self)
			continue;
		p = &d->peers[d->npeers++];
		p->id = n->id;
		snprintf(p->name, sizeof(p->name), "%s", n->name);
		p->addr = n->addr;
		p->healthy = true;
		p->hold_ns = d->cfg.daemon.hold_down_ns;
		p->last_change = now_ns();
		if (d->s && shoal_node_get(d->s, n->id, &raw) == 0 && (raw.flags & SHOAL_NODE_F_PEER))
			p->presumed = true;
		/* Without an address it cannot be heard: trust the config. */
		if (!n->addr.family)
			p->presumed = true;
		for (j = 0; j < nold; j++) {
			if (old[j].id == n->id) {
				*p = old[j];
				p->addr = n->addr;
				snprintf(p->name, sizeof(p->name), "%s", n->name);
			}
		}
	}
	free(old);
	return d->self ? open_sockets(d) : 0;
}

void peers_free(struct daemon *d)
{
	(void)d;	/* peers_setup() carries state over; sockets live as long as the daemon */
}

const struct peer *peers_leader(const struct daemon *d)
{
	const struct peer *best = NULL;
	size_t i;

	for (i = 0; i < d->npeers; i++) {
		const struct peer *p = &d->peers[i];

		if (p->state == PEER_ALIVE && p->serving && (!best || p->id < best->id))
			best = p;
	}
	return best;
}

static void send_heartbeats(struct daemon *d, __u8 extra)
{
	struct heartbeat hb = {
		.magic = htonl(HB_MAGIC),
		.version = HB_VERSION,
		.flags = (d->healthy ? HB_F_HEALTHY : 0) | (d->fresh ? 0 : HB_F_SERVING) | extra,
		.sender = htons(d->self),
		.seq = htobe64(++d->hb_seq),
		.config_digest = d->cfg_digest,
		.model_digest = d->model_digest,
		.table_digest = d->table_digest,
	};
	size_t i;

	hb.mac = shoal_siphash(d->cfg.seed, &hb, offsetof(struct heartbeat, mac));
	for (i = 0; i < d->npeers; i++) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (!d->peers[i].addr.family)
			continue;
		len = to_sockaddr(&d->peers[i].addr, d->cfg.daemon.peer_port, &ss);
		if (sendto(d->udp, &hb, sizeof(hb), 0, (void *)&ss, len) == sizeof(hb))
			d->hb_sent++;
	}
}

void peers_send_hash(struct daemon *d)
{
	struct hash_report r = {
		.magic = htonl(HI_MAGIC),
		.version = HI_VERSION,
		.mode = d->hash.mode,
		.sender = htons(d->self),
		.seq = htobe64(++d->hb_seq),
		.rss_ok = d->hash.rss_ok,
		.hfunc = d->hash.hfunc,
		.key_len = d->hash.key_len,
		.key_digest = d->hash.key_digest,
	};
	size_t i;
	int k;

	if (d->udp < 0 || d->retiring)
		return;
	for (k = 0; k < SHOAL_RSS_FLOWS; k++)
		r.fields[k] = htonl(d->hash.fields[k]);
	r.mac = shoal_siphash(d->cfg.seed, &r, offsetof(struct hash_report, mac));
	for (i = 0; i < d->npeers; i++) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (!d->peers[i].addr.family)
			continue;
		len = to_sockaddr(&d->peers[i].addr, d->cfg.daemon.peer_port, &ss);
		sendto(d->udp, &r, sizeof(r), 0, (void *)&ss, len);
	}
}

/* A peer's hash report; 0 if it was one (taken or refused), -1 if it is no hash report. */
static int hash_report_receive(struct daemon *d, const void *buf, ssize_t n,
			       const struct sockaddr_storage *ss)
{
	struct hash_report r;
	struct shoal_addr from;
	struct peer *p;
	int k;

	if (n != sizeof(r))
		return -1;
	memcpy(&r, buf, sizeof(r));
	if (ntohl(r.magic) != HI_MAGIC)
		return -1;
	if (r.version != HI_VERSION || !from_addr(ss, &from) || !(p = peer_by_id(d, ntohs(r.sender))) ||
	    !shoal_addr_eq(&p->addr, &from) ||
	    r.mac != shoal_siphash(d->cfg.seed, &r, offsetof(struct hash_report, mac)) ||
	    be64toh(r.seq) <= p->hash_seq) {
		d->hb_rejected++;
		return 0;
	}
	p->hash_seq = be64toh(r.seq);
	p->hash_at = now_ns();
	p->hash.mode = r.mode;
	p->hash.rss_ok = r.rss_ok;
	p->hash.hfunc = r.hfunc;
	p->hash.key_len = r.key_len;
	p->hash.key_digest = r.key_digest;
	for (k = 0; k < SHOAL_RSS_FLOWS; k++)
		p->hash.fields[k] = ntohl(r.fields[k]);
	return 0;
}

/* Tell peers the daemon stops while the data plane keeps serving (a restart). */
void peers_goodbye(struct daemon *d)
{
	if (d->udp >= 0 && !d->retiring && !d->fresh)
		send_heartbeats(d, HB_F_RESTARTING);
}

static void set_state(struct daemon *d, struct peer *p, enum peer_state s, __u64 now,
		      const char *why)
{
	enum peer_state was = p->state;
	bool counted = peer_counts(p);

	if (was == s)
		return;
	p->state = s;
	p->last_change = now;
	if (s == PEER_DEAD)
		p->presumed = false;	/* back from the dead, it counts once it serves */
	dlog(s == PEER_DEAD ? 1 : 2, "peer %s (id %u): %s -> %s (%s)", p->name, p->id,
	     state_name[was], state_name[s], why);
	if (peer_counts(p) != counted) {
		char msg[64];

		snprintf(msg, sizeof(msg), "peer %s %s", p->name, peer_counts(p) ? "up" : "down");
		daemon_reapply(d, msg);
	}
}

/* Take the leader's tables: used when our model agrees but our tables do not. */
static void sync_with(struct daemon *d, struct peer *leader)
{
	struct shoal_base base;

	leader->disagree = 0;
	if (peers_fetch_tables(d, leader, &base))
		return;
	dlog(1, "tables differ from leader %s's under the same model: taking its tables",
	     leader->name);
	d->table_syncs++;
	daemon_apply_base(d, &base, "converging on the leader's tables");
	shoal_base_free(&base);
}

void peers_receive(struct daemon *d)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct heartbeat hb;
		struct shoal_addr from;
		struct peer *p;
		__u64 now, buf[8];
		ssize_t n = recvfrom(d->udp, buf, sizeof(buf), 0, (void *)&ss, &sl);

		if (n < 0)
			return;
		if (hash_report_receive(d, buf, n, &ss) == 0)
			continue;
		memcpy(&hb, buf, sizeof(hb));
		now = now_ns();
		/* Only configured peers, from their own address, with the cluster's key. */
		if (n != sizeof(hb) || ntohl(hb.magic) != HB_MAGIC || hb.version != HB_VERSION ||
		    !from_addr(&ss, &from) || !(p = peer_by_id(d, ntohs(hb.sender))) ||
		    !shoal_addr_eq(&p->addr, &from) ||
		    hb.mac != shoal_siphash(d->cfg.seed, &hb, offsetof(struct heartbeat, mac)) ||
		    be64toh(hb.seq) <= p->last_seq) {	/* a replay, or sent before one we had */
			d->hb_rejected++;
			if (d->hb_rejected % 100 == 1) {
				char a[SHOAL_ADDRSTRLEN] = "?";

				if (from_addr(&ss, &from))
					shoal_format_addr(&from, a);
				dlog(1, "rejected a heartbeat from %s (%u so far)", a, d->hb_rejected);
			}
			continue;
		}
		d->hb_received++;
		p->last_seq = be64toh(hb.seq);
		p->daemon_down = false;
		if (hb.flags & HB_F_RESTARTING) {
			p->grace_until = now + d->cfg.daemon.restart_grace_ns;
			dlog(2, "peer %s restarts its daemon: allowing it %llu ms of silence", p->name,
			     (unsigned long long)(d->cfg.daemon.restart_grace_ns / 1000000));
		} else {
			p->grace_until = 0;
		}
		if (!p->last_seen || now - p->last_seen > 2 * d->cfg.daemon.heartbeat_ns + 100000000ULL)
			p->streak_start = now;
		p->last_seen = now;
		p->model_digest = hb.model_digest;
		p->table_digest = hb.table_digest;
		if (p->serving != !!(hb.flags & HB_F_SERVING)) {
			bool counted = peer_counts(p);

			p->serving = hb.flags & HB_F_SERVING;
			if (peer_counts(p) != counted) {
				dlog(2, "peer %s %s", p->name, p->serving ? "serves" : "does not serve");
				daemon_reapply(d, p->serving ? "peer serving" : "peer not serving");
			}
		}
		if (p->healthy != !!(hb.flags & HB_F_HEALTHY)) {
			p->healthy = hb.flags & HB_F_HEALTHY;
			dlog(p->healthy ? 2 : 1, "peer %s reports its service %s", p->name,
			     p->healthy ? "healthy" : "failing");
			if (peer_counts(p))
				daemon_reapply(d, p->healthy ? "peer healthy" : "peer failing");
		}
		if (p->state == PEER_UNKNOWN) {
			set_state(d, p, PEER_ALIVE, now, "heard");
		} else if (p->state == PEER_DEAD) {
			set_state(d, p, PEER_HOLDING, now, "heard again; holding down");
		} else if (p->state == PEER_HOLDING && now - p->streak_start >= p->hold_ns) {
			set_state(d, p, PEER_ALIVE, now, "held down long enough");
		}
		/* Convergence: same model as the leader, other tables, a few times in a row. */
		if (p == peers_leader(d) && p->id < d->self && !d->fresh &&
		    p->model_digest == d->model_digest && p->table_digest != d->table_digest) {
			if (++p->disagree >= 3)
				sync_with(d, p);
		} else {
			p->disagree = 0;
		}
	}
}

void peers_tick(struct daemon *d, __u64 now)
{
	size_t i;
	bool dp;

	if (d->udp < 0)
		return;
	/*
	 * Heartbeats that queued while this loop was busy (an apply, say) are
	 * read before anyone is judged silent: our stall is not their death.
	 */
	peers_receive(d);
	now = now_ns();
	if (now >= d->next_heartbeat && !d->retiring) {
		d->next_heartbeat = now + d->cfg.daemon.heartbeat_ns;
		send_heartbeats(d, 0);
	}
	for (i = 0; i < d->npeers; i++) {
		struct peer *p = &d->peers[i];
		__u64 seen = p->last_seen ? p->last_seen : d->started;

		if (!p->addr.family)
			continue;
		if (p->state == PEER_HOLDING && now - seen > 2 * d->cfg.daemon.heartbeat_ns + 100000000ULL)
			p->streak_start = now;	/* a gap: the hold-down starts over */
		if (p->state == PEER_HOLDING && p->last_seen && now - p->streak_start >= p->hold_ns &&
		    now - seen < d->cfg.daemon.dead_after_ns)
			set_state(d, p, PEER_ALIVE, now, "held down long enough");
		/* Missed two heartbeats: is its data plane still there? */
		if (p->state != PEER_DEAD && now - seen > 2 * d->cfg.daemon.heartbeat_ns &&
		    now >= p->next_probe) {
			p->next_probe = now + d->cfg.daemon.heartbeat_ns;
			probe_peer(d, p);
		}
		/*
		 * Silent, but its data plane answered since it fell silent, and
		 * lately: only its daemon is down (crashed, being restarted). It
		 * serves on with the tables it has, so it keeps counting, for
		 * restart_grace at most: after that its tables are too old.
		 */
		dp = p->echo_at > seen && now - p->echo_at <= 2 * d->cfg.daemon.heartbeat_ns +
		     SHOALD_TICK_MS * 1000000ULL && now - seen <= d->cfg.daemon.restart_grace_ns;
		if (dp != p->daemon_down && now - seen > d->cfg.daemon.dead_after_ns) {
			p->daemon_down = dp;
			if (dp)
				dlog(1, "peer %s: daemon silent for %llu ms, its data plane answers: still counted",
				     p->name, (unsigned long long)((now - seen) / 1000000));
		}
		if ((p->state == PEER_ALIVE || p->state == PEER_HOLDING ||
		     (p->state == PEER_UNKNOWN && p->presumed)) &&
		    now - seen > d->cfg.daemon.dead_after_ns && now >= p->grace_until && !dp) {
			/* Dying again soon after coming back is a flap: hold it down longer. */
			if (p->state == PEER_HOLDING ||
			    (p->died_at && now - p->died_at < 10 * HOLD_MAX_NS)) {
				p->flaps++;
				p->hold_ns = p->hold_ns * 2 > HOLD_MAX_NS ? HOLD_MAX_NS : p->hold_ns * 2;
			}
			p->died_at = now;
			set_state(d, p, PEER_DEAD, now, "silent");
		}
	}
}

void peers_serve_tables(struct daemon *d)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct shoal_addr from;
	struct timeval tv = { 2, 0 };
	FILE *f;
	int fd;

	fd = accept4(d->tcp, (void *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!from_addr(&ss, &from) || !peer_by_addr(d, &from)) {
		dlog(1, "refused a table request from an address that is no peer");
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	shoal_base_write(d->s, f);
	fclose(f);
}

int peers_fetch_tables(struct daemon *d, const struct peer *from, struct shoal_base *base)
{
	const struct shoal_node_cfg *me = shoal_cluster_node_id(&d->cfg, d->self);
	struct sockaddr_storage ss, src;
	struct timeval tv = { 3, 0 };
	char path[] = "/tmp/shoald-tables-XXXXXX", err[512];
	size_t total = 0;
	socklen_t len;
	int fd, out, ret = -EIO;

	if (!from->addr.family || !me || !me->addr.family)
		return -EINVAL;
	len = to_sockaddr(&from->addr, d->cfg.daemon.peer_port, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* From our own address: the peer accepts only configured nodes. */
	to_sockaddr(&me->addr, 0, &src);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	out = mkstemp(path);
	if (out < 0 || bind(fd, (void *)&src, len) || connect(fd, (void *)&ss, len)) {
		dlog(1, "fetching tables from %s: %s", from->name, strerror(errno));
		goto done;
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			dlog(1, "fetching tables from %s: %s", from->name, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > FETCH_MAX || write(out, buf, (size_t)n) != n)
			goto done;
	}
	ret = shoal_base_read(path, base, err, sizeof(err));
	if (ret)
		dlog(1, "tables from %s unusable: %s", from->name, err);
done:
	close(fd);
	if (out >= 0) {
		close(out);
		unlink(path);
	}
	return ret;
}
