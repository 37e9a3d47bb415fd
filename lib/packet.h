/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Building test and probe frames: Ethernet, VLAN, IPv4 (options), IPv6 (extension headers), TCP, UDP. */
#ifndef SHOAL_PACKET_H
#define SHOAL_PACKET_H

#include <stddef.h>
#include <linux/types.h>
#include "util.h"

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

struct pkt_spec {
	__u8 dst_mac[6];
	__u8 src_mac[6];
	int nvlan;			/* 0..4 tags */
	__u16 vlan_tpid[4];		/* host order; 0 = 802.1Q */
	__u16 vlan_id[4];
	struct shoal_addr src, dst;	/* same family */
	__u8 proto;			/* IPPROTO_TCP / IPPROTO_UDP / other */
	__u16 sport, dport;		/* host order */
	__u8 tcp_flags;
	__u32 seq, ack;
	__u8 ttl;			/* 0 = 64 */
	const __u8 *ip4_opts;		/* multiple of 4 bytes, at most 40 */
	size_t ip4_opts_len;
	const __u8 *ip6_ext;		/* raw extension headers, each's nexthdr filled in */
	size_t ip6_ext_len;
	__u8 ip6_ext_first;		/* nexthdr of the fixed header when ip6_ext is set */
	__u16 frag_off;			/* host order, IPv4 flags+offset / IPv6 via ext */
	int no_df;			/* IPv4: clear DF (frag_off 0 means DF) */
	const void *payload;
	size_t payload_len;
};

/*
 * Write the frame into buf (at most cap bytes); returns its length, or 0 if it
 * does not fit. TCP, UDP, ICMP and ICMPv6 checksums are filled in (for ICMP
 * the payload is the message, its checksum field overwritten).
 */
size_t pkt_build(const struct pkt_spec *s, __u8 *buf, size_t cap);

/* GUE encapsulation as shoal's peers send it (include/shoal/abi.h). */
struct pkt_gue {
	__u8 dst_mac[6];
	__u8 src_mac[6];
	struct shoal_addr src, dst;	/* outer addresses, same family */
	__u16 sport, dport;		/* host order */
	__u8 tos;			/* outer TOS / traffic class */
	__u32 flow_label;		/* IPv6 outer */
	__u8 hop;
	__u16 sender;
	__u32 bucket;
	__u32 gen;
	__u16 chain[3];
	int no_csum;			/* outer UDP checksum 0 */
};

/*
 * Wrap the IP packet of an untagged Ethernet frame in GUE: Ethernet, outer IP
 * (DF, TTL 64), UDP, GUE with shoal's header, the packet. Checksums are summed
 * over every byte (a reference for what the data plane derives from headers).
 */
size_t pkt_gue_wrap(const struct pkt_gue *g, const __u8 *frame, size_t len, __u8 *buf, size_t cap);

/* Internet checksum helpers, also used by tests to verify what the program wrote. */
__u16 pkt_csum(const void *data, size_t len, __u32 sum);
__u16 pkt_ip4_csum(const __u8 *ip, size_t hlen);
/* Offset of the IP header in a frame (after VLAN tags), or -1. */
int pkt_l3_offset(const __u8 *frame, size_t len, __u16 *ethertype);

#endif /* SHOAL_PACKET_H */
