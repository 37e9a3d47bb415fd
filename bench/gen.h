/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The traffic generator's settings and the sinks' counters, shared by gen.bpf.c and traffic.c. */
#ifndef SHOAL_BENCH_GEN_H
#define SHOAL_BENCH_GEN_H

#include <linux/types.h>

/*
 * Where the generator patches the template frame, and the template's values
 * there. Offsets are from the frame's first byte; "raw" values are as the
 * frame holds them (network order), which is what the checksum updates use.
 */
#define GEN_HDR_MAX	80	/* Ethernet + IPv6 + TCP is 74 */

struct gen_conf {
	__u32 flows;		/* distinct 5-tuples, 1 .. GEN_FLOWS_MAX */
	__u32 port_span;	/* source ports per source address */
	__u32 patch_end;	/* the frame is at least this long */
	__u16 sport_base;	/* host order: flow i uses sport_base + i % port_span */
	__u16 sport_off;
	__u16 saddr_lo_off;	/* last 16 bits of the source address: + i / port_span */
	__u16 l4_csum_off;
	__u16 ip_csum_off;	/* 0 for IPv6 */
	__u16 sport;		/* raw, template */
	__u16 saddr_lo;		/* raw, template */
	__u16 l4_csum;		/* raw, template */
	__u16 ip_csum;		/* raw, template (IPv4) */
	__u8  udp;
	__u8  pad;
	__u32 hdr_len;		/* bytes of hdr: the frame's headers, even, 42 .. GEN_HDR_MAX */
	/* The template's headers, written anew into every frame. */
	__u8  hdr[GEN_HDR_MAX] __attribute__((aligned(8)));
};

#define GEN_FLOWS_MAX	(1U << 24)

enum { GEN_SINK_FRAMES, GEN_SINK_BYTES, GEN_SINK_MAX };

#endif /* SHOAL_BENCH_GEN_H */
