/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The cluster model: what a config file says, what the maps hold, and applying one to the other. */
#ifndef SHOAL_CLUSTER_H
#define SHOAL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "shoal.h"
#include "util.h"

#define SHOAL_WEIGHT_DEFAULT	100
#define SHOAL_WEIGHT_MAX	65535
#define SHOAL_DRAIN_DEFAULT_NS	(600ULL * 1000000000ULL)
#define SHOAL_DEFAULT_POOL	"default"

/* How peers forward a node's flows to it. */
enum shoal_forwarding {
	SHOAL_FWD_DEFAULT = 0,	/* a node: the cluster's choice */
	SHOAL_FWD_L2,		/* rewrite the MACs (one segment) */
	SHOAL_FWD_GUE,		/* encapsulate to the node's address (any IP fabric) */
};

struct shoal_node_cfg {
	char name[SHOAL_NAME_LEN];
	__u16 id;
	__u8 mac[6];
	struct shoal_addr addr;
	__u32 weight;
	bool drained;
	enum shoal_forwarding forwarding;
	int line;		/* where the config file defines it; 0 if not from a file */
};

struct shoal_pool_cfg {
	char name[SHOAL_NAME_LEN];
	__u16 *members;		/* node ids */
	size_t nmembers;
	int line;
};

enum shoal_health_type {
	SHOAL_HEALTH_NONE = 0,
	SHOAL_HEALTH_TCP,	/* a TCP connect succeeds */
	SHOAL_HEALTH_HTTP,	/* GET path answers with the expected status */
	SHOAL_HEALTH_EXEC,	/* a command exits 0 */
};

/* How shoald checks the local service behind a VIP (keepalived's semantics). */
struct shoal_health_cfg {
	enum shoal_health_type type;
	__u16 port;		/* 0 = the VIP's port */
	__u16 expect;		/* HTTP status */
	char path[128];		/* HTTP path */
	char command[256];	/* run with /bin/sh -c */
	__u64 interval_ns;
	__u64 timeout_ns;
	__u32 rise;		/* successes in a row to become healthy */
	__u32 fall;		/* failures in a row to become unhealthy */
};

struct shoal_vip_cfg {
	struct shoal_addr addr;
	__u16 port;		/* host order; 0 = any port */
	__u8 proto;
	char pool[SHOAL_NAME_LEN];
	struct shoal_health_cfg health;
	int line;
};

/* shoald's own settings; shoalctl ignores them. */
struct shoal_daemon_cfg {
	__u16 peer_port;	/* UDP heartbeats and TCP table hand-over, on node addresses */
	__u64 heartbeat_ns;
	__u64 dead_after_ns;	/* silence after which a peer counts as dead */
	__u64 hold_down_ns;	/* a returning peer must stay up this long (doubles per flap) */
	__u64 restart_grace_ns;	/* a peer that says it restarts may be silent this long */
	char metrics[64];	/* ADDR:PORT for Prometheus, "" = off */
};

#define SHOAL_PEER_PORT_DEFAULT		7946
#define SHOAL_HEARTBEAT_DEFAULT_NS	(500ULL * 1000000ULL)
#define SHOAL_DEAD_AFTER_DEFAULT_NS	(2000ULL * 1000000ULL)
#define SHOAL_HOLD_DOWN_DEFAULT_NS	(2ULL * 1000000000ULL)
#define SHOAL_RESTART_GRACE_DEFAULT_NS	(30ULL * 1000000000ULL)
#define SHOAL_METRICS_DEFAULT		"127.0.0.1:9469"

/* What first-hop buckets are keyed on. */
enum shoal_flow_hash_cfg {
	SHOAL_FH_SOFTWARE = 0,	/* shoal's keyed hash of the 5-tuple */
	SHOAL_FH_NIC,		/* the NIC's RX hash (GUE to every node; the driver must hand it to XDP) */
	SHOAL_FH_AUTO,		/* the NIC's where that is possible, else software */
};

#define SHOAL_FABRIC_MTU_MIN	576
#define SHOAL_IPV6_MIN_MTU	1280

struct shoal_cluster {
	__u64 seed[2];
	__u32 m;
	__u64 drain_ns;
	__u8 mac_prefix[3];
	enum shoal_forwarding forwarding;	/* L2 or GUE: nodes that do not say */
	__u16 gue_port;
	__u32 fabric_mtu;	/* 0: the uplink's MTU */
	enum shoal_flow_hash_cfg flow_hash;
	struct shoal_node_cfg *nodes;
	size_t nnodes;
	struct shoal_pool_cfg *pools;
	size_t npools;
	struct shoal_vip_cfg *vips;
	size_t nvips;
	struct shoal_daemon_cfg daemon;
};

void shoal_cluster_init(struct shoal_cluster *c);
void shoal_cluster_free(struct shoal_cluster *c);
int shoal_cluster_copy(struct shoal_cluster *dst, const struct shoal_cluster *src);

struct shoal_node_cfg *shoal_cluster_node(const struct shoal_cluster *c, const char *name);
struct shoal_node_cfg *shoal_cluster_node_id(const struct shoal_cluster *c, __u16 id);
struct shoal_pool_cfg *shoal_cluster_pool(const struct shoal_cluster *c, const char *name);
/* A node's weight when its pool has somewhere else to send new flows: 0 when drained. */
__u32 shoal_node_effective_weight(const struct shoal_node_cfg *n);
/*
 * Is every member of the pool with a weight drained (by the config, or by
 * failing checks)? Then none is: a pool with no owner would serve nobody, and
 * every frame would pass on whichever node the router picked, breaking every
 * connection the others hold. Draining means "no new flows while others can
 * take them"; a node that is dead is out of the model, drained or not.
 */
bool shoal_pool_all_drained(const struct shoal_cluster *c, const struct shoal_pool_cfg *pc);
/* The weight the table builder gives a member: all_drained from shoal_pool_all_drained(). */
__u32 shoal_pool_weight(const struct shoal_node_cfg *n, bool all_drained);
/* Do peers reach this node by GUE? */
bool shoal_node_gue(const struct shoal_cluster *c, const struct shoal_node_cfg *n);
bool shoal_cluster_uses_gue(const struct shoal_cluster *c);

/* Mutations for the CLI; each leaves the model to be checked and applied. */
int shoal_cluster_remove_node(struct shoal_cluster *c, const char *name);
int shoal_cluster_add_vip(struct shoal_cluster *c, const struct shoal_vip_cfg *v);
int shoal_cluster_del_vip(struct shoal_cluster *c, const struct shoal_addr *a, __u16 port,
			  __u8 proto);

/*
 * Semantic checks: unique names, ids, MACs and VIP keys; references to known
 * pools and nodes; M prime and large enough. Messages name the file and line
 * when the model came from one (file may be NULL).
 */
int shoal_cluster_check(const struct shoal_cluster *c, const char *file, char *err, size_t len);

/* Parse a YAML cluster config; errors read "FILE:LINE: FIELD: what is wrong". */
int shoal_config_load(const char *path, struct shoal_cluster *c, char *err, size_t len);
int shoal_config_parse(const char *text, size_t size, const char *name, struct shoal_cluster *c,
		       char *err, size_t len);

/*
 * The node whose MAC sits on a local interface (only want_dev, if given), and
 * that interface. -ENOENT: none; -EEXIST: several interfaces carry nodes' MACs
 * (bond slaves, VLANs and macvlans share them), so the caller must name them.
 */
int shoal_detect_node(const struct shoal_cluster *c, const char *want_dev, __u16 *id, char *dev,
		      size_t devlen);

/* Rebuild the model from the maps of a running data plane. */
int shoal_cluster_read(struct shoal *s, struct shoal_cluster *c);

/*
 * Tables another node exported (shoalctl table export): a node that joins, or
 * lost its state, starts from the cluster's tables - previous owners and all -
 * rather than from nothing, so that it agrees with its peers at once.
 */
struct shoal_base_pool {
	char name[SHOAL_NAME_LEN];
	struct shoal_bucket *buckets;	/* m of them; expiry in this host's ticks */
};

struct shoal_base {
	__u32 m;
	__u64 seed_digest;
	struct shoal_base_pool *pools;
	size_t npools;
	struct shoal_node *nodes;	/* [SHOAL_MAX_NODES]; F_PEER marks the present ones */
};

/* Write this node's tables and node entries as JSON; read such a file back. */
int shoal_base_write(struct shoal *s, FILE *f);
int shoal_base_read(const char *path, struct shoal_base *b, char *err, size_t len);
void shoal_base_free(struct shoal_base *b);
/* Identifies a seed without revealing it. */
__u64 shoal_seed_digest(const __u64 seed[2]);

struct shoal_apply_opts {
	__u16 self;		/* this node's id; 0 keeps the current one */
	const char *dev;	/* the uplink: GUE next hops must be behind it; its MTU the default fabric MTU */
	bool force;		/* allow a new seed (remaps every flow) */
	__u64 now_ns;		/* 0 = CLOCK_MONOTONIC now (tests set it) */
	const struct shoal_base *base;	/* start from these tables, not this node's */
	const __u64 *gone;	/* bitmap of dead nodes: no second chances to them */
};

struct shoal_pool_report {
	char name[SHOAL_NAME_LEN];
	__u8 id;
	__u64 gen;
	__u32 moved;
	__u32 changed;
	__u32 deferred;		/* buckets kept by their owner while in transition */
	__u32 in_transition;	/* buckets with a live previous owner afterwards */
	bool created;
	bool all_drained;	/* every member drained: drains ignored (shoal_pool_all_drained) */
};

struct shoal_apply_report {
	struct shoal_pool_report pools[SHOAL_MAX_POOLS];
	size_t npools;
	size_t pools_dropped;
	size_t nodes_added;
	size_t nodes_updated;
	size_t nodes_retired;	/* left the config, kept while previous owners */
	size_t nodes_freed;
	size_t vips;
	bool vips_changed;
	__u16 self;
	size_t gue_nodes;		/* peers forwarded to by GUE */
	size_t nexthops_unresolved;	/* of those, with no next-hop MAC (drop_nexthop) */
	char nexthop_error[256];	/* why, for the first of them */
	__u32 fabric_mtu;		/* in effect */
};

/*
 * Make the data plane serve `c`. Everything is computed and checked before the
 * first write, so a rejected config changes nothing; tables and VIPs then flip
 * atomically (shoal_commit). Nodes that leave stay forwardable while they are
 * previous owners of some bucket.
 */
int shoal_cluster_apply(struct shoal *s, const struct shoal_cluster *c,
			const struct shoal_apply_opts *o, struct shoal_apply_report *rep,
			char *err, size_t len);

/*
 * Create the data plane for this config on the uplink dev: with flow_hash nic
 * (or auto, where every node is reached by GUE and the driver hands XDP the RX
 * hash) the program keys on the NIC's hash and is bound to dev. why says what
 * was chosen and why (it may be NULL).
 */
int shoal_cluster_create(struct shoal **out, const char *pin_dir, const struct shoal_cluster *c,
			 const char *dev, char *why, size_t len);
/* Why the NIC's RX hash cannot key this cluster's flows ("" when it can). */
const char *shoal_cluster_nic_refusal(const struct shoal_cluster *c, char *buf, size_t len);

/*
 * Resolve again the next hops of the nodes reached by GUE (routes and
 * neighbours change: a router fails over, a peer moves) and update the node
 * entries that changed. rep says how many stay unresolved, and why.
 */
int shoal_nexthops_refresh(struct shoal *s, const char *dev, struct shoal_apply_report *rep);

#endif /* SHOAL_CLUSTER_H */
