/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* GUE forwarding: check what arrives, encapsulate to a peer, rewrite for the next one, strip for the stack. */
#ifndef SHOAL_BPF_GUE_H
#define SHOAL_BPF_GUE_H

#include "csum.h"
#include "forward.h"
#include "icmp.h"
#include "maps.h"
#include "parse.h"
#include "verdict.h"
#include "vip.h"
#include "shoal/hash.h"

#ifndef IPPROTO_IPIP
#define IPPROTO_IPIP 4
#endif

static __always_inline __u32 gue_overhead(const struct shoal_conf *c)
{
	return c->self_family == 6 ? SHOAL_GUE_OVERHEAD6 : SHOAL_GUE_OVERHEAD4;
}

/*
 * The outer UDP source port, and the outer IPv6 flow label, come from the
 * bucket: every hop computes the same, a flow keeps one (no reordering), and
 * receivers' RSS and the fabric's ECMP spread flows.
 */
static __always_inline __be16 gue_sport(__u32 bucket)
{
	return bpf_htons(0xc000 | (bucket & 0x3fff));
}

/*
 * A packet sent to this node's GUE endpoint, its outer headers parsed (p->l4
 * is the UDP header). The outer IP header must be plain (no options, no
 * extension headers: peers never send them) so that it can be rewritten in
 * place; the sender must be a configured peer sending from its own address.
 * Returns -1 with p moved on to the inner IP header and v holding what the
 * header carries, or a reason.
 */
static __always_inline int gue_parse(struct pkt *p, const struct shoal_conf *c, struct verdict *v)
{
	struct udphdr *uh = p->l4;
	struct shoal_gue *g = (void *)(uh + 1);
	__u32 sender, hop, l2len = (__u32)(p->l3 - (void *)p->eth), off;
	struct shoal_node *n;

	if (p->l4 != p->l3 + (p->family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)))
		return SHOAL_R_DROP_GUE_BAD;
	if ((void *)(g + 1) > p->end || (void *)(g + 1) > p->ipend)
		return SHOAL_R_DROP_GUE_BAD;
	if (g->vhl != SHOAL_GUE_VHL || g->flags || g->magic != SHOAL_GUE_MAGIC ||
	    (g->ver_hop >> 4) != SHOAL_GUE_VERSION)
		return SHOAL_R_DROP_GUE_BAD;
	hop = g->ver_hop & 0xf;
	if (hop < 1 || hop > SHOAL_MAX_HOPS)
		return SHOAL_R_DROP_GUE_BAD;

	sender = bpf_ntohs(g->sender);
	n = node_at(sender);
	if (sender >= SHOAL_MAX_NODES || !(n->flags & SHOAL_NODE_F_PEER) || sender == c->self ||
	    n->family != p->family)
		return SHOAL_R_DROP_GUE_PEER;
	if (p->family == 4) {
		struct iphdr *ip = p->l3;

		if (ip->saddr != n->addr[0])
			return SHOAL_R_DROP_GUE_PEER;
	} else {
		struct ipv6hdr *ip6 = p->l3;
		const __u32 *a = ip6->saddr.in6_u.u6_addr32;

		if (a[0] != n->addr[0] || a[1] != n->addr[1] || a[2] != n->addr[2] ||
		    a[3] != n->addr[3])
			return SHOAL_R_DROP_GUE_PEER;
	}

	if (g->proto == IPPROTO_IPIP)
		p->l3_proto = bpf_htons(ETH_P_IP);
	else if (g->proto == IPPROTO_IPV6)
		p->l3_proto = bpf_htons(ETH_P_IPV6);
	else
		return SHOAL_R_DROP_GUE_BAD;
	v->encap = 1;
	v->ol3off = (__u16)l2len;
	v->hop_in = (__u8)hop;
	v->sender = (__u16)sender;
	v->has_bucket = 1;
	v->bucket = bpf_ntohl(g->bucket);
	v->chain_in[0] = bpf_ntohs(g->chain[0]);
	v->chain_in[1] = bpf_ntohs(g->chain[1]);
	v->chain_in[2] = bpf_ntohs(g->chain[2]);
	v->osport = uh->source;
	v->flags |= SHOAL_TRACE_F_GUE_IN;
	off = (__u32)((void *)(g + 1) - (void *)p->eth);
	if (off > SHOAL_IL3_MAX)
		return SHOAL_R_DROP_GUE_BAD;
	off = opaque(c, off, SHOAL_IL3_MASK);
	p->l3 = (void *)p->eth + off;
	/* The inner packet must fill the UDP payload exactly; the inner parse checks against this. */
	p->ipend = (void *)uh + bpf_ntohs(uh->len);
	p->frag = 0;
	return -1;
}

/*
 * What the inner packet adds to the outer UDP checksum, known from its
 * headers alone (the kernel's "local checksum offload"): a valid IPv4 header
 * sums to zero, a valid ICMPv4 message too, and a valid TCP, UDP or ICMPv6
 * checksum makes its segment sum to the negated pseudo-header. Returns -1
 * when the sum is not known that way - a UDP datagram without checksum,
 * IPv6 extension headers - and the outer checksum is then 0.
 */
static __always_inline int inner_sum(const struct pkt *p, const struct verdict *v, __u64 *sum)
{
	__u8 proto = v->icmp ? (p->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) : p->proto;

	if (p->family == 4) {
		struct iphdr *ip = p->l3;
		struct udphdr *uh = p->l4;

		if ((void *)(ip + 1) > p->end)
			return -1;
		if (proto == IPPROTO_ICMP) {
			*sum = 0;
			return 0;
		}
		if (proto == IPPROTO_UDP) {
			if ((void *)(uh + 1) > p->end || !uh->check)
				return -1;
		} else if (proto != IPPROTO_TCP) {
			return -1;
		}
		*sum = csum_neg(csum_pseudo(&ip->saddr, &ip->daddr, 4, proto,
					    bpf_ntohs(ip->tot_len) - ip->ihl * 4));
		return 0;
	} else {
		struct ipv6hdr *ip6 = p->l3;
		__u32 *w = p->l3, i;
		__u64 s = 0;

		if ((void *)(ip6 + 1) > p->end || p->l4 != (void *)(ip6 + 1))
			return -1;
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMPV6)
			return -1;
#pragma unroll
		for (i = 0; i < 10; i++)
			s += w[i];
		*sum = s + csum_neg(csum_pseudo(ip6->saddr.in6_u.u6_addr32,
						ip6->daddr.in6_u.u6_addr32, 6, proto,
						bpf_ntohs(ip6->payload_len)));
		return 0;
	}
}

/*
 * The outer IP, UDP and GUE headers at o, for node n, around an inner packet
 * of inner_len bytes. The caller has checked that o + the overhead fits.
 * Checksums are summed from the values as they are built, not read back from
 * the packet: a 32-bit load of what went out as 16-bit stores stalls.
 */
static __always_inline void gue_write(void *o, const struct shoal_conf *c,
				      const struct shoal_node *n, __u32 hop, __u32 bucket, __u32 pool,
				      __u32 chain01, __u32 chain2, __u32 inner_len, __u8 inner_family,
				      __u8 tos, __be16 sport, __u64 isum, int isum_ok)
{
	__u32 ulen = sizeof(struct udphdr) + sizeof(struct shoal_gue) + inner_len, *w;
	__u32 g0, g1, g2, g3, g4, g5, u0, u1, saddr, daddr;
	__u64 sum;
	__u16 cs;

	if (c->self_family == 4) {
		__u32 w0 = bpf_htonl(0x45000000 | (__u32)tos << 16 | (sizeof(struct iphdr) + ulen));
		__u32 w1 = bpf_htonl(SHOAL_IP_DF), w2 = bpf_htonl(64 << 24 | IPPROTO_UDP << 16);

		saddr = c->self_addr[0];
		daddr = n->addr[0];
		w = o;
		w[0] = w0;
		w[1] = w1;
		/* The checksum is bytes 2-3 of this word: its upper half on this little-endian target. */
		w[2] = w2 | (__u32)(__u16)~csum_fold((__u64)w0 + w1 + w2 + saddr + daddr) << 16;
		w[3] = saddr;
		w[4] = daddr;
		w += 5;
		/* The pseudo-header's addresses. */
		sum = (__u64)saddr + daddr;
	} else {
		w = o;
		w[0] = bpf_htonl(6U << 28 | (__u32)tos << 20 | (bucket & 0xfffff));
		w[1] = bpf_htonl(ulen << 16 | IPPROTO_UDP << 8 | 64);
		__builtin_memcpy(w + 2, c->self_addr, 16);
		__builtin_memcpy(w + 6, n->addr, 16);
		w += 10;
		sum = csum_addr(c->self_addr, 6) + csum_addr(n->addr, 6);
	}
	/* UDP: ports, then length and a zero checksum, as two words. */
	u0 = (__u32)sport | (__u32)c->gue_port << 16;
	u1 = (__u32)bpf_htons(ulen);
	w[0] = u0;
	w[1] = u1;
	g0 = bpf_htonl(SHOAL_GUE_VHL << 24 | (inner_family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6) << 16);
	g1 = bpf_htonl(SHOAL_GUE_MAGIC << 24 | (SHOAL_GUE_VERSION << 4 | hop) << 16 | c->self);
	g2 = bpf_htonl(bucket);
	g3 = bpf_htonl(c->pool_gen[pool & (SHOAL_MAX_POOLS - 1)]);
	g4 = bpf_htonl(chain01);
	g5 = bpf_htonl(chain2 << 16);
	w[2] = g0;
	w[3] = g1;
	w[4] = g2;
	w[5] = g3;
	w[6] = g4;
	w[7] = g5;
	if (!isum_ok)
		return;
	sum += bpf_htonl(IPPROTO_UDP) + bpf_htonl(ulen) + u0 + u1 + (__u64)g0 + g1 + g2 + g3 + g4 +
	       g5 + isum;
	cs = ~csum_fold(sum);
	((__u16 *)w)[3] = cs ? cs : 0xffff;
}

/* The outer frame's MACs: to the next hop toward node n, from this node's uplink. */
static __always_inline void gue_macs(void *eth, const struct shoal_conf *c,
				     const struct shoal_node *n)
{
	*(__u32 *)eth = *(__u32 *)n->hop_mac;
	*(__u16 *)(eth + 4) = *(__u16 *)(n->hop_mac + 4);
	*(__u16 *)(eth + 6) = *(__u16 *)c->self_mac;
	*(__u32 *)(eth + 8) = *(__u32 *)(c->self_mac + 2);
}

/* Length and traffic class of the inner IP packet. */
static __always_inline int inner_len_tos(const struct pkt *p, __u32 *len, __u8 *tos)
{
	if (p->family == 4) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > p->end)
			return SHOAL_R_DROP_BAD_IP;
		*len = bpf_ntohs(ip->tot_len);
		*tos = ip->tos;
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > p->end)
			return SHOAL_R_DROP_BAD_IP;
		*len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		*tos = (__u8)(bpf_ntohs(*(__be16 *)ip6) >> 4);
	}
	return -1;
}

static __always_inline int gue_target_ok(const struct shoal_conf *c, const struct shoal_node *n)
{
	if (!c->self_family || n->family != c->self_family)
		return SHOAL_R_DROP_NODE;
	if (!(n->flags & SHOAL_NODE_F_HOP))
		return SHOAL_R_DROP_NEXTHOP;
	return -1;
}

/*
 * Encapsulate a frame that arrived plain (from the router, or from an L2
 * peer) for node n as cluster hop `hop`. The L2 header (VLAN tags kept) moves
 * to the new front; its MACs become ours and the next hop's. A packet that
 * would not fit the fabric gets the sender told instead (icmp_too_big).
 */
static __always_inline int gue_encap(struct xdp_md *ctx, struct pkt *p, const struct shoal_conf *c,
				     struct verdict *v, const struct shoal_node *n, __u32 hop,
				     int reason)
{
	__u32 l2len = v->l3off & SHOAL_L3_MASK, olen = gue_overhead(c), inner_len = 0, tag[2];
	__u64 isum = 0;
	__u8 tos = 0, family = p->family;
	void *data, *end, *o;
	int r, ok;

	r = gue_target_ok(c, n);
	if (r >= 0)
		return r;
	r = inner_len_tos(p, &inner_len, &tos);
	if (r >= 0)
		return r;
	if (inner_len > c->gue_mtu)
		return icmp_too_big(ctx, p, v, c->gue_mtu);
	r = hop_ttl(p);
	if (r >= 0)
		return r;
	ok = inner_sum(p, v, &isum) == 0;
	/* VLAN tags (at most two) go along; the MACs and the ethertype are new. */
	if ((void *)p->eth + 22 > p->end || l2len < ETH_HLEN || l2len > 22)
		return SHOAL_R_DROP_BAD_IP;
	tag[0] = *(__u32 *)((void *)p->eth + 12);
	tag[1] = *(__u32 *)((void *)p->eth + 16);

	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return SHOAL_R_DROP_NO_ROOM;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + 22 > end)
		return SHOAL_R_DROP_NO_ROOM;
	gue_macs(data, c, n);
	if (l2len >= ETH_HLEN + 4) {
		*(__u32 *)(data + 12) = tag[0];
		if (l2len >= ETH_HLEN + 8)
			*(__u32 *)(data + 16) = tag[1];
	}
	/* The ethertype's offset, opaque to the compiler, which would fold it into o + 2. */
	l2len -= 2;
	asm volatile("" : "+r"(l2len));
	o = data + l2len;
	if (c->self_family == 4) {
		if (o + 2 + SHOAL_GUE_OVERHEAD4 > end)
			return SHOAL_R_DROP_NO_ROOM;
		*(__be16 *)o = bpf_htons(ETH_P_IP);
	} else {
		if (o + 2 + SHOAL_GUE_OVERHEAD6 > end)
			return SHOAL_R_DROP_NO_ROOM;
		*(__be16 *)o = bpf_htons(ETH_P_IPV6);
	}
	o += 2;
	gue_write(o, c, n, hop, v->bucket, v->pool, (__u32)v->chain[0] << 16 | v->chain[1],
		  v->chain[2], inner_len, family, tos, gue_sport(v->bucket), isum, ok);
	v->flags |= SHOAL_TRACE_F_GUE_OUT;
	return reason;
}

/*
 * gue_encap() for the fast path's frame - untagged IPv4 with a 20-byte
 * header and a whole TCP or UDP header, a stable bucket - inline, with no
 * verdict to fill. Returns a reason, or -1 when the packet will not fit the
 * fabric: the general path then tells the sender.
 */
static __always_inline int gue_encap_fast(struct xdp_md *ctx, const struct shoal_conf *c,
					  __u32 target, __u32 bucket, __u32 pool, __u32 hop,
					  __u8 proto)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct shoal_node *n = node_at(target);
	struct iphdr *ip = data + ETH_HLEN;
	__u32 inner_len, olen = gue_overhead(c);
	__u64 isum = 0;
	int ok = 1, r;
	__u8 tos;

	if ((void *)(ip + 1) + sizeof(struct udphdr) > end)
		return SHOAL_R_PASS_SHORT;
	r = gue_target_ok(c, n);
	if (r >= 0)
		return r;
	inner_len = bpf_ntohs(ip->tot_len);
	if (inner_len > c->gue_mtu)
		return -1;
	if (ip->ttl <= 1)
		return SHOAL_R_DROP_TTL;
	ip4_dec_ttl(ip);
	if (proto == IPPROTO_UDP && !((struct udphdr *)(ip + 1))->check)
		ok = 0;
	else
		isum = csum_neg(csum_pseudo(&ip->saddr, &ip->daddr, 4, proto,
					    inner_len - sizeof(*ip)));
	tos = ip->tos;
	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return SHOAL_R_DROP_NO_ROOM;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + SHOAL_GUE_OVERHEAD6 > end)
		return SHOAL_R_DROP_NO_ROOM;
	gue_macs(data, c, n);
	*(__be16 *)(data + 12) = c->self_family == 4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	gue_write(data + ETH_HLEN, c, n, hop, bucket, pool, 0, 0, inner_len, 4, tos,
		  gue_sport(bucket), isum, ok);
	return SHOAL_R_TX_OWNER;
}

/*
 * Decapsulation on the fast path: an untagged IPv4 GUE frame (outer header
 * of 20 bytes, UDP header checked by the caller) from a peer, on its first
 * cluster hop, holding an untagged IPv4 TCP or UDP packet to a VIP in its
 * address's first slot, for a stable bucket this node owns or the sender
 * owns. Then it is passed up stripped, and *vip_id says for which VIP.
 * Anything else (-1) takes the general path, which reaches the same verdict
 * the long way (the fixture suite runs every case both ways).
 */
static __always_inline int gue_decap_fast(struct xdp_md *ctx, const struct shoal_conf *c,
					  __u32 *vip_id)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN, *in;
	struct udphdr *uh = (void *)(ip + 1);
	struct shoal_gue *g = (void *)(uh + 1);
	struct shoal_bucket *b;
	struct shoal_vip *vip;
	struct shoal_node *n;
	__u32 sender, bucket, pool, idx, ports, word;
	__u8 proto;
	void *tbl;

	in = (void *)(g + 1);
	if ((void *)(in + 1) + sizeof(struct tcphdr) > end)
		return -1;
	/* vhl, proto, flags: version 0, Hlen 5, inner IPv4, no flags; magic, version, hop 1. */
	if (*(__u32 *)g != bpf_htonl(SHOAL_GUE_VHL << 24 | IPPROTO_IPIP << 16))
		return -1;
	word = bpf_ntohl(((__u32 *)g)[1]);
	if ((word >> 16) != (SHOAL_GUE_MAGIC << 8 | SHOAL_GUE_VERSION << 4 | 1) || g->chain[0])
		return -1;
	sender = word & 0xffff;
	n = node_at(sender);
	if (sender >= SHOAL_MAX_NODES || !(n->flags & SHOAL_NODE_F_PEER) || sender == c->self ||
	    n->family != 4 || n->addr[0] != ip->saddr)
		return -1;
	bucket = bpf_ntohl(g->bucket);
	if (bucket >= c->m)
		return -1;

	/* The inner packet: plain IPv4, whole, exactly the rest of the UDP payload. */
	if (*(__u8 *)in != 0x45 || (in->frag_off & bpf_htons(SHOAL_IP_MF | SHOAL_IP_OFFSET)) ||
	    bpf_ntohs(in->tot_len) + sizeof(*uh) + sizeof(*g) != bpf_ntohs(uh->len))
		return -1;
	proto = in->protocol;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(in + 1);

		if (th->doff < 5 || bpf_ntohs(in->tot_len) < sizeof(*in) + th->doff * 4)
			return -1;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *iu = (void *)(in + 1);

		if (bpf_ntohs(iu->len) < sizeof(*iu) ||
		    bpf_ntohs(in->tot_len) < sizeof(*in) + bpf_ntohs(iu->len))
			return -1;
	} else {
		return -1;
	}
	ports = *(__u32 *)(in + 1);
	vip = vip_at(((c->vip_copy & 1) << SHOAL_VIP_SLOT_BITS) | shoal_vip_slot4(in->daddr));
	if (vip->family != 4 || vip->addr[0] != in->daddr || (vip->flags & SHOAL_VIP_F_GUE) ||
	    vip_slot_key(vip) != ((ports >> 16) | ((__u32)proto << 16) | (4U << 24)))
		return -1;

	pool = vip->pool & (SHOAL_MAX_POOLS - 1);
	idx = bucket + ((c->pool_copy[pool] & 1) ? c->m : 0);
	tbl = bpf_map_lookup_elem(&tables, &pool);
	if (!tbl)
		return -1;
	b = bpf_map_lookup_elem(tbl, &idx);
	if (!b || !b->owner || b->prev[0])
		return -1;
	if (b->owner == c->self) {
		*vip_id = vip->id;
		if (proto != IPPROTO_TCP)
			return SHOAL_R_PASS_UDP;
		return (((__u8 *)(in + 1))[13] & (0x02 | 0x04 | 0x10)) == 0x02 ?
			SHOAL_R_PASS_SYN : SHOAL_R_PASS_OWNER;
	}
	if (b->owner == sender) {
		*vip_id = vip->id;
		return SHOAL_R_PASS_NO_RETURN;
	}
	return -1;
}

/* Strip the fast path's GUE frame: an untagged IPv4 outer header. */
static __always_inline int gue_strip_fast(struct xdp_md *ctx, const struct shoal_conf *c)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	void *d = data + SHOAL_GUE_OVERHEAD4;

	if (c->self_family != 4 || d + ETH_HLEN > end)
		return SHOAL_R_DROP_GUE_BAD;
	*(__u32 *)d = *(__u32 *)data;
	*(__u32 *)(d + 4) = *(__u32 *)(data + 4);
	*(__u32 *)(d + 8) = *(__u32 *)(data + 8);
	*(__be16 *)(d + 12) = bpf_htons(ETH_P_IP);
	if (bpf_xdp_adjust_head(ctx, SHOAL_GUE_OVERHEAD4))
		return SHOAL_R_DROP_GUE_BAD;
	return -1;
}

/* A GUE frame forwarded on: the outer headers are rewritten in place for node n. */
static __always_inline int gue_rewrite(struct pkt *p, const struct shoal_conf *c,
				       struct verdict *v, const struct shoal_node *n, __u32 hop,
				       int reason)
{
	void *o = (void *)p->eth + (v->ol3off & SHOAL_L3_MASK);
	__u32 inner_len = 0;
	__u64 isum = 0;
	__u8 tos = 0;
	int r, ok;

	r = gue_target_ok(c, n);
	if (r >= 0)
		return r;
	r = inner_len_tos(p, &inner_len, &tos);
	if (r >= 0)
		return r;
	r = hop_ttl(p);
	if (r >= 0)
		return r;
	ok = inner_sum(p, v, &isum) == 0;
	if ((void *)p->eth + ETH_HLEN > p->end || o + SHOAL_GUE_OVERHEAD6 > p->end)
		return SHOAL_R_DROP_GUE_BAD;
	gue_macs(p->eth, c, n);
	gue_write(o, c, n, hop, v->bucket, v->pool, (__u32)v->chain[0] << 16 | v->chain[1],
		  v->chain[2], inner_len, p->family, tos, v->osport, isum, ok);
	v->flags |= SHOAL_TRACE_F_GUE_OUT;
	return reason;
}

/*
 * Remove the outer headers: the L2 header moves up to the inner packet, its
 * ethertype becomes the inner family's, and the head follows. Offsets in v
 * are then the plain frame's. Returns -1, or a reason.
 */
static __always_inline int gue_strip(struct xdp_md *ctx, const struct shoal_conf *c,
				     struct verdict *v)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end, *d;
	__u32 l2len = v->ol3off & SHOAL_L3_MASK, olen = gue_overhead(c);

	if (!v->encap)
		return -1;
	if (l2len < ETH_HLEN || l2len > 22)
		return SHOAL_R_DROP_GUE_BAD;
	d = data + olen;
	/* The inner IP header follows: at least 20 bytes past the moved L2 header. */
	if (d + 22 + 20 > end)
		return SHOAL_R_DROP_GUE_BAD;
	*(__u32 *)d = *(__u32 *)data;
	*(__u32 *)(d + 4) = *(__u32 *)(data + 4);
	*(__u32 *)(d + 8) = *(__u32 *)(data + 8);
	if (l2len >= ETH_HLEN + 4) {
		*(__u32 *)(d + 12) = *(__u32 *)(data + 12);
		if (l2len >= ETH_HLEN + 8)
			*(__u32 *)(d + 16) = *(__u32 *)(data + 16);
	}
	l2len -= 2;
	asm volatile("" : "+r"(l2len));
	d += l2len;
	if (d + 2 > end)
		return SHOAL_R_DROP_GUE_BAD;
	*(__be16 *)d = v->family == 4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	if (bpf_xdp_adjust_head(ctx, (int)olen))
		return SHOAL_R_DROP_GUE_BAD;
	v->l3off -= olen;
	v->l4off -= olen;
	v->fl3off -= olen;
	v->ol3off = 0;
	v->encap = 0;
	return -1;
}

/*
 * Send the frame on to v->target as hop v->hop_in + 1, in the target's
 * format: GUE (encapsulating, or rewriting what arrived encapsulated) or L2
 * (stripping what arrived encapsulated first). A global function: GUE's
 * several hundred instructions are verified once, not at every call site,
 * and it may move the packet's head, so callers hold no packet pointer
 * across it.
 */
__noinline int gue_emit(struct xdp_md *ctx, const struct shoal_conf *c, struct verdict *v,
			int reason)
{
	struct shoal_node *n;
	struct pkt p = {};
	__u32 target, hop;
	int r;

	if (!ctx || !c || !v)
		return SHOAL_R_DROP_NODE;
	target = v->target;
	hop = v->hop_in + 1;
	n = node_at(target);
	if (target >= SHOAL_MAX_NODES || !(n->flags & SHOAL_NODE_F_PEER))
		return SHOAL_R_DROP_NODE;
	p.eth = (void *)(long)ctx->data;
	p.end = (void *)(long)ctx->data_end;
	p.l3 = (void *)p.eth + (v->l3off & SHOAL_IL3_MASK);
	p.l4 = (void *)p.eth + (v->l4off & SHOAL_L4OFF_MASK);
	p.family = v->family;
	p.proto = v->proto;
	if ((void *)(p.eth + 1) > p.end)
		return SHOAL_R_PASS_SHORT;
	if (n->flags & SHOAL_NODE_F_GUE) {
		if (v->encap)
			return gue_rewrite(&p, c, v, n, hop, reason);
		return gue_encap(ctx, &p, c, v, n, hop, reason);
	}
	r = gue_strip(ctx, c, v);
	if (r >= 0)
		return r;
	p.eth = (void *)(long)ctx->data;
	p.end = (void *)(long)ctx->data_end;
	p.l3 = (void *)p.eth + (v->l3off & SHOAL_L3_MASK);
	if ((void *)(p.eth + 1) > p.end ||
	    p.l3 + (p.family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)) > p.end)
		return SHOAL_R_DROP_BAD_IP;
	return forward_l2(&p, c, target, hop, reason);
}

/*
 * Forward to v->target: plain L2 inline (the common case costs no call), or,
 * when GUE is involved on either side, `reason | SHOAL_EMIT_GUE`: the caller
 * of decide_owner() then calls gue_emit(), one call level up, which keeps the
 * deepest chain of global functions within the verifier's stack budget.
 */
#define SHOAL_EMIT_GUE	0x100

static __always_inline int emit(struct pkt *p, const struct shoal_conf *c, struct verdict *v,
				__u32 target, __u32 hop, int reason)
{
	struct shoal_node *n = node_at(target);

	if (!v->encap && !(n->flags & SHOAL_NODE_F_GUE))
		return forward_l2(p, c, target, hop, reason);
	return reason | SHOAL_EMIT_GUE;
}

/* What decide_owner() asked for, done. */
static __always_inline int emit_finish(struct xdp_md *ctx, const struct shoal_conf *c,
				       struct verdict *v, int reason)
{
	if (reason & SHOAL_EMIT_GUE)
		return gue_emit(ctx, c, v, reason & ~SHOAL_EMIT_GUE);
	return reason;
}

#endif /* SHOAL_BPF_GUE_H */
