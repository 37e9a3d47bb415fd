// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal's XDP program: for every frame on the uplink, decide whether this
 * node serves it (XDP_PASS), a peer does (XDP_TX with the frame rewritten),
 * or it is bad (XDP_DROP). Reads top to bottom as DESIGN.md §3.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "owner.h"
#include "parse.h"
#include "stats.h"
#include "vip.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int decide(struct xdp_md *ctx, struct pkt *p, const struct shoal_conf *c,
				  struct verdict *v)
{
	struct vip_query q;
	struct shoal_vip *vip;
	__u32 first;
	int r, idx;

	r = parse_eth(p, c);
	if (r >= 0)
		return r;

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
	if (!vip || !vip->family)
		return SHOAL_R_PASS_NOT_VIP;
	vip_query_init(&q, p, first, q.start);
	if (!vip_addr_eq(vip, p)) {
		q.mode = VIP_Q_ADDR;
		q.key = vip_key(0, 0, p->family);
		if (vip_probe(&q) < 0)
			return SHOAL_R_PASS_NOT_VIP;
	}

	/* 2. A VIP address: the packet must be whole enough to key. */
	r = p->family == 4 ? parse_ip4(p) : parse_ip6(p, c);
	if (r >= 0)
		return r;
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
	r = parse_l4(p);
	if (r >= 0)
		return r;
	q.key = vip_key(p->dport, p->proto, p->family);
	if (!vip_addr_eq(vip, p) || vip_slot_key(vip) != q.key) {
		q.mode = VIP_Q_PORT;
		idx = vip_probe(&q);
		if (idx < 0)
			return SHOAL_R_PASS_NOT_VIP;
		vip = vip_at(idx);
		if (!vip)
			return SHOAL_R_PASS_NOT_VIP;
	}
	v->is_vip = 1;
	v->vip = vip->id;
	v->pool = vip->pool;

	/* 3-5. Whose flow is it, and how many cluster hops has the frame made? */
	v->l3off = p->l3 - (void *)p->eth;
	v->l4off = p->l4 - (void *)p->eth;
	v->family = p->family;
	v->proto = p->proto;
	v->sport = p->sport;
	v->dport = p->dport;
	v->syn = p->syn;
	v->ack_only = p->ack_only;
	return decide_owner(ctx, c, v);
}

SEC("xdp")
int shoal_xdp(struct xdp_md *ctx)
{
	struct pkt p = {
		.eth = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct verdict v = {};
	struct shoal_conf *c;
	__u32 zero = 0;
	int reason;

	c = bpf_map_lookup_elem(&conf, &zero);
	if (!c || !c->self)
		reason = SHOAL_R_PASS_UNCONFIGURED;
	else
		reason = decide(ctx, &p, c, &v);
	return finish(ctx, &p, &v, reason);
}
