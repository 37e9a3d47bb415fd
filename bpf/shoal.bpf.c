// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal's XDP program: for every frame on the uplink, decide whether this
 * node serves it (XDP_PASS), a peer does (XDP_TX with the frame rewritten),
 * or it is bad (XDP_DROP). Reads top to bottom as DESIGN.md §3.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "gue.h"
#include "icmp.h"
#include "maps.h"
#include "owner.h"
#include "parse.h"
#include "stats.h"
#include "vip.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Steps 1-2 for the IP packet at p->l3: is it for a VIP (or this node's GUE
 * endpoint), and whole enough to key? Returns -1 with *vipp the entry and p
 * parsed down to the ports - for an ICMP error, the quoted flow's - or a
 * reason.
 */
static __always_inline int classify(struct pkt *p, const struct shoal_conf *c, struct verdict *v,
				    struct shoal_vip **vipp)
{
	struct vip_query q;
	struct shoal_vip *vip;
	__u32 first;
	int r, idx, gue_ep;

	/*
	 * 1. Not a VIP: pass, having read the destination address and, most of
	 * the time, one empty VIP slot.
	 */
	first = (c->vip_copy & 1) * SHOAL_VIP_SLOTS;
	if (p->l3_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > p->end)
			return SHOAL_R_PASS_SHORT;
		p->family = 4;
		q.start = shoal_vip_slot4(ip->daddr);
	} else if (p->l3_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > p->end)
			return SHOAL_R_PASS_SHORT;
		p->family = 6;
		q.start = shoal_vip_slot6(ip6->daddr.in6_u.u6_addr32);
	} else {
		return SHOAL_R_PASS_NOT_IP;
	}
	vip = vip_at(first + q.start);
	if (!vip->family)
		return SHOAL_R_PASS_NOT_VIP;
	vip_query_init(&q, p, first, q.start);
	if (!vip_addr_eq(vip, p)) {
		q.mode = VIP_Q_ADDR;
		q.key = vip_key(0, 0, p->family);
		idx = vip_probe(&q);
		if (idx < 0)
			return SHOAL_R_PASS_NOT_VIP;
		vip = vip_at(idx);
	}

	/*
	 * A node's own address holds no VIP, only its GUE endpoint: until a packet
	 * proves to be GUE (UDP to gue_port), it is the node's own traffic, passed
	 * unjudged - fragments included (its resolver's answers may come so).
	 */
	gue_ep = vip->flags & SHOAL_VIP_F_GUE;

	/* 2. A VIP address: the packet must be whole enough to key. */
	r = p->family == 4 ? parse_ip4(p) : parse_ip6(p, c);
	if (r >= 0)
		return gue_ep ? SHOAL_R_PASS_NOT_VIP : r;
	if (gue_ep && (p->proto != IPPROTO_UDP || p->frag))
		return SHOAL_R_PASS_NOT_VIP;
	if (p->frag) {
		if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
			return SHOAL_R_PASS_NOT_VIP;
		q.mode = VIP_Q_PROTO;
		q.key = vip_key(0, p->proto, p->family);
		if (vip_probe(&q) < 0)
			return SHOAL_R_PASS_NOT_VIP;
		/* A TCP segment misdelivered draws a RST; a UDP datagram is served. */
		return p->proto == IPPROTO_UDP ? SHOAL_R_PASS_FRAG_UDP : SHOAL_R_DROP_FRAG;
	}
	if (p->proto == (p->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		r = icmp_classify(p, v);
	else
		r = parse_l4(p);
	if (r >= 0)
		return gue_ep ? SHOAL_R_PASS_NOT_VIP : r;
	q.key = vip_key(p->dport, p->proto, p->family);
	if (!vip_addr_eq(vip, p) || vip_slot_key(vip) != q.key) {
		q.mode = VIP_Q_PORT;
		idx = vip_probe(&q);
		if (idx < 0)
			return v->icmp ? SHOAL_R_PASS_ICMP : SHOAL_R_PASS_NOT_VIP;
		vip = vip_at(idx);
	}
	*vipp = vip;
	return -1;
}

static __always_inline int decide(struct xdp_md *ctx, struct pkt *p, const struct shoal_conf *c,
				  struct verdict *v)
{
	struct shoal_vip *vip = 0;
	void *udp_end;
	int r;

	r = parse_eth(p, c);
	if (r >= 0)
		return r;
	r = classify(p, c, v, &vip);
	if (r >= 0)
		return r;
	if (vip->flags & SHOAL_VIP_F_GUE) {
		/*
		 * This node's GUE endpoint: a peer's encapsulated packet. What is
		 * inside must be a VIP packet; nothing else is ever passed up.
		 */
		if (v->icmp)
			return SHOAL_R_PASS_ICMP;
		r = gue_parse(p, c, v);
		if (r >= 0)
			return r;
		udp_end = p->ipend;
		r = classify(p, c, v, &vip);
		if (r >= 0 || (vip->flags & SHOAL_VIP_F_GUE) || p->ipend != udp_end)
			return SHOAL_R_DROP_GUE_INNER;
	}
	v->is_vip = 1;
	v->vip = vip->id;
	v->pool = vip->pool;

	/* 3-5. Whose flow is it, and how many cluster hops has the frame made? */
	v->l3off = p->l3 - (void *)p->eth;
	v->l4off = p->l4 - (void *)p->eth;
	if (!v->icmp)
		v->fl3off = v->l3off;
	v->family = p->family;
	v->proto = p->proto;
	v->sport = p->sport;
	v->dport = p->dport;
	v->syn = p->syn;
	v->ack_only = p->ack_only;
	return emit_finish(ctx, c, v, decide_owner(ctx, c, v));
}

/*
 * The general path: every frame the fast path does not take - VLAN tags,
 * IPv6, IPv4 options, fragments, ICMP, GUE, malformed headers, VIP probing
 * past the first slot, buckets in transition, trace requests - gets the
 * complete decision here. A global function: the verifier checks it once.
 */
__noinline int shoal_slow(struct xdp_md *ctx)
{
	struct pkt p = {};
	struct verdict v = {};
	__u64 len;
	int reason;

	if (!ctx)
		return XDP_PASS;
	p.eth = (void *)(long)ctx->data;
	p.end = (void *)(long)ctx->data_end;
	len = (long)p.end - (long)p.eth;
	{
		struct shoal_trace *t = (void *)(long)ctx->data_meta;

		if ((void *)(t + 1) <= (void *)p.eth && t->magic == SHOAL_TRACE_MAGIC) {
			v.tracing = 1;
			v.rx_given = (t->flags & SHOAL_TRACE_F_RX_HASH) != 0;
			v.rx_hash = t->rx_hash;
		}
	}
	reason = conf.self ? decide(ctx, &p, &conf, &v) : SHOAL_R_PASS_UNCONFIGURED;
	/* A GUE packet passed up goes up decapsulated. */
	if (v.encap && action_of(reason) == XDP_PASS) {
		int r = gue_strip(ctx, &conf, &v);

		if (r >= 0)
			reason = r;
	}
	return finish(ctx, &v, reason, len);
}

/*
 * The fast path's bucket in transition, in a frame of its own (a global
 * function): the verdict it hands decide_owner() would otherwise sit in the
 * fast path's stack frame, beneath every call the general path makes. The
 * bucket is the one the fast path found: no second hash, no second RX-hash read.
 */
__noinline int fast_transition(struct xdp_md *ctx, __u32 pool, __u32 ports, __u64 st,
			       __u32 bucket)
{
	void *data, *end;
	struct tcphdr *th;
	struct verdict v = {
		.l3off = ETH_HLEN,
		.l4off = ETH_HLEN + sizeof(struct iphdr),
		.fl3off = ETH_HLEN,
		.family = 4,
		.proto = (__u8)st,
		.syn = (st >> 8) & 1,
		.pool = (__u8)pool,
		.sport = (__u16)ports,
		.dport = (__u16)(ports >> 16),
		.has_bucket = 1,
		.bucket = bucket,
	};

	if (!ctx)
		return SHOAL_R_PASS_SHORT;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	th = data + ETH_HLEN + sizeof(struct iphdr);
	if ((void *)(th + 1) <= end && (__u8)st == IPPROTO_TCP)
		v.ack_only = (((__u8 *)th)[13] & (0x02 | 0x04 | 0x10)) == 0x10;
	return emit_finish(ctx, &conf, &v, decide_owner(ctx, &conf, &v));
}

/*
 * The fast path: an untagged IPv4 frame with a 20-byte header, not a
 * fragment, TCP or UDP, for the VIP in its address's first slot, whose bucket
 * has no previous owner. That is nearly every frame a balancer sees, and for
 * it this function is the whole decision. All else goes to shoal_slow(),
 * which reaches the same verdicts the long way (the fixture suite runs every
 * case both ways and compares).
 *
 * Written for registers: BPF keeps four across a map lookup, so what the
 * decision needs after the bucket lookups is packed into one word.
 */
SEC("xdp")
int shoal_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct shoal_vip *vip;
	struct shoal_bucket *b;
	__u32 idx, ports, tag, pool, len = end - data;
	__u64 st;		/* proto | syn << 8 | hop_in << 9 | sender << 16 | vip << 32 | len << 48 */
	__u16 owner, sender;
	__u8 proto;
	void *tbl;
	int reason, r;

	/* Metadata in front of the frame: a trace request (shoalctl flow). */
	if ((void *)(long)ctx->data_meta < data)
		return shoal_slow(ctx);
	if (!conf.self)
		return done(SHOAL_R_PASS_UNCONFIGURED, len);
	if ((void *)(ip + 1) > end || *(__u16 *)(data + 12) != bpf_htons(ETH_P_IP))
		return shoal_slow(ctx);

	/* 1. Not a VIP: pass, having read the destination and one VIP slot. */
	idx = ((conf.vip_copy & 1) << SHOAL_VIP_SLOT_BITS) | shoal_vip_slot4(ip->daddr);
	vip = vip_at(idx);
	if (!vip->family)
		return done(SHOAL_R_PASS_NOT_VIP, len);

	/* 2. For a VIP address: a plain, whole TCP or UDP header, or the long way. */
	if (*(__u8 *)ip != 0x45 || (ip->frag_off & bpf_htons(SHOAL_IP_MF | SHOAL_IP_OFFSET)) ||
	    (void *)ip + bpf_ntohs(ip->tot_len) > end || len > 0xffff)
		return shoal_slow(ctx);
	proto = ip->protocol;
	st = proto | ((__u64)(len & 0xffff) << 48);
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(ip + 1);

		if ((void *)(th + 1) > end || th->doff < 5 ||
		    bpf_ntohs(ip->tot_len) < sizeof(*ip) + th->doff * 4)
			return shoal_slow(ctx);
		if ((((__u8 *)th)[13] & (0x02 | 0x04 | 0x10)) == 0x02)
			st |= 1 << 8;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(ip + 1);

		if ((void *)(uh + 1) > end || bpf_ntohs(uh->len) < sizeof(*uh) ||
		    bpf_ntohs(ip->tot_len) < sizeof(*ip) + bpf_ntohs(uh->len))
			return shoal_slow(ctx);
	} else {
		return shoal_slow(ctx);
	}
	ports = *(__u32 *)(ip + 1);
	if (vip->addr[0] != ip->daddr ||
	    vip_slot_key(vip) != ((ports >> 16) | ((__u32)proto << 16) | (4U << 24)))
		return shoal_slow(ctx);
	/* This node's GUE endpoint: a peer's packet for this node, or the long way. */
	if (vip->flags & SHOAL_VIP_F_GUE) {
		__u32 inner_vip = 0;

		if (proto != IPPROTO_UDP)
			return shoal_slow(ctx);
		reason = gue_decap_fast(ctx, &conf, &inner_vip);
		if (reason < 0)
			return shoal_slow(ctx);
		r = gue_strip_fast(ctx, &conf);
		if (r >= 0)
			reason = r;
		return done_vip(reason, len, inner_vip);
	}
	st |= (__u64)vip->id << 32;

	/* 3. Which cluster hop is the frame on? */
	tag = *(__u32 *)(data + 6);
	if (tag == conf.fwd_tag[0] || tag == conf.fwd_tag[1]) {
		__u32 id = bpf_ntohs(*(__u16 *)(data + 10));

		if (id >= SHOAL_MAX_NODES || !(node_at(id)->flags & SHOAL_NODE_F_PEER) ||
		    id == conf.self) {
			reason = SHOAL_R_DROP_PEER;
			goto out;
		}
		if (tag == conf.fwd_tag[1]) {
			reason = SHOAL_R_PASS_HOP_LIMIT;
			goto out;
		}
		st |= (1 << 9) | (id << 16);
	}

	/* 4. The bucket: keyed on the NIC's hash at the first hop in nic mode. */
	{
		__u32 h;
		__u64 hash;

		if (SHOAL_RX_HASH && !(st & (1 << 9)) && nic_rx_hash(ctx, &h, 1))
			hash = (__u64)h << 32;
		else
			hash = shoal_flow_hash4p(conf.key, ip->saddr, ip->daddr, ports, proto);
		idx = shoal_bucket_of(hash, conf.m);
	}
	pool = vip->pool & (SHOAL_MAX_POOLS - 1);
	if (conf.pool_copy[pool] & 1)
		idx += conf.m;
	tbl = bpf_map_lookup_elem(&tables, &pool);
	if (!tbl) {
		reason = SHOAL_R_PASS_NO_TABLE;
		goto out;
	}
	b = bpf_map_lookup_elem(tbl, &idx);
	if (!b || !b->owner) {
		reason = SHOAL_R_PASS_NO_TABLE;
		goto out;
	}
	/*
	 * A bucket in transition needs sockets and the clock: decide_owner(),
	 * handed what was parsed here.
	 */
	if (b->prev[0]) {
		reason = fast_transition(ctx, pool, ports, st, idx >= conf.m ? idx - conf.m : idx);
		goto out;
	}

	/* 5. Nobody but the owner can hold the flow. */
	owner = b->owner;
	sender = (__u16)(st >> 16);
	reason = stable_reason(owner, conf.self, sender, (__u8)st, (st >> 8) & 1);
	if (reason == SHOAL_R_TX_OWNER && (node_at(owner)->flags & SHOAL_NODE_F_GUE)) {
		reason = gue_encap_fast(ctx, &conf, owner, idx >= conf.m ? idx - conf.m : idx, pool,
					((st >> 9) & 1) + 1, (__u8)st);
		/* Too big for the fabric: the general path answers the sender. */
		if (reason < 0)
			return shoal_slow(ctx);
	} else if (reason == SHOAL_R_TX_OWNER) {
		struct pkt p = { .eth = data, .l3 = data + ETH_HLEN, .family = 4, .end = end };

		/* Checked at the top; repeated for the verifier, which lost track. */
		if ((void *)(p.l3 + sizeof(struct iphdr)) > end) {
			reason = SHOAL_R_PASS_SHORT;
			goto out;
		}
		reason = forward_l2(&p, &conf, owner, ((st >> 9) & 1) + 1, SHOAL_R_TX_OWNER);
	}
out:
	return done_vip(reason, st >> 48, (__u32)(st >> 32) & 0xffff);
}
