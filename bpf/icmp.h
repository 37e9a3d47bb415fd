/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP to a VIP: echo answered here, errors keyed by the flow they quote; "too big" built for senders. */
#ifndef SHOAL_BPF_ICMP_H
#define SHOAL_BPF_ICMP_H

#include "compat.h"
#include "csum.h"
#include "parse.h"
#include "verdict.h"

/*
 * ICMP to a VIP address. An echo request is answered by this node's kernel.
 * An error (destination unreachable, "fragmentation needed" among them, time
 * exceeded, parameter problem; for ICMPv6 also packet too big) quotes a
 * packet the VIP sent: its addresses and ports, reversed, name the flow, and
 * the error goes where the flow goes. Anything else is this node's kernel's
 * to judge. Returns -1 with the flow's ports and protocol in p and its keying
 * header in v, or a reason.
 */
static __always_inline int icmp_classify(struct pkt *p, struct verdict *v)
{
	__u8 *ih = p->l4, type, qproto;
	void *ql4;

	if ((void *)(ih + 8) > p->end || (void *)(ih + 8) > p->ipend)
		return SHOAL_R_DROP_BAD_ICMP;
	type = ih[0];
	if (p->family == 4) {
		struct iphdr *ip = p->l3, *q = (void *)(ih + 8);

		if (type == SHOAL_ICMP_ECHO)
			return SHOAL_R_PASS_ICMP_ECHO;
		if (type != SHOAL_ICMP_DEST_UNREACH && type != SHOAL_ICMP_TIME_EXCEEDED &&
		    type != SHOAL_ICMP_PARAMETERPROB)
			return SHOAL_R_PASS_ICMP;
		if ((void *)(q + 1) > p->end || q->version != 4 || q->ihl < 5)
			return SHOAL_R_DROP_BAD_ICMP;
		/* About a packet from this VIP, with ports (not a later fragment). */
		if (q->saddr != ip->daddr || (q->frag_off & bpf_htons(SHOAL_IP_OFFSET)))
			return SHOAL_R_PASS_ICMP;
		qproto = q->protocol;
		ql4 = (void *)q + q->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = p->l3, *q = (void *)(ih + 8);

		if (type == SHOAL_ICMP6_ECHO_REQUEST)
			return SHOAL_R_PASS_ICMP_ECHO;
		if (type < SHOAL_ICMP6_DEST_UNREACH || type > SHOAL_ICMP6_PARAMPROB)
			return SHOAL_R_PASS_ICMP;
		if ((void *)(q + 1) > p->end || q->version != 6)
			return SHOAL_R_DROP_BAD_ICMP;
		if (q->saddr.in6_u.u6_addr32[0] != ip6->daddr.in6_u.u6_addr32[0] ||
		    q->saddr.in6_u.u6_addr32[1] != ip6->daddr.in6_u.u6_addr32[1] ||
		    q->saddr.in6_u.u6_addr32[2] != ip6->daddr.in6_u.u6_addr32[2] ||
		    q->saddr.in6_u.u6_addr32[3] != ip6->daddr.in6_u.u6_addr32[3])
			return SHOAL_R_PASS_ICMP;
		/* Extension headers in the quote are not walked: such flows cannot be keyed. */
		qproto = q->nexthdr;
		ql4 = q + 1;
	}
	if (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP)
		return SHOAL_R_PASS_ICMP;
	if (ql4 + 4 > p->end)
		return SHOAL_R_DROP_BAD_ICMP;
	/* The quoted packet ran VIP -> client: its source port is the VIP's. */
	p->dport = ((__be16 *)ql4)[0];
	p->sport = ((__be16 *)ql4)[1];
	p->proto = qproto;
	v->fl3off = (__u16)((void *)(ih + 8) - (void *)p->eth);
	v->rev = 1;
	v->icmp = 1;
	v->flags |= SHOAL_TRACE_F_ICMP;
	return -1;
}

/*
 * Turn a frame that came from the router into an ICMP error back to its
 * sender, in place: the head grows by the new IP and ICMP headers (hlen),
 * the tail is cut after `quote` bytes of the original IP packet, and the MACs
 * swap. The caller wrote nothing yet; it fills in the headers.
 */
static __always_inline int icmp_reframe(struct xdp_md *ctx, struct pkt *p, __u32 l2len,
					__u32 hlen, __u32 quote)
{
	__u32 len = (__u32)(p->end - (void *)p->eth);
	int cut = (int)(l2len + quote) - (int)len;

	if (cut > 0)
		return SHOAL_R_DROP_TOO_BIG;
	if (cut && bpf_xdp_adjust_tail(ctx, cut))
		return SHOAL_R_DROP_NO_ROOM;
	if (bpf_xdp_adjust_head(ctx, -(int)hlen))
		return SHOAL_R_DROP_NO_ROOM;
	return -1;
}

/* L2 header of the answer: the request's, moved to the front, with the MACs swapped. */
static __always_inline void icmp_l2(void *data, __u32 l2len, __u32 hlen)
{
	void *old = data + hlen;
	__u32 w0 = *(__u32 *)old, w1 = *(__u32 *)(old + 4), w2 = *(__u32 *)(old + 8);

	/* dst := old src (bytes 6..11), src := old dst (bytes 0..5) */
	*(__u16 *)data = (__u16)(w1 >> 16);
	*(__u32 *)(data + 2) = w2;
	*(__u32 *)(data + 6) = w0;
	*(__u16 *)(data + 10) = (__u16)w1;
	/* VLAN tags and the ethertype, unchanged. */
	*(__u16 *)(data + 12) = *(__u16 *)(old + 12);
	if (l2len >= ETH_HLEN + 4) {
		*(__u32 *)(data + 14) = *(__u32 *)(old + 14);
		if (l2len >= ETH_HLEN + 8)
			*(__u32 *)(data + 18) = *(__u32 *)(old + 18);
	}
}

/*
 * IPv4 "fragmentation needed" (RFC 1191) for a DF packet that does not fit
 * the fabric once encapsulated; it quotes the IP header and 8 bytes, and
 * names `mtu`. Sent from the VIP: the client matches it to its connection by
 * the quote. Without DF the sender cannot be told: a UDP datagram is served
 * here (stateless services answer it right), a TCP segment dropped.
 */
static __always_inline int icmp_too_big4(struct xdp_md *ctx, struct pkt *p, __u32 l2len,
					 __u16 mtu)
{
	struct iphdr *ip = p->l3, *nip;
	__u32 quote, q0, q1, vip, client, *l4w;
	__u8 *ih;
	void *data, *end;
	__u64 sum;
	int r;

	if ((void *)(ip + 1) > p->end)
		return SHOAL_R_DROP_BAD_IP;
	if (!(ip->frag_off & bpf_htons(SHOAL_IP_DF)))
		return p->proto == IPPROTO_UDP ? SHOAL_R_PASS_TOO_BIG : SHOAL_R_DROP_TOO_BIG;
	l4w = p->l4;
	if ((void *)(l4w + 2) > p->end)
		return SHOAL_R_DROP_BAD_L4;
	quote = ip->ihl * 4 + 8;
	q0 = l4w[0];
	q1 = l4w[1];
	vip = ip->daddr;
	client = ip->saddr;
	/* The quoted IP header sums to zero (its checksum is valid); its 8 bytes of L4 do not. */
	sum = (__u64)bpf_htons(SHOAL_ICMP_DEST_UNREACH << 8 | SHOAL_ICMP_FRAG_NEEDED) + bpf_htonl(mtu) + q0 + q1;

	r = icmp_reframe(ctx, p, l2len, sizeof(*nip) + 8, quote);
	if (r >= 0)
		return r;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	/* What is written and moved: the L2 header (at most 22 bytes) and the new headers. */
	if (data + 22 + sizeof(*nip) + 8 > end || l2len < ETH_HLEN || l2len > 22)
		return SHOAL_R_DROP_NO_ROOM;
	icmp_l2(data, l2len, sizeof(*nip) + 8);
	nip = data + l2len;
	if ((void *)(nip + 1) + 8 > end)
		return SHOAL_R_DROP_NO_ROOM;
	*(__u32 *)nip = bpf_htonl(0x45000000 | (sizeof(*nip) + 8 + quote));
	((__u32 *)nip)[1] = 0;
	((__u32 *)nip)[2] = bpf_htonl(64 << 24 | IPPROTO_ICMP << 16);
	nip->saddr = vip;
	nip->daddr = client;
	nip->check = ~csum_fold((__u64)((__u32 *)nip)[0] + ((__u32 *)nip)[1] +
				((__u32 *)nip)[2] + vip + client);
	ih = (void *)(nip + 1);
	*(__u16 *)ih = bpf_htons(SHOAL_ICMP_DEST_UNREACH << 8 | SHOAL_ICMP_FRAG_NEEDED);
	*(__u16 *)(ih + 2) = ~csum_fold(sum);
	*(__u32 *)(ih + 4) = bpf_htonl(mtu);
	return SHOAL_R_TX_TOO_BIG;
}

/*
 * ICMPv6 packet too big (RFC 4443, 8201), quoting the IPv6 header and 8
 * bytes. A packet with extension headers is dropped instead: its ports are
 * past what the quote would hold.
 */
static __always_inline int icmp_too_big6(struct xdp_md *ctx, struct pkt *p, __u32 l2len,
					 __u16 mtu)
{
	struct ipv6hdr *ip6 = p->l3, *nip;
	__u32 vip[4], client[4], *w = p->l3, i;	/* w[10], w[11]: the 8 bytes of L4 */
	const __u32 quote = sizeof(*ip6) + 8;
	__u8 *ih;
	void *data, *end;
	__u64 sum;
	int r;

	if ((void *)(ip6 + 1) + 8 > p->end || p->l4 != (void *)(ip6 + 1))
		return SHOAL_R_DROP_TOO_BIG;
	/* Read the quote through w: the compiler would use p->l4, whose range the verifier lacks. */
	asm volatile("" : "+r"(w));
	if ((void *)(w + 12) > p->end)
		return SHOAL_R_DROP_TOO_BIG;
	__builtin_memcpy(vip, &ip6->daddr, 16);
	__builtin_memcpy(client, &ip6->saddr, 16);
	sum = csum_pseudo(vip, client, 6, IPPROTO_ICMPV6, 8 + quote) +
	      bpf_htons(SHOAL_ICMP6_PKT_TOOBIG << 8) + bpf_htonl(mtu) +
	      w[10] + w[11];
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];

	r = icmp_reframe(ctx, p, l2len, sizeof(*nip) + 8, quote);
	if (r >= 0)
		return r;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + 22 + sizeof(*nip) + 8 > end || l2len < ETH_HLEN || l2len > 22)
		return SHOAL_R_DROP_NO_ROOM;
	icmp_l2(data, l2len, sizeof(*nip) + 8);
	nip = data + l2len;
	if ((void *)(nip + 1) + 8 > end)
		return SHOAL_R_DROP_NO_ROOM;
	*(__u32 *)nip = bpf_htonl(0x60000000);
	nip->payload_len = bpf_htons(8 + quote);
	nip->nexthdr = IPPROTO_ICMPV6;
	nip->hop_limit = 64;
	__builtin_memcpy(&nip->saddr, vip, 16);
	__builtin_memcpy(&nip->daddr, client, 16);
	ih = (void *)(nip + 1);
	*(__u16 *)ih = bpf_htons(SHOAL_ICMP6_PKT_TOOBIG << 8);
	*(__u16 *)(ih + 2) = ~csum_fold(sum);
	*(__u32 *)(ih + 4) = bpf_htonl(mtu);
	return SHOAL_R_TX_TOO_BIG;
}

/*
 * The packet will not fit the fabric once encapsulated. Only a frame from the
 * router can be answered (its source MAC is where answers go); an ICMP error
 * never draws another.
 */
static __always_inline int icmp_too_big(struct xdp_md *ctx, struct pkt *p, struct verdict *v,
					__u16 mtu)
{
	__u32 l2len = v->l3off & SHOAL_L3_MASK;

	if (v->hop_in || v->icmp || v->encap)
		return SHOAL_R_DROP_TOO_BIG;
	if (p->family == 4)
		return icmp_too_big4(ctx, p, l2len, mtu);
	return icmp_too_big6(ctx, p, l2len, mtu);
}

#endif /* SHOAL_BPF_ICMP_H */
