/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The single exit: verdict from reason, per-CPU counters, and the trace record. */
#ifndef SHOAL_BPF_STATS_H
#define SHOAL_BPF_STATS_H

#include "maps.h"
#include "owner.h"
#include "parse.h"

static __always_inline void count(void *map, __u32 key, __u64 bytes)
{
	struct shoal_counter *sc = bpf_map_lookup_elem(map, &key);

	if (sc) {
		sc->packets++;
		sc->bytes += bytes;
	}
}

/* Reasons are grouped by action (see enum shoal_reason): two compares. */
static __always_inline int action_of(int reason)
{
	return reason < SHOAL_R_FIRST_TX ? XDP_PASS :
	       reason < SHOAL_R_FIRST_DROP ? XDP_TX : XDP_DROP;
}

/* Exits of the fast path, which never sees a trace request. */
static __always_inline int done(int reason, __u64 len)
{
	count(&stats, reason, len);
	return action_of(reason);
}

static __always_inline int done_vip(int reason, __u64 len, __u32 vip)
{
	count(&stats, reason, len);
	count(&vipstats, vip, len);
	return action_of(reason);
}

/*
 * The general path's exit. A trace request in the metadata area gets the
 * details instead of the counters. `len` is the frame's length as it
 * arrived: the head may have moved since (GUE).
 */
static __always_inline int finish(struct xdp_md *ctx, struct verdict *v, int reason, __u64 len)
{
	struct shoal_trace *t = (void *)(long)ctx->data_meta;
	int action = action_of(reason);

	if ((void *)(t + 1) <= (void *)(long)ctx->data && t->magic == SHOAL_TRACE_MAGIC) {
		t->reason = reason;
		t->hop_in = v->hop_in;
		t->flags = v->flags | (v->is_vip ? SHOAL_TRACE_F_VIP : 0);
		t->sender = v->sender;
		t->target = v->target;
		t->owner = v->owner;
		t->vip = v->vip;
		t->bucket = v->bucket;
		t->hash = v->hash;
		t->pool = v->pool;
		return action;
	}

	count(&stats, reason, len);
	if (v->is_vip)
		count(&vipstats, v->vip, len);
	return action;
}

#endif /* SHOAL_BPF_STATS_H */
