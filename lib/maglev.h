/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bucket tables: weighted Maglev, previous-owner bookkeeping, and the VIP slot table. */
#ifndef SHOAL_MAGLEV_H
#define SHOAL_MAGLEV_H

#include <stddef.h>
#include <linux/types.h>
#include "shoal/abi.h"

struct maglev_node {
	__u16 id;
	__u32 weight;	/* 0 = owns nothing */
};

/*
 * Fill owners[0..m) with node ids. A pure function of the node set (order
 * does not matter), weights, seed and m: every node computes the same bytes.
 * Each node gets its largest-remainder share of m, filled in Maglev order.
 * An empty or all-zero-weight set gives a table of 0 (no owner).
 */
int maglev_build(const struct maglev_node *nodes, size_t n, const __u64 seed[2], __u32 m,
		 __u16 *owners);

struct table_diff {
	__u32 moved;	/* buckets whose owner changed */
	__u32 changed;	/* buckets whose bytes changed (owner, chain or expiry) */
	__u32 deferred;	/* buckets kept by their owner while in transition */
};

/*
 * Merge new owners into the previous table (old may be NULL): a bucket that
 * changes hands pushes its old owner to the front of the previous-owner
 * list with the given expiry; expired entries, duplicates and the new owner
 * itself leave the list; the oldest falls off when it is full.
 *
 * With `eligible` (a bitmap of node ids that may own buckets), a bucket still
 * in transition keeps its owner while that owner stays eligible, instead of
 * moving on to a third node: that would push the first previous owner one
 * place down the chain, where a frame that first lands on an uninvolved node
 * can no longer reach it within the two-hop bound. Moving back to a live
 * previous owner only swaps places and goes ahead. Kept buckets follow the
 * Maglev table at the first change after their window ends; diff->deferred
 * counts them.
 *
 * Nodes in `gone` (a bitmap; dead, not planned) hold no connections worth a
 * second chance: they are not pushed as previous owners and leave every chain.
 */
void table_merge(const struct shoal_bucket *old, const __u16 *owners, __u32 m, __u32 now,
		 __u32 expire, const __u64 *eligible, const __u64 *gone,
		 struct shoal_bucket *out, struct table_diff *diff);

/* True when the bucket has a previous owner live at `now`. */
int bucket_in_transition(const struct shoal_bucket *b, __u32 now);

/*
 * Lay VIP entries (family, addr, port, proto, id, pool set) out in the
 * open-addressed slot table the data plane probes. Returns -ENOSPC when an
 * entry lands more than SHOAL_VIP_PROBES slots from its start, -EEXIST on a
 * duplicate key.
 */
int vip_table_build(const struct shoal_vip *entries, size_t n, struct shoal_vip *slots);

/* FNV-1a 64 of an owner array, the table's fingerprint in tests and the CLI. */
__u64 maglev_digest(const __u16 *owners, __u32 m);

#endif /* SHOAL_MAGLEV_H */
