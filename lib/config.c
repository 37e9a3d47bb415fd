// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The YAML cluster config: parsed with libyaml into the cluster model, errors by file, line and field. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cluster.h"

struct pctx {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t len;
};

__attribute__((format(printf, 4, 5)))
static int perr(struct pctx *p, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->len, "%s:%lu: %s: %s", p->file,
		 n ? (unsigned long)n->start_mark.line + 1 : 0UL, field, msg);
	return -EINVAL;
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node_at(struct pctx *p, int i)
{
	return yaml_document_get_node(p->doc, i);
}

/* Look up key in a mapping; reject keys not in `allowed` and duplicates. */
static int mapping_check(struct pctx *p, const yaml_node_t *map, const char *field,
			 const char *const *allowed)
{
	yaml_node_pair_t *a, *b;

	if (map->type != YAML_MAPPING_NODE)
		return perr(p, map, field, "expected a mapping of keys to values");
	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		const yaml_node_t *k = node_at(p, a->key);
		const char *ks = scalar(k);
		const char *const *w;

		if (!ks)
			return perr(p, k, field, "keys must be plain names");
		for (w = allowed; *w && strcmp(*w, ks); w++)
			;
		if (!*w)
			return perr(p, k, field, "unknown key '%s'", ks);
		for (b = map->data.mapping.pairs.start; b < a; b++) {
			if (!strcmp(scalar(node_at(p, b->key)), ks))
				return perr(p, k, field, "key '%s' given twice", ks);
		}
	}
	return 0;
}

static yaml_node_t *get(struct pctx *p, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *a;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		const char *ks = scalar(node_at(p, a->key));

		if (ks && !strcmp(ks, key))
			return node_at(p, a->value);
	}
	return NULL;
}

static int get_str(struct pctx *p, const yaml_node_t *v, const char *field, const char **out)
{
	*out = scalar(v);
	if (!*out)
		return perr(p, v, field, "expected a single value");
	return 0;
}

static int get_uint(struct pctx *p, const yaml_node_t *v, const char *field,
		    unsigned long long max, unsigned long long *out)
{
	const char *s;
	int err = get_str(p, v, field, &s);

	if (err)
		return err;
	if (shoal_parse_uint(s, max, out))
		return perr(p, v, field, "'%s' is not a whole number in 0..%llu", s, max);
	return 0;
}

static int get_name(struct pctx *p, const yaml_node_t *v, const char *field, char *out)
{
	const char *s;
	int err = get_str(p, v, field, &s);
	size_t i;

	if (err)
		return err;
	if (!*s || strlen(s) >= SHOAL_NAME_LEN)
		return perr(p, v, field, "names are 1 to %d characters", SHOAL_NAME_LEN - 1);
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return perr(p, v, field, "'%s': names use letters, digits, '-', '_', '.'", s);
	}
	strcpy(out, s);
	return 0;
}

static int get_forwarding(struct pctx *p, const yaml_node_t *x, const char *field,
			  enum shoal_forwarding *out)
{
	const char *s;
	int err = get_str(p, x, field, &s);

	if (err)
		return err;
	if (!strcmp(s, "l2"))
		*out = SHOAL_FWD_L2;
	else if (!strcmp(s, "gue"))
		*out = SHOAL_FWD_GUE;
	else
		return perr(p, x, field, "'%s': expected l2 (one segment) or gue (any IP fabric)",
			    s);
	return 0;
}

static int parse_cluster(struct pctx *p, const yaml_node_t *m, struct shoal_cluster *c)
{
	static const char *const keys[] = { "seed",	  "buckets",  "drain",	    "mac_prefix",
					    "forwarding", "gue_port", "fabric_mtu", "flow_hash",
					    NULL };
	unsigned long long v;
	const yaml_node_t *x;
	const char *s;
	__u8 mac[6];
	char buf[32];
	int err;

	err = mapping_check(p, m, "cluster", keys);
	if (err)
		return err;
	x = get(p, m, "seed");
	if (!x)
		return perr(p, m, "cluster.seed",
			    "required: 32 hex digits shared by all nodes and kept secret (e.g. from: head -c16 /dev/urandom | od -An -tx1 | tr -d ' \\n')");
	if ((err = get_str(p, x, "cluster.seed", &s)))
		return err;
	if (shoal_parse_hex128(s, c->seed))
		return perr(p, x, "cluster.seed", "must be exactly 32 hex digits (128 bits)");
	if ((x = get(p, m, "buckets"))) {
		if ((err = get_uint(p, x, "cluster.buckets", SHOAL_M_MAX, &v)))
			return err;
		if (v < 3)
			return perr(p, x, "cluster.buckets", "%llu is below the minimum of 3", v);
		if (!shoal_is_prime((__u32)v))
			return perr(p, x, "cluster.buckets",
				    "%llu is not prime (Maglev needs a prime M, e.g. 65537)", v);
		c->m = (__u32)v;
	}
	if ((x = get(p, m, "drain"))) {
		if ((err = get_str(p, x, "cluster.drain", &s)))
			return err;
		if (shoal_parse_duration(s, &c->drain_ns))
			return perr(p, x, "cluster.drain",
				    "'%s' is not a duration (e.g. 600, 90s, 10m, 1h30m)", s);
	}
	if ((x = get(p, m, "mac_prefix"))) {
		if ((err = get_str(p, x, "cluster.mac_prefix", &s)))
			return err;
		snprintf(buf, sizeof(buf), "%s:00:00:00", s);
		if (shoal_parse_mac(buf, mac))
			return perr(p, x, "cluster.mac_prefix", "'%s' is not 3 MAC bytes (xx:xx:xx)",
				    s);
		if ((mac[0] & 3) != 2)
			return perr(p, x, "cluster.mac_prefix",
				    "must be locally administered unicast (first byte x2, x6, xa or xe)");
		memcpy(c->mac_prefix, mac, 3);
	}
	if ((x = get(p, m, "forwarding"))) {
		if ((err = get_forwarding(p, x, "cluster.forwarding", &c->forwarding)))
			return err;
	}
	if ((x = get(p, m, "gue_port"))) {
		if ((err = get_uint(p, x, "cluster.gue_port", 65535, &v)))
			return err;
		if (!v)
			return perr(p, x, "cluster.gue_port", "0 is not a port");
		c->gue_port = (__u16)v;
	}
	if ((x = get(p, m, "flow_hash"))) {
		if ((err = get_str(p, x, "cluster.flow_hash", &s)))
			return err;
		if (!strcmp(s, "software"))
			c->flow_hash = SHOAL_FH_SOFTWARE;
		else if (!strcmp(s, "nic"))
			c->flow_hash = SHOAL_FH_NIC;
		else if (!strcmp(s, "auto"))
			c->flow_hash = SHOAL_FH_AUTO;
		else
			return perr(p, x, "cluster.flow_hash", "'%s': expected software, nic or auto", s);
	}
	if ((x = get(p, m, "fabric_mtu"))) {
		if ((err = get_uint(p, x, "cluster.fabric_mtu", 65535, &v)))
			return err;
		if (v < SHOAL_FABRIC_MTU_MIN)
			return perr(p, x, "cluster.fabric_mtu", "%llu is below the minimum of %u", v,
				    SHOAL_FABRIC_MTU_MIN);
		c->fabric_mtu = (__u32)v;
	}
	return 0;
}

static int get_duration(struct pctx *p, const yaml_node_t *x, const char *field, __u64 *ns)
{
	const char *s;
	int err = get_str(p, x, field, &s);

	if (err)
		return err;
	if (shoal_parse_duration(s, ns))
		return perr(p, x, field, "'%s' is not a duration (e.g. 500ms, 2s, 10m)", s);
	return 0;
}

static int parse_daemon(struct pctx *p, const yaml_node_t *m, struct shoal_cluster *c)
{
	static const char *const keys[] = { "peer_port", "heartbeat", "dead_after", "hold_down",
					    "restart_grace", "metrics", NULL };
	struct shoal_daemon_cfg *d = &c->daemon;
	unsigned long long v;
	const yaml_node_t *x;
	const char *s;
	int err;

	if ((err = mapping_check(p, m, "daemon", keys)))
		return err;
	if ((x = get(p, m, "peer_port"))) {
		if ((err = get_uint(p, x, "daemon.peer_port", 65535, &v)))
			return err;
		if (!v)
			return perr(p, x, "daemon.peer_port", "0 is not a port");
		d->peer_port = (__u16)v;
	}
	if ((x = get(p, m, "heartbeat"))) {
		if ((err = get_duration(p, x, "daemon.heartbeat", &d->heartbeat_ns)))
			return err;
		if (d->heartbeat_ns < 50000000ULL || d->heartbeat_ns > 10000000000ULL)
			return perr(p, x, "daemon.heartbeat", "must be between 50ms and 10s");
		/* Unless given, dead_after follows a slow heartbeat: four of them. */
		if (d->dead_after_ns < 4 * d->heartbeat_ns)
			d->dead_after_ns = 4 * d->heartbeat_ns;
	}
	if ((x = get(p, m, "dead_after")) &&
	    (err = get_duration(p, x, "daemon.dead_after", &d->dead_after_ns)))
		return err;
	if ((x = get(p, m, "hold_down")) &&
	    (err = get_duration(p, x, "daemon.hold_down", &d->hold_down_ns)))
		return err;
	if ((x = get(p, m, "restart_grace"))) {
		if ((err = get_duration(p, x, "daemon.restart_grace", &d->restart_grace_ns)))
			return err;
		if (d->restart_grace_ns > 600000000000ULL)
			return perr(p, x, "daemon.restart_grace", "must be at most 10m");
	}
	if (d->dead_after_ns < 2 * d->heartbeat_ns)
		return perr(p, m, "daemon.dead_after",
			    "must be at least two heartbeats, or one lost datagram kills a peer");
	if ((x = get(p, m, "metrics"))) {
		struct shoal_addr a;
		__u16 port;

		if ((err = get_str(p, x, "daemon.metrics", &s)))
			return err;
		if (*s && (strlen(s) >= sizeof(d->metrics) || shoal_parse_endpoint(s, &a, &port) ||
			   !port))
			return perr(p, x, "daemon.metrics", "'%s' is not ADDR:PORT (or \"\" for off)",
				    s);
		snprintf(d->metrics, sizeof(d->metrics), "%s", s);
	}
	return 0;
}

static int parse_health(struct pctx *p, const yaml_node_t *m, size_t idx, struct shoal_vip_cfg *v)
{
	static const char *const keys[] = { "type", "port", "path", "expect", "command",
					    "interval", "timeout", "rise", "fall", NULL };
	struct shoal_health_cfg *h = &v->health;
	unsigned long long n;
	const yaml_node_t *x;
	char f[64];
	const char *s;
	int err;

	snprintf(f, sizeof(f), "vips[%zu].health", idx);
	if ((err = mapping_check(p, m, f, keys)))
		return err;
	h->interval_ns = 1000000000ULL;
	h->timeout_ns = 1000000000ULL;
	h->rise = 2;
	h->fall = 2;
	h->expect = 200;
	snprintf(h->path, sizeof(h->path), "/");
	snprintf(f, sizeof(f), "vips[%zu].health.type", idx);
	if (!(x = get(p, m, "type")))
		return perr(p, m, f, "required: tcp, http or exec");
	if ((err = get_str(p, x, f, &s)))
		return err;
	if (!strcasecmp(s, "tcp"))
		h->type = SHOAL_HEALTH_TCP;
	else if (!strcasecmp(s, "http"))
		h->type = SHOAL_HEALTH_HTTP;
	else if (!strcasecmp(s, "exec"))
		h->type = SHOAL_HEALTH_EXEC;
	else
		return perr(p, x, f, "'%s': expected tcp, http or exec", s);
	snprintf(f, sizeof(f), "vips[%zu].health.port", idx);
	if ((x = get(p, m, "port"))) {
		if ((err = get_uint(p, x, f, 65535, &n)))
			return err;
		h->port = (__u16)n;
	}
	if (h->type != SHOAL_HEALTH_EXEC && !h->port && !v->port)
		return perr(p, m, f, "required for an any-port VIP");
	snprintf(f, sizeof(f), "vips[%zu].health.path", idx);
	if ((x = get(p, m, "path"))) {
		if ((err = get_str(p, x, f, &s)))
			return err;
		if (s[0] != '/' || strlen(s) >= sizeof(h->path) || strpbrk(s, " \r\n"))
			return perr(p, x, f, "must start with / and hold no spaces or line breaks");
		snprintf(h->path, sizeof(h->path), "%s", s);
	}
	snprintf(f, sizeof(f), "vips[%zu].health.expect", idx);
	if ((x = get(p, m, "expect"))) {
		if ((err = get_uint(p, x, f, 599, &n)))
			return err;
		if (n < 100)
			return perr(p, x, f, "an HTTP status is 100..599");
		h->expect = (__u16)n;
	}
	snprintf(f, sizeof(f), "vips[%zu].health.command", idx);
	if ((x = get(p, m, "command"))) {
		if ((err = get_str(p, x, f, &s)))
			return err;
		if (!*s || strlen(s) >= sizeof(h->command))
			return perr(p, x, f, "1 to %zu characters", sizeof(h->command) - 1);
		snprintf(h->command, sizeof(h->command), "%s", s);
	}
	if (h->type == SHOAL_HEALTH_EXEC && !h->command[0])
		return perr(p, m, f, "required for an exec check");
	snprintf(f, sizeof(f), "vips[%zu].health.interval", idx);
	if ((x = get(p, m, "interval"))) {
		if ((err = get_duration(p, x, f, &h->interval_ns)))
			return err;
		if (h->interval_ns < 100000000ULL)
			return perr(p, x, f, "interval must be at least 100ms");
		/* Unless given, the timeout fits a short interval. */
		if (h->timeout_ns > h->interval_ns)
			h->timeout_ns = h->interval_ns;
	}
	snprintf(f, sizeof(f), "vips[%zu].health.timeout", idx);
	if ((x = get(p, m, "timeout")) && (err = get_duration(p, x, f, &h->timeout_ns)))
		return err;
	if (h->timeout_ns < 10000000ULL || h->timeout_ns > h->interval_ns)
		return perr(p, m, f, "timeout must be between 10ms and the interval");
	snprintf(f, sizeof(f), "vips[%zu].health.rise", idx);
	if ((x = get(p, m, "rise"))) {
		if ((err = get_uint(p, x, f, 100, &n)))
			return err;
		if (!n)
			return perr(p, x, f, "at least 1");
		h->rise = (__u32)n;
	}
	snprintf(f, sizeof(f), "vips[%zu].health.fall", idx);
	if ((x = get(p, m, "fall"))) {
		if ((err = get_uint(p, x, f, 100, &n)))
			return err;
		if (!n)
			return perr(p, x, f, "at least 1");
		h->fall = (__u32)n;
	}
	return 0;
}

static int parse_node(struct pctx *p, const yaml_node_t *m, size_t idx, struct shoal_node_cfg *n)
{
	static const char *const keys[] = { "name",  "id",	   "mac", "address",
					    "weight", "state", "forwarding", NULL };
	unsigned long long v;
	const yaml_node_t *x;
	char f[64];
	const char *s;
	int err;

	snprintf(f, sizeof(f), "nodes[%zu]", idx);
	if ((err = mapping_check(p, m, f, keys)))
		return err;
	n->line = line_of(m);
	n->weight = SHOAL_WEIGHT_DEFAULT;

	snprintf(f, sizeof(f), "nodes[%zu].name", idx);
	if (!(x = get(p, m, "name")))
		return perr(p, m, f, "required");
	if ((err = get_name(p, x, f, n->name)))
		return err;

	snprintf(f, sizeof(f), "nodes[%zu].id", idx);
	if (!(x = get(p, m, "id")))
		return perr(p, m, f, "required: a stable number 1..%u naming this node cluster-wide",
			    SHOAL_MAX_NODES - 1);
	if ((err = get_uint(p, x, f, SHOAL_MAX_NODES - 1, &v)))
		return err;
	if (!v)
		return perr(p, x, f, "0 is reserved; ids are 1..%u", SHOAL_MAX_NODES - 1);
	n->id = (__u16)v;

	snprintf(f, sizeof(f), "nodes[%zu].mac", idx);
	if (!(x = get(p, m, "mac")))
		return perr(p, m, f, "required: the MAC of the node's uplink");
	if ((err = get_str(p, x, f, &s)))
		return err;
	if (shoal_parse_mac(s, n->mac))
		return perr(p, x, f, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", s);
	if (n->mac[0] & 1)
		return perr(p, x, f, "'%s' is a multicast MAC", s);

	snprintf(f, sizeof(f), "nodes[%zu].address", idx);
	if ((x = get(p, m, "address"))) {
		if ((err = get_str(p, x, f, &s)))
			return err;
		if (shoal_parse_addr(s, &n->addr))
			return perr(p, x, f, "'%s' is not an IPv4 or IPv6 address", s);
	}

	snprintf(f, sizeof(f), "nodes[%zu].weight", idx);
	if ((x = get(p, m, "weight"))) {
		if ((err = get_uint(p, x, f, SHOAL_WEIGHT_MAX, &v)))
			return err;
		n->weight = (__u32)v;
	}

	snprintf(f, sizeof(f), "nodes[%zu].state", idx);
	if ((x = get(p, m, "state"))) {
		if ((err = get_str(p, x, f, &s)))
			return err;
		if (!strcmp(s, "drained"))
			n->drained = true;
		else if (strcmp(s, "active"))
			return perr(p, x, f, "'%s': expected active or drained", s);
	}

	snprintf(f, sizeof(f), "nodes[%zu].forwarding", idx);
	if ((x = get(p, m, "forwarding"))) {
		if ((err = get_forwarding(p, x, f, &n->forwarding)))
			return err;
	}
	return 0;
}

static int parse_pool(struct pctx *p, const yaml_node_t *m, size_t idx, struct shoal_cluster *c,
		      struct shoal_pool_cfg *pc)
{
	static const char *const keys[] = { "name", "nodes", NULL };
	const yaml_node_t *x;
	yaml_node_item_t *it;
	char f[64];
	int err;

	snprintf(f, sizeof(f), "pools[%zu]", idx);
	if ((err = mapping_check(p, m, f, keys)))
		return err;
	pc->line = line_of(m);
	snprintf(f, sizeof(f), "pools[%zu].name", idx);
	if (!(x = get(p, m, "name")))
		return perr(p, m, f, "required");
	if ((err = get_name(p, x, f, pc->name)))
		return err;

	pc->members = calloc(c->nnodes ? c->nnodes : 1, sizeof(__u16));
	if (!pc->members)
		return -ENOMEM;
	snprintf(f, sizeof(f), "pools[%zu].nodes", idx);
	x = get(p, m, "nodes");
	if (!x) {
		size_t i;

		for (i = 0; i < c->nnodes; i++)
			pc->members[pc->nmembers++] = c->nodes[i].id;
		return 0;
	}
	if (x->type != YAML_SEQUENCE_NODE)
		return perr(p, x, f, "expected a list of node names");
	for (it = x->data.sequence.items.start; it < x->data.sequence.items.top; it++) {
		const yaml_node_t *e = node_at(p, *it);
		const char *s = scalar(e);
		const struct shoal_node_cfg *n;
		size_t j;

		if (!s)
			return perr(p, e, f, "expected a node name");
		n = shoal_cluster_node(c, s);
		if (!n)
			return perr(p, e, f, "unknown node '%s'", s);
		for (j = 0; j < pc->nmembers; j++) {
			if (pc->members[j] == n->id)
				return perr(p, e, f, "node '%s' listed twice", s);
		}
		if (pc->nmembers >= c->nnodes)
			return perr(p, e, f, "too many members");
		pc->members[pc->nmembers++] = n->id;
	}
	return 0;
}

static int parse_vip(struct pctx *p, const yaml_node_t *m, size_t idx, struct shoal_cluster *c,
		     struct shoal_vip_cfg *v)
{
	static const char *const keys[] = { "address", "port", "protocol", "pool", "health", NULL };
	unsigned long long n;
	const yaml_node_t *x;
	char f[64];
	const char *s;
	int err;

	snprintf(f, sizeof(f), "vips[%zu]", idx);
	if ((err = mapping_check(p, m, f, keys)))
		return err;
	v->line = line_of(m);

	snprintf(f, sizeof(f), "vips[%zu].address", idx);
	if (!(x = get(p, m, "address")))
		return perr(p, m, f, "required");
	if ((err = get_str(p, x, f, &s)))
		return err;
	if (shoal_parse_addr(s, &v->addr))
		return perr(p, x, f, "'%s' is not an IPv4 or IPv6 address", s);

	snprintf(f, sizeof(f), "vips[%zu].port", idx);
	if (!(x = get(p, m, "port")))
		return perr(p, m, f, "required: a port, or 'any'");
	if ((err = get_str(p, x, f, &s)))
		return err;
	if (!strcmp(s, "any")) {
		v->port = 0;
	} else {
		if (shoal_parse_uint(s, 65535, &n) || !n)
			return perr(p, x, f, "'%s' is not a port 1..65535 or 'any'", s);
		v->port = (__u16)n;
	}

	snprintf(f, sizeof(f), "vips[%zu].protocol", idx);
	if (!(x = get(p, m, "protocol")))
		return perr(p, m, f, "required: tcp or udp");
	if ((err = get_str(p, x, f, &s)))
		return err;
	if (shoal_parse_proto(s, &v->proto))
		return perr(p, x, f, "'%s': expected tcp or udp", s);

	snprintf(f, sizeof(f), "vips[%zu].pool", idx);
	if ((x = get(p, m, "pool"))) {
		if ((err = get_name(p, x, f, v->pool)))
			return err;
		if (!shoal_cluster_pool(c, v->pool))
			return perr(p, x, f, "unknown pool '%s'", v->pool);
	} else if (c->npools == 1) {
		strcpy(v->pool, c->pools[0].name);
	} else if (c->npools == 0) {
		return perr(p, m, f, "the cluster has no pools to serve this VIP");
	} else {
		return perr(p, m, f, "required when the cluster has more than one pool");
	}
	if ((x = get(p, m, "health")))
		return parse_health(p, x, idx, v);
	return 0;
}

static int parse_seq(struct pctx *p, const yaml_node_t *seq, const char *field, size_t *count)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return perr(p, seq, field, "expected a list");
	*count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	return 0;
}

static int parse_root(struct pctx *p, const yaml_node_t *root, struct shoal_cluster *c)
{
	static const char *const keys[] = { "cluster", "nodes", "pools", "vips", "daemon", NULL };
	const yaml_node_t *x;
	size_t n = 0, i;
	int err;

	if ((err = mapping_check(p, root, "config", keys)))
		return err;
	if (!(x = get(p, root, "cluster")))
		return perr(p, root, "cluster", "required: at least the cluster seed");
	if ((err = parse_cluster(p, x, c)))
		return err;

	if ((x = get(p, root, "daemon")) && (err = parse_daemon(p, x, c)))
		return err;
	if (!(x = get(p, root, "nodes")))
		return perr(p, root, "nodes", "required: the list of nodes");
	if ((err = parse_seq(p, x, "nodes", &n)))
		return err;
	if (!n)
		return perr(p, x, "nodes", "the cluster has no nodes");
	c->nodes = calloc(n, sizeof(*c->nodes));
	if (!c->nodes)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = parse_node(p, node_at(p, x->data.sequence.items.start[i]), i, &c->nodes[i]);
		if (err)
			return err;
		c->nnodes++;
	}

	if ((x = get(p, root, "pools"))) {
		if ((err = parse_seq(p, x, "pools", &n)))
			return err;
		if (n > SHOAL_MAX_POOLS)
			return perr(p, x, "pools", "at most %d pools", SHOAL_MAX_POOLS);
		c->pools = calloc(n ? n : 1, sizeof(*c->pools));
		if (!c->pools)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			c->npools++;
			err = parse_pool(p, node_at(p, x->data.sequence.items.start[i]), i, c,
					 &c->pools[i]);
			if (err)
				return err;
		}
	} else {
		/* No pools: every node serves every VIP. */
		c->pools = calloc(1, sizeof(*c->pools));
		if (!c->pools)
			return -ENOMEM;
		c->npools = 1;
		strcpy(c->pools[0].name, SHOAL_DEFAULT_POOL);
		c->pools[0].members = calloc(c->nnodes, sizeof(__u16));
		if (!c->pools[0].members)
			return -ENOMEM;
		for (i = 0; i < c->nnodes; i++)
			c->pools[0].members[c->pools[0].nmembers++] = c->nodes[i].id;
	}

	if ((x = get(p, root, "vips"))) {
		if ((err = parse_seq(p, x, "vips", &n)))
			return err;
		c->vips = calloc(n ? n : 1, sizeof(*c->vips));
		if (!c->vips)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			err = parse_vip(p, node_at(p, x->data.sequence.items.start[i]), i, c,
					&c->vips[i]);
			if (err)
				return err;
			c->nvips++;
		}
	}
	return 0;
}

int shoal_config_parse(const char *text, size_t size, const char *name, struct shoal_cluster *c,
		       char *err, size_t len)
{
	struct pctx p = { .file = name, .err = err, .len = len };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	shoal_cluster_init(c);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, len, "%s:%lu: yaml: %s%s%s", name,
			 (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "syntax error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		snprintf(err, len, "%s: the file is empty", name);
		ret = -EINVAL;
	} else {
		ret = parse_root(&p, root, c);
	}
	if (!ret)
		ret = shoal_cluster_check(c, name, err, len);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		shoal_cluster_free(c);
	return ret;
}

int shoal_config_load(const char *path, struct shoal_cluster *c, char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int ret;

	/* Every failure leaves an empty model, as shoal_config_parse() does. */
	shoal_cluster_init(c);
	if (!f) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb;

			if (cap > 64u << 20) {
				fclose(f);
				free(buf);
				snprintf(err, len, "%s: larger than 64 MiB", path);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, len, "%s: read error", path);
		fclose(f);
		free(buf);
		return -EIO;
	}
	fclose(f);
	ret = shoal_config_parse(buf, n, path, c, err, len);
	free(buf);
	return ret;
}
