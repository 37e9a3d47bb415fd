// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The cluster model: checks, reading it back from the maps, and applying it to them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>

#include "cluster.h"
#include "log.h"
#include "maglev.h"
#include "nic.h"
#include "route.h"

void shoal_cluster_init(struct shoal_cluster *c)
{
	static const __u8 prefix[3] = SHOAL_MAC_PREFIX_DEFAULT;

	memset(c, 0, sizeof(*c));
	c->m = SHOAL_M_DEFAULT;
	c->drain_ns = SHOAL_DRAIN_DEFAULT_NS;
	memcpy(c->mac_prefix, prefix, 3);
	c->forwarding = SHOAL_FWD_L2;
	c->gue_port = SHOAL_GUE_PORT_DEFAULT;
	c->daemon.peer_port = SHOAL_PEER_PORT_DEFAULT;
	c->daemon.heartbeat_ns = SHOAL_HEARTBEAT_DEFAULT_NS;
	c->daemon.dead_after_ns = SHOAL_DEAD_AFTER_DEFAULT_NS;
	c->daemon.hold_down_ns = SHOAL_HOLD_DOWN_DEFAULT_NS;
	c->daemon.restart_grace_ns = SHOAL_RESTART_GRACE_DEFAULT_NS;
	snprintf(c->daemon.metrics, sizeof(c->daemon.metrics), "%s", SHOAL_METRICS_DEFAULT);
}

void shoal_cluster_free(struct shoal_cluster *c)
{
	size_t i;

	for (i = 0; i < c->npools; i++)
		free(c->pools[i].members);
	free(c->nodes);
	free(c->pools);
	free(c->vips);
	c->nodes = NULL;
	c->pools = NULL;
	c->vips = NULL;
	c->nnodes = c->npools = c->nvips = 0;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	void *q = malloc(n ? n * size : 1);

	if (q && n)
		memcpy(q, p, n * size);
	return q;
}

int shoal_cluster_copy(struct shoal_cluster *dst, const struct shoal_cluster *src)
{
	size_t i;

	*dst = *src;
	dst->nodes = dup_array(src->nodes, src->nnodes, sizeof(*src->nodes));
	dst->pools = dup_array(src->pools, src->npools, sizeof(*src->pools));
	dst->vips = dup_array(src->vips, src->nvips, sizeof(*src->vips));
	if (!dst->nodes || !dst->pools || !dst->vips) {
		free(dst->nodes);
		free(dst->pools);
		free(dst->vips);
		return -ENOMEM;
	}
	for (i = 0; i < src->npools; i++) {
		dst->pools[i].members = dup_array(src->pools[i].members, src->pools[i].nmembers,
						  sizeof(__u16));
		if (!dst->pools[i].members) {
			dst->npools = i;
			shoal_cluster_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

struct shoal_node_cfg *shoal_cluster_node(const struct shoal_cluster *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++) {
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	}
	return NULL;
}

struct shoal_node_cfg *shoal_cluster_node_id(const struct shoal_cluster *c, __u16 id)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++) {
		if (c->nodes[i].id == id)
			return &c->nodes[i];
	}
	return NULL;
}

struct shoal_pool_cfg *shoal_cluster_pool(const struct shoal_cluster *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->npools; i++) {
		if (!strcmp(c->pools[i].name, name))
			return &c->pools[i];
	}
	return NULL;
}

__u32 shoal_node_effective_weight(const struct shoal_node_cfg *n)
{
	return n->drained ? 0 : n->weight;
}

bool shoal_pool_all_drained(const struct shoal_cluster *c, const struct shoal_pool_cfg *pc)
{
	bool drained = false;
	size_t i;

	for (i = 0; i < pc->nmembers; i++) {
		const struct shoal_node_cfg *n = shoal_cluster_node_id(c, pc->members[i]);

		if (!n || !n->weight)
			continue;
		if (!n->drained)
			return false;
		drained = true;
	}
	return drained;
}

__u32 shoal_pool_weight(const struct shoal_node_cfg *n, bool all_drained)
{
	return all_drained ? n->weight : shoal_node_effective_weight(n);
}

bool shoal_node_gue(const struct shoal_cluster *c, const struct shoal_node_cfg *n)
{
	return (n->forwarding ? n->forwarding : c->forwarding) == SHOAL_FWD_GUE;
}

const char *shoal_cluster_nic_refusal(const struct shoal_cluster *c, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < c->nnodes; i++) {
		if (!shoal_node_gue(c, &c->nodes[i])) {
			snprintf(buf, len,
				 "node '%s' is reached by L2, whose receiver hashes a forwarded frame again - and a forwarded frame brings no RX hash (veth gives none for XDP_TX'd frames) or another NIC's; with GUE to every node the bucket travels in the header (forwarding: gue)",
				 c->nodes[i].name);
			break;
		}
	}
	return buf;
}

bool shoal_cluster_uses_gue(const struct shoal_cluster *c)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++) {
		if (shoal_node_gue(c, &c->nodes[i]))
			return true;
	}
	return false;
}

int shoal_cluster_remove_node(struct shoal_cluster *c, const char *name)
{
	struct shoal_node_cfg *n = shoal_cluster_node(c, name);
	size_t i, j, k;
	__u16 id;

	if (!n)
		return -ENOENT;
	id = n->id;
	memmove(n, n + 1, (size_t)(c->nodes + c->nnodes - n - 1) * sizeof(*n));
	c->nnodes--;
	for (i = 0; i < c->npools; i++) {
		struct shoal_pool_cfg *p = &c->pools[i];

		for (j = k = 0; j < p->nmembers; j++) {
			if (p->members[j] != id)
				p->members[k++] = p->members[j];
		}
		p->nmembers = k;
	}
	return 0;
}

static bool vip_cfg_same(const struct shoal_vip_cfg *v, const struct shoal_addr *a, __u16 port,
			 __u8 proto)
{
	return shoal_addr_eq(&v->addr, a) && v->port == port && v->proto == proto;
}

int shoal_cluster_add_vip(struct shoal_cluster *c, const struct shoal_vip_cfg *v)
{
	struct shoal_vip_cfg *nv;
	size_t i;

	for (i = 0; i < c->nvips; i++) {
		if (vip_cfg_same(&c->vips[i], &v->addr, v->port, v->proto))
			return -EEXIST;
	}
	nv = realloc(c->vips, (c->nvips + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	c->vips = nv;
	c->vips[c->nvips++] = *v;
	return 0;
}

int shoal_cluster_del_vip(struct shoal_cluster *c, const struct shoal_addr *a, __u16 port,
			  __u8 proto)
{
	size_t i;

	for (i = 0; i < c->nvips; i++) {
		if (vip_cfg_same(&c->vips[i], a, port, proto)) {
			memmove(&c->vips[i], &c->vips[i + 1], (c->nvips - i - 1) * sizeof(*c->vips));
			c->nvips--;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- checks ---- */

struct errbuf {
	const char *file;
	char *buf;
	size_t len;
};

__attribute__((format(printf, 4, 5)))
static int fail(struct errbuf *e, int line, const char *field, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->file && line)
		snprintf(e->buf, e->len, "%s:%d: %s: %s", e->file, line, field, msg);
	else if (e->file)
		snprintf(e->buf, e->len, "%s: %s: %s", e->file, field, msg);
	else
		snprintf(e->buf, e->len, "%s: %s", field, msg);
	return -EINVAL;
}

static bool mac_is_zero(const __u8 *m)
{
	return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

int shoal_cluster_check(const struct shoal_cluster *c, const char *file, char *err, size_t len)
{
	struct errbuf e = { file, err, len };
	char f[64];
	size_t i, j, k;

	if (c->m < 3 || c->m > SHOAL_M_MAX || !shoal_is_prime(c->m))
		return fail(&e, 0, "cluster.buckets",
			    "%u is not a prime between 3 and %u (Maglev needs M prime)", c->m,
			    SHOAL_M_MAX);
	if (shoal_set_mac_prefix(NULL, c->mac_prefix))
		return fail(&e, 0, "cluster.mac_prefix",
			    "must be a locally administered unicast prefix (first byte x2, x6, xa or xe)");
	if (!c->nnodes)
		return fail(&e, 0, "nodes", "the cluster has no nodes");
	for (i = 0; i < c->nnodes; i++) {
		const struct shoal_node_cfg *n = &c->nodes[i];

		snprintf(f, sizeof(f), "nodes[%zu]", i);
		if (!n->name[0])
			return fail(&e, n->line, f, "a node needs a name");
		if (!n->id || n->id >= SHOAL_MAX_NODES)
			return fail(&e, n->line, f, "id %u is out of range 1..%u", n->id,
				    SHOAL_MAX_NODES - 1);
		if (mac_is_zero(n->mac) || (n->mac[0] & 1))
			return fail(&e, n->line, f, "mac must be a unicast, non-zero MAC");
		if (!memcmp(n->mac, c->mac_prefix, 3))
			return fail(&e, n->line, f,
				    "mac starts with the forwarding prefix %02x:%02x:%02x; change cluster.mac_prefix",
				    c->mac_prefix[0], c->mac_prefix[1], c->mac_prefix[2]);
		if (n->weight > SHOAL_WEIGHT_MAX)
			return fail(&e, n->line, f, "weight %u exceeds %u", n->weight,
				    SHOAL_WEIGHT_MAX);
		for (j = 0; j < i; j++) {
			const struct shoal_node_cfg *o = &c->nodes[j];

			if (!strcmp(o->name, n->name))
				return fail(&e, n->line, f, "duplicate node name '%s'", n->name);
			if (o->id == n->id)
				return fail(&e, n->line, f, "duplicate id %u (also node '%s')", n->id,
					    o->name);
			if (!memcmp(o->mac, n->mac, 6))
				return fail(&e, n->line, f, "duplicate mac (also node '%s')",
					    o->name);
		}
	}
	if (shoal_cluster_uses_gue(c)) {
		/* Any node may send GUE (from its address) and receive it (at its address). */
		__u8 fam = c->nodes[0].addr.family;
		__u32 over = fam == 6 ? SHOAL_GUE_OVERHEAD6 : SHOAL_GUE_OVERHEAD4;

		for (i = 0; i < c->nnodes; i++) {
			const struct shoal_node_cfg *n = &c->nodes[i];

			snprintf(f, sizeof(f), "nodes[%zu].address", i);
			if (!n->addr.family)
				return fail(&e, n->line, f,
					    "required with GUE forwarding: the outer header's source and destination");
			if (n->addr.family != fam)
				return fail(&e, n->line, f,
					    "GUE needs every node's address in one family (IPv%u like nodes[0])",
					    fam);
		}
		if (!c->gue_port)
			return fail(&e, 0, "cluster.gue_port", "0 is not a port");
		if (c->gue_port == c->daemon.peer_port)
			return fail(&e, 0, "cluster.gue_port",
				    "%u is also daemon.peer_port (heartbeats); give them different ports",
				    c->gue_port);
		if (c->fabric_mtu && c->fabric_mtu < SHOAL_FABRIC_MTU_MIN + over)
			return fail(&e, 0, "cluster.fabric_mtu",
				    "%u leaves less than %u bytes for the inner packet after %u bytes of encapsulation",
				    c->fabric_mtu, SHOAL_FABRIC_MTU_MIN, over);
		for (i = 0; i < c->nvips; i++) {
			const struct shoal_vip_cfg *v = &c->vips[i];

			snprintf(f, sizeof(f), "vips[%zu]", i);
			if (v->addr.family == 6 && c->fabric_mtu &&
			    c->fabric_mtu < SHOAL_IPV6_MIN_MTU + over)
				return fail(&e, v->line, f,
					    "an IPv6 VIP needs cluster.fabric_mtu of at least %u (1280 inside %u bytes of encapsulation)",
					    SHOAL_IPV6_MIN_MTU + over, over);
			/* A node's address is its own, and its GUE endpoint: never a VIP. */
			for (j = 0; j < c->nnodes; j++) {
				if (shoal_addr_eq(&v->addr, &c->nodes[j].addr))
					return fail(&e, v->line, f,
						    "%s is node '%s''s own address, where it receives GUE; a VIP is an address every serving node has on its loopback",
						    shoal_format_addr(&v->addr, (char[SHOAL_ADDRSTRLEN]){ 0 }),
						    c->nodes[j].name);
			}
		}
	}
	if (c->flow_hash == SHOAL_FH_NIC) {
		char why[200];

		if (shoal_cluster_nic_refusal(c, why, sizeof(why))[0])
			return fail(&e, 0, "cluster.flow_hash", "nic: %s", why);
	}
	if (c->fabric_mtu && (c->fabric_mtu < SHOAL_FABRIC_MTU_MIN || c->fabric_mtu > 65535))
		return fail(&e, 0, "cluster.fabric_mtu", "%u is not an MTU (%u..65535)",
			    c->fabric_mtu, SHOAL_FABRIC_MTU_MIN);
	if (c->npools > SHOAL_MAX_POOLS)
		return fail(&e, 0, "pools", "more than %u pools", SHOAL_MAX_POOLS);
	for (i = 0; i < c->npools; i++) {
		const struct shoal_pool_cfg *p = &c->pools[i];

		snprintf(f, sizeof(f), "pools[%zu]", i);
		if (!p->name[0])
			return fail(&e, p->line, f, "a pool needs a name");
		for (j = 0; j < i; j++) {
			if (!strcmp(c->pools[j].name, p->name))
				return fail(&e, p->line, f, "duplicate pool name '%s'", p->name);
		}
		for (j = 0; j < p->nmembers; j++) {
			if (!shoal_cluster_node_id(c, p->members[j]))
				return fail(&e, p->line, f, "member id %u is not a node",
					    p->members[j]);
			for (k = 0; k < j; k++) {
				if (p->members[k] == p->members[j])
					return fail(&e, p->line, f, "node '%s' listed twice",
						    shoal_cluster_node_id(c, p->members[j])->name);
			}
		}
		if (p->nmembers > c->m)
			return fail(&e, p->line, f, "%zu nodes but only %u buckets", p->nmembers,
				    c->m);
	}
	if (c->nvips > SHOAL_MAX_VIPS)
		return fail(&e, 0, "vips", "more than %u VIPs", SHOAL_MAX_VIPS);
	for (i = 0; i < c->nvips; i++) {
		const struct shoal_vip_cfg *v = &c->vips[i];

		snprintf(f, sizeof(f), "vips[%zu]", i);
		if (v->addr.family != 4 && v->addr.family != 6)
			return fail(&e, v->line, f, "a VIP needs an address");
		if (v->proto != IPPROTO_TCP && v->proto != IPPROTO_UDP)
			return fail(&e, v->line, f, "protocol must be tcp or udp");
		if (!shoal_cluster_pool(c, v->pool))
			return fail(&e, v->line, f, "unknown pool '%s'", v->pool);
		for (j = 0; j < i; j++) {
			if (vip_cfg_same(&c->vips[j], &v->addr, v->port, v->proto))
				return fail(&e, v->line, f, "duplicate VIP (same address, port, protocol)");
		}
	}
	return 0;
}

/* ---- reading the running state ---- */

static int push_node(struct shoal_cluster *c, const struct shoal_node_cfg *n)
{
	struct shoal_node_cfg *p = realloc(c->nodes, (c->nnodes + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	c->nodes = p;
	c->nodes[c->nnodes++] = *n;
	return 0;
}

int shoal_cluster_read(struct shoal *s, struct shoal_cluster *c)
{
	volatile struct shoal_conf *conf = shoal_conf(s);
	struct shoal_pool pools[SHOAL_MAX_POOLS];
	struct shoal_vip *slots = NULL;
	struct shoal_node n;
	__u16 id;
	int err, i, b;

	shoal_cluster_init(c);
	c->seed[0] = conf->key[0];
	c->seed[1] = conf->key[1];
	c->m = conf->m;
	c->drain_ns = conf->drain_ns;
	memcpy(c->mac_prefix, (const void *)conf->mac_prefix, 3);
	if (conf->gue_port)
		c->gue_port = ntohs(conf->gue_port);
	c->flow_hash = conf->flow_hash == SHOAL_HASH_NIC ? SHOAL_FH_NIC : SHOAL_FH_SOFTWARE;
	if (conf->self_family)
		c->fabric_mtu = conf->gue_mtu + (conf->self_family == 6 ? SHOAL_GUE_OVERHEAD6 :
						 SHOAL_GUE_OVERHEAD4);

	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		struct shoal_node_cfg nc = {};

		err = shoal_node_get(s, id, &n);
		if (err)
			goto out;
		if (!(n.flags & SHOAL_NODE_F_PEER) || (n.flags & SHOAL_NODE_F_REMOVED))
			continue;
		memcpy(nc.name, n.name, sizeof(nc.name));
		nc.name[SHOAL_NAME_LEN - 1] = '\0';
		nc.id = id;
		memcpy(nc.mac, n.mac, 6);
		nc.addr.family = n.family;
		memcpy(nc.addr.a, n.addr, sizeof(nc.addr.a));
		nc.weight = n.weight;
		nc.drained = n.flags & SHOAL_NODE_F_DRAINED;
		nc.forwarding = n.flags & SHOAL_NODE_F_GUE ? SHOAL_FWD_GUE : SHOAL_FWD_L2;
		err = push_node(c, &nc);
		if (err)
			goto out;
	}

	c->pools = calloc(SHOAL_MAX_POOLS, sizeof(*c->pools));
	if (!c->pools) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		struct shoal_pool_cfg *pc;

		err = shoal_pool_get(s, (__u8)i, &pools[i]);
		if (err)
			goto out;
		if (!(pools[i].flags & SHOAL_POOL_F_VALID))
			continue;
		pc = &c->pools[c->npools++];
		memcpy(pc->name, pools[i].name, sizeof(pc->name));
		pc->name[SHOAL_NAME_LEN - 1] = '\0';
		pc->members = calloc(SHOAL_MAX_NODES, sizeof(__u16));
		if (!pc->members) {
			err = -ENOMEM;
			goto out;
		}
		for (b = 1; b < SHOAL_MAX_NODES; b++) {
			if (pools[i].members[b / 64] & (1ULL << (b % 64)))
				pc->members[pc->nmembers++] = (__u16)b;
		}
	}

	slots = malloc(sizeof(*slots) * SHOAL_VIP_SLOTS);
	if (!slots) {
		err = -ENOMEM;
		goto out;
	}
	shoal_vips_read(s, slots);
	for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
		struct shoal_vip *v = &slots[i];
		struct shoal_vip_cfg vc = {};
		struct shoal_vip_cfg *nv;

		if (!v->family || (v->flags & SHOAL_VIP_F_GUE))
			continue;
		vc.addr.family = v->family;
		memcpy(vc.addr.a, v->addr, sizeof(vc.addr.a));
		vc.port = ntohs(v->port);
		vc.proto = v->proto;
		if (v->pool < SHOAL_MAX_POOLS)
			memcpy(vc.pool, pools[v->pool].name, sizeof(vc.pool));
		vc.pool[SHOAL_NAME_LEN - 1] = '\0';
		nv = realloc(c->vips, (c->nvips + 1) * sizeof(*nv));
		if (!nv) {
			err = -ENOMEM;
			goto out;
		}
		c->vips = nv;
		c->vips[c->nvips++] = vc;
	}
	err = 0;
out:
	free(slots);
	if (err)
		shoal_cluster_free(c);
	return err;
}

/* ---- applying ---- */

struct plan {
	struct shoal_node *cur_nodes;	/* [SHOAL_MAX_NODES] */
	struct shoal_node *new_nodes;
	struct shoal_pool cur_pools[SHOAL_MAX_POOLS];
	struct shoal_pool new_pools[SHOAL_MAX_POOLS];
	int pool_id[SHOAL_MAX_POOLS];	/* config pool index -> id */
	struct shoal_bucket *table[SHOAL_MAX_POOLS];	/* by config pool index */
	bool stage_table[SHOAL_MAX_POOLS];
	struct shoal_vip *cur_slots;
	struct shoal_vip *new_slots;
	bool new_vip_id[SHOAL_MAX_VIPS];
	bool used_vip_id[SHOAL_MAX_VIPS];
};

static void plan_free(struct plan *p)
{
	int i;

	free(p->cur_nodes);
	free(p->new_nodes);
	for (i = 0; i < SHOAL_MAX_POOLS; i++)
		free(p->table[i]);
	free(p->cur_slots);
	free(p->new_slots);
	free(p);
}

static bool vip_same_key(const struct shoal_vip *a, const struct shoal_vip *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       a->port == b->port && a->proto == b->proto;
}

static int plan_vips(struct shoal *s, const struct shoal_cluster *c, struct plan *p,
		     const struct shoal_addr *gue_endpoint, struct errbuf *e)
{
	bool *used = p->used_vip_id;
	struct shoal_vip *entries;
	size_t i, j, next = 0, n = c->nvips;
	int err;

	p->cur_slots = malloc(sizeof(*p->cur_slots) * SHOAL_VIP_SLOTS);
	p->new_slots = malloc(sizeof(*p->new_slots) * SHOAL_VIP_SLOTS);
	entries = calloc(c->nvips + 1, sizeof(*entries));
	if (!p->cur_slots || !p->new_slots || !entries) {
		free(entries);
		return -ENOMEM;
	}
	shoal_vips_read(s, p->cur_slots);
	/*
	 * A VIP keeps its id (and counters) across applies. New VIPs take ids no
	 * running VIP holds, so a counter is never cleared while the old table,
	 * still live until the flip, counts into it.
	 */
	for (j = 0; j < SHOAL_VIP_SLOTS; j++) {
		if (p->cur_slots[j].family && !(p->cur_slots[j].flags & SHOAL_VIP_F_GUE) &&
		    p->cur_slots[j].id < SHOAL_MAX_VIPS)
			used[p->cur_slots[j].id] = true;
	}
	for (i = 0; i < c->nvips; i++) {
		const struct shoal_vip_cfg *v = &c->vips[i];
		struct shoal_vip *x = &entries[i];

		x->family = v->addr.family;
		memcpy(x->addr, v->addr.a, sizeof(x->addr));
		x->port = htons(v->port);
		x->proto = v->proto;
		x->pool = (__u8)p->pool_id[shoal_cluster_pool(c, v->pool) - c->pools];
		x->id = SHOAL_MAX_VIPS;
		for (j = 0; j < SHOAL_VIP_SLOTS; j++) {
			if (p->cur_slots[j].family && vip_same_key(&p->cur_slots[j], x)) {
				x->id = p->cur_slots[j].id;
				break;
			}
		}
	}
	for (i = 0; i < c->nvips; i++) {
		if (entries[i].id != SHOAL_MAX_VIPS)
			continue;
		while (next < SHOAL_MAX_VIPS && used[next])
			next++;
		if (next == SHOAL_MAX_VIPS) {
			free(entries);
			return fail(e, c->vips[i].line, "vips",
				    "no free VIP id (removed VIPs free theirs at the next apply)");
		}
		entries[i].id = (__u16)next;
		used[next] = true;
		p->new_vip_id[next] = true;
	}
	/* This node's GUE endpoint sits in the VIP table: non-VIP traffic pays nothing for it. */
	if (gue_endpoint) {
		struct shoal_vip *x = &entries[n++];

		x->family = gue_endpoint->family;
		memcpy(x->addr, gue_endpoint->a, sizeof(x->addr));
		x->port = htons(c->gue_port);
		x->proto = IPPROTO_UDP;
		x->flags = SHOAL_VIP_F_GUE;
	}
	err = vip_table_build(entries, n, p->new_slots);
	free(entries);
	if (err == -ENOSPC)
		return fail(e, 0, "vips",
			    "too many VIPs share one address hash neighbourhood (probe > %u slots)",
			    SHOAL_VIP_PROBES);
	if (err)
		return fail(e, 0, "vips", "cannot build the VIP table: %s", strerror(-err));
	return 0;
}

/* Mark every node a table names: as owner, or as a live previous owner. */
static void table_refs(const struct shoal_bucket *t, __u32 m, __u32 now, __u64 *refs)
{
	__u32 b;
	int i;

	for (b = 0; b < m; b++) {
		refs[t[b].owner / 64] |= 1ULL << (t[b].owner % 64);
		for (i = 0; i < SHOAL_MAX_PREV && t[b].prev[i]; i++) {
			if ((__s32)(t[b].expire[i] - now) > 0)
				refs[t[b].prev[i] / 64] |= 1ULL << (t[b].prev[i] % 64);
		}
	}
}

static const struct shoal_base_pool *base_pool(const struct shoal_base *b, const char *name)
{
	size_t i;

	for (i = 0; b && i < b->npools; i++) {
		if (!strncmp(b->pools[i].name, name, SHOAL_NAME_LEN))
			return &b->pools[i];
	}
	return NULL;
}

/* A library failure after planning: its message becomes the caller's. */
static int fail_lib(struct errbuf *e, int err, const char *what)
{
	const char *m = shoal_last_error();

	snprintf(e->buf, e->len, "%s: %s", what, m[0] ? m : strerror(-err));
	return err;
}

/* The MTU of the uplink (by name, or the one attached to), else Ethernet's. */
static __u32 uplink_mtu(struct shoal *s, const char *dev)
{
	char name[IF_NAMESIZE] = "", path[64 + IF_NAMESIZE];
	unsigned long long mtu = 0;
	int ifindex = 0;
	FILE *f;

	if (dev)
		snprintf(name, sizeof(name), "%s", dev);
	else if (!shoal_attachment(s, &ifindex, NULL) && ifindex)
		if_indextoname((unsigned int)ifindex, name);
	if (!name[0])
		return 1500;
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &mtu) != 1)
			mtu = 0;
		fclose(f);
	}
	return mtu >= SHOAL_FABRIC_MTU_MIN && mtu <= 65535 ? (__u32)mtu : 1500;
}

/*
 * Next-hop MACs of the nodes reached by GUE. Those the kernel has not
 * resolved yet are asked for together, then waited for (200 ms at most, in
 * all). A node whose next hop stays unknown keeps the MAC it had, if its
 * address did not change; otherwise forwarding to it counts drop_nexthop
 * until a later apply (shoald refreshes them every few seconds) finds one.
 */
static void plan_nexthops(struct plan *p, __u16 self, const char *dev,
			  struct shoal_apply_report *rep)
{
	int ifindex = dev ? (int)if_nametoindex(dev) : 0, id, round, pending;
	char why[200];
	__u8 *want = calloc(SHOAL_MAX_NODES, 1);

	if (!want) {
		rep->nexthops_unresolved++;
		snprintf(rep->nexthop_error, sizeof(rep->nexthop_error), "out of memory");
		return;
	}
	pending = 0;
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		struct shoal_node *x = &p->new_nodes[id];

		want[id] = 0;
		if (!(x->flags & SHOAL_NODE_F_GUE) || id == self)
			continue;
		rep->gue_nodes++;
		want[id] = 1;
		pending++;
	}
	for (round = 0; pending && round < 11; round++) {
		for (id = 1; id < SHOAL_MAX_NODES; id++) {
			struct shoal_node *x = &p->new_nodes[id];
			struct shoal_addr a = { .family = x->family };
			int err;

			if (!want[id])
				continue;
			memcpy(a.a, x->addr, sizeof(a.a));
			err = shoal_nexthop(&a, ifindex, x->hop_mac, why, sizeof(why));
			if (!err) {
				x->flags |= SHOAL_NODE_F_HOP;
				want[id] = 0;
				pending--;
			} else if (err != -EAGAIN || round == 10) {
				const struct shoal_node *cur = &p->cur_nodes[id];

				want[id] = 0;
				pending--;
				if ((cur->flags & SHOAL_NODE_F_HOP) && cur->family == x->family &&
				    !memcmp(cur->addr, x->addr, sizeof(x->addr))) {
					memcpy(x->hop_mac, cur->hop_mac, 6);
					x->flags |= SHOAL_NODE_F_HOP;
					continue;
				}
				if (!rep->nexthops_unresolved++)
					snprintf(rep->nexthop_error, sizeof(rep->nexthop_error),
						 "%.31s: %.200s", x->name, why);
			} else if (round == 0) {
				shoal_nexthop_kick(&a);
			}
		}
		if (pending) {
			struct timespec ts = { 0, 20 * 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	free(want);
}

int shoal_cluster_apply(struct shoal *s, const struct shoal_cluster *c,
			const struct shoal_apply_opts *o, struct shoal_apply_report *rep,
			char *errmsg, size_t len)
{
	static const struct shoal_apply_opts defaults;
	volatile struct shoal_conf *conf = shoal_conf(s);
	struct errbuf e = { NULL, errmsg, len };
	struct shoal_apply_report local_rep;
	struct maglev_node *mn = NULL;
	struct plan *p = NULL;
	__u32 m = shoal_m(s), now, expire;
	__u16 self, cur_self;
	__u64 now_ns, eligible[SHOAL_MAX_NODES / 64];
	bool configured, used_id[SHOAL_MAX_POOLS] = {};
	const struct shoal_node_cfg *me;
	struct shoal_addr self_addr = {};
	__u8 self_mac[6] = {};
	size_t i, j;
	int err, id;
	bool gue;

	if (!o)
		o = &defaults;
	if (!rep)
		rep = &local_rep;
	memset(rep, 0, sizeof(*rep));
	if (len)
		errmsg[0] = '\0';
	err = shoal_cluster_check(c, NULL, errmsg, len);
	if (err)
		return err;
	err = shoal_lock(s);
	if (err)
		return fail_lib(&e, err, "apply");

	cur_self = conf->self;
	configured = cur_self != 0;
	if (c->m != m) {
		err = fail(&e, 0, "cluster.buckets",
			   "the running data plane has M=%u; M sizes its tables and cannot change in place (detach, then apply)",
			   m);
		goto out;
	}
	if ((c->flow_hash == SHOAL_FH_NIC && conf->flow_hash != SHOAL_HASH_NIC) ||
	    (c->flow_hash == SHOAL_FH_SOFTWARE && conf->flow_hash == SHOAL_HASH_NIC)) {
		err = fail(&e, 0, "cluster.flow_hash",
			   "the running data plane keys flows on the %s hash; the program is loaded for one or the other, so this cannot change in place (detach, then apply)",
			   conf->flow_hash == SHOAL_HASH_NIC ? "NIC's" : "software");
		goto out;
	}
	if (configured && (conf->key[0] != c->seed[0] || conf->key[1] != c->seed[1]) && !o->force) {
		err = fail(&e, 0, "cluster.seed",
			   "differs from the running seed; a new seed remaps every flow and breaks connections (force to do it anyway)");
		goto out;
	}
	/*
	 * Peers tell forwarded frames by the prefix; during a rolling change
	 * nodes on different prefixes would not see each other's hop marks.
	 */
	if (configured && memcmp((const void *)conf->mac_prefix, c->mac_prefix, 3)) {
		err = fail(&e, 0, "cluster.mac_prefix",
			   "differs from the running prefix %02x:%02x:%02x; nodes on different prefixes lose the hop bound, so it cannot change in place (detach, then apply)",
			   conf->mac_prefix[0], conf->mac_prefix[1], conf->mac_prefix[2]);
		goto out;
	}
	if (o->base && (o->base->m != m || o->base->seed_digest != shoal_seed_digest(c->seed))) {
		err = fail(&e, 0, "base",
			   "the exported tables were built with another M or seed than this config's");
		goto out;
	}
	self = o->self ? o->self : cur_self;
	if (!self) {
		err = fail(&e, 0, "node", "cannot tell which node this is; name it");
		goto out;
	}
	if (!shoal_cluster_node_id(c, self) && self != cur_self) {
		err = fail(&e, 0, "node", "node id %u is not in the config", self);
		goto out;
	}
	now_ns = o->now_ns ? o->now_ns : shoal_now_ns();
	now = (__u32)(now_ns >> SHOAL_TICK_SHIFT);
	expire = (__u32)((now_ns + c->drain_ns) >> SHOAL_TICK_SHIFT);

	p = calloc(1, sizeof(*p));
	mn = calloc(c->nnodes, sizeof(*mn));
	if (!p || !mn) {
		err = -ENOMEM;
		goto out;
	}
	p->cur_nodes = calloc(SHOAL_MAX_NODES, sizeof(*p->cur_nodes));
	p->new_nodes = calloc(SHOAL_MAX_NODES, sizeof(*p->new_nodes));
	if (!p->cur_nodes || !p->new_nodes) {
		err = -ENOMEM;
		goto out;
	}

	/* Nodes: the config's, as the data plane stores them. */
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		err = shoal_node_get(s, (__u16)id, &p->cur_nodes[id]);
		if (err)
			goto out;
	}
	for (i = 0; i < c->nnodes; i++) {
		const struct shoal_node_cfg *n = &c->nodes[i];
		struct shoal_node *x = &p->new_nodes[n->id];

		memcpy(x->mac, n->mac, 6);
		x->flags = SHOAL_NODE_F_PEER | (n->drained ? SHOAL_NODE_F_DRAINED : 0) |
			   (shoal_node_gue(c, n) ? SHOAL_NODE_F_GUE : 0);
		x->weight = (__u16)n->weight;
		x->family = n->addr.family;
		memcpy(x->addr, n->addr.a, sizeof(x->addr));
		memcpy(x->name, n->name, sizeof(x->name));
	}

	/* Pools: keep each name's id so its table carries over; new ones take free ids. */
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		err = shoal_pool_get(s, (__u8)i, &p->cur_pools[i]);
		if (err)
			goto out;
	}
	for (i = 0; i < c->npools; i++) {
		p->pool_id[i] = -1;
		for (j = 0; j < SHOAL_MAX_POOLS; j++) {
			if ((p->cur_pools[j].flags & SHOAL_POOL_F_VALID) &&
			    !strncmp(p->cur_pools[j].name, c->pools[i].name, SHOAL_NAME_LEN)) {
				p->pool_id[i] = (int)j;
				used_id[j] = true;
				break;
			}
		}
	}
	for (i = 0; i < c->npools; i++) {
		if (p->pool_id[i] >= 0)
			continue;
		for (j = 0; j < SHOAL_MAX_POOLS; j++) {
			if (!used_id[j] && !(p->cur_pools[j].flags & SHOAL_POOL_F_VALID))
				break;
		}
		if (j == SHOAL_MAX_POOLS) {
			err = fail(&e, c->pools[i].line, "pools",
				   "no free pool slot; apply once without the removed pools first");
			goto out;
		}
		p->pool_id[i] = (int)j;
		used_id[j] = true;
	}

	/* Tables: Maglev for the new membership, merged with the running (or base) table. */
	for (i = 0; i < c->npools; i++) {
		const struct shoal_pool_cfg *pc = &c->pools[i];
		const struct shoal_base_pool *bp = base_pool(o->base, pc->name);
		struct shoal_pool_report *pr = &rep->pools[rep->npools++];
		__u8 pid = (__u8)p->pool_id[i];
		struct shoal_pool *np = &p->new_pools[pid];
		struct shoal_bucket *old;
		struct table_diff d;
		__u16 *owners;
		bool have_old;
		__u32 b;

		pr->all_drained = shoal_pool_all_drained(c, pc);
		memset(eligible, 0, sizeof(eligible));
		for (j = 0; j < pc->nmembers; j++) {
			mn[j].id = pc->members[j];
			mn[j].weight = shoal_pool_weight(shoal_cluster_node_id(c, mn[j].id), pr->all_drained);
			if (mn[j].weight)
				eligible[mn[j].id / 64] |= 1ULL << (mn[j].id % 64);
		}
		owners = malloc(sizeof(*owners) * m);
		old = malloc(sizeof(*old) * m);
		p->table[i] = malloc(sizeof(*p->table[i]) * m);
		if (!owners || !old || !p->table[i]) {
			free(owners);
			free(old);
			err = -ENOMEM;
			goto out;
		}
		err = maglev_build(mn, pc->nmembers, c->seed, m, owners);
		pr->created = shoal_table_read(s, pid, old) == -ENOENT;
		have_old = !pr->created;
		if (!err && o->base) {
			have_old = bp != NULL;
			if (bp)
				memcpy(old, bp->buckets, sizeof(*old) * m);
		}
		if (!err)
			table_merge(have_old ? old : NULL, owners, m, now, expire, eligible,
				    o->gone, p->table[i], &d);
		free(owners);
		free(old);
		if (err) {
			err = fail(&e, pc->line, "pools", "building table '%s': %s", pc->name,
				   strerror(-err));
			goto out;
		}
		/* From a base, the result is compared with the base, not with what runs. */
		p->stage_table[i] = pr->created || d.changed || o->base;
		memcpy(np->name, pc->name, sizeof(np->name));
		np->flags = SHOAL_POOL_F_VALID;
		np->gen = p->cur_pools[pid].flags & SHOAL_POOL_F_VALID ? p->cur_pools[pid].gen : 0;
		if (p->stage_table[i])
			np->gen++;
		for (j = 0; j < pc->nmembers; j++)
			np->members[pc->members[j] / 64] |= 1ULL << (pc->members[j] % 64);
		memcpy(pr->name, pc->name, sizeof(pr->name));
		pr->id = pid;
		pr->gen = np->gen;
		pr->moved = d.moved;
		pr->changed = d.changed;
		pr->deferred = d.deferred;
		for (b = 0; b < m; b++)
			pr->in_transition += (__u32)bucket_in_transition(&p->table[i][b], now);
	}

	/*
	 * Nodes the tables name that the config does not (left the cluster, still
	 * draining): kept, or taken from the base, so they stay forwardable.
	 */
	memset(eligible, 0, sizeof(eligible));	/* reused: the nodes some table names */
	for (i = 0; i < c->npools; i++)
		table_refs(p->table[i], m, now, eligible);
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		if (p->new_nodes[id].flags & SHOAL_NODE_F_PEER)
			continue;
		if (!(eligible[id / 64] & (1ULL << (id % 64))))
			continue;
		if (p->cur_nodes[id].flags & SHOAL_NODE_F_PEER)
			p->new_nodes[id] = p->cur_nodes[id];
		else if (o->base && (o->base->nodes[id].flags & SHOAL_NODE_F_PEER))
			p->new_nodes[id] = o->base->nodes[id];
		else
			continue;
		p->new_nodes[id].flags |= SHOAL_NODE_F_REMOVED;
	}

	/*
	 * This node's own address and MAC for GUE: from the config, or - for a
	 * node that left it and serves what it still holds - as it ran so far.
	 */
	gue = shoal_cluster_uses_gue(c);
	me = shoal_cluster_node_id(c, self);
	if (me) {
		self_addr = me->addr;
		memcpy(self_mac, me->mac, 6);
	} else if (conf->self_family) {
		self_addr.family = conf->self_family;
		memcpy(self_addr.a, (const void *)conf->self_addr, sizeof(self_addr.a));
		memcpy(self_mac, (const void *)conf->self_mac, 6);
	}
	gue = gue && self_addr.family;
	err = plan_vips(s, c, p, gue ? &self_addr : NULL, &e);
	if (err)
		goto out;
	if (gue)
		plan_nexthops(p, self, o->dev, rep);
	rep->fabric_mtu = c->fabric_mtu ? c->fabric_mtu : uplink_mtu(s, o->dev);
	rep->vips = c->nvips;
	rep->vips_changed = memcmp(p->cur_slots, p->new_slots,
				   sizeof(*p->new_slots) * SHOAL_VIP_SLOTS) != 0;

	/*
	 * Everything is decided. Stage first: it only touches copies and maps the
	 * program does not read yet, so a failure here changes nothing.
	 */
	for (i = 0; i < c->npools; i++) {
		if (!p->stage_table[i])
			continue;
		err = shoal_table_stage(s, (__u8)p->pool_id[i], p->table[i]);
		if (err)
			break;
	}
	if (!err && rep->vips_changed)
		err = shoal_vips_stage(s, p->new_slots);
	if (err) {
		shoal_stage_abort(s);
		err = fail_lib(&e, err, "staging tables");
		goto out;
	}

	/* Then what the staged tables refer to: nodes, the key, the identity. */
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		struct shoal_node *x = &p->new_nodes[id], *cur = &p->cur_nodes[id];

		if (!(x->flags & SHOAL_NODE_F_PEER) || !memcmp(x, cur, sizeof(*x)))
			continue;
		if (x->flags & SHOAL_NODE_F_REMOVED) {
			if (!(cur->flags & SHOAL_NODE_F_REMOVED))
				rep->nodes_retired++;
		} else if ((cur->flags & SHOAL_NODE_F_PEER) && !(cur->flags & SHOAL_NODE_F_REMOVED)) {
			rep->nodes_updated++;
		} else {
			rep->nodes_added++;
		}
		shoal_node_put(s, (__u16)id, x);
	}
	for (i = 0; i < SHOAL_MAX_VIPS; i++) {
		if (p->new_vip_id[i])
			shoal_vipstats_clear(s, (__u16)i);
	}
	if (conf->key[0] != c->seed[0] || conf->key[1] != c->seed[1])
		shoal_set_key(s, c->seed);
	if (!configured)
		shoal_set_mac_prefix(s, c->mac_prefix);
	conf->drain_ns = c->drain_ns;
	/* GUE's outer headers: from this node's address and uplink MAC. */
	if (gue) {
		__u32 over = self_addr.family == 6 ? SHOAL_GUE_OVERHEAD6 : SHOAL_GUE_OVERHEAD4;

		memcpy((void *)conf->self_addr, self_addr.a, sizeof(self_addr.a));
		memcpy((void *)conf->self_mac, self_mac, 6);
		conf->gue_port = htons(c->gue_port);
		conf->gue_mtu = (__u16)(rep->fabric_mtu > over ? rep->fabric_mtu - over : 0);
		conf->self_family = self_addr.family;
	} else {
		conf->self_family = 0;
	}
	for (i = 0; i < c->npools; i++)
		conf->pool_gen[p->pool_id[i]] = (__u32)p->new_pools[p->pool_id[i]].gen;
	if (self != cur_self)
		shoal_set_identity(s, self);
	err = shoal_commit(s);
	if (err) {
		err = fail_lib(&e, err, "installing tables");
		goto out;
	}
	rep->self = self;

	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		bool keep = false;

		for (j = 0; j < c->npools; j++)
			keep |= p->pool_id[j] == (int)i;
		if (keep) {
			err = shoal_pool_put(s, (__u8)i, &p->new_pools[i]);
		} else if (p->cur_pools[i].flags & SHOAL_POOL_F_VALID) {
			struct shoal_pool z = {};

			err = shoal_table_drop(s, (__u8)i);
			if (!err)
				err = shoal_pool_put(s, (__u8)i, &z);
			rep->pools_dropped++;
		}
		if (err) {
			err = fail_lib(&e, err, "updating pools");
			goto out;
		}
	}

	/* Nodes no table names any more are forgotten. */
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		if (!(p->cur_nodes[id].flags & SHOAL_NODE_F_PEER) ||
		    (p->new_nodes[id].flags & SHOAL_NODE_F_PEER))
			continue;
		shoal_node_clear(s, (__u16)id);
		rep->nodes_freed++;
	}
	err = 0;
out:
	shoal_unlock(s);
	free(mn);
	if (p)
		plan_free(p);
	return err;
}

int shoal_nexthops_refresh(struct shoal *s, const char *dev, struct shoal_apply_report *rep)
{
	__u16 self = shoal_conf(s)->self;
	struct plan *p;
	int err, id;

	memset(rep, 0, sizeof(*rep));
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cur_nodes = calloc(SHOAL_MAX_NODES, sizeof(*p->cur_nodes));
	p->new_nodes = calloc(SHOAL_MAX_NODES, sizeof(*p->new_nodes));
	err = p->cur_nodes && p->new_nodes ? shoal_lock(s) : -ENOMEM;
	if (err)
		goto out;
	for (id = 1; id < SHOAL_MAX_NODES && !err; id++)
		err = shoal_node_get(s, (__u16)id, &p->cur_nodes[id]);
	if (!err) {
		memcpy(p->new_nodes, p->cur_nodes, sizeof(*p->new_nodes) * SHOAL_MAX_NODES);
		for (id = 1; id < SHOAL_MAX_NODES; id++)
			p->new_nodes[id].flags &= (__u16)~SHOAL_NODE_F_HOP;
		plan_nexthops(p, self, dev, rep);
		for (id = 1; id < SHOAL_MAX_NODES && !err; id++) {
			if (memcmp(&p->new_nodes[id], &p->cur_nodes[id], sizeof(p->new_nodes[id])))
				err = shoal_node_put(s, (__u16)id, &p->new_nodes[id]);
		}
	}
	shoal_unlock(s);
out:
	plan_free(p);
	return err;
}

int shoal_cluster_create(struct shoal **out, const char *pin_dir, const struct shoal_cluster *c,
			 const char *dev, char *why, size_t len)
{
	struct shoal_create_opts o = { .m = c->m, .flow_hash = SHOAL_HASH_SOFTWARE };
	char refusal[200], probe[160] = "";
	int ifindex = dev ? (int)if_nametoindex(dev) : 0, sup;

	if (why && len)
		why[0] = '\0';
	if (c->flow_hash == SHOAL_FH_SOFTWARE) {
		if (why)
			snprintf(why, len, "software hash (flow_hash: software)");
		return shoal_create_opts(out, pin_dir, &o);
	}
	shoal_cluster_nic_refusal(c, refusal, sizeof(refusal));
	sup = ifindex ? shoal_nic_rx_hash_probe(ifindex, probe, sizeof(probe)) : 0;
	if (!ifindex)
		snprintf(probe, sizeof(probe), "no uplink named");
	if (c->flow_hash == SHOAL_FH_NIC && sup <= 0) {
		if (why)
			snprintf(why, len, "flow_hash nic on %s: %s", dev ? dev : "?", probe);
		return shoal_errmsg(-EOPNOTSUPP, "flow_hash nic on %s: %s", dev ? dev : "?", probe);
	}
	if (c->flow_hash == SHOAL_FH_AUTO && (refusal[0] || sup <= 0)) {
		if (why)
			snprintf(why, len, "software hash (flow_hash auto: %.*s)", 150,
				 refusal[0] ? "not every node is reached by GUE" : probe);
		return shoal_create_opts(out, pin_dir, &o);
	}
	o.flow_hash = SHOAL_HASH_NIC;
	o.ifindex = ifindex;
	if (why)
		snprintf(why, len, "the NIC's RX hash on %s (%s)", dev, probe);
	return shoal_create_opts(out, pin_dir, &o);
}
