/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The NIC's RX hash as the flow key (XDP hints), with every fallback to software counted. */
#ifndef SHOAL_BPF_RXHASH_H
#define SHOAL_BPF_RXHASH_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/*
 * Two builds of one program. SHOAL_RX_HASH 1 (build/shoal_nic.bpf.o): first-hop
 * buckets come from the NIC's RX hash; it must be loaded bound to the uplink
 * (the verifier refuses the metadata kfunc anywhere else, dead code included),
 * and a bound program cannot be test-run, so libshoal runs traces on the other
 * build. SHOAL_RX_HASH 0 (build/shoal.bpf.o): software hash, nothing of this.
 */
#ifndef SHOAL_RX_HASH
#define SHOAL_RX_HASH 0
#endif

#if SHOAL_RX_HASH
/* The kernel's enum (include/net/xdp.h); only the bit shoal reads. */
enum xdp_rss_hash_type {
	XDP_RSS_L4 = 1 << 3,	/* the hash covers the L4 ports */
};

/* Linux 6.3+. */
extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym;
#endif

static __always_inline void count_event(__u32 e)
{
	__u64 *n = bpf_map_lookup_elem(&events, &e);

	if (n)
		(*n)++;
}

/*
 * The NIC's hash of this frame, if it gave one over the ports: 1 and *h, or
 * 0 with the fallback counted (when `count`). Frames that another XDP program
 * sent (XDP_TX, redirect) bring none on veth; a NIC may not hash a protocol.
 */
static __always_inline int nic_rx_hash(struct xdp_md *ctx, __u32 *h, int count)
{
#if SHOAL_RX_HASH
	enum xdp_rss_hash_type t = 0;

	if (bpf_xdp_metadata_rx_hash(ctx, h, &t)) {
		if (count)
			count_event(SHOAL_E_HASH_NO_NIC);
		return 0;
	}
	if (!(t & XDP_RSS_L4)) {
		if (count)
			count_event(SHOAL_E_HASH_NOT_L4);
		return 0;
	}
	return 1;
#else
	(void)ctx;
	(void)h;
	(void)count;
	return 0;
#endif
}

#endif /* SHOAL_BPF_RXHASH_H */
