/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one contract between the XDP program and userspace: map layouts, limits, reasons. */
#ifndef SHOAL_ABI_H
#define SHOAL_ABI_H

#include <linux/types.h>

/*
 * Limits. Node ids are explicit in the cluster config and index the nodes map
 * directly; id 0 means "nobody". Pool ids are assigned by userspace and index
 * the tables map.
 */
#define SHOAL_MAX_NODES		4096	/* node ids 1 .. SHOAL_MAX_NODES - 1 */
#define SHOAL_MAX_POOLS		64
#define SHOAL_MAX_PREV		3	/* previous owners kept per bucket */
#define SHOAL_MAX_HOPS		2	/* cluster forwarding hops per packet */
#define SHOAL_VIP_SLOT_BITS	15
#define SHOAL_VIP_SLOTS		(1 << SHOAL_VIP_SLOT_BITS)	/* open-addressing slots per VIP table copy */
#define SHOAL_VIP_PROBES	16	/* longest probe sequence userspace may build */
#define SHOAL_MAX_VIPS		16384	/* keeps the VIP table at most half full */
#define SHOAL_M_DEFAULT		65537
#define SHOAL_M_MAX		4194301	/* largest prime below 2^22 */
#define SHOAL_NAME_LEN		32
/* Bump whenever a map's layout or meaning changes: pinned state of another ABI is refused. */
#define SHOAL_ABI_VERSION	5	/* 5: VIP slots hashed in host order */
#define SHOAL_MAX_VLAN		2
#define SHOAL_MAX_EXTHDR	6	/* IPv6 extension headers walked before giving up */

/*
 * Previous-owner expiry is kept in "ticks" of 2^30 ns (about 1.07 s) of
 * CLOCK_MONOTONIC, so that the data plane compares with a shift instead of a
 * division. bpf_ktime_get_coarse_ns() and clock_gettime(CLOCK_MONOTONIC) share
 * the time base.
 */
#define SHOAL_TICK_SHIFT	30

/*
 * Forwarded frames carry a locally administered source MAC that names the
 * sender and the hop: prefix[0..2] | hop | id (big endian). The receiver tells
 * a peer's frame from the router's with one 32-bit compare and learns the
 * sender without a lookup. See docs/design.md "Recognising forwarded frames".
 */
#define SHOAL_MAC_PREFIX_DEFAULT { 0x0e, 0x5a, 0x4c }

/* Verdict reasons. Every packet the program sees is counted under exactly one. */
enum shoal_reason {
	/* XDP_PASS */
	SHOAL_R_PASS_NOT_IP = 0,	/* not IPv4/IPv6 (ARP, LLDP, ...) */
	SHOAL_R_PASS_NOT_VIP,		/* IP, but no VIP matches */
	SHOAL_R_PASS_SHORT,		/* too short to tell whether it is for a VIP */
	SHOAL_R_PASS_VLAN_DEPTH,	/* more VLAN tags than shoal parses */
	SHOAL_R_PASS_UNCONFIGURED,	/* this node has no identity yet */
	SHOAL_R_PASS_NO_TABLE,		/* VIP's pool has no table or no owner */
	SHOAL_R_PASS_SYN,		/* owner: a new connection */
	SHOAL_R_PASS_OWNER,		/* owner: stable bucket, no lookup needed */
	SHOAL_R_PASS_SOCKET,		/* owner: a local socket holds the flow */
	SHOAL_R_PASS_COOKIE,		/* owner: ACK carries a valid SYN cookie */
	SHOAL_R_PASS_CHAIN_END,		/* no socket and nobody left to ask */
	SHOAL_R_PASS_PREV_SOCKET,	/* previous owner holding the flow's socket */
	SHOAL_R_PASS_UDP,		/* owner: UDP */
	SHOAL_R_PASS_HOP_LIMIT,		/* frame already crossed SHOAL_MAX_HOPS */
	SHOAL_R_PASS_NO_RETURN,		/* next hop would be the sender itself */
	SHOAL_R_PASS_FRAG_UDP,		/* UDP fragment to a VIP: served locally */
	SHOAL_R_PASS_ICMP_ECHO,		/* echo request to a VIP: answered here */
	SHOAL_R_PASS_ICMP,		/* other ICMP to a VIP address, about no VIP flow */
	SHOAL_R_PASS_TOO_BIG,		/* UDP without DF too big to encapsulate: served here */
	/* XDP_TX */
	SHOAL_R_TX_OWNER,		/* forwarded to the current owner */
	SHOAL_R_TX_PREV,		/* second chance: to a previous owner */
	SHOAL_R_TX_TOO_BIG,		/* sent the client ICMP "fragmentation needed" / "too big" */
	/* XDP_DROP */
	SHOAL_R_DROP_BAD_IP,		/* VIP packet with bad version/IHL/length */
	SHOAL_R_DROP_BAD_L4,		/* VIP packet with a cut or invalid L4 header */
	SHOAL_R_DROP_FRAG,		/* TCP fragment to a VIP: cannot be keyed */
	SHOAL_R_DROP_EXTHDR,		/* IPv6 extension chain too long or cut */
	SHOAL_R_DROP_PEER,		/* forwarded frame from an unknown peer */
	SHOAL_R_DROP_TTL,		/* TTL / hop limit exhausted before a hop */
	SHOAL_R_DROP_NODE,		/* forwarding target has no node entry */
	SHOAL_R_DROP_GUE_BAD,		/* GUE packet cut, fragmented, or of unknown format */
	SHOAL_R_DROP_GUE_PEER,		/* GUE packet not from a configured peer's address */
	SHOAL_R_DROP_GUE_INNER,		/* decapsulated packet is no valid VIP packet */
	SHOAL_R_DROP_TOO_BIG,		/* too big to encapsulate, and no way to tell the sender */
	SHOAL_R_DROP_NEXTHOP,		/* GUE target's next hop not resolved (yet) */
	SHOAL_R_DROP_NO_ROOM,		/* no headroom to encapsulate or to build an ICMP error */
	SHOAL_R_DROP_BAD_ICMP,		/* ICMP error to a VIP with a cut or invalid quoted header */
	SHOAL_R_MAX
};

#define SHOAL_R_FIRST_TX	SHOAL_R_TX_OWNER
#define SHOAL_R_FIRST_DROP	SHOAL_R_DROP_BAD_IP

/*
 * GUE forwarding (draft-ietf-intarea-gue, variant 0): outer IPv4 or IPv6, UDP
 * to the peer's gue_port, then this header. GUE's flags are 0 and its optional
 * data (Hlen words) is "private data": shoal's header. The receiver takes the
 * bucket from it instead of hashing again, and the hop count and the previous
 * owners not yet asked, so the 2-hop bound and second chance hold as in L2.
 */
#define SHOAL_GUE_PORT_DEFAULT	7947
#define SHOAL_GUE_MAGIC		0x53	/* 'S' */
#define SHOAL_GUE_VERSION	1

struct shoal_gue {
	__u8   vhl;		/* GUE version (2 bits, 0) | C (0) | Hlen (5 bits) */
	__u8   proto;		/* inner: IPPROTO_IPIP or IPPROTO_IPV6 */
	__be16 flags;		/* 0 */
	__u8   magic;		/* SHOAL_GUE_MAGIC */
	__u8   ver_hop;		/* SHOAL_GUE_VERSION << 4 | hop (1 .. SHOAL_MAX_HOPS) */
	__be16 sender;		/* node id of the sender */
	__be32 bucket;		/* the flow's bucket in its VIP's pool */
	__be32 gen;		/* low 32 bits of the sender's table generation of that pool */
	__be16 chain[SHOAL_MAX_PREV];	/* live previous owners not yet asked; 0 ends */
	__u16  pad;
};

#define SHOAL_GUE_HLEN		((sizeof(struct shoal_gue) - 4) / 4)
#define SHOAL_GUE_VHL		SHOAL_GUE_HLEN
/* Bytes encapsulation adds: outer IP, UDP, GUE with shoal's header. */
#define SHOAL_GUE_OVERHEAD4	(20 + 8 + sizeof(struct shoal_gue))
#define SHOAL_GUE_OVERHEAD6	(40 + 8 + sizeof(struct shoal_gue))

/*
 * conf: the program's global variable in section .data.conf (an mmapable
 * one-element array), read with no lookup; userspace maps it and stores single
 * fields atomically.
 */
struct shoal_conf {
	__u64 key[2];		/* flow hash key: the cluster seed */
	__u32 m;		/* buckets per table (prime) */
	__u16 self;		/* this node's id; 0 = unconfigured, pass all */
	__u16 self_be;		/* self in network byte order, for the MAC */
	__u32 fwd_tag[SHOAL_MAX_HOPS];	/* first 4 source-MAC bytes of hop 1, 2 */
	__u32 vip_copy;		/* active VIP table copy (0 or 1) */
	__u32 abi;		/* SHOAL_ABI_VERSION of whoever created the state */
	__u64 drain_ns;		/* previous-owner window (userspace only) */
	__u8  mac_prefix[3];
	__u8  pad;
	__u32 zero;		/* always 0; see opaque() in bpf/parse.h */
	__u8  pool_copy[SHOAL_MAX_POOLS];	/* active bucket table copy per pool */
	/* GUE: outer source address and MAC, port, the largest inner packet that fits. */
	__u32 self_addr[4];
	__u8  self_family;	/* 4 or 6; 0: this node has no address, so no GUE */
	__u8  pad2;
	__u8  self_mac[6];	/* the uplink's own MAC */
	__be16 gue_port;
	__u16 gue_mtu;		/* fabric MTU less the encapsulation: larger inner packets do not fit */
	__u32 pool_gen[SHOAL_MAX_POOLS];	/* low 32 bits of each pool's generation */
	/*
	 * Userspace only: how the program was loaded. SHOAL_HASH_NIC: device-bound
	 * to hash_ifindex, first-hop buckets from the NIC's RX hash.
	 */
	__u8  flow_hash;	/* SHOAL_HASH_* */
	__u8  pad4[3];
	__u32 hash_ifindex;
};

#define SHOAL_HASH_SOFTWARE	0
#define SHOAL_HASH_NIC		1

/*
 * Events: counted beside the verdict reasons, not instead of one. Only the
 * uncommon case is counted, so the common one costs nothing.
 */
enum shoal_event {
	SHOAL_E_HASH_NO_NIC = 0,	/* nic mode: the frame brought no RX hash; software hash */
	SHOAL_E_HASH_NOT_L4,		/* nic mode: the RX hash left out the ports; software hash */
	SHOAL_E_HASH_ICMP,		/* nic mode: an ICMP error, keyed by its quote in software */
	SHOAL_E_MAX
};

/*
 * nodes[id]: the data plane reads mac, flags, and for GUE hop_mac, family and
 * addr; the rest is for the CLI.
 */
struct shoal_node {
	__u8  mac[6];
	__u16 flags;
	__u16 weight;
	__u8  family;		/* of addr: 4 or 6 */
	__u8  pad;
	__u8  hop_mac[6];	/* GUE: next hop toward addr (the node itself, or a router) */
	__u16 pad2;
	__u32 addr[4];
	char  name[SHOAL_NAME_LEN];
	__u32 pad3[3];		/* 80 bytes */
};

#define SHOAL_NODE_F_PEER	(1 << 0)	/* configured: may send and receive forwards */
#define SHOAL_NODE_F_DRAINED	(1 << 1)	/* owns nothing new; keeps its connections */
#define SHOAL_NODE_F_REMOVED	(1 << 2)	/* left the config; kept while a previous owner */
#define SHOAL_NODE_F_GUE	(1 << 3)	/* forwards to it are GUE-encapsulated to addr */
#define SHOAL_NODE_F_HOP	(1 << 4)	/* hop_mac is resolved */

/* One bucket of a pool's table. A pool's inner map holds two copies of M. */
struct shoal_bucket {
	__u16 owner;
	__u16 prev[SHOAL_MAX_PREV];	/* most recent first; 0 ends the list */
	__u32 expire[SHOAL_MAX_PREV];	/* CLOCK_MONOTONIC ticks (SHOAL_TICK_SHIFT) */
	__u32 pad;
};

/* pools[id]: control-plane state of a pool (the data plane never reads it). */
struct shoal_pool {
	char  name[SHOAL_NAME_LEN];
	__u64 gen;		/* bumps on every table change */
	__u32 flags;
	__u32 pad;
	__u64 members[SHOAL_MAX_NODES / 64];
};

#define SHOAL_POOL_F_VALID	(1 << 0)

/*
 * VIP table slot. Slots are open-addressed by a hash of the address alone, so
 * that a packet for a non-VIP address usually stops at the first (empty) slot
 * without looking at its L4 header.
 */
struct shoal_vip {
	__u32 addr[4];		/* IPv4 in addr[0], network byte order */
	__be16 port;		/* 0 = any port */
	__u8  proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8  family;		/* 0 = empty slot, 4, 6 */
	__u16 id;		/* index into vipstats */
	__u8  pool;
	__u8  flags;		/* SHOAL_VIP_F_* */
	__u32 pad[2];		/* 32 bytes: the inlined lookup shifts instead of multiplying */
};

/*
 * Not a VIP: this node's own GUE endpoint (its address, gue_port, UDP), in the
 * VIP table so that recognising GUE costs non-VIP traffic nothing.
 */
#define SHOAL_VIP_F_GUE		(1 << 0)

struct shoal_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * Trace record. When a caller of BPF_PROG_TEST_RUN places one of these in the
 * XDP metadata area with magic set, the program fills it in and counts
 * nothing, so `shoalctl flow` asks the real program without moving counters.
 */
#define SHOAL_TRACE_MAGIC	0x5348544cU	/* "SHTL" */

struct shoal_trace {
	__u32 magic;
	__u32 rx_hash;		/* in, with SHOAL_TRACE_F_RX_HASH: the NIC hash to assume */
	__u16 reason;
	__u8  hop_in;		/* 0 from outside, 1-2 from a peer */
	__u8  flags;		/* SHOAL_TRACE_F_* */
	__u16 sender;		/* peer that forwarded it (hop_in > 0) */
	__u16 target;		/* node it was forwarded to */
	__u16 owner;		/* current owner of the bucket */
	__u16 vip;		/* VIP id */
	__u32 bucket;
	__u32 hash;		/* upper 32 bits of the flow hash */
	__u8  pool;
	__u8  pad[3];
};

#define SHOAL_TRACE_F_VIP	(1 << 0)	/* matched a VIP */
#define SHOAL_TRACE_F_LOOKUP	(1 << 1)	/* a socket lookup ran */
#define SHOAL_TRACE_F_FOUND	(1 << 2)	/* ... and found the flow */
#define SHOAL_TRACE_F_GUE_IN	(1 << 3)	/* arrived GUE-encapsulated; bucket from its header */
#define SHOAL_TRACE_F_GUE_OUT	(1 << 4)	/* forwarded GUE-encapsulated */
#define SHOAL_TRACE_F_ICMP	(1 << 5)	/* an ICMP error, keyed by the flow it quotes */
#define SHOAL_TRACE_F_RX_HASH	(1 << 6)	/* in: rx_hash holds the NIC's hash; out: it was used */

#ifndef __bpf__
_Static_assert(sizeof(struct shoal_conf) == 416, "shoal_conf layout");
_Static_assert(sizeof(struct shoal_node) == 80, "shoal_node layout");
_Static_assert(sizeof(struct shoal_gue) == 24 && sizeof(struct shoal_gue) % 4 == 0,
	       "GUE header: whole 32-bit words");
_Static_assert(sizeof(struct shoal_bucket) == 24, "shoal_bucket layout");
_Static_assert(sizeof(struct shoal_vip) == 32, "shoal_vip layout");
_Static_assert(sizeof(struct shoal_trace) == 32, "shoal_trace layout");
_Static_assert(sizeof(struct shoal_trace) % 4 == 0 && sizeof(struct shoal_trace) <= 32,
	       "XDP metadata must be a multiple of 4 and at most 32 bytes");
_Static_assert((SHOAL_VIP_SLOTS & (SHOAL_VIP_SLOTS - 1)) == 0, "VIP slots power of two");
#endif

#endif /* SHOAL_ABI_H */
