/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow ownership: bucket lookup, the owner check, second chance, the hop bound. */
#ifndef SHOAL_BPF_OWNER_H
#define SHOAL_BPF_OWNER_H

#include "forward.h"
#include "gue.h"
#include "maps.h"
#include "parse.h"
#include "rxhash.h"
#include "verdict.h"
#include "shoal/hash.h"

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1L)
#endif

/*
 * The kernel's time-wait socket, as far as local_flow() reads it: CO-RE
 * relocates the field against the running kernel's BTF.
 */
struct inet_timewait_sock {
	unsigned char tw_substate;
} __attribute__((preserve_access_index));
struct tcp_timewait_sock {
	struct inet_timewait_sock tw_sk;
} __attribute__((preserve_access_index));

/*
 * Does this node hold the flow? An established or request socket says yes; a
 * listener says yes only for an ACK that carries a SYN cookie the kernel would
 * accept. A time-wait socket is either a connection this side closed and the
 * peer has not (substate FIN_WAIT2: live, it says yes), or one that ended: that
 * says yes only with `tw`. Clients reuse ports soon (Linux picks them nearly in
 * sequence per destination), so a live connection with the same 5-tuple may be
 * on another node of the chain; only a previous owner that the owner sent the
 * frame to (the owner holds nothing live) lets an ended connection answer.
 * Returns the PASS reason, or 0.
 */
static __always_inline int local_flow(struct xdp_md *ctx, struct pkt *p, struct verdict *v,
				      int tw)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 size, l3len;
	void *fl3 = (void *)p->eth + (v->fl3off & SHOAL_L4OFF_MASK);
	int found = 0;

	if (p->family == 4) {
		struct iphdr *ip = fl3;

		if ((void *)(ip + 1) > p->end)
			return 0;
		t.ipv4.saddr = v->rev ? ip->daddr : ip->saddr;
		t.ipv4.daddr = v->rev ? ip->saddr : ip->daddr;
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		size = sizeof(t.ipv4);
		l3len = sizeof(struct iphdr);
	} else {
		struct ipv6hdr *ip6 = fl3;

		if ((void *)(ip6 + 1) > p->end)
			return 0;
		if (v->rev) {
			__builtin_memcpy(t.ipv6.saddr, &ip6->daddr, 16);
			__builtin_memcpy(t.ipv6.daddr, &ip6->saddr, 16);
		} else {
			__builtin_memcpy(t.ipv6.saddr, &ip6->saddr, 16);
			__builtin_memcpy(t.ipv6.daddr, &ip6->daddr, 16);
		}
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		size = sizeof(t.ipv6);
		l3len = sizeof(struct ipv6hdr);
	}

	v->flags |= SHOAL_TRACE_F_LOOKUP;
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	if (sk->state == BPF_TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tws;

		if (tw)
			found = SHOAL_R_PASS_SOCKET;
		else if ((tws = bpf_skc_to_tcp_timewait_sock(sk)) &&
			 tws->tw_sk.tw_substate == BPF_TCP_FIN_WAIT2)
			found = SHOAL_R_PASS_SOCKET;
	} else if (sk->state != BPF_TCP_LISTEN) {
		found = SHOAL_R_PASS_SOCKET;
	} else if (p->ack_only) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) <= p->end && p->l3 + l3len <= p->end &&
		    bpf_tcp_check_syncookie(sk, p->l3, l3len, th, sizeof(*th)) == 0)
			found = SHOAL_R_PASS_COOKIE;
	}
	bpf_sk_release(sk);
	if (found)
		v->flags |= SHOAL_TRACE_F_FOUND;
	return found;
}

static __always_inline int prev_live(const struct shoal_bucket *b, int i, __u32 now)
{
	return (__s32)(b->expire[i] - now) > 0;
}

/* Position of `self` among the live previous owners, or -1. */
static __always_inline int prev_position(const struct shoal_bucket *b, __u16 self, __u32 now)
{
	int i;

#pragma unroll
	for (i = 0; i < SHOAL_MAX_PREV; i++) {
		if (!b->prev[i])
			break;
		if (b->prev[i] == self && prev_live(b, i, now))
			return i;
	}
	return -1;
}

/*
 * The next live previous owner after position `after` that is neither us nor
 * the sender; failing that, the first of the chain a GUE sender carried.
 */
static __always_inline __u16 prev_next(const struct shoal_bucket *b, int after, __u16 self,
				       __u16 sender, __u32 now, const struct verdict *v)
{
	int i;

#pragma unroll
	for (i = 0; i < SHOAL_MAX_PREV; i++) {
		__u16 n = b->prev[i];

		if (!n)
			break;
		if (i <= after || n == self || n == sender)
			continue;
		if (prev_live(b, i, now))
			return n;
	}
#pragma unroll
	for (i = 0; i < SHOAL_MAX_PREV; i++) {
		__u16 n = v->chain_in[i];

		if (!n)
			break;
		if (n != self && n != sender)
			return n;
	}
	return 0;
}

/* Is `self` among the previous owners the GUE sender carried? */
static __always_inline int in_chain(const struct verdict *v, __u16 self)
{
	return v->chain_in[0] == self || v->chain_in[1] == self || v->chain_in[2] == self;
}

/*
 * What a GUE target may ask next: the live previous owners, but us and the
 * target, in order. Only the first hop fills it: a second hop is final.
 */
static __always_inline void chain_fill(struct verdict *v, const struct shoal_bucket *b,
				       __u16 self, __u16 target, __u32 now)
{
	int i, n = 0;

	if (v->hop_in)
		return;
#pragma unroll
	for (i = 0; i < SHOAL_MAX_PREV; i++) {
		__u16 x = b->prev[i];

		if (!x)
			break;
		if (x == self || x == target || !prev_live(b, i, now))
			continue;
		if (n < SHOAL_MAX_PREV)
			v->chain[n++] = x;
	}
}

static __always_inline __u32 now_ticks(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() >> SHOAL_TICK_SHIFT);
}

/* The keyed hash of the flow, client to VIP, whichever way the keying header runs. */
static __always_inline __u64 flow_hash(const struct pkt *p, const struct shoal_conf *c,
				       const struct verdict *v)
{
	void *fl3 = (void *)p->eth + (v->fl3off & SHOAL_L4OFF_MASK);

	if (p->family == 4) {
		const struct iphdr *ip = fl3;

		if ((void *)(ip + 1) > p->end)
			return 0;
		return shoal_flow_hash4(c->key, v->rev ? ip->daddr : ip->saddr,
					v->rev ? ip->saddr : ip->daddr, p->sport, p->dport,
					p->proto);
	} else {
		const struct ipv6hdr *ip6 = fl3;

		if ((void *)(ip6 + 1) > p->end)
			return 0;
		if (v->rev)
			return shoal_flow_hash6(c->key, ip6->daddr.in6_u.u6_addr32,
						ip6->saddr.in6_u.u6_addr32, p->sport, p->dport,
						p->proto);
		return shoal_flow_hash6(c->key, ip6->saddr.in6_u.u6_addr32,
					ip6->daddr.in6_u.u6_addr32, p->sport, p->dport,
					p->proto);
	}
}

/*
 * The decision for a bucket with no previous owner, shared by the fast path
 * and the general path so they cannot disagree. With no chain to walk, the
 * owner passes, and everybody else forwards to the owner - unless the owner
 * sent the frame, which then stays (tables disagree; never bounce back).
 * SHOAL_R_TX_OWNER means "forward to owner"; the caller rewrites the frame.
 */
static __always_inline int stable_reason(__u16 owner, __u16 self, __u16 sender, __u8 proto,
					 __u8 syn)
{
	if (owner == self) {
		if (proto != IPPROTO_TCP)
			return SHOAL_R_PASS_UDP;
		return syn ? SHOAL_R_PASS_SYN : SHOAL_R_PASS_OWNER;
	}
	if (owner == sender)
		return SHOAL_R_PASS_NO_RETURN;
	return SHOAL_R_TX_OWNER;
}

/*
 * Which cluster hop is this frame on? Peers mark forwarded frames with a
 * source MAC of prefix | hop | sender id (see forward_l2()), so one compare
 * tells, with no lookup; the sender must still be a configured peer.
 * Returns -1 to go on, or a reason.
 */
static __always_inline int classify_hop(const struct pkt *p, const struct shoal_conf *c,
					struct verdict *v)
{
	__u32 tag = *(__u32 *)((void *)p->eth + 6);
	struct shoal_node *n;
	__u32 sender;

	if (tag != c->fwd_tag[0] && tag != c->fwd_tag[1])
		return -1;
	v->hop_in = tag == c->fwd_tag[0] ? 1 : 2;
	sender = bpf_ntohs(*(__u16 *)((void *)p->eth + 10));
	v->sender = sender;
	n = node_at(sender);
	if (sender >= SHOAL_MAX_NODES || !(n->flags & SHOAL_NODE_F_PEER) || sender == c->self)
		return SHOAL_R_DROP_PEER;
	if (v->hop_in >= SHOAL_MAX_HOPS)
		return SHOAL_R_PASS_HOP_LIMIT;
	return -1;
}

/*
 * DESIGN.md §3 steps 3-5 for a packet to a VIP. hop_in is 0 for a frame from
 * outside the cluster and 1 for a frame a peer forwarded once. A GUE frame
 * brings its hop, sender and bucket (v->encap); an L2 frame says its hop and
 * sender in its source MAC, and its bucket is hashed here.
 *
 * A global function: the verifier checks it once, however many parse paths
 * (VLAN tags, IP versions, extension headers, GUE) lead here. The price is a
 * direct call and re-deriving packet pointers from their offsets. It may move
 * the packet's head (GUE), so callers hold no packet pointer across it.
 */
__noinline int decide_owner(struct xdp_md *ctx, const struct shoal_conf *c, struct verdict *v)
{
	struct pkt p = {};
	struct shoal_bucket *b;
	__u16 self, sender, owner, next;
	__u32 pool, copy, idx, now = 0;
	int r, pos = -1, tcp_mid;
	void *tbl;

	if (!ctx || !c || !v)
		return SHOAL_R_PASS_NO_TABLE;

	p.eth = (void *)(long)ctx->data;
	p.end = (void *)(long)ctx->data_end;
	p.l3 = (void *)p.eth + (v->l3off & SHOAL_IL3_MASK);
	p.l4 = (void *)p.eth + (v->l4off & SHOAL_L4OFF_MASK);
	p.family = v->family;
	p.proto = v->proto;
	p.sport = v->sport;
	p.dport = v->dport;
	p.syn = v->syn;
	p.ack_only = v->ack_only;
	if ((void *)(p.eth + 1) > p.end)
		return SHOAL_R_PASS_SHORT;
	if (p.l3 + (p.family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)) > p.end)
		return SHOAL_R_DROP_BAD_IP;

	if (v->encap) {
		if (v->hop_in >= SHOAL_MAX_HOPS)
			return SHOAL_R_PASS_HOP_LIMIT;
	} else {
		r = classify_hop(&p, c, v);
		if (r >= 0)
			return r;
	}

	self = c->self;
	sender = v->sender;
	tcp_mid = p.proto == IPPROTO_TCP && !p.syn;
	pool = v->pool & (SHOAL_MAX_POOLS - 1);
	copy = c->pool_copy[pool] & 1;
	tbl = bpf_map_lookup_elem(&tables, &pool);
	if (!tbl)
		return SHOAL_R_PASS_NO_TABLE;
	if (!v->has_bucket) {
		__u64 hash;
		__u32 h;

		/*
		 * The first hop keys the bucket; GUE carries it on. In nic mode that
		 * is the NIC's hash (or, in a trace, the one the caller names); an
		 * ICMP error's flow is known only from its quote, in software.
		 */
		if (!v->hop_in && !v->icmp && v->rx_given) {
			hash = (__u64)v->rx_hash << 32;
			v->flags |= SHOAL_TRACE_F_RX_HASH;
		} else if (SHOAL_RX_HASH && !v->hop_in && !v->icmp && nic_rx_hash(ctx, &h, 1)) {
			hash = (__u64)h << 32;
			v->flags |= SHOAL_TRACE_F_RX_HASH;
		} else {
			if (SHOAL_RX_HASH && v->icmp)
				count_event(SHOAL_E_HASH_ICMP);
			hash = flow_hash(&p, c, v);
		}
		v->hash = hash >> 32;
		v->bucket = shoal_bucket_of(hash, c->m);
	} else if (v->bucket >= c->m) {
		return SHOAL_R_DROP_GUE_BAD;
	}
	idx = copy * c->m + v->bucket;
	b = bpf_map_lookup_elem(tbl, &idx);
	if (!b || !b->owner)
		return SHOAL_R_PASS_NO_TABLE;
	owner = b->owner;
	v->owner = owner;
	if (!b->prev[0] && !v->chain_in[0]) {
		r = stable_reason(owner, c->self, sender, p.proto, p.syn);
		if (r != SHOAL_R_TX_OWNER)
			return r;
		v->target = owner;
		return emit(&p, c, v, owner, v->hop_in + 1, SHOAL_R_TX_OWNER);
	}

	if (owner == self) {
		if (p.proto != IPPROTO_TCP)
			return SHOAL_R_PASS_UDP;
		if (p.syn)
			return SHOAL_R_PASS_SYN;
		now = now_ticks();
		next = prev_next(b, -1, self, sender, now, v);
		if (!next)
			return SHOAL_R_PASS_OWNER;
		r = local_flow(ctx, &p, v, 0);
		if (r)
			return r;
		v->target = next;
		chain_fill(v, b, self, next, now);
		return emit(&p, c, v, next, v->hop_in + 1, SHOAL_R_TX_PREV);
	}

	/* Not the owner: a previous owner still holding the flow keeps it. */
	if (tcp_mid) {
		now = now_ticks();
		pos = prev_position(b, self, now);
		if ((pos >= 0 || in_chain(v, self)) && local_flow(ctx, &p, v, owner == sender))
			return SHOAL_R_PASS_PREV_SOCKET;
	}

	if (owner != sender) {
		v->target = owner;
		if (tcp_mid)
			chain_fill(v, b, self, owner, now);
		return emit(&p, c, v, owner, v->hop_in + 1, SHOAL_R_TX_OWNER);
	}

	/* The owner itself sent it here: walk on down the previous-owner chain. */
	if (tcp_mid) {
		next = prev_next(b, pos, self, sender, now, v);
		if (next) {
			v->target = next;
			return emit(&p, c, v, next, v->hop_in + 1, SHOAL_R_TX_PREV);
		}
		return SHOAL_R_PASS_CHAIN_END;
	}
	return SHOAL_R_PASS_NO_RETURN;
}

#endif /* SHOAL_BPF_OWNER_H */
