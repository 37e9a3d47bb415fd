// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Exporting a node's tables and importing them on another: how a joining node starts in agreement. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "shoal/hash.h"

#define EXPORT_FORMAT "shoal-tables"
#define EXPORT_VERSION 1

__u64 shoal_seed_digest(const __u64 seed[2])
{
	return shoal_mix64(shoal_mix64(seed[0] ^ 0x7368616c) ^ seed[1]);
}

void shoal_base_free(struct shoal_base *b)
{
	size_t i;

	for (i = 0; i < b->npools; i++)
		free(b->pools[i].buckets);
	free(b->pools);
	free(b->nodes);
	memset(b, 0, sizeof(*b));
}

/*
 * Expiry is exported as ticks left, because CLOCK_MONOTONIC differs between
 * hosts; only live previous owners travel.
 */
int shoal_base_write(struct shoal *s, FILE *f)
{
	volatile struct shoal_conf *conf = shoal_conf(s);
	struct json_object *root = json_object_new_object(), *nodes, *pools;
	__u32 m = shoal_m(s), now = shoal_now_ticks(), b;
	struct shoal_bucket *t = NULL;
	__u64 seed[2] = { conf->key[0], conf->key[1] };
	char digest[24];
	int err = 0, id, i, k;

	t = malloc(sizeof(*t) * m);
	if (!t) {
		json_object_put(root);
		return -ENOMEM;
	}
	snprintf(digest, sizeof(digest), "%016llx", (unsigned long long)shoal_seed_digest(seed));
	json_object_object_add(root, "format", json_object_new_string(EXPORT_FORMAT));
	json_object_object_add(root, "version", json_object_new_int(EXPORT_VERSION));
	json_object_object_add(root, "buckets", json_object_new_int64(m));
	json_object_object_add(root, "seed_digest", json_object_new_string(digest));

	nodes = json_object_new_array();
	for (id = 1; id < SHOAL_MAX_NODES; id++) {
		struct shoal_node n;
		struct json_object *x;
		char mac[18];

		if (shoal_node_get(s, (__u16)id, &n) || !(n.flags & SHOAL_NODE_F_PEER))
			continue;
		shoal_format_mac(n.mac, mac);
		x = json_object_new_object();
		json_object_object_add(x, "id", json_object_new_int(id));
		json_object_object_add(x, "name", json_object_new_string_len(
			n.name, (int)strnlen(n.name, SHOAL_NAME_LEN)));
		json_object_object_add(x, "mac", json_object_new_string(mac));
		json_object_object_add(x, "flags", json_object_new_int(n.flags));
		json_object_object_add(x, "weight", json_object_new_int(n.weight));
		json_object_array_add(nodes, x);
	}
	json_object_object_add(root, "nodes", nodes);

	pools = json_object_new_array();
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		struct json_object *x, *owners, *prev;
		struct shoal_pool pool;

		if (shoal_pool_get(s, (__u8)i, &pool) || !(pool.flags & SHOAL_POOL_F_VALID))
			continue;
		err = shoal_table_read(s, (__u8)i, t);
		if (err == -ENOENT)
			continue;
		if (err)
			break;
		x = json_object_new_object();
		owners = json_object_new_array_ext((int)m);
		prev = json_object_new_array();
		json_object_object_add(x, "name", json_object_new_string_len(
			pool.name, (int)strnlen(pool.name, SHOAL_NAME_LEN)));
		json_object_object_add(x, "generation", json_object_new_int64((int64_t)pool.gen));
		for (b = 0; b < m; b++) {
			struct json_object *chain = NULL;

			json_object_array_add(owners, json_object_new_int(t[b].owner));
			for (k = 0; k < SHOAL_MAX_PREV && t[b].prev[k]; k++) {
				__s32 left = (__s32)(t[b].expire[k] - now);

				if (left <= 0)
					continue;
				if (!chain) {
					chain = json_object_new_array();
					json_object_array_add(chain, json_object_new_int64(b));
				}
				json_object_array_add(chain, json_object_new_int(t[b].prev[k]));
				json_object_array_add(chain, json_object_new_int(left));
			}
			if (chain)
				json_object_array_add(prev, chain);
		}
		json_object_object_add(x, "owners", owners);
		/* [bucket, node, ticks left, node, ticks left, ...], most recent first */
		json_object_object_add(x, "previous", prev);
		json_object_array_add(pools, x);
	}
	json_object_object_add(root, "pools", pools);
	if (!err && fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN)) < 0)
		err = -EIO;
	json_object_put(root);
	free(t);
	return err;
}

__attribute__((format(printf, 4, 5)))
static int bad(char *err, size_t len, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, len, "%s: %s", path, msg);
	return -EINVAL;
}

static int get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
		return -1;
	*v = json_object_get_int64(x);
	return *v < min || *v > max ? -1 : 0;
}

int shoal_base_read(const char *path, struct shoal_base *b, char *err, size_t len)
{
	struct json_object *root, *x, *arr;
	__u32 now = shoal_now_ticks();
	int64_t v;
	size_t i, n;
	int ret = -EINVAL;

	memset(b, 0, sizeof(*b));
	root = json_object_from_file(path);
	if (!root)
		return bad(err, len, path, "not readable as JSON (%s)", json_util_get_last_err());
	if (!json_object_object_get_ex(root, "format", &x) ||
	    strcmp(json_object_get_string(x), EXPORT_FORMAT) ||
	    get_int(root, "version", EXPORT_VERSION, EXPORT_VERSION, &v)) {
		ret = bad(err, len, path, "not a shoal table export (format %s, version %d)",
			  EXPORT_FORMAT, EXPORT_VERSION);
		goto out;
	}
	if (get_int(root, "buckets", 3, SHOAL_M_MAX, &v)) {
		ret = bad(err, len, path, "buckets missing or out of range");
		goto out;
	}
	b->m = (__u32)v;
	if (!json_object_object_get_ex(root, "seed_digest", &x) ||
	    sscanf(json_object_get_string(x), "%16llx", (unsigned long long *)&b->seed_digest) != 1) {
		ret = bad(err, len, path, "seed_digest missing");
		goto out;
	}
	b->nodes = calloc(SHOAL_MAX_NODES, sizeof(*b->nodes));
	if (!b->nodes) {
		ret = -ENOMEM;
		goto out;
	}
	if (json_object_object_get_ex(root, "nodes", &arr) && json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(arr, i), *y;
			struct shoal_node *nd;
			int64_t id, flags, weight;

			if (get_int(o, "id", 1, SHOAL_MAX_NODES - 1, &id) ||
			    get_int(o, "flags", 0, 0xffff, &flags) ||
			    get_int(o, "weight", 0, 0xffff, &weight) ||
			    !json_object_object_get_ex(o, "mac", &y)) {
				ret = bad(err, len, path, "nodes[%zu] malformed", i);
				goto out;
			}
			nd = &b->nodes[id];
			if (shoal_parse_mac(json_object_get_string(y), nd->mac)) {
				ret = bad(err, len, path, "nodes[%zu].mac malformed", i);
				goto out;
			}
			nd->flags = (__u16)flags;
			nd->weight = (__u16)weight;
			if (json_object_object_get_ex(o, "name", &y))
				snprintf(nd->name, sizeof(nd->name), "%s", json_object_get_string(y));
		}
	}
	if (!json_object_object_get_ex(root, "pools", &arr) || !json_object_is_type(arr, json_type_array)) {
		ret = bad(err, len, path, "pools missing");
		goto out;
	}
	n = json_object_array_length(arr);
	b->pools = calloc(n ? n : 1, sizeof(*b->pools));
	if (!b->pools) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *owners, *prev, *y;
		struct shoal_base_pool *bp = &b->pools[b->npools];
		size_t k, np;
		__u32 bk;

		if (!json_object_object_get_ex(o, "name", &y) ||
		    !json_object_object_get_ex(o, "owners", &owners) ||
		    !json_object_is_type(owners, json_type_array) ||
		    json_object_array_length(owners) != b->m) {
			ret = bad(err, len, path, "pools[%zu] malformed (needs name and %u owners)", i, b->m);
			goto out;
		}
		snprintf(bp->name, sizeof(bp->name), "%s", json_object_get_string(y));
		bp->buckets = calloc(b->m, sizeof(*bp->buckets));
		if (!bp->buckets) {
			ret = -ENOMEM;
			goto out;
		}
		b->npools++;
		for (bk = 0; bk < b->m; bk++) {
			int64_t id = json_object_get_int64(json_object_array_get_idx(owners, bk));

			if (id < 0 || id >= SHOAL_MAX_NODES) {
				ret = bad(err, len, path, "pools[%zu].owners[%u] out of range", i, bk);
				goto out;
			}
			bp->buckets[bk].owner = (__u16)id;
		}
		if (!json_object_object_get_ex(o, "previous", &prev) ||
		    !json_object_is_type(prev, json_type_array))
			continue;
		np = json_object_array_length(prev);
		for (k = 0; k < np; k++) {
			struct json_object *ch = json_object_array_get_idx(prev, k);
			size_t cl = json_type_array == json_object_get_type(ch) ?
				    json_object_array_length(ch) : 0;
			int64_t bucket, id, left;
			size_t q;
			int slot = 0;

			if (cl < 3 || cl % 2 == 0) {
				ret = bad(err, len, path, "pools[%zu].previous[%zu] malformed", i, k);
				goto out;
			}
			bucket = json_object_get_int64(json_object_array_get_idx(ch, 0));
			if (bucket < 0 || bucket >= b->m) {
				ret = bad(err, len, path, "pools[%zu].previous[%zu]: bucket out of range", i, k);
				goto out;
			}
			for (q = 1; q + 1 < cl && slot < SHOAL_MAX_PREV; q += 2, slot++) {
				id = json_object_get_int64(json_object_array_get_idx(ch, q));
				left = json_object_get_int64(json_object_array_get_idx(ch, q + 1));
				if (id < 1 || id >= SHOAL_MAX_NODES || left < 1 || left > 0x7fffffff) {
					ret = bad(err, len, path, "pools[%zu].previous[%zu] malformed", i, k);
					goto out;
				}
				bp->buckets[bucket].prev[slot] = (__u16)id;
				bp->buckets[bucket].expire[slot] = now + (__u32)left;
			}
		}
	}
	ret = 0;
out:
	json_object_put(root);
	if (ret)
		shoal_base_free(b);
	return ret;
}
