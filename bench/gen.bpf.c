// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal-gen's programs: the traffic generator, run with BPF_PROG_TEST_RUN in
 * live-frames mode, and the counting sinks at the receiving end.
 *
 * The kernel has no pktgen here, and xdp-trafficgen does not load, so the
 * generator is an XDP program that the test-run loop executes once per frame
 * on a template frame; it returns XDP_TX, which test_run turns into a
 * transmission out of the chosen interface. Each run gives the frame the
 * next flow's source port (and, past one port range, the next source
 * address), patching the checksums incrementally from the template's, so one
 * template makes up to 2^24 distinct 5-tuples at the rate of the loop.
 *
 * test_run reuses its pages, and a page comes back holding what the program
 * under test wrote into it (an L2 forward rewrites the MACs and the TTL): so
 * every frame gets the template's headers anew, and every field that varies
 * is computed from the template's values, never from what is there. The
 * payload, which nothing here writes, is left as it is.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "gen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load (bench/traffic.c); read only, so the offsets are known to the verifier. */
const volatile struct gen_conf gen_conf = {};

/* Frames generated so far: the next one's flow. One test_run runs on one CPU. */
__u64 gen_seq;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEN_SINK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

/* One's complement update of a checksum for one 16-bit word (RFC 1624, eqn. 3), raw byte order. */
static __always_inline __u16 csum_replace16(__u16 csum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~csum + (__u32)(__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline void put16(void *p, __u16 v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

SEC("xdp")
int gen_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 span = gen_conf.port_span, flow, hi;
	__u16 sport, saddr, l4;
	__u32 i;

	if (data + gen_conf.patch_end > end || data + gen_conf.hdr_len > end ||
	    gen_conf.hdr_len < 8 || gen_conf.hdr_len > GEN_HDR_MAX || span == 0 ||
	    gen_conf.flows == 0)
		return XDP_ABORTED;
	/*
	 * The headers: 8-byte words, then 2-byte ones (every header length is
	 * even). The loads are volatile, or the compiler would copy the
	 * template's initial value, zeros, instead of what was set at load.
	 */
#pragma unroll
	for (i = 0; i < GEN_HDR_MAX / 8; i++) {
		__u64 w;

		if ((i + 1) * 8 > gen_conf.hdr_len)
			break;
		w = *(const volatile __u64 *)&gen_conf.hdr[i * 8];
		__builtin_memcpy(data + i * 8, &w, 8);
	}
#pragma unroll
	for (i = 0; i < 3; i++) {
		__u32 at = (gen_conf.hdr_len & ~7U) + i * 2;
		__u16 h;

		if (at + 2 > gen_conf.hdr_len || at + 2 > GEN_HDR_MAX)
			break;
		h = *(const volatile __u16 *)&gen_conf.hdr[at];
		__builtin_memcpy(data + at, &h, 2);
	}
	flow = (__u32)(gen_seq++ % gen_conf.flows);
	hi = flow / span;
	sport = bpf_htons((__u16)(gen_conf.sport_base + flow % span));
	saddr = bpf_htons((__u16)(bpf_ntohs(gen_conf.saddr_lo) + hi));
	put16(data + gen_conf.sport_off, sport);
	put16(data + gen_conf.saddr_lo_off, saddr);
	l4 = csum_replace16(gen_conf.l4_csum, gen_conf.sport, sport);
	l4 = csum_replace16(l4, gen_conf.saddr_lo, saddr);
	/* UDP says "no checksum" with 0; a computed 0 is sent as its other form. */
	if (gen_conf.udp && l4 == 0)
		l4 = 0xffff;
	put16(data + gen_conf.l4_csum_off, l4);
	if (gen_conf.ip_csum_off)
		put16(data + gen_conf.ip_csum_off,
		      csum_replace16(gen_conf.ip_csum, gen_conf.saddr_lo, saddr));
	return XDP_TX;
}

/*
 * Counts TCP and UDP frames (GUE is UDP) and leaves out the link's own
 * chatter (ARP, neighbour discovery, MLD), which would blur small counts.
 */
static __always_inline void sink_add(void *data, void *end, __u32 bytes)
{
	struct ethhdr *eth = data;
	__u32 k = GEN_SINK_FRAMES;
	__u8 proto;
	__u64 *n;

	if ((void *)(eth + 1) > end)
		return;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return;
		proto = ip6->nexthdr;
	} else {
		return;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	n = bpf_map_lookup_elem(&sink_count, &k);
	if (n)
		(*n)++;
	k = GEN_SINK_BYTES;
	n = bpf_map_lookup_elem(&sink_count, &k);
	if (n)
		*n += bytes;
}

/*
 * The receiving end for frames that come back by XDP: counts and drops them.
 * It also makes a veth deliver XDP_TX'd frames at all (the peer of a veth
 * that transmits by XDP must run an XDP program).
 */
SEC("xdp")
int gen_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	sink_add(data, end, (__u32)(end - data));
	return XDP_DROP;
}

/* The receiving end for frames an XDP program passed to the stack: tc ingress, count, drop. */
SEC("tc")
int gen_sink_tc(struct __sk_buff *skb)
{
	sink_add((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len);
	return TC_ACT_SHOT;
}
