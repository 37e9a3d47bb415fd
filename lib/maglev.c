// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Weighted Maglev table construction and the previous-owner bookkeeping across changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "shoal/hash.h"
#include "util.h"

struct mnode {
	__u16 id;
	__u32 weight;
	__u32 quota;	/* buckets this node ends up with */
	__u32 claimed;
	__u32 pos;	/* current position in its permutation */
	__u32 skip;
	__u64 rem;	/* apportionment remainder */
};

static int by_id(const void *a, const void *b)
{
	const struct mnode *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

static int by_remainder(const void *a, const void *b)
{
	const struct mnode *x = *(struct mnode *const *)a, *y = *(struct mnode *const *)b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return (int)x->id - (int)y->id;
}

/* Does a claim before b? Earlier virtual time (claimed + 1) / weight, then lower id. */
static int claims_first(const struct mnode *a, const struct mnode *b)
{
	__u64 x = (__u64)(a->claimed + 1) * b->weight;
	__u64 y = (__u64)(b->claimed + 1) * a->weight;

	return x != y ? x < y : a->id < b->id;
}

static void heap_up(struct mnode **h, size_t i)
{
	while (i && claims_first(h[i], h[(i - 1) / 2])) {
		struct mnode *t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void heap_down(struct mnode **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		struct mnode *t;

		if (l < n && claims_first(h[l], h[best]))
			best = l;
		if (r < n && claims_first(h[r], h[best]))
			best = r;
		if (best == i)
			return;
		t = h[i];
		h[i] = h[best];
		h[best] = t;
		i = best;
	}
}

int maglev_build(const struct maglev_node *nodes, size_t n, const __u64 seed[2], __u32 m,
		 __u16 *owners)
{
	struct mnode *mn = NULL, **order = NULL;
	size_t k = 0, i, active;
	__u64 total = 0, given = 0;
	__u32 filled = 0;
	int err = 0;

	/* A prime m makes every skip coprime with it, so every permutation is complete. */
	if (m < 3 || !shoal_is_prime(m))
		return -EINVAL;
	memset(owners, 0, sizeof(*owners) * m);
	mn = calloc(n ? n : 1, sizeof(*mn));
	order = calloc(n ? n : 1, sizeof(*order));
	if (!mn || !order) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!nodes[i].weight)
			continue;
		mn[k].id = nodes[i].id;
		mn[k].weight = nodes[i].weight;
		total += nodes[i].weight;
		k++;
	}
	if (!k)
		goto out;
	/* Canonical order: the caller's list order must not matter. */
	qsort(mn, k, sizeof(*mn), by_id);
	for (i = 1; i < k; i++) {
		if (mn[i].id == mn[i - 1].id) {
			err = -EEXIST;
			goto out;
		}
	}

	/* Largest-remainder apportionment of m buckets by weight. */
	for (i = 0; i < k; i++) {
		__u64 share = (__u64)m * mn[i].weight;

		mn[i].quota = (__u32)(share / total);
		mn[i].rem = share % total;
		given += mn[i].quota;
		order[i] = &mn[i];
	}
	qsort(order, k, sizeof(*order), by_remainder);
	for (i = 0; given < m; i++, given++)
		order[i % k]->quota++;

	for (i = 0; i < k; i++) {
		__u64 h1 = shoal_mix64(seed[0] ^ ((__u64)mn[i].id * SHOAL_MUL1));
		__u64 h2 = shoal_mix64(seed[1] ^ ((__u64)mn[i].id * SHOAL_MUL3) ^ 0x5bd1e995ULL);

		mn[i].pos = (__u32)(h1 % m);
		mn[i].skip = (__u32)(h2 % (m - 1)) + 1;
	}

	/*
	 * Maglev population: nodes take turns claiming the next free bucket of
	 * their own permutation, in weighted fair order - the node whose next
	 * claim falls earliest in "virtual time" (claims + 1) / weight goes next,
	 * ties to the lower id - until each has its quota. A heap keeps this
	 * O(m log n) however skewed the weights (equal weights give plain
	 * round robin by id).
	 */
	for (i = 0; i < k; i++) {
		order[i] = &mn[i];
		heap_up(order, i);
	}
	active = k;
	while (filled < m && active) {
		struct mnode *x = order[0];
		__u32 c = x->pos;

		while (owners[c]) {
			c += x->skip;
			if (c >= m)
				c -= m;
		}
		owners[c] = x->id;
		c += x->skip;
		if (c >= m)
			c -= m;
		x->pos = c;
		x->claimed++;
		filled++;
		if (x->claimed == x->quota)
			order[0] = order[--active];
		heap_down(order, active, 0);
	}
out:
	free(mn);
	free(order);
	return err;
}

static int expired(__u32 expire, __u32 now)
{
	return (__s32)(expire - now) <= 0;
}

int bucket_in_transition(const struct shoal_bucket *b, __u32 now)
{
	int i;

	for (i = 0; i < SHOAL_MAX_PREV && b->prev[i]; i++) {
		if (!expired(b->expire[i], now))
			return 1;
	}
	return 0;
}

static bool is_eligible(const __u64 *eligible, __u16 id)
{
	return id < SHOAL_MAX_NODES && (eligible[id / 64] >> (id % 64)) & 1;
}

/* Handing a bucket back to a live previous owner swaps places, and deepens no chain. */
static bool is_live_prev(const struct shoal_bucket *b, __u16 id, __u32 now)
{
	int i;

	for (i = 0; i < SHOAL_MAX_PREV && b->prev[i]; i++) {
		if (b->prev[i] == id && !expired(b->expire[i], now))
			return true;
	}
	return false;
}

void table_merge(const struct shoal_bucket *old, const __u16 *owners, __u32 m, __u32 now,
		 __u32 expire, const __u64 *eligible, const __u64 *gone,
		 struct shoal_bucket *out, struct table_diff *diff)
{
	static const struct shoal_bucket none;
	__u32 b;

	memset(diff, 0, sizeof(*diff));
	for (b = 0; b < m; b++) {
		const struct shoal_bucket *o = old ? &old[b] : &none;
		struct shoal_bucket n = { .owner = owners[b] };
		int i, j, k = 0;

		if (eligible && o->owner && n.owner != o->owner && bucket_in_transition(o, now) &&
		    is_eligible(eligible, o->owner) && !is_live_prev(o, n.owner, now)) {
			n.owner = o->owner;
			diff->deferred++;
		}

		if (o->owner && o->owner != n.owner && !(gone && is_eligible(gone, o->owner))) {
			n.prev[k] = o->owner;
			n.expire[k] = expire;
			k++;
		}
		for (i = 0; i < SHOAL_MAX_PREV && o->prev[i] && k < SHOAL_MAX_PREV; i++) {
			__u16 p = o->prev[i];
			int dup = p == n.owner;

			if (expired(o->expire[i], now) || (gone && is_eligible(gone, p)))
				continue;
			for (j = 0; j < k; j++)
				dup |= n.prev[j] == p;
			if (dup)
				continue;
			n.prev[k] = p;
			n.expire[k] = o->expire[i];
			k++;
		}
		if (n.owner != o->owner)
			diff->moved++;
		if (memcmp(&n, o, sizeof(n)))
			diff->changed++;
		out[b] = n;
	}
}

static __u32 vip_start(const struct shoal_vip *v)
{
	return v->family == 4 ? shoal_vip_slot4(v->addr[0]) : shoal_vip_slot6(v->addr);
}

static int vip_cmp(const void *a, const void *b)
{
	const struct shoal_vip *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (x->family != y->family)
		return x->family - y->family;
	if (c)
		return c;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	return (int)x->port - (int)y->port;
}

int vip_table_build(const struct shoal_vip *entries, size_t n, struct shoal_vip *slots)
{
	struct shoal_vip *sorted;
	size_t i;
	int err = 0;

	if (n > SHOAL_MAX_VIPS)
		return -E2BIG;
	memset(slots, 0, sizeof(*slots) * SHOAL_VIP_SLOTS);
	sorted = malloc(sizeof(*sorted) * (n ? n : 1));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, entries, sizeof(*sorted) * n);
	qsort(sorted, n, sizeof(*sorted), vip_cmp);
	for (i = 0; i < n; i++) {
		__u32 start = vip_start(&sorted[i]), d;

		if (i && !vip_cmp(&sorted[i], &sorted[i - 1])) {
			err = -EEXIST;
			break;
		}
		for (d = 0; d < SHOAL_VIP_PROBES; d++) {
			struct shoal_vip *s = &slots[(start + d) & (SHOAL_VIP_SLOTS - 1)];

			if (!s->family) {
				*s = sorted[i];
				break;
			}
		}
		if (d == SHOAL_VIP_PROBES) {
			err = -ENOSPC;
			break;
		}
	}
	free(sorted);
	return err;
}

__u64 maglev_digest(const __u16 *owners, __u32 m)
{
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 i;

	for (i = 0; i < m; i++) {
		h = (h ^ (owners[i] & 0xff)) * 0x100000001b3ULL;
		h = (h ^ (owners[i] >> 8)) * 0x100000001b3ULL;
	}
	return h;
}
