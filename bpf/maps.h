/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions of the XDP program; layouts come from include/shoal/abi.h. */
#ifndef SHOAL_BPF_MAPS_H
#define SHOAL_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "shoal/abi.h"

/*
 * Cluster-wide knobs and the active-copy indices: a global variable, so
 * reading it costs a load, not a lookup. Writable, so the verifier does not
 * treat its contents as constants (opaque() relies on that).
 */
struct shoal_conf conf SEC(".data.conf") = {};

/*
 * Node id -> MAC and flags, and the two copies of the open-addressed VIP
 * table (conf.vip_copy selects one). Global arrays rather than maps: indexing
 * them is a load, not a lookup, so values live in registers across them.
 */
struct shoal_node nodes[SHOAL_MAX_NODES] SEC(".data.nodes") = {};
struct shoal_vip vips[2 * SHOAL_VIP_SLOTS] SEC(".data.vips") = {};

static __always_inline struct shoal_node *node_at(__u32 id)
{
	return &nodes[id & (SHOAL_MAX_NODES - 1)];
}

static __always_inline struct shoal_vip *vip_at(__u32 idx)
{
	return &vips[idx & (2 * SHOAL_VIP_SLOTS - 1)];
}

/*
 * Per pool, an inner array of 2 * M buckets (two copies; conf.pool_copy[]
 * selects one). The loader sizes the template to the cluster's M, so every
 * inner map has the same size and the verifier inlines both lookups.
 */
struct bucket_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SHOAL_M_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	/* value_size, not __type(): userspace creates the inner maps without BTF. */
	__uint(value_size, sizeof(struct shoal_bucket));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SHOAL_MAX_POOLS);
	__type(key, __u32);
	__array(values, struct bucket_table);
} tables SEC(".maps");

/* Control-plane record of each pool; the program never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SHOAL_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct shoal_pool);
} pools SEC(".maps");

/*
 * Never read by the program. Userspace updates its one element to wait for
 * an RCU grace period: the kernel runs synchronize_rcu() for every update of
 * a map-in-map from userspace (see grace_period() in lib/core.c).
 */
struct sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sync_inner);
} sync SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHOAL_R_MAX);
	__type(key, __u32);
	__type(value, struct shoal_counter);
} stats SEC(".maps");

/* Events beside the verdicts (enum shoal_event): only uncommon ones are counted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHOAL_E_MAX);
	__type(key, __u32);
	__type(value, __u64);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHOAL_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct shoal_counter);
} vipstats SEC(".maps");

#endif /* SHOAL_BPF_MAPS_H */
