// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BPF_PROG_TEST_RUN fixtures for GUE forwarding: the exact bytes a node
 * encapsulates (outer headers, shoal's header, checksums summed over every
 * byte by the reference in lib/packet.c), decapsulation, the carried bucket
 * and chain, what is refused from whom, mixing GUE and L2 peers, and the
 * "too big" answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "fixture.h"
#include "expect.h"
#include "shoal/hash.h"

static struct shoal *dp4;	/* node A, GUE over IPv4 */
static struct shoal *dp6;	/* node A, GUE over IPv6 */
static struct shoal *dpmix;	/* node A, L2 cluster where node C is reached by GUE */
static int est_client = -1, est_server = -1;	/* FX_CLIENT_LOCAL:40001 <-> VIP4:80 */

#define CLIENT	"198.18.3.7"
#define CLIENT6	"2001:db8:ff::77"
#define GUE_PORT SHOAL_GUE_PORT_DEFAULT

static void expect_bytes(const struct fx_result *r, __u32 action, const __u8 *exp, size_t len)
{
	size_t i;

	assert_int_equal(r->action, action);
	if (r->out_len != len)
		fail_msg("output is %u bytes, want %zu", r->out_len, len);
	for (i = 0; i < len; i++) {
		if (r->out[i] != exp[i])
			fail_msg("output byte %zu is %02x, want %02x", i, r->out[i], exp[i]);
	}
}

static void expect_unchanged(const struct fx_result *r, __u32 action, int reason)
{
	expect_reason(r, reason);
	expect_bytes(r, action, r->in, r->in_len);
}

static __u32 gen_of(struct shoal *dp)
{
	struct shoal_pool p;

	assert_int_equal(shoal_pool_get(dp, 0, &p), 0);
	return (__u32)p.gen;
}

/* The flow's bucket, computed here the way every node must. */
static __u32 bucket_of(const struct pkt_spec *s)
{
	static const __u64 key[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	__u64 h = s->dst.family == 4 ?
		shoal_flow_hash4(key, s->src.a[0], s->dst.a[0], htons(s->sport), htons(s->dport),
				 s->proto) :
		shoal_flow_hash6(key, s->src.a, s->dst.a, htons(s->sport), htons(s->dport),
				 s->proto);

	return shoal_bucket_of(h, 251);
}

static size_t build(const struct pkt_spec *s, __u8 *buf)
{
	size_t n = pkt_build(s, buf, 2048);

	assert_true(n > 0);
	return n;
}

/* A GUE frame from the router's MAC to A, as peer `from` sends it. */
static size_t gue_in(const struct pkt_spec *inner, int family, __u16 from, int hop, __u32 bucket,
		     const __u16 *chain, __u8 *out)
{
	struct pkt_gue g = { .dport = GUE_PORT, .sport = 0xc123, .hop = (__u8)hop,
			     .sender = from, .bucket = bucket, .gen = 7 };
	__u8 f[2048];
	size_t n = build(inner, f);

	memcpy(g.dst_mac, fx_mac[FX_A], 6);
	memcpy(g.src_mac, fx_mac[0], 6);
	fx_node_addr(from, family, &g.src);
	fx_node_addr(FX_A, family, &g.dst);
	if (chain)
		memcpy(g.chain, chain, sizeof(g.chain));
	n = pkt_gue_wrap(&g, f, n, out, 2048);
	assert_true(n > 0);
	return n;
}

/*
 * What A must send to `to` for the plain frame `inner` (its TTL already one
 * down, as the wire will carry it): GUE from A's address and MAC to the
 * router, the bucket-derived source port, A's generation.
 */
static size_t gue_out(struct shoal *dp, const __u8 *inner, size_t len, int family, __u16 to,
		      int hop, __u32 bucket, __u16 sport, const __u16 *chain, int no_csum, __u8 *out)
{
	struct pkt_gue g = { .dport = GUE_PORT, .hop = (__u8)hop, .sender = FX_A,
			     .bucket = bucket, .no_csum = no_csum };
	size_t n;

	g.sport = sport ? sport : (__u16)(0xc000 | (bucket & 0x3fff));
	g.flow_label = bucket & 0xfffff;
	g.gen = gen_of(dp);
	memcpy(g.dst_mac, fx_mac[0], 6);
	memcpy(g.src_mac, fx_mac[FX_A], 6);
	fx_node_addr(FX_A, family, &g.src);
	fx_node_addr(to, family, &g.dst);
	if (chain)
		memcpy(g.chain, chain, sizeof(g.chain));
	n = pkt_gue_wrap(&g, inner, len, out, 2048);
	assert_true(n > 0);
	return n;
}

static void run(struct shoal *dp, const struct pkt_spec *s, struct fx_result *r)
{
	assert_int_equal(fx_run(dp, s, r), 0);
}

static void run_raw(struct shoal *dp, const __u8 *f, size_t n, struct fx_result *r)
{
	assert_int_equal(fx_run_raw(dp, f, n, r), 0);
}

static void table(struct shoal *dp, __u16 owner, const __u16 *prev, int nprev)
{
	assert_int_equal(fx_table_uniform(dp, owner, prev, nprev, 1), 0);
}

/* Every bucket owned by `rest`, but bucket `b`, owned by `owner`. */
static void table_one(struct shoal *dp, __u32 b, __u16 owner, __u16 rest)
{
	struct shoal_bucket *t = calloc(251, sizeof(*t));
	__u32 i;

	for (i = 0; i < 251; i++)
		t[i].owner = i == b ? owner : rest;
	assert_int_equal(shoal_table_stage(dp, 0, t), 0);
	assert_int_equal(shoal_commit(dp), 0);
	free(t);
}

#define PREV(...) ((const __u16[]){ __VA_ARGS__ }), (int)(sizeof((const __u16[]){ __VA_ARGS__ }) / sizeof(__u16))
#define CHAIN(...) ((const __u16[3]){ __VA_ARGS__ })

/* Outer UDP checksum of a GUE frame, checked over every byte: 0 = valid or none. */
static int udp_sum_bad(const __u8 *f, size_t n)
{
	int v6 = f[12] == 0x86, hdr = v6 ? 40 : 20;
	const __u8 *ip = f + 14, *uh = ip + hdr;
	__u32 pseudo = 0, ulen = (__u32)(uh[4] << 8 | uh[5]);
	int i;

	if (!uh[6] && !uh[7])
		return 0;
	if (14 + hdr + ulen > n)
		return 1;
	for (i = v6 ? 8 : 12; i < (v6 ? 40 : 20); i += 2)
		pseudo += (__u32)(ip[i] << 8 | ip[i + 1]);
	pseudo += IPPROTO_UDP + ulen;
	return pkt_csum(uh, ulen, pseudo) != 0;
}

/* ---- encapsulation ---- */

static void test_syn_to_gue_owner_is_encapsulated_exactly(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40000, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	table(dp4, FX_B, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	assert_int_equal(r.trace.target, FX_B);
	assert_true(r.trace.flags & SHOAL_TRACE_F_GUE_OUT);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_B, 1, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
	assert_int_equal(r.trace.bucket, bucket_of(&s));
}

static void test_udp_with_payload_to_gue_owner_is_encapsulated_exactly(void **st)
{
	static const char payload[] = "a DNS query, say, of some length......";
	struct pkt_spec s = fx_udp4(CLIENT, 5353, FX_VIP4, 53);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	table(dp4, FX_C, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_C, 1, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
}

static void test_ipv6_vip_over_ipv4_fabric_is_encapsulated_exactly(void **st)
{
	struct pkt_spec s = fx_tcp6(CLIENT6, 40000, FX_VIP6, 443, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	table(dp4, FX_D, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_D, 1, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
	assert_int_equal(r.out[14 + 20 + 8 + 1], IPPROTO_IPV6);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
}

static void test_ipv6_fabric_encapsulates_with_flow_label_and_checksum(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	table(dp6, FX_B, NULL, 0);
	run(dp6, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp6, inner, n, 6, FX_B, 1, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
	/* IPv6 UDP must carry a checksum (RFC 8200), and it is right. */
	assert_true(r.out[14 + 40 + 6] || r.out[14 + 40 + 7]);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
}

static void test_ipv6_with_extension_headers_goes_with_no_outer_checksum(void **st)
{
	/* A destination-options header (PadN) before TCP: its bytes are not summed. */
	static const __u8 dstopt[8] = { IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0 };
	struct pkt_spec s = fx_tcp6(CLIENT6, 40002, FX_VIP6, 443, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	s.ip6_ext = dstopt;
	s.ip6_ext_len = sizeof(dstopt);
	s.ip6_ext_first = IPPROTO_DSTOPTS;
	table(dp4, FX_B, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_B, 1, bucket_of(&s), 0, NULL, 1, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

static void test_udp_without_checksum_goes_with_no_outer_checksum(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 5353, FX_VIP4, 53);
	__u8 f[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[14 + 20 + 6] = f[14 + 20 + 7] = 0;	/* IPv4 UDP may go without */
	table(dp4, FX_B, NULL, 0);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	f[14 + 8] = 63;
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	n = gue_out(dp4, f, n, 4, FX_B, 1, bucket_of(&s), 0, NULL, 1, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

static void test_vlan_tag_is_kept_outside_the_encapsulation(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40003, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048], tagged[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	s.nvlan = 1;
	s.vlan_id[0] = 100;
	table(dp4, FX_B, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.nvlan = 0;
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_B, 1, bucket_of(&s), 0, NULL, 0, exp);
	memcpy(tagged, exp, 12);
	memcpy(tagged + 12, (__u8[]){ 0x81, 0x00, 0x00, 100 }, 4);
	memcpy(tagged + 16, exp + 12, n - 12);
	expect_bytes(&r, XDP_TX, tagged, n + 4);
}

static void test_chain_of_previous_owners_travels_in_the_header(void **st)
{
	/* A, not involved, forwards a mid-flow segment to owner B; C and D held the bucket. */
	struct pkt_spec s = fx_tcp4(CLIENT, 40004, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	table(dp4, FX_B, PREV(FX_C, FX_A, FX_D));
	run(dp4, &s, &r);
	/* A is a previous owner but holds no socket for the flow. */
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dp4, inner, n, 4, FX_B, 1, bucket_of(&s), 0, CHAIN(FX_C, FX_D, 0), 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

/* ---- receiving ---- */

static void test_gue_syn_for_this_owner_is_decapsulated_and_passed(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40010, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	table(dp4, FX_A, NULL, 0);
	n = gue_in(&s, 4, FX_B, 1, bucket_of(&s), NULL, f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_SYN);
	assert_true(r.trace.flags & SHOAL_TRACE_F_GUE_IN);
	assert_int_equal(r.trace.sender, FX_B);
	assert_int_equal(r.trace.hop_in, 1);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

static void test_ipv6_fabric_gue_is_decapsulated_and_passed(void **st)
{
	struct pkt_spec s = fx_udp6(CLIENT6, 5353, FX_VIP6, 53);
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	table(dp6, FX_A, NULL, 0);
	n = gue_in(&s, 6, FX_C, 1, bucket_of(&s), NULL, f);
	run_raw(dp6, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_UDP);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

static void test_receiver_takes_the_carried_bucket_and_never_rehashes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40011, FX_VIP4, 80, PKT_TCP_SYN);
	__u32 hashed = bucket_of(&s), carried = (hashed + 17) % 251;
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	/* Only the carried bucket is A's; the flow's own hash says C. */
	table_one(dp4, carried, FX_A, FX_C);
	n = gue_in(&s, 4, FX_B, 1, carried, NULL, f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_SYN);
	assert_int_equal(r.trace.bucket, carried);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

static void test_gue_for_another_owner_is_rewritten_for_it(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40012, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048], inner[2048], exp[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	table(dp4, FX_C, NULL, 0);	/* B thought A owned it; A's table says C */
	n = gue_in(&s, 4, FX_B, 1, bucket_of(&s), NULL, f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	assert_int_equal(r.trace.target, FX_C);
	s.ttl = 63;
	in = build(&s, inner);
	/* Hop 2, from A, the sender's source port kept. */
	n = gue_out(dp4, inner, in, 4, FX_C, 2, bucket_of(&s), 0xc123, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
}

static void test_gue_back_to_its_sender_is_passed_not_returned(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 5000, FX_VIP4, 53);
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	table(dp4, FX_B, NULL, 0);
	n = gue_in(&s, 4, FX_B, 1, bucket_of(&s), NULL, f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_NO_RETURN);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

static void test_second_hop_gue_is_always_passed(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40013, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	table(dp4, FX_C, NULL, 0);
	n = gue_in(&s, 4, FX_B, 2, bucket_of(&s), NULL, f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_HOP_LIMIT);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

static void test_receiver_asks_the_carried_chain_when_its_table_has_none(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40014, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 f[2048], inner[2048], exp[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	/* A owns the bucket with no history; the sender knew D held it before. */
	table(dp4, FX_A, NULL, 0);
	n = gue_in(&s, 4, FX_B, 1, bucket_of(&s), CHAIN(FX_D, 0, 0), f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_PREV);
	assert_int_equal(r.trace.target, FX_D);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
	s.ttl = 63;
	in = build(&s, inner);
	n = gue_out(dp4, inner, in, 4, FX_D, 2, bucket_of(&s), 0xc123, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

static void test_receiver_named_in_the_chain_keeps_a_flow_it_holds(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 f[2048], inner[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	assert_true(est_client >= 0);
	table(dp4, FX_C, NULL, 0);	/* A's table knows nothing of A's past */
	n = gue_in(&s, 4, FX_B, 1, bucket_of(&s), CHAIN(FX_A, 0, 0), f);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_PASS_PREV_SOCKET);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
}

/* ---- refused ---- */

static size_t valid_gue(__u8 *f)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40020, FX_VIP4, 80, PKT_TCP_SYN);

	table(dp4, FX_A, NULL, 0);
	return gue_in(&s, 4, FX_B, 1, bucket_of(&s), NULL, f);
}

static void expect_refused(__u8 *f, size_t n, int reason)
{
	struct fx_result r;

	run_raw(dp4, f, n, &r);
	expect_unchanged(&r, XDP_DROP, reason);
}

static void test_gue_from_a_spoofed_source_is_dropped(void **st)
{
	__u8 f[2048];
	size_t n;

	(void)st;
	n = valid_gue(f);
	f[14 + 15] = 99;	/* outer source 198.18.2.99 claims to be B */
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	expect_refused(f, n, SHOAL_R_DROP_GUE_PEER);
}

static void test_gue_from_an_unknown_or_own_id_is_dropped(void **st)
{
	__u8 f[2048];
	size_t n;

	(void)st;
	n = valid_gue(f);
	f[14 + 20 + 8 + 7] = 9;		/* sender id 9: no such node */
	expect_refused(f, n, SHOAL_R_DROP_GUE_PEER);
	n = valid_gue(f);
	f[14 + 20 + 8 + 7] = FX_A;	/* "from" this node itself */
	expect_refused(f, n, SHOAL_R_DROP_GUE_PEER);
}

static void test_malformed_gue_headers_are_dropped(void **st)
{
	static const struct {
		int off;	/* into the GUE header */
		__u8 val;
		const char *what;
	} bad[] = {
		{ 0, 0x45, "GUE version 1" },	{ 0, 0x04, "Hlen 4" },
		{ 0, 0x25, "C bit set" },	{ 2, 0x80, "a GUE flag" },
		{ 1, 99, "inner protocol 99" }, { 4, 0x54, "wrong magic" },
		{ 5, 0x21, "shoal version 2" }, { 5, 0x10, "hop 0" },
		{ 5, 0x13, "hop 3" },		{ 8, 0x01, "bucket past M" },
	};
	__u8 f[2048];
	size_t n, i;

	(void)st;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx_result r;

		n = valid_gue(f);
		f[14 + 20 + 8 + bad[i].off] = bad[i].val;
		run_raw(dp4, f, n, &r);
		if (r.reason != SHOAL_R_DROP_GUE_BAD || r.action != XDP_DROP)
			fail_msg("%s: got %s", bad[i].what, shoal_reason_name(r.reason));
	}
}

static void test_truncated_gue_is_dropped(void **st)
{
	__u8 f[2048];
	size_t n;

	(void)st;
	n = valid_gue(f);
	/* Outer packet cut to 10 bytes of GUE, lengths consistent with the cut. */
	n = 14 + 20 + 8 + 10;
	f[14 + 2] = 0;
	f[14 + 3] = 20 + 8 + 10;
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	f[14 + 20 + 4] = 0;
	f[14 + 20 + 5] = 18;
	expect_refused(f, n, SHOAL_R_DROP_GUE_BAD);
}

static void test_fragmented_outer_is_the_kernels_optioned_outer_dropped(void **st)
{
	__u8 f[2048], g[2048];
	size_t n;

	(void)st;
	/*
	 * A fragment to the node's address cannot be told from its own traffic (a
	 * resolver's answer, say): the kernel's; reassembled, GUE finds no socket.
	 */
	n = valid_gue(f);
	f[14 + 6] |= 0x20;	/* more fragments */
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	{
		struct fx_result r;

		run_raw(dp4, f, n, &r);
		expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	}

	/* An outer header with a 4-byte option (NOPs). */
	n = valid_gue(f);
	memcpy(g, f, 14 + 20);
	memcpy(g + 14 + 20, (__u8[]){ 1, 1, 1, 1 }, 4);
	memcpy(g + 14 + 24, f + 14 + 20, n - 14 - 20);
	g[14] = 0x46;
	g[14 + 3] = (__u8)(g[14 + 3] + 4);
	memcpy(g + 14 + 10, (__u16[]){ pkt_ip4_csum(g + 14, 24) }, 2);
	expect_refused(g, n + 4, SHOAL_R_DROP_GUE_BAD);
}

static void test_gue_holding_no_vip_packet_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40021, "198.18.9.9", 80, PKT_TCP_SYN);
	__u8 f[2048], g[2048];
	size_t n;

	(void)st;
	table(dp4, FX_A, NULL, 0);
	n = gue_in(&s, 4, FX_B, 1, 0, NULL, f);
	expect_refused(f, n, SHOAL_R_DROP_GUE_INNER);

	/* The UDP payload longer than the inner packet says it is. */
	n = valid_gue(f);
	memcpy(g, f, n);
	memset(g + n, 0, 4);
	g[14 + 3] = (__u8)(g[14 + 3] + 4);
	memcpy(g + 14 + 10, (__u16[]){ pkt_ip4_csum(g + 14, 20) }, 2);
	g[14 + 20 + 5] = (__u8)(g[14 + 20 + 5] + 4);
	expect_refused(g, n + 4, SHOAL_R_DROP_GUE_INNER);

	/* GUE inside GUE. */
	{
		struct pkt_spec o = fx_udp4("198.18.2.2", 0xc000, "198.18.2.1", GUE_PORT);
		__u8 payload[2048];

		n = valid_gue(f);
		memcpy(payload, f + 14 + 20 + 8, n - 14 - 20 - 8);
		o.payload = payload;
		o.payload_len = n - 14 - 20 - 8;
		n = gue_in(&o, 4, FX_B, 1, 0, NULL, g);
		expect_refused(g, n, SHOAL_R_DROP_GUE_INNER);
	}
}

static void test_other_traffic_to_the_node_address_passes(void **st)
{
	struct pkt_spec hb = fx_udp4("198.18.2.2", 7946, "198.18.2.1", 7946);
	struct pkt_spec ssh = fx_tcp4(CLIENT, 50000, "198.18.2.1", 22, PKT_TCP_SYN);
	struct pkt_spec tcp = fx_tcp4(CLIENT, 50000, "198.18.2.1", GUE_PORT, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	run(dp4, &hb, &r);
	expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	run(dp4, &ssh, &r);
	expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	run(dp4, &tcp, &r);
	expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	/* A cut UDP header to the node: not shown to be GUE, so not judged. */
	{
		__u8 f[2048];
		size_t n = build(&hb, f);

		f[14 + 20 + 4] = 0;
		f[14 + 20 + 5] = 200;	/* UDP length past the packet */
		run_raw(dp4, f, n, &r);
		expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	}
	/* Pinging a node is no echo to a VIP, and a malformed packet to it is not judged. */
	{
		__u8 echo[16] = { 8, 0 };
		struct pkt_spec ping = fx_tcp4(CLIENT, 0, "198.18.2.1", 0, 0);

		ping.proto = IPPROTO_ICMP;
		ping.payload = echo;
		ping.payload_len = sizeof(echo);
		run(dp4, &ping, &r);
		expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_NOT_VIP);
	}
}

/* ---- GUE and L2 peers in one cluster ---- */

static void test_per_peer_forwarding_l2_to_one_gue_to_another(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40030, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	assert_int_equal(fx_table_uniform(dpmix, FX_B, NULL, 0, 1), 0);
	run(dpmix, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	fx_expect_forward(&r, FX_B, 1, exp);
	expect_bytes(&r, XDP_TX, exp, r.in_len);

	assert_int_equal(fx_table_uniform(dpmix, FX_C, NULL, 0, 1), 0);
	run(dpmix, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	n = build(&s, inner);
	n = gue_out(dpmix, inner, n, 4, FX_C, 1, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

static void test_l2_frame_from_a_peer_goes_on_to_a_gue_peer_as_hop_two(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40031, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 inner[2048], exp[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	assert_int_equal(fx_table_uniform(dpmix, FX_C, NULL, 0, 1), 0);
	fx_from_peer(&s, FX_B, 1);
	run(dpmix, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	s.ttl = 63;
	memcpy(s.src_mac, fx_mac[0], 6);	/* the inner keeps no L2 header */
	n = build(&s, inner);
	n = gue_out(dpmix, inner, n, 4, FX_C, 2, bucket_of(&s), 0, NULL, 0, exp);
	expect_bytes(&r, XDP_TX, exp, n);
}

static void test_gue_from_a_peer_goes_on_to_an_l2_peer_stripped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40032, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048], inner[2048], exp[2048];
	struct fx_result r;
	size_t n, in;

	(void)st;
	assert_int_equal(fx_table_uniform(dpmix, FX_B, NULL, 0, 1), 0);
	n = gue_in(&s, 4, FX_C, 1, bucket_of(&s), NULL, f);
	run_raw(dpmix, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	in = build(&s, inner);
	fx_expect_forward_frame(inner, (__u32)in, FX_B, 2, exp);
	expect_bytes(&r, XDP_TX, exp, in);
}

/* ---- next hops ---- */

static void test_unresolvable_next_hop_is_reported_and_counted(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40040, FX_VIP4, 80, PKT_TCP_SYN);
	struct shoal_apply_report rep;
	struct shoal_cluster c;
	struct fx_result r;
	struct shoal *dp;

	(void)st;
	fx_cluster_gue(&c, 4);
	shoal_parse_addr("203.0.113.4", &c.nodes[3].addr);	/* D: no route to it here */
	dp = fx_dataplane_model(&c, FX_A, &rep);
	shoal_cluster_free(&c);
	assert_non_null(dp);
	assert_int_equal(rep.gue_nodes, 3);
	assert_int_equal(rep.nexthops_unresolved, 1);
	assert_non_null(strstr(rep.nexthop_error, "d: no route to 203.0.113.4"));
	assert_int_equal(fx_table_uniform(dp, FX_D, NULL, 0, 1), 0);
	assert_int_equal(fx_run(dp, &s, &r), 0);
	expect_unchanged(&r, XDP_DROP, SHOAL_R_DROP_NEXTHOP);
	shoal_close(dp);
}

static void test_next_hop_behind_another_interface_is_refused(void **st)
{
	struct shoal_apply_opts o = { .self = FX_A, .dev = "veth1" };
	struct shoal_apply_report rep;
	struct shoal_cluster c;
	struct shoal *dp;
	char err[512];

	(void)st;
	fx_cluster_gue(&c, 4);
	assert_int_equal(shoal_create(&dp, NULL, c.m), 0);
	assert_int_equal(shoal_cluster_apply(dp, &c, &o, &rep, err, sizeof(err)), 0);
	shoal_cluster_free(&c);
	assert_int_equal(rep.nexthops_unresolved, 3);
	assert_non_null(strstr(rep.nexthop_error, "routed out of veth0, not the uplink veth1"));
	/* The fabric MTU defaults to the uplink's. */
	assert_int_equal(rep.fabric_mtu, 1500);
	assert_int_equal(shoal_conf(dp)->gue_mtu, 1500 - SHOAL_GUE_OVERHEAD4);
	shoal_close(dp);
}

static void test_next_hops_follow_a_route_change(void **st)
{
	struct shoal_apply_report rep;
	struct shoal_node n;

	(void)st;
	assert_int_equal(shoal_node_get(dp4, FX_B, &n), 0);
	assert_memory_equal(n.hop_mac, fx_mac[0], 6);
	assert_true(n.flags & SHOAL_NODE_F_HOP);
	/* B now sits behind another router. */
	assert_int_equal(fx_sh("ip neigh replace 198.18.1.253 lladdr 02:00:00:00:00:fd dev veth0 nud permanent && "
			       "ip route replace 198.18.2.2/32 via 198.18.1.253 dev veth0"), 0);
	assert_int_equal(shoal_nexthops_refresh(dp4, NULL, &rep), 0);
	assert_int_equal(rep.nexthops_unresolved, 0);
	assert_int_equal(shoal_node_get(dp4, FX_B, &n), 0);
	assert_memory_equal(n.hop_mac, ((__u8[]){ 2, 0, 0, 0, 0, 0xfd }), 6);
	assert_int_equal(fx_sh("ip route del 198.18.2.2/32"), 0);
	assert_int_equal(shoal_nexthops_refresh(dp4, NULL, &rep), 0);
	assert_int_equal(shoal_node_get(dp4, FX_B, &n), 0);
	assert_memory_equal(n.hop_mac, fx_mac[0], 6);
}

static void test_node_that_left_the_config_still_takes_its_gue(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct shoal_apply_opts o = { .self = FX_A };
	struct shoal_cluster c;
	__u8 f[2048], inner[2048];
	struct fx_result r;
	struct shoal *dp;
	char err[512];
	size_t n, in;

	(void)st;
	fx_cluster_gue(&c, 4);
	dp = fx_dataplane_model(&c, FX_A, NULL);
	assert_non_null(dp);
	/* A leaves the cluster; its peers send it what it still holds, by GUE. */
	assert_int_equal(shoal_cluster_remove_node(&c, "a"), 0);
	assert_int_equal(shoal_cluster_apply(dp, &c, &o, NULL, err, sizeof(err)), 0);
	shoal_cluster_free(&c);
	assert_int_equal(shoal_conf(dp)->self_family, 4);
	assert_int_equal(fx_table_uniform(dp, FX_B, PREV(FX_A), 1), 0);
	n = gue_in(&s, 4, FX_C, 1, bucket_of(&s), NULL, f);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_reason(&r, SHOAL_R_PASS_PREV_SOCKET);
	in = build(&s, inner);
	expect_bytes(&r, XDP_PASS, inner, in);
	shoal_close(dp);
}

/* ---- too big for the fabric ---- */

static void test_too_big_with_df_draws_fragmentation_needed(void **st)
{
	static __u8 payload[1460];
	struct pkt_spec s = fx_tcp4(CLIENT, 40050, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 f[2048], exp[128];
	__u16 mtu = 1500 - SHOAL_GUE_OVERHEAD4;
	struct fx_result r;
	size_t n;

	(void)st;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	table(dp4, FX_B, NULL, 0);
	n = build(&s, f);
	assert_int_equal(n, 14 + 1500);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_TOO_BIG);

	/* Back to the router, from the VIP, quoting the IP header and 8 bytes. */
	memcpy(exp, fx_mac[0], 6);
	memcpy(exp + 6, fx_mac[FX_A], 6);
	exp[12] = 0x08;
	exp[13] = 0x00;
	memset(exp + 14, 0, 28);
	exp[14] = 0x45;
	exp[14 + 3] = 20 + 8 + 28;
	exp[14 + 8] = 64;
	exp[14 + 9] = IPPROTO_ICMP;
	memcpy(exp + 14 + 12, f + 14 + 16, 4);	/* from the VIP */
	memcpy(exp + 14 + 16, f + 14 + 12, 4);	/* to the client */
	memcpy(exp + 14 + 10, (__u16[]){ pkt_ip4_csum(exp + 14, 20) }, 2);
	exp[34] = 3;
	exp[35] = 4;
	exp[40] = (__u8)(mtu >> 8);
	exp[41] = (__u8)mtu;
	memcpy(exp + 42, f + 14, 28);
	memcpy(exp + 36, (__u16[]){ pkt_csum(exp + 34, 8 + 28, 0) }, 2);
	expect_bytes(&r, XDP_TX, exp, 14 + 56);
}

static void test_too_big_ipv6_draws_packet_too_big(void **st)
{
	static __u8 payload[1440];
	struct pkt_spec s = fx_tcp6(CLIENT6, 40051, FX_VIP6, 443, PKT_TCP_ACK);
	__u8 f[2048], exp[160];
	__u16 mtu = 1500 - SHOAL_GUE_OVERHEAD4;
	struct fx_result r;
	__u32 pseudo = 0;
	size_t n, i;

	(void)st;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	table(dp4, FX_B, NULL, 0);
	n = build(&s, f);
	assert_int_equal(n, 14 + 1500);
	run_raw(dp4, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_TOO_BIG);

	memcpy(exp, fx_mac[0], 6);
	memcpy(exp + 6, fx_mac[FX_A], 6);
	exp[12] = 0x86;
	exp[13] = 0xdd;
	memset(exp + 14, 0, 48);
	exp[14] = 0x60;
	exp[14 + 5] = 56;
	exp[14 + 6] = IPPROTO_ICMPV6;
	exp[14 + 7] = 64;
	memcpy(exp + 14 + 8, f + 14 + 24, 16);	/* from the VIP */
	memcpy(exp + 14 + 24, f + 14 + 8, 16);	/* to the client */
	exp[54] = 2;
	exp[60] = (__u8)(mtu >> 8);
	exp[61] = (__u8)mtu;
	memcpy(exp + 62, f + 14, 48);
	for (i = 0; i < 32; i += 2)
		pseudo += (__u32)(exp[22 + i] << 8 | exp[23 + i]);
	pseudo += IPPROTO_ICMPV6 + 56;
	memcpy(exp + 56, (__u16[]){ pkt_csum(exp + 54, 56, pseudo) }, 2);
	expect_bytes(&r, XDP_TX, exp, 14 + 40 + 56);
}

static void test_too_big_without_df_is_served_here_or_dropped(void **st)
{
	static __u8 payload[1472];
	struct pkt_spec u = fx_udp4(CLIENT, 5000, FX_VIP4, 53);
	struct pkt_spec t = fx_tcp4(CLIENT, 40052, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(dp4, FX_B, NULL, 0);
	u.payload = payload;
	u.payload_len = sizeof(payload);
	u.no_df = 1;
	run(dp4, &u, &r);
	expect_unchanged(&r, XDP_PASS, SHOAL_R_PASS_TOO_BIG);
	t.payload = payload;
	t.payload_len = 1460;
	t.no_df = 1;
	run(dp4, &t, &r);
	expect_unchanged(&r, XDP_DROP, SHOAL_R_DROP_TOO_BIG);
}

static void test_packet_that_just_fits_is_encapsulated(void **st)
{
	static __u8 payload[1500 - SHOAL_GUE_OVERHEAD4 - 40];
	struct pkt_spec s = fx_tcp4(CLIENT, 40053, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	table(dp4, FX_B, NULL, 0);
	run(dp4, &s, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	assert_int_equal(r.out_len, 14 + 1500);
	assert_int_equal(udp_sum_bad(r.out, r.out_len), 0);
}

/* ---- setup ---- */

static int setup(void **st)
{
	struct shoal_cluster c;
	int server;

	(void)st;
	if (fx_enter())
		return -1;
	fx_cluster_gue(&c, 4);
	dp4 = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	fx_cluster_gue(&c, 6);
	dp6 = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	fx_cluster(&c);
	c.nodes[FX_C - 1].forwarding = SHOAL_FWD_GUE;
	dpmix = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	est_client = fx_connect(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, &server);
	est_server = server;
	return dp4 && dp6 && dpmix && est_client >= 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	shoal_close(dp4);
	shoal_close(dp6);
	shoal_close(dpmix);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_to_gue_owner_is_encapsulated_exactly),
		cmocka_unit_test(test_udp_with_payload_to_gue_owner_is_encapsulated_exactly),
		cmocka_unit_test(test_ipv6_vip_over_ipv4_fabric_is_encapsulated_exactly),
		cmocka_unit_test(test_ipv6_fabric_encapsulates_with_flow_label_and_checksum),
		cmocka_unit_test(test_ipv6_with_extension_headers_goes_with_no_outer_checksum),
		cmocka_unit_test(test_udp_without_checksum_goes_with_no_outer_checksum),
		cmocka_unit_test(test_vlan_tag_is_kept_outside_the_encapsulation),
		cmocka_unit_test(test_chain_of_previous_owners_travels_in_the_header),
		cmocka_unit_test(test_gue_syn_for_this_owner_is_decapsulated_and_passed),
		cmocka_unit_test(test_ipv6_fabric_gue_is_decapsulated_and_passed),
		cmocka_unit_test(test_receiver_takes_the_carried_bucket_and_never_rehashes),
		cmocka_unit_test(test_gue_for_another_owner_is_rewritten_for_it),
		cmocka_unit_test(test_gue_back_to_its_sender_is_passed_not_returned),
		cmocka_unit_test(test_second_hop_gue_is_always_passed),
		cmocka_unit_test(test_receiver_asks_the_carried_chain_when_its_table_has_none),
		cmocka_unit_test(test_receiver_named_in_the_chain_keeps_a_flow_it_holds),
		cmocka_unit_test(test_gue_from_a_spoofed_source_is_dropped),
		cmocka_unit_test(test_gue_from_an_unknown_or_own_id_is_dropped),
		cmocka_unit_test(test_malformed_gue_headers_are_dropped),
		cmocka_unit_test(test_truncated_gue_is_dropped),
		cmocka_unit_test(test_fragmented_outer_is_the_kernels_optioned_outer_dropped),
		cmocka_unit_test(test_gue_holding_no_vip_packet_is_dropped),
		cmocka_unit_test(test_other_traffic_to_the_node_address_passes),
		cmocka_unit_test(test_per_peer_forwarding_l2_to_one_gue_to_another),
		cmocka_unit_test(test_l2_frame_from_a_peer_goes_on_to_a_gue_peer_as_hop_two),
		cmocka_unit_test(test_gue_from_a_peer_goes_on_to_an_l2_peer_stripped),
		cmocka_unit_test(test_unresolvable_next_hop_is_reported_and_counted),
		cmocka_unit_test(test_next_hop_behind_another_interface_is_refused),
		cmocka_unit_test(test_next_hops_follow_a_route_change),
		cmocka_unit_test(test_node_that_left_the_config_still_takes_its_gue),
		cmocka_unit_test(test_too_big_with_df_draws_fragmentation_needed),
		cmocka_unit_test(test_too_big_ipv6_draws_packet_too_big),
		cmocka_unit_test(test_too_big_without_df_is_served_here_or_dropped),
		cmocka_unit_test(test_packet_that_just_fits_is_encapsulated),
	};

	return cmocka_run_group_tests_name("gue", tests, setup, teardown);
}
