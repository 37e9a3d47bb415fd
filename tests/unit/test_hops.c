// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Invariant I3 on the real program: four data planes, one per node, pass
 * frames to each other the way the wire would (by destination MAC, or for
 * GUE by the outer destination address). With consistent tables flows reach
 * their owner; with tables that disagree in every way a random generator can
 * make them, no frame ever crosses more than two cluster hops, none goes back
 * to its sender, and every walk ends - with L2 forwarding, with GUE, and with
 * a cluster that mixes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "fixture.h"

enum { L2, GUE, MIXED, NMODES };
static const char *const mode_name[] = { "l2", "gue", "mixed" };
static struct shoal *nodes[NMODES][FX_NODES + 1];
static struct shoal **node = nodes[L2];	/* the cluster under test */

struct walk {
	int hops;
	int gue;		/* of them, in GUE */
	__u16 end;		/* node that passed or dropped it */
	__u32 action;
	int reason;
};

static __u16 node_by_mac(const __u8 *mac)
{
	__u16 id;

	for (id = 1; id <= FX_NODES; id++) {
		if (!memcmp(mac, fx_mac[id], 6))
			return id;
	}
	return 0;
}

/* A GUE frame (IPv4 fabric): the node it is addressed to, and the hop it says. */
static __u16 gue_target(const __u8 *f, __u32 len, int *hop)
{
	if (len < 14 + 20 + 8 + 24 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != IPPROTO_UDP ||
	    (f[14 + 22] << 8 | f[14 + 23]) != SHOAL_GUE_PORT_DEFAULT)
		return 0;
	*hop = f[14 + 20 + 8 + 5] & 0xf;
	/* Node N is 198.18.2.N (fx_node_addr). */
	return f[14 + 16] == 198 && f[14 + 17] == 18 && f[14 + 18] == 2 ? f[14 + 19] : 0;
}

/* Follow one frame from `first` until some node passes or drops it. */
static void walk(const struct pkt_spec *spec, __u16 first, struct walk *w)
{
	__u8 frame[2048];
	size_t len = pkt_build(spec, frame, sizeof(frame));
	__u16 at = first, from = 0;
	struct fx_result r;
	int hop;

	assert_true(len > 0);
	memset(w, 0, sizeof(*w));
	for (;;) {
		assert_int_equal(fx_run_raw(node[at], frame, len, &r), 0);
		assert_int_equal(r.moved, 1);
		if (r.action != XDP_TX) {
			w->end = at;
			w->action = r.action;
			w->reason = r.reason;
			return;
		}
		w->hops++;
		/* The bound, and never straight back to who sent it. */
		assert_true(w->hops <= SHOAL_MAX_HOPS);
		from = at;
		at = gue_target(r.out, r.out_len, &hop);
		if (at) {
			assert_int_equal(hop, w->hops);	/* the GUE header names the hop */
			w->gue++;
		} else {
			assert_int_equal(r.out[9], w->hops);	/* source MAC names the hop */
			at = node_by_mac(r.out);
		}
		assert_int_not_equal(at, 0);
		assert_int_not_equal(at, from);
		memcpy(frame, r.out, r.out_len);
		len = r.out_len;
	}
}

static __u32 rnd_state = 12345;

static __u32 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* A table nobody would build: random owners and random chains, live or not. */
static void scramble(struct shoal *s)
{
	__u32 m = shoal_m(s), b, now = shoal_now_ticks();
	struct shoal_bucket *t = calloc(m, sizeof(*t));
	int i;

	assert_non_null(t);
	for (b = 0; b < m; b++) {
		t[b].owner = (__u16)(rnd() % FX_NODES + 1);
		for (i = 0; i < SHOAL_MAX_PREV; i++) {
			if (rnd() % 4 == 0)
				break;
			/* Any node, the owner and repeats included. */
			t[b].prev[i] = (__u16)(rnd() % FX_NODES + 1);
			t[b].expire[i] = rnd() % 3 ? now + 600 : now - 600;
		}
	}
	assert_int_equal(shoal_table_stage(s, 0, t), 0);
	assert_int_equal(shoal_commit(s), 0);
	free(t);
}

static struct pkt_spec random_flow(void)
{
	static const char *const clients[] = { "198.18.3.7", "198.18.4.9", "198.18.200.1" };
	__u32 kind = rnd() % 5;
	__u16 sport = (__u16)(1024 + rnd() % 60000);
	const char *src = clients[rnd() % 3];

	switch (kind) {
	case 0:
		return fx_tcp4(src, sport, FX_VIP4, 80, PKT_TCP_SYN);
	case 1:
		return fx_tcp4(src, sport, FX_VIP4_ANY, (__u16)(rnd() % 65535 + 1), PKT_TCP_ACK);
	case 2:
		return fx_udp4(src, sport, FX_VIP4, 53);
	case 3:
		return fx_tcp6(FX_CLIENT6, sport, FX_VIP6, 443,
			       rnd() % 2 ? PKT_TCP_ACK : PKT_TCP_FIN | PKT_TCP_ACK);
	default:
		return fx_udp6(FX_CLIENT6, sport, FX_VIP6, 53);
	}
}

/* The mode's cluster model. */
static void cluster_of(int mode, struct shoal_cluster *c)
{
	if (mode == GUE) {
		fx_cluster_gue(c, 4);
	} else {
		fx_cluster(c);
		if (mode == MIXED)
			shoal_cluster_node_id(c, FX_C)->forwarding = SHOAL_FWD_GUE;
	}
}

static void test_consistent_tables_deliver_new_flows_to_the_owner(void **st)
{
	struct shoal_cluster c;
	int i, id, mode = *(int *)*st;

	node = nodes[mode];
	cluster_of(mode, &c);
	for (id = 1; id <= FX_NODES; id++) {
		struct shoal_apply_opts o = { .self = (__u16)id };
		char err[256];

		assert_int_equal(shoal_cluster_apply(node[id], &c, &o, NULL, err, sizeof(err)), 0);
	}
	for (i = 0; i < 400; i++) {
		struct pkt_spec p = fx_tcp4("198.18.3.7", (__u16)(5000 + i), FX_VIP4, 80,
					    PKT_TCP_SYN);
		__u16 first = (__u16)(i % FX_NODES + 1);
		struct fx_result r;
		struct walk w;

		/* The owner the first node sees is where the walk must end, in one hop at most. */
		memcpy(p.dst_mac, fx_mac[first], 6);
		assert_int_equal(fx_run(node[first], &p, &r), 0);
		walk(&p, first, &w);
		assert_int_equal(w.action, XDP_PASS);
		assert_int_equal(w.reason, SHOAL_R_PASS_SYN);
		assert_int_equal(w.end, r.trace.owner);
		assert_int_equal(w.hops, first == r.trace.owner ? 0 : 1);
	}
	shoal_cluster_free(&c);
}

/* A flow the owner does not hold, in a bucket in transition, still ends within the bound. */
static void test_consistent_tables_in_transition_walk_the_chain(void **st)
{
	struct shoal_cluster c;
	int i, id, second_chance = 0, mode = *(int *)*st;

	node = nodes[mode];
	cluster_of(mode, &c);
	shoal_cluster_node_id(&c, FX_B)->drained = true;
	shoal_cluster_node_id(&c, FX_C)->drained = true;
	for (id = 1; id <= FX_NODES; id++) {
		struct shoal_apply_opts o = { .self = (__u16)id };
		char err[256];

		assert_int_equal(shoal_cluster_apply(node[id], &c, &o, NULL, err, sizeof(err)), 0);
	}
	for (i = 0; i < 400; i++) {
		struct pkt_spec p = fx_tcp4("198.18.3.7", (__u16)(9000 + i), FX_VIP4, 80,
					    PKT_TCP_ACK);
		__u16 first = (__u16)(i % FX_NODES + 1);
		struct walk w;

		memcpy(p.dst_mac, fx_mac[first], 6);
		walk(&p, first, &w);
		assert_int_equal(w.action, XDP_PASS);
		second_chance += w.reason == SHOAL_R_PASS_CHAIN_END;
	}
	assert_true(second_chance > 0);
	for (id = 1; id <= FX_NODES; id++) {
		shoal_cluster_node_id(&c, (__u16)id)->drained = false;
	}
	shoal_cluster_free(&c);
}

static void test_disagreeing_tables_never_exceed_two_hops(void **st)
{
	int hist[SHOAL_MAX_HOPS + 1] = {}, round, i, id, mode = *(int *)*st, gue = 0;

	node = nodes[mode];
	for (round = 0; round < 20; round++) {
		for (id = 1; id <= FX_NODES; id++)
			scramble(node[id]);
		for (i = 0; i < 250; i++) {
			struct pkt_spec p = random_flow();
			__u16 first = (__u16)(rnd() % FX_NODES + 1);
			struct walk w;

			memcpy(p.dst_mac, fx_mac[first], 6);
			walk(&p, first, &w);
			assert_true(w.action == XDP_PASS || w.action == XDP_DROP);
			hist[w.hops]++;
			gue += w.gue;
		}
	}
	/* The generator must have produced walks of every length, or it tested nothing. */
	for (i = 0; i <= SHOAL_MAX_HOPS; i++)
		assert_true(hist[i] > 0);
	/* And GUE hops where the cluster uses GUE. */
	assert_true(mode == L2 ? gue == 0 : gue > 0);
	printf("# %s: hops 0=%d 1=%d 2=%d over %d walks, %d hops in GUE\n", mode_name[mode],
	       hist[0], hist[1], hist[2], hist[0] + hist[1] + hist[2], gue);
}

/* Frames a peer says crossed one hop may take one more; ones that crossed two, none. */
static void test_peer_frames_respect_the_remaining_budget(void **st)
{
	int i, id;

	(void)st;
	node = nodes[L2];
	for (id = 1; id <= FX_NODES; id++)
		scramble(node[id]);
	for (i = 0; i < 500; i++) {
		struct pkt_spec p = random_flow();
		__u16 at = (__u16)(rnd() % FX_NODES + 1);
		__u16 from = (__u16)(rnd() % (FX_NODES - 1) + 1);
		int hop = (int)(rnd() % 2) + 1;
		struct fx_result r;

		if (from >= at)
			from++;
		memcpy(p.dst_mac, fx_mac[at], 6);
		fx_from_peer(&p, from, hop);
		assert_int_equal(fx_run(node[at], &p, &r), 0);
		if (hop == 2)
			assert_int_equal(r.action, XDP_PASS);
		if (r.action == XDP_TX) {
			assert_int_equal(r.out[9], 2);
			assert_int_not_equal(node_by_mac(r.out), from);
		}
	}
}

static int group_setup(void **st)
{
	struct shoal_cluster c;
	int id, mode;

	(void)st;
	if (fx_enter())
		return -1;
	for (mode = 0; mode < NMODES; mode++) {
		cluster_of(mode, &c);
		for (id = 1; id <= FX_NODES; id++) {
			nodes[mode][id] = fx_dataplane_model(&c, (__u16)id, NULL);
			if (!nodes[mode][id])
				return -1;
		}
		shoal_cluster_free(&c);
	}
	return 0;
}

static int group_teardown(void **st)
{
	int id, mode;

	(void)st;
	for (mode = 0; mode < NMODES; mode++) {
		for (id = 1; id <= FX_NODES; id++)
			shoal_close(nodes[mode][id]);
	}
	return 0;
}

int main(void)
{
	static int l2 = L2, gue = GUE, mixed = MIXED;
#define IN_MODE(f, m) { #f " (" #m ")", f, NULL, NULL, &m }
	const struct CMUnitTest tests[] = {
		IN_MODE(test_consistent_tables_deliver_new_flows_to_the_owner, l2),
		IN_MODE(test_consistent_tables_in_transition_walk_the_chain, l2),
		IN_MODE(test_disagreeing_tables_never_exceed_two_hops, l2),
		cmocka_unit_test(test_peer_frames_respect_the_remaining_budget),
		IN_MODE(test_consistent_tables_deliver_new_flows_to_the_owner, gue),
		IN_MODE(test_consistent_tables_in_transition_walk_the_chain, gue),
		IN_MODE(test_disagreeing_tables_never_exceed_two_hops, gue),
		IN_MODE(test_consistent_tables_deliver_new_flows_to_the_owner, mixed),
		IN_MODE(test_disagreeing_tables_never_exceed_two_hops, mixed),
	};

	return cmocka_run_group_tests_name("hops", tests, group_setup, group_teardown);
}
