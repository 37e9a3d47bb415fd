/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header parsing: Ethernet with VLAN tags, IPv4 and IPv6 with extension headers, TCP, UDP. */
#ifndef SHOAL_BPF_PARSE_H
#define SHOAL_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "compat.h"
#include "shoal/abi.h"

/*
 * Header lengths vary (VLAN tags, IPv4 options, IPv6 extension headers), and
 * the verifier would otherwise walk the rest of the program once per
 * combination. OR-ing an offset with a map field it cannot see into (always 0)
 * makes every such path arrive with the same unknown offset, so they merge.
 */
#define SHOAL_L3_MAX	(ETH_HLEN + SHOAL_MAX_VLAN * 4)
#define SHOAL_L3_MASK	0x1f
/* The IP header inside GUE: L2, outer IP (no options, or few), UDP, GUE header. */
#define SHOAL_IL3_MAX	127
#define SHOAL_IL3_MASK	0x7f
#define SHOAL_L4_MAX	1023
#define SHOAL_L4_MASK	0x3ff
#define SHOAL_L4OFF_MASK	0x7ff	/* L3 offset plus L3 length */

/*
 * Call only with off <= mask. The barrier keeps the compiler from dropping the
 * mask, which is what bounds the value for the verifier.
 */
static __always_inline __u32 opaque(const struct shoal_conf *c, __u32 off, __u32 mask)
{
	off |= c->zero;
	asm volatile("" : "+r"(off));
	return off & mask;
}

/* What the decision needs to know about a packet; filled in stages. */
struct pkt {
	void *end;
	struct ethhdr *eth;
	void *l3;		/* struct iphdr or struct ipv6hdr */
	void *l4;		/* struct tcphdr or struct udphdr */
	void *ipend;		/* end of the IP packet (before any Ethernet padding) */
	__u32 len;		/* frame length, for byte counters */
	__u16 l3_proto;		/* ethertype of l3, network order */
	__be16 sport;
	__be16 dport;
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* L4 protocol */
	__u8 frag;		/* a fragment: ports unknown */
	__u8 syn;		/* TCP SYN without ACK: a new connection */
	__u8 ack_only;		/* TCP ACK without SYN/RST: may carry a cookie */
};

/*
 * Ethernet and up to SHOAL_MAX_VLAN 802.1Q / 802.1ad tags. Returns -1 to go
 * on with p->l3 and p->l3_proto set, or the PASS reason for frames that are
 * not ours to judge.
 */
static __always_inline int parse_eth(struct pkt *p, const struct shoal_conf *c)
{
	struct ethhdr *eth = p->eth;
	__u32 off = sizeof(*eth);
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > p->end)
		return SHOAL_R_PASS_SHORT;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < SHOAL_MAX_VLAN; i++) {
		struct shoal_vlan_hdr *vh = (void *)eth + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > p->end)
			return SHOAL_R_PASS_SHORT;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return SHOAL_R_PASS_VLAN_DEPTH;
	off = opaque(c, off, SHOAL_L3_MASK);
	p->l3 = (void *)eth + off;
	p->l3_proto = proto;
	return -1;
}

/*
 * IPv4 header of a packet already known to be for a VIP address: version,
 * IHL, total length, fragments; options skipped by IHL. Sets l4 and proto.
 */
static __always_inline int parse_ip4(struct pkt *p)
{
	struct iphdr *ip = p->l3;
	__u32 hlen, tot;

	if (ip->version != 4 || ip->ihl < 5)
		return SHOAL_R_DROP_BAD_IP;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	/* The frame may carry Ethernet padding past tot_len, never less. */
	if (tot < hlen || (void *)ip + tot > p->end)
		return SHOAL_R_DROP_BAD_IP;
	p->proto = ip->protocol;
	p->frag = (ip->frag_off & bpf_htons(SHOAL_IP_MF | SHOAL_IP_OFFSET)) != 0;
	p->l4 = (void *)ip + hlen;
	p->ipend = (void *)ip + tot;
	return -1;
}

static __always_inline int ip6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH || nh == IPPROTO_MH;
}

/*
 * IPv6 header and a bounded chain of extension headers. A fragment header
 * ends the walk: ports are unknown, its next header names the protocol. One
 * with offset 0 and M clear (an atomic fragment, RFC 6946) is no fragment.
 */
static __always_inline int parse_ip6(struct pkt *p, const struct shoal_conf *c)
{
	struct ipv6hdr *ip6 = p->l3;
	__u32 off = sizeof(*ip6);
	__u8 nh;
	int i;

	if (ip6->version != 6)
		return SHOAL_R_DROP_BAD_IP;
	if ((void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > p->end)
		return SHOAL_R_DROP_BAD_IP;
	p->ipend = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
	nh = ip6->nexthdr;

	for (i = 0; i < SHOAL_MAX_EXTHDR; i++) {
		struct shoal_ext_hdr *eh = (void *)ip6 + off;
		__u32 len;

		if (!ip6_is_ext(nh))
			break;
		if ((void *)(eh + 1) > p->end)
			return SHOAL_R_DROP_EXTHDR;
		if (nh == IPPROTO_FRAGMENT) {
			struct shoal_frag_hdr *fh = (void *)eh;

			if ((void *)(fh + 1) > p->end)
				return SHOAL_R_DROP_EXTHDR;
			if (fh->frag_off & bpf_htons(SHOAL_IP6_MF | SHOAL_IP6_OFFSET)) {
				p->frag = 1;
				p->proto = fh->nexthdr;
				return -1;
			}
			len = sizeof(*fh);
		} else if (nh == IPPROTO_AH) {
			/* AH counts 4-byte units minus 2, the others 8-byte units minus 1. */
			len = (eh->hdrlen + 2) * 4;
		} else {
			len = (eh->hdrlen + 1) * 8;
		}
		nh = eh->nexthdr;
		/* Every iteration reaches the next with the same unknown offset. */
		off += len;
		if (off > SHOAL_L4_MAX)
			return SHOAL_R_DROP_EXTHDR;
		off = opaque(c, off, SHOAL_L4_MASK);
	}
	if (ip6_is_ext(nh))
		return SHOAL_R_DROP_EXTHDR;
	p->proto = nh;
	p->l4 = (void *)ip6 + off;
	return -1;
}

/* TCP or UDP header of a VIP packet: ports, and for TCP the flags that matter. */
static __always_inline int parse_l4(struct pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = p->l4;

		/* The header, options included, inside the IP packet - not in padding. */
		if ((void *)(th + 1) > p->end || th->doff < 5 ||
		    (void *)th + th->doff * 4 > p->ipend)
			return SHOAL_R_DROP_BAD_L4;
		p->sport = th->source;
		p->dport = th->dest;
		p->syn = th->syn && !th->ack && !th->rst;
		p->ack_only = th->ack && !th->syn && !th->rst;
		return -1;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > p->end || bpf_ntohs(uh->len) < sizeof(*uh) ||
		    (void *)uh + bpf_ntohs(uh->len) > p->ipend)
			return SHOAL_R_DROP_BAD_L4;
		p->sport = uh->source;
		p->dport = uh->dest;
		return -1;
	}
	return SHOAL_R_PASS_NOT_VIP;
}

#endif /* SHOAL_BPF_PARSE_H */
