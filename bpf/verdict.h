/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What parsing hands the ownership decision and forwarding, and what they report back. */
#ifndef SHOAL_BPF_VERDICT_H
#define SHOAL_BPF_VERDICT_H

#include <linux/types.h>
#include "shoal/abi.h"

/*
 * What the parser hands the ownership decision (where the headers are, what
 * they said), and what the decision reports back through the trace record.
 * Offsets, not pointers: decide_owner() is a global function.
 */
struct verdict {
	/* in */
	__u16 l3off;		/* the IP header forwarding works on (TTL; the inner one of GUE) */
	__u16 l4off;
	__u16 fl3off;		/* the IP header that keys the flow: l3off, or an ICMP error's quote */
	__u16 ol3off;		/* GUE input: the outer IP header (= the L2 header's length) */
	__be16 sport;		/* the flow's, client side */
	__be16 dport;		/* the flow's, VIP side */
	__u8 family;
	__u8 proto;		/* the flow's L4 protocol */
	__u8 syn;
	__u8 ack_only;
	__u8 pool;
	__u8 is_vip;
	__u16 vip;
	__u8 rev;		/* the keying header runs VIP -> client (an ICMP error's quote) */
	__u8 icmp;		/* the packet itself is ICMP (an error about the flow) */
	__u8 encap;		/* arrived GUE-encapsulated: hop, sender, bucket from its header */
	__u8 has_bucket;
	__be16 osport;		/* GUE input: the outer UDP source port, kept when forwarding on */
	__u16 chain_in[SHOAL_MAX_PREV];	/* GUE input: previous owners the sender had not asked */
	__u8 tracing;		/* a trace request: count nothing */
	__u8 rx_given;		/* the trace request names the NIC hash to assume */
	__u32 rx_hash;
	/* in and out */
	__u8 hop_in;
	__u8 flags;
	__u16 sender;
	__u32 bucket;
	/* out */
	__u16 target;
	__u16 owner;
	__u32 hash;
	__u16 chain[SHOAL_MAX_PREV];	/* GUE output: previous owners the target may ask */
};

#endif /* SHOAL_BPF_VERDICT_H */
