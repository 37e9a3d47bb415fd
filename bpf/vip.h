/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VIP lookup in the open-addressed table: by address first, then (port, protocol). */
#ifndef SHOAL_BPF_VIP_H
#define SHOAL_BPF_VIP_H

#include "maps.h"
#include "parse.h"
#include "shoal/hash.h"

/*
 * The slot's (port, proto, family) as one 32-bit word, as it sits in memory;
 * vip_key() builds the same word from a packet's fields.
 */
static __always_inline __u32 vip_slot_key(const struct shoal_vip *v)
{
	return *(const __u32 *)&v->port;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vip_key() assumes a little-endian target"
#endif
static __always_inline __u32 vip_key(__be16 port, __u8 proto, __u8 family)
{
	return (__u32)port | ((__u32)proto << 16) | ((__u32)family << 24);
}

static __always_inline int vip_addr_eq(const struct shoal_vip *v, const struct pkt *p)
{
	if (p->family == 4) {
		const struct iphdr *ip = p->l3;

		return v->family == 4 && v->addr[0] == ip->daddr;
	} else {
		const struct ipv6hdr *ip6 = p->l3;
		const __u32 *a = ip6->daddr.in6_u.u6_addr32;

		return v->family == 6 && v->addr[0] == a[0] && v->addr[1] == a[1] &&
		       v->addr[2] == a[2] && v->addr[3] == a[3];
	}
}

/* What a probe looks for; lives on the caller's stack. */
struct vip_query {
	__u32 addr[4];
	__u32 key;		/* vip_key() of the packet */
	__u32 base;		/* first slot of the active copy */
	__u32 start;		/* probe start, from the address hash */
	__u32 mode;		/* VIP_Q_* */
};

#define VIP_Q_ADDR	0	/* any entry with this address */
#define VIP_Q_PORT	1	/* exact (port, proto), else the any-port entry */
#define VIP_Q_PROTO	2	/* any entry of this protocol (fragments) */

/*
 * The full probe. A global function, so the verifier checks it once rather
 * than once per parse path; the fast path below handles the common cases
 * (an empty first slot, or the VIP sitting in it) without calling it.
 * Returns the slot index, or -1.
 */
__noinline int vip_probe(struct vip_query *q)
{
	int fallback = -1, i;

	if (!q)
		return -1;
	for (i = 0; i < SHOAL_VIP_PROBES; i++) {
		__u32 idx = q->base + ((q->start + i) & (SHOAL_VIP_SLOTS - 1));
		struct shoal_vip *v = vip_at(idx);
		__u32 k;

		if (!v->family)
			break;
		if (v->addr[0] != q->addr[0] || v->addr[1] != q->addr[1] ||
		    v->addr[2] != q->addr[2] || v->addr[3] != q->addr[3])
			continue;
		k = vip_slot_key(v);
		if (q->mode == VIP_Q_ADDR) {
			if ((k >> 24) == (q->key >> 24))
				return idx;
		} else if (q->mode == VIP_Q_PROTO) {
			if ((k >> 16) == (q->key >> 16))
				return idx;
		} else {
			if (k == q->key)
				return idx;
			if (k == (q->key & ~0xffffU) && fallback < 0)
				fallback = idx;
		}
	}
	return fallback;
}

static __always_inline void vip_query_init(struct vip_query *q, const struct pkt *p,
					   __u32 base, __u32 start)
{
	if (p->family == 4) {
		const struct iphdr *ip = p->l3;

		q->addr[0] = ip->daddr;
		q->addr[1] = 0;
		q->addr[2] = 0;
		q->addr[3] = 0;
	} else {
		const struct ipv6hdr *ip6 = p->l3;

		__builtin_memcpy(q->addr, &ip6->daddr, 16);
	}
	q->base = base;
	q->start = start;
}

#endif /* SHOAL_BPF_VIP_H */
