/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* L2 forwarding to a peer: MAC rewrite with the hop-marking source MAC, TTL, XDP_TX. */
#ifndef SHOAL_BPF_FORWARD_H
#define SHOAL_BPF_FORWARD_H

#include "maps.h"
#include "parse.h"

/* RFC 1624 incremental update for the TTL byte going down by one. */
static __always_inline void ip4_dec_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

/* The TTL or hop limit goes down on every cluster hop, a last guard against loops. */
static __always_inline int hop_ttl(struct pkt *p)
{
	if (p->family == 4) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > p->end)
			return SHOAL_R_DROP_BAD_IP;
		if (ip->ttl <= 1)
			return SHOAL_R_DROP_TTL;
		ip4_dec_ttl(ip);
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > p->end)
			return SHOAL_R_DROP_BAD_IP;
		if (ip6->hop_limit <= 1)
			return SHOAL_R_DROP_TTL;
		ip6->hop_limit--;
	}
	return -1;
}

/*
 * Rewrite the frame for `target` as cluster hop `hop` (1 or 2) and return
 * `reason` (a TX reason), or a DROP reason when the frame may not go.
 */
static __always_inline int forward_l2(struct pkt *p, const struct shoal_conf *c,
				      __u32 target, __u32 hop, int reason)
{
	struct shoal_node *n = node_at(target);
	struct ethhdr *eth = p->eth;
	int r;

	if (target >= SHOAL_MAX_NODES || !(n->flags & SHOAL_NODE_F_PEER))
		return SHOAL_R_DROP_NODE;
	r = hop_ttl(p);
	if (r >= 0)
		return r;

	/* Word stores: struct ethhdr is packed, and byte stores cost. */
	*(__u32 *)((void *)eth) = *(__u32 *)n->mac;
	*(__u16 *)((void *)eth + 4) = *(__u16 *)(n->mac + 4);
	*(__u32 *)((void *)eth + 6) = c->fwd_tag[(hop - 1) & 1];
	*(__u16 *)((void *)eth + 10) = c->self_be;
	return reason;
}

#endif /* SHOAL_BPF_FORWARD_H */
