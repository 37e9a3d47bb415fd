// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BPF_PROG_TEST_RUN fixtures for the XDP program: every branch of DESIGN.md §3
 * on real frames, configured through libshoal. Each case checks the verdict,
 * the exact output bytes and the one counter that moved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "fixture.h"
#include "expect.h"
#include "shoal/hash.h"

static struct shoal *dp;		/* this node is A */
static int est_client = -1, est_server = -1;	/* FX_CLIENT_LOCAL:40001 <-> VIP4:80 */
static int est6_client = -1, est6_server = -1;	/* FX_CLIENT6_LOCAL:40002 <-> VIP6:443 */
static int any_listener = -1;			/* VIP4_ANY:8080, for request socks and cookies */
#define TW_PORT 40003	/* FX_CLIENT_LOCAL:40003 <-> VIP4:80 ended: the server side in time-wait */
#define FW2_PORT 40004	/* FX_CLIENT_LOCAL:40004 <-> VIP4:80: the server closed, the client not yet */
static int fw2_client = -1;

#define CLIENT "198.18.3.7"	/* a client with no socket anywhere */

static void expect_drop(const struct fx_result *r, int reason)
{
	expect_reason(r, reason);
	assert_int_equal(r->action, XDP_DROP);
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(r->out, r->in, r->in_len);
}

static void expect_tx(const struct fx_result *r, int reason, __u16 to, int hop)
{
	__u8 exp[2048];

	expect_reason(r, reason);
	assert_int_equal(r->action, XDP_TX);
	assert_int_equal(r->trace.target, to);
	assert_int_equal(r->out_len, r->in_len);
	fx_expect_forward(r, to, hop, exp);
	assert_memory_equal(r->out, exp, r->in_len);
}

static void run(const struct pkt_spec *s, struct fx_result *r)
{
	assert_int_equal(fx_run(dp, s, r), 0);
}

static void table(__u16 owner, const __u16 *prev, int nprev, int live)
{
	assert_int_equal(fx_table_uniform(dp, owner, prev, nprev, live), 0);
}

#define PREV(...) ((const __u16[]){ __VA_ARGS__ }), (int)(sizeof((const __u16[]){ __VA_ARGS__ }) / sizeof(__u16))

/* ---- I4: what is not for a VIP passes untouched ---- */

static void test_arp_passes_untouched(void **st)
{
	__u8 f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0xfe, 0x08, 0x06 };
	struct fx_result r;

	(void)st;
	memset(f + 14, 0x11, sizeof(f) - 14);
	assert_int_equal(fx_run_raw(dp, f, sizeof(f), &r), 0);
	expect_pass(&r, SHOAL_R_PASS_NOT_IP);
}

static void test_lldp_passes_untouched(void **st)
{
	__u8 f[60] = { 0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 0xfe, 0x88, 0xcc };
	struct fx_result r;

	(void)st;
	assert_int_equal(fx_run_raw(dp, f, sizeof(f), &r), 0);
	expect_pass(&r, SHOAL_R_PASS_NOT_IP);
}

static void test_ipv4_non_vip_passes_untouched(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, "198.18.2.1", 22, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NOT_VIP);
	assert_false(r.trace.flags & SHOAL_TRACE_F_VIP);
}

static void test_ipv6_non_vip_passes_untouched(void **st)
{
	struct pkt_spec s = fx_tcp6("2001:db8:ff::10", 1234, "2001:db8::99", 443, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NOT_VIP);
}

static void test_vip_address_other_port_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 22, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NOT_VIP);
}

static void test_icmp_echo_to_vip_is_answered_here(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 0, FX_VIP4, 0, 0);
	__u8 echo[8] = { 8, 0, 0xf7, 0xff, 0, 0, 0, 0 };
	struct fx_result r;

	(void)st;
	s.proto = IPPROTO_ICMP;
	s.payload = echo;
	s.payload_len = sizeof(echo);
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_ICMP_ECHO);
}

static void test_unconfigured_node_passes_everything(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;
	struct shoal *fresh;

	(void)st;
	assert_int_equal(shoal_create(&fresh, NULL, 251), 0);
	assert_int_equal(fx_run(fresh, &s, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_UNCONFIGURED);
	shoal_close(fresh);
}

/* ---- first hop: the current owner and forwarding to it ---- */

static void test_syn_to_local_owner_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_SYN);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_syn_to_remote_owner_forwards(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	assert_int_equal(r.trace.owner, FX_B);
	assert_int_equal(r.trace.hop_in, 0);
}

static void test_ack_to_stable_local_bucket_needs_no_lookup(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_OWNER);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_ack_to_remote_owner_forwards(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK | PKT_TCP_PSH);
	struct fx_result r;

	(void)st;
	table(FX_C, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_C, 1);
}

static void test_udp_to_local_owner_passes(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 5353, FX_VIP4, 53);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_UDP);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_udp_to_remote_owner_forwards(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 5353, FX_VIP4, 53);
	struct fx_result r;

	(void)st;
	table(FX_D, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_D, 1);
}

static void test_ipv6_syn_to_remote_owner_forwards(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
}

static void test_ipv6_udp_to_local_owner_passes(void **st)
{
	struct pkt_spec s = fx_udp6(FX_CLIENT6, 1234, FX_VIP6, 53);
	struct fx_result r;

	(void)st;
	table(FX_A, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_UDP);
}

static void test_any_port_vip_matches_every_port(void **st)
{
	__u16 ports[] = { 1, 80, 8080, 65535 };
	struct fx_result r;
	size_t i;

	(void)st;
	table(FX_B, NULL, 0, 1);
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct pkt_spec s = fx_tcp4(CLIENT, 999, FX_VIP4_ANY, ports[i], PKT_TCP_SYN);

		run(&s, &r);
		expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
		assert_true(r.trace.flags & SHOAL_TRACE_F_VIP);
	}
}

static void test_exact_port_wins_over_any_port(void **st)
{
	struct shoal_cluster c;
	struct shoal_vip_cfg v = {};
	struct shoal_apply_opts o = { .self = FX_A };
	struct pkt_spec s80 = fx_tcp4(CLIENT, 999, FX_VIP4_ANY, 80, PKT_TCP_SYN);
	struct pkt_spec s81 = fx_tcp4(CLIENT, 999, FX_VIP4_ANY, 81, PKT_TCP_SYN);
	struct fx_result r80, r81;
	struct shoal *s;
	char err[256];

	(void)st;
	fx_cluster(&c);
	shoal_parse_addr(FX_VIP4_ANY, &v.addr);
	v.port = 80;
	v.proto = IPPROTO_TCP;
	strcpy(v.pool, SHOAL_DEFAULT_POOL);
	assert_int_equal(shoal_cluster_add_vip(&c, &v), 0);
	assert_int_equal(shoal_create(&s, NULL, c.m), 0);
	assert_int_equal(shoal_cluster_apply(s, &c, &o, NULL, err, sizeof(err)), 0);
	assert_int_equal(fx_run(s, &s80, &r80), 0);
	assert_int_equal(fx_run(s, &s81, &r81), 0);
	assert_true(r80.trace.flags & SHOAL_TRACE_F_VIP);
	assert_true(r81.trace.flags & SHOAL_TRACE_F_VIP);
	/* Port 80 hits its own entry, 81 the any-port one: different VIP ids. */
	assert_int_not_equal(r80.trace.vip, r81.trace.vip);
	shoal_close(s);
	shoal_cluster_free(&c);
}

static void test_per_vip_counters_count_packets_and_bytes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct shoal_counter before, after;
	struct fx_result r;

	(void)st;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	assert_int_equal(shoal_vipstats_read(dp, r.trace.vip, &before), 0);
	run(&s, &r);
	run(&s, &r);
	assert_int_equal(shoal_vipstats_read(dp, r.trace.vip, &after), 0);
	assert_int_equal(after.packets - before.packets, 2);
	assert_int_equal(after.bytes - before.bytes, 2 * r.in_len);
}

/* A weight-0 node owns no bucket: every new connection is forwarded. */
static void test_weight_zero_node_owns_nothing(void **st)
{
	struct shoal_apply_opts o = { .self = FX_A };
	struct shoal_cluster c;
	struct fx_result r;
	struct shoal *s;
	char err[256];
	int i, fwd = 0;

	(void)st;
	fx_cluster(&c);
	shoal_cluster_node_id(&c, FX_A)->weight = 0;
	assert_int_equal(shoal_create(&s, NULL, c.m), 0);
	assert_int_equal(shoal_cluster_apply(s, &c, &o, NULL, err, sizeof(err)), 0);
	for (i = 0; i < 300; i++) {
		struct pkt_spec p = fx_tcp4(CLIENT, (__u16)(10000 + i), FX_VIP4, 80, PKT_TCP_SYN);

		assert_int_equal(fx_run(s, &p, &r), 0);
		assert_int_equal(r.action, XDP_TX);
		assert_int_not_equal(r.trace.owner, FX_A);
		fwd++;
	}
	assert_int_equal(fwd, 300);
	shoal_close(s);
	shoal_cluster_free(&c);
}

/* The program's bucket is the one userspace computes with the shared hash. */
static void test_bucket_matches_userspace_hash(void **st)
{
	struct shoal_cluster c;
	struct fx_result r;
	int i;

	(void)st;
	fx_cluster(&c);
	table(FX_B, NULL, 0, 1);
	for (i = 0; i < 50; i++) {
		struct pkt_spec s = fx_tcp4(CLIENT, (__u16)(2000 + i * 7), FX_VIP4, 80, PKT_TCP_SYN);
		__u64 h;

		run(&s, &r);
		h = shoal_flow_hash4(c.seed, s.src.a[0], s.dst.a[0], htons(s.sport), htons(s.dport),
				     IPPROTO_TCP);
		assert_int_equal(r.trace.hash, (__u32)(h >> 32));
		assert_int_equal(r.trace.bucket, shoal_bucket_of(h, c.m));
	}
	shoal_cluster_free(&c);
}

/* ---- owner check and second chance ---- */

static void test_ack_with_established_socket_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_SOCKET);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
	assert_true(r.trace.flags & SHOAL_TRACE_F_FOUND);
}

static void test_ipv6_ack_with_established_socket_passes(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6_LOCAL, 40002, FX_VIP6, 443, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_C), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_SOCKET);
}

static void test_ack_without_socket_goes_to_previous_owner(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B, FX_C), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_B, 1);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
	assert_false(r.trace.flags & SHOAL_TRACE_F_FOUND);
}

static void test_ipv6_ack_without_socket_goes_to_previous_owner(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 40009, FX_VIP6, 443, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_D), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_D, 1);
}

static void test_fin_from_listener_only_goes_to_previous_owner(void **st)
{
	/* A listener matches the tuple but does not hold the flow. */
	struct pkt_spec s = fx_tcp4(CLIENT, 40123, FX_VIP4_ANY, 8080, PKT_TCP_FIN | PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_C), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_C, 1);
}

static void test_ack_with_request_socket_passes(void **st)
{
	struct pkt_spec syn = fx_tcp4(FX_CLIENT_FAR, 41000, FX_VIP4_ANY, 8080, PKT_TCP_SYN);
	struct pkt_spec ack;
	__u8 f[256];
	size_t len;
	__u32 seq;
	__u8 flags;
	struct fx_result r;

	(void)st;
	memcpy(syn.dst_mac, "\x02\x00\x00\x00\xaa\x00", 6);
	memcpy(syn.src_mac, "\x02\x00\x00\x00\xaa\x01", 6);
	syn.seq = 7777;
	len = pkt_build(&syn, f, sizeof(f));
	assert_int_equal(fx_inject(f, len), 0);
	/* The SYN-ACK proves the kernel made a request socket. */
	assert_int_equal(fx_capture_tcp(FX_CLIENT_FAR, 41000, &seq, &flags, 2000), 0);
	assert_int_equal(flags & (PKT_TCP_SYN | PKT_TCP_ACK), PKT_TCP_SYN | PKT_TCP_ACK);

	ack = fx_tcp4(FX_CLIENT_FAR, 41000, FX_VIP4_ANY, 8080, PKT_TCP_ACK);
	ack.seq = 7778;
	ack.ack = seq + 1;
	table(FX_A, PREV(FX_B), 1);
	run(&ack, &r);
	expect_pass(&r, SHOAL_R_PASS_SOCKET);
}

static int syncookie_ack(__u16 sport, int corrupt, struct fx_result *r)
{
	struct pkt_spec syn = fx_tcp4(FX_CLIENT_FAR, sport, FX_VIP4_ANY, 8080, PKT_TCP_SYN);
	struct pkt_spec ack;
	__u8 f[256];
	size_t len;
	__u32 seq;
	__u8 flags;
	int err;

	memcpy(syn.dst_mac, "\x02\x00\x00\x00\xaa\x00", 6);
	memcpy(syn.src_mac, "\x02\x00\x00\x00\xaa\x01", 6);
	syn.seq = 9000;
	len = pkt_build(&syn, f, sizeof(f));
	fx_sh("sysctl -qw net.ipv4.tcp_syncookies=2");
	err = fx_inject(f, len);
	if (!err)
		err = fx_capture_tcp(FX_CLIENT_FAR, sport, &seq, &flags, 2000);
	fx_sh("sysctl -qw net.ipv4.tcp_syncookies=1");
	if (err)
		return err;
	ack = fx_tcp4(FX_CLIENT_FAR, sport, FX_VIP4_ANY, 8080, PKT_TCP_ACK);
	ack.seq = 9001;
	ack.ack = seq + 1 + (corrupt ? 12345 : 0);
	return fx_run(dp, &ack, r);
}

static void test_ack_with_valid_syncookie_passes(void **st)
{
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	assert_int_equal(syncookie_ack(42000, 0, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_COOKIE);
}

static void test_ack_with_bad_syncookie_goes_to_previous_owner(void **st)
{
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	assert_int_equal(syncookie_ack(42001, 1, &r), 0);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_B, 1);
}

static void test_expired_previous_owner_is_ignored(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 0);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_OWNER);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_chain_skips_an_expired_previous_owner(void **st)
{
	struct shoal_bucket b = { .owner = FX_A, .prev = { FX_B, FX_C } };
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;
	__u32 now = shoal_now_ticks();

	(void)st;
	b.expire[0] = now - 5;
	b.expire[1] = now + 600;
	assert_int_equal(fx_table_bucket(dp, &b), 0);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_C, 1);
}

static void test_syn_at_owner_in_transition_passes_without_lookup(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B, FX_C, FX_D), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_SYN);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_previous_owner_with_socket_keeps_the_flow(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_PREV_SOCKET);
}

static void test_previous_owner_without_socket_forwards_to_owner(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

/*
 * A connection that ended here left a time-wait socket, and the client reuses
 * its port for a new connection, which landed on the bucket's new owner. A
 * previous owner that kept the frames would black-hole the new connection:
 * the owner is asked first.
 */
static void test_previous_owner_asks_the_owner_first_for_a_time_wait_flow(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, TW_PORT, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
	assert_false(r.trace.flags & SHOAL_TRACE_F_FOUND);
}

/*
 * A connection this node closed and the client has not: the kernel keeps it as
 * a time-wait socket in FIN_WAIT2, and it is alive - its frames stay here.
 */
static void test_previous_owner_keeps_a_connection_it_is_closing(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, FW2_PORT, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_PREV_SOCKET);
}

/* The owner holds no such connection and sends it back: time-wait answers it here. */
static void test_time_wait_flow_the_owner_sends_back_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, TW_PORT, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_PREV_SOCKET);
}

/*
 * The owner's own ended connection does not hide a live one down the chain: a
 * node that drained and came back within the time-wait period owns the bucket
 * again, while the client's new connection from the same port is on the
 * previous owner.
 */
static void test_owner_asks_the_previous_owner_past_its_time_wait_socket(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, TW_PORT, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_B, 1);
	assert_true(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
	assert_false(r.trace.flags & SHOAL_TRACE_F_FOUND);
}

static void test_outsider_does_not_look_up_sockets(void **st)
{
	/* A holds a socket for this flow but is neither owner nor previous owner. */
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_C), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

static void test_syn_at_previous_owner_goes_to_owner(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	assert_false(r.trace.flags & SHOAL_TRACE_F_LOOKUP);
}

/* ---- frames a peer forwarded ---- */

static void test_forwarded_syn_at_owner_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_SYN);
	assert_int_equal(r.trace.hop_in, 1);
	assert_int_equal(r.trace.sender, FX_B);
}

static void test_forwarded_ack_at_owner_gets_second_chance_as_hop2(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_A, PREV(FX_C), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_C, 2);
}

static void test_forwarded_ack_never_returns_to_sender(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_A, PREV(FX_B), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_OWNER);
}

static void test_forwarded_ack_skips_sender_in_chain(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_A, PREV(FX_B, FX_D), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_D, 2);
}

static void test_second_chance_from_owner_walks_the_chain(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_B, PREV(FX_A, FX_C), 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_PREV, FX_C, 2);
}

static void test_second_chance_from_owner_ends_the_chain(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_B, PREV(FX_A), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_CHAIN_END);
}

static void test_second_chance_finds_socket_at_previous_owner(void **st)
{
	struct pkt_spec s = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_B, PREV(FX_A, FX_C), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_PREV_SOCKET);
}

static void test_forwarded_to_wrong_owner_goes_on_as_hop2(void **st)
{
	/* B thinks A owns it; A's table says C: one more hop, marked final. */
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_C, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_C, 2);
}

static void test_forwarded_udp_whose_owner_is_the_sender_passes(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, FX_VIP4, 53);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_B, 1);
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NO_RETURN);
}

static void test_hop2_frame_always_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_C, 2);
	table(FX_B, PREV(FX_D), 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_HOP_LIMIT);
	assert_int_equal(r.trace.hop_in, 2);
}

static void test_frame_from_unknown_peer_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, 99, 1);
	table(FX_A, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_PEER);
}

static void test_frame_claiming_to_be_from_self_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	fx_from_peer(&s, FX_A, 1);
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_PEER);
}

static void test_forwarding_target_without_node_entry_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	table(77, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_NODE);
}

/* ---- TTL ---- */

static void test_ttl_one_is_not_forwarded(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.ttl = 1;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_TTL);
}

static void test_ipv6_hop_limit_one_is_not_forwarded(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.ttl = 1;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_TTL);
}

/* The incremental checksum equals a full recomputation for every TTL and source. */
static void test_ttl_checksum_update_is_exact(void **st)
{
	struct fx_result r;
	int ttl, i;

	(void)st;
	table(FX_B, NULL, 0, 1);
	for (ttl = 2; ttl <= 255; ttl += 11) {
		for (i = 0; i < 8; i++) {
			struct pkt_spec s = fx_tcp4(CLIENT, (__u16)(i * 7919), FX_VIP4, 80,
						    PKT_TCP_SYN);

			s.ttl = (__u8)ttl;
			s.src.a[0] = htonl(0xc6120000 | (__u32)(i * 0x1111 + ttl));
			run(&s, &r);
			expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
		}
	}
}

/* ---- malformed and unusual frames ---- */

static size_t build(const struct pkt_spec *s, __u8 *f)
{
	size_t n = pkt_build(s, f, 2048);

	assert_true(n > 0);
	return n;
}

static void test_truncated_ethernet_header_passes(void **st)
{
	/* BPF_PROG_TEST_RUN refuses frames shorter than ETH_HLEN: a 14-byte frame
	 * with a VLAN ethertype is the shortest cut the program can see. */
	__u8 f[16] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0xfe, 0x81, 0x00, 0, 1 };
	struct fx_result r;

	(void)st;
	assert_int_equal(fx_run_raw(dp, f, 16, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_SHORT);
	assert_int_equal(fx_run_raw(dp, f, 14, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_SHORT);
}

static void test_truncated_ipv4_header_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t cut;

	(void)st;
	build(&s, f);
	table(FX_B, NULL, 0, 1);
	/* Every cut inside the fixed IPv4 header. */
	for (cut = 14; cut < 34; cut++) {
		assert_int_equal(fx_run_raw(dp, f, cut, &r), 0);
		expect_pass(&r, SHOAL_R_PASS_SHORT);
	}
}

static void test_truncated_tcp_header_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t cut;

	(void)st;
	build(&s, f);
	table(FX_B, NULL, 0, 1);
	for (cut = 34; cut < 54; cut++) {
		/* Keep tot_len honest for the cut so only the L4 header is short. */
		f[16] = (__u8)((cut - 14) >> 8);
		f[17] = (__u8)(cut - 14);
		memcpy(f + 24, (__u16[]){ 0 }, 2);
		memcpy(f + 24, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
		assert_int_equal(fx_run_raw(dp, f, cut, &r), 0);
		expect_drop(&r, SHOAL_R_DROP_BAD_L4);
	}
}

static void test_truncated_udp_header_is_dropped(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, FX_VIP4, 53);
	__u8 f[2048];
	struct fx_result r;
	size_t cut;

	(void)st;
	build(&s, f);
	table(FX_B, NULL, 0, 1);
	for (cut = 34; cut < 42; cut++) {
		f[16] = (__u8)((cut - 14) >> 8);
		f[17] = (__u8)(cut - 14);
		assert_int_equal(fx_run_raw(dp, f, cut, &r), 0);
		expect_drop(&r, SHOAL_R_DROP_BAD_L4);
	}
}

static void test_truncated_ipv6_header_passes(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t cut;

	(void)st;
	build(&s, f);
	for (cut = 14; cut < 54; cut++) {
		assert_int_equal(fx_run_raw(dp, f, cut, &r), 0);
		expect_pass(&r, SHOAL_R_PASS_SHORT);
	}
}

static void test_ipv4_total_length_beyond_frame_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[17] += 1;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_IP);
}

static void test_ipv4_total_length_below_header_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[16] = 0;
	f[17] = 19;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_IP);
}

static void test_ipv4_bad_ihl_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;
	int ihl;

	(void)st;
	n = build(&s, f);
	table(FX_B, NULL, 0, 1);
	for (ihl = 0; ihl < 5; ihl++) {
		f[14] = (__u8)(0x40 | ihl);
		assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
		expect_drop(&r, SHOAL_R_DROP_BAD_IP);
	}
	/* IHL 15 says 60 bytes of header, beyond the 40 the packet has. */
	f[14] = 0x4f;
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_IP);
}

static void test_ipv4_wrong_version_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[14] = 0x65;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_IP);
}

static void test_ipv4_options_are_skipped(void **st)
{
	static const __u8 opts[40] = { 0x01, 0x01, 0x01, 0x01, 0x94, 0x04, 0, 0 };
	struct fx_result r, plain;
	int len;

	(void)st;
	table(FX_B, NULL, 0, 1);
	for (len = 4; len <= 40; len += 4) {
		struct pkt_spec s = fx_tcp4(CLIENT, 4321, FX_VIP4, 80, PKT_TCP_SYN);
		struct pkt_spec p = s;

		s.ip4_opts = opts;
		s.ip4_opts_len = (size_t)len;
		run(&s, &r);
		expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
		run(&p, &plain);
		/* Keyed on the same ports: options did not shift the L4 header. */
		assert_int_equal(r.trace.bucket, plain.trace.bucket);
	}
}

static void test_ethernet_padding_is_accepted(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	memset(f + n, 0, 10);
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n + 10, &r), 0);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
}

static void test_tcp_data_offset_below_five_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[34 + 12] = 4 << 4;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

static void test_udp_length_below_header_is_dropped(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, FX_VIP4, 53);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[34 + 4] = 0;
	f[34 + 5] = 7;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

/* L4 headers must lie inside the IP packet, not in Ethernet padding after it. */
static void test_tcp_header_in_padding_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[16] = 0;
	f[17] = 20;	/* tot_len: the IP header alone */
	memcpy(f + 24, (__u16[]){ 0 }, 2);
	memcpy(f + 24, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

static void test_tcp_options_beyond_segment_are_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[34 + 12] = 15 << 4;	/* 60 bytes of TCP header in a 20-byte segment */
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

static void test_udp_length_beyond_packet_is_dropped(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, FX_VIP4, 53);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[34 + 4] = 0x03;	/* 1000 bytes claimed, 8 present */
	f[34 + 5] = 0xe8;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

static void test_ipv6_udp_length_beyond_payload_is_dropped(void **st)
{
	struct pkt_spec s = fx_udp6(FX_CLIENT6, 1234, FX_VIP6, 53);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[54 + 4] = 0;
	f[54 + 5] = 9;
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_L4);
}

static void test_ipv4_tcp_fragment_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	s.frag_off = 0x2000; /* MF, offset 0 */
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_FRAG);
	s.frag_off = 0x0010; /* a later fragment */
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_FRAG);
}

static void test_ipv4_udp_fragment_is_served_locally(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, FX_VIP4, 53);
	struct fx_result r;

	(void)st;
	s.frag_off = 0x0020;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_FRAG_UDP);
}

static void test_fragment_of_non_vip_protocol_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 0, FX_VIP4, 0, 0);
	__u8 payload[16] = { 8 };
	struct fx_result r;

	(void)st;
	s.proto = IPPROTO_ICMP;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.frag_off = 0x2000;
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NOT_VIP);
}

static void ext_hdr(__u8 *p, __u8 next, __u8 len8)
{
	memset(p, 0, (size_t)(len8 + 1) * 8);
	p[0] = next;
	p[1] = len8;
	p[2] = 1; /* PadN option keeps the header well formed */
	p[3] = (__u8)((len8 + 1) * 8 - 4);
}

static void test_ipv6_extension_headers_are_walked(void **st)
{
	__u8 ext[8 + 16 + 24];
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct pkt_spec plain = s;
	struct fx_result r, rp;

	(void)st;
	ext_hdr(ext, IPPROTO_DSTOPTS, 0);		/* hop-by-hop, 8 bytes */
	ext_hdr(ext + 8, IPPROTO_ROUTING, 1);		/* destination options, 16 */
	ext_hdr(ext + 24, IPPROTO_TCP, 2);		/* routing, 24 */
	ext[24 + 2] = 0;				/* routing type 0, segments left 0 */
	ext[24 + 3] = 0;
	s.ip6_ext = ext;
	s.ip6_ext_len = sizeof(ext);
	s.ip6_ext_first = IPPROTO_HOPOPTS;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	run(&plain, &rp);
	assert_int_equal(r.trace.bucket, rp.trace.bucket);
}

static void test_ipv6_authentication_header_is_walked(void **st)
{
	__u8 ext[24] = { IPPROTO_TCP, 4 };	/* AH: (4 + 2) * 4 = 24 bytes */
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct pkt_spec plain = s;
	struct fx_result r, rp;

	(void)st;
	s.ip6_ext = ext;
	s.ip6_ext_len = sizeof(ext);
	s.ip6_ext_first = IPPROTO_AH;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
	run(&plain, &rp);
	assert_int_equal(r.trace.bucket, rp.trace.bucket);
}

static void test_ipv6_too_many_extension_headers_are_dropped(void **st)
{
	__u8 ext[8 * (SHOAL_MAX_EXTHDR + 1)];
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct fx_result r;
	int i;

	(void)st;
	for (i = 0; i <= SHOAL_MAX_EXTHDR; i++)
		ext_hdr(ext + 8 * i, i == SHOAL_MAX_EXTHDR ? IPPROTO_TCP : IPPROTO_DSTOPTS, 0);
	s.ip6_ext = ext;
	s.ip6_ext_len = sizeof(ext);
	s.ip6_ext_first = IPPROTO_DSTOPTS;
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_EXTHDR);
}

static void test_ipv6_cut_extension_header_is_dropped(void **st)
{
	__u8 ext[16];
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	ext_hdr(ext, IPPROTO_TCP, 1);
	s.ip6_ext = ext;
	s.ip6_ext_len = sizeof(ext);
	s.ip6_ext_first = IPPROTO_DSTOPTS;
	n = build(&s, f);
	/* Cut in the middle of the extension header, payload length to match. */
	n = 14 + 40 + 1;
	f[18] = 0;
	f[19] = 1;
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_EXTHDR);
}

static void test_ipv6_tcp_fragment_is_dropped(void **st)
{
	__u8 frag[8] = { IPPROTO_TCP, 0, 0x00, 0x01, 0, 0, 0, 42 };	/* offset 0, M set */
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_ACK);
	struct fx_result r;

	(void)st;
	s.ip6_ext = frag;
	s.ip6_ext_len = sizeof(frag);
	s.ip6_ext_first = IPPROTO_FRAGMENT;
	run(&s, &r);
	expect_drop(&r, SHOAL_R_DROP_FRAG);
}

static void test_ipv6_atomic_fragment_is_keyed_normally(void **st)
{
	__u8 frag[8] = { IPPROTO_TCP, 0, 0x00, 0x00, 0, 0, 0, 42 };	/* offset 0, M clear */
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.ip6_ext = frag;
	s.ip6_ext_len = sizeof(frag);
	s.ip6_ext_first = IPPROTO_FRAGMENT;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
}

static void test_ipv6_udp_fragment_is_served_locally(void **st)
{
	__u8 frag[8] = { IPPROTO_UDP, 0, 0x00, 0x08, 0, 0, 0, 42 };	/* offset 1 */
	struct pkt_spec s = fx_udp6(FX_CLIENT6, 1234, FX_VIP6, 53);
	struct fx_result r;

	(void)st;
	s.ip6_ext = frag;
	s.ip6_ext_len = sizeof(frag);
	s.ip6_ext_first = IPPROTO_FRAGMENT;
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_FRAG_UDP);
}

static void test_ipv6_payload_length_beyond_frame_is_dropped(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;
	size_t n;

	(void)st;
	n = build(&s, f);
	f[19] += 8;
	assert_int_equal(fx_run_raw(dp, f, n, &r), 0);
	expect_drop(&r, SHOAL_R_DROP_BAD_IP);
}

/* ---- VLAN tags ---- */

static void test_vlan_tagged_vip_is_forwarded_with_its_tag(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.nvlan = 1;
	s.vlan_id[0] = 100;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_B, 1);
}

static void test_qinq_tagged_vip_is_forwarded_with_its_tags(void **st)
{
	struct pkt_spec s = fx_tcp6(FX_CLIENT6, 1234, FX_VIP6, 443, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.nvlan = 2;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_id[0] = 10;
	s.vlan_id[1] = 20;
	table(FX_C, NULL, 0, 1);
	run(&s, &r);
	expect_tx(&r, SHOAL_R_TX_OWNER, FX_C, 1);
}

static void test_three_vlan_tags_pass_untouched(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct fx_result r;

	(void)st;
	s.nvlan = 3;
	table(FX_B, NULL, 0, 1);
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_VLAN_DEPTH);
}

static void test_vlan_tagged_non_vip_passes(void **st)
{
	struct pkt_spec s = fx_udp4(CLIENT, 1234, "198.18.9.9", 53);
	struct fx_result r;

	(void)st;
	s.nvlan = 1;
	s.vlan_id[0] = 7;
	run(&s, &r);
	expect_pass(&r, SHOAL_R_PASS_NOT_VIP);
}

static void test_truncated_vlan_tag_passes(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	__u8 f[2048];
	struct fx_result r;

	(void)st;
	s.nvlan = 2;
	build(&s, f);
	assert_int_equal(fx_run_raw(dp, f, 20, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_SHORT);
}

/* ---- the trace ---- */

static void test_trace_run_counts_nothing(void **st)
{
	struct pkt_spec s = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct shoal_counter before[SHOAL_R_MAX], after[SHOAL_R_MAX];
	struct shoal_run run;
	__u8 f[2048];
	size_t n = build(&s, f);

	(void)st;
	table(FX_B, NULL, 0, 1);
	assert_int_equal(shoal_stats_read(dp, before), 0);
	assert_int_equal(shoal_run(dp, f, n, true, &run), 0);
	assert_int_equal(shoal_stats_read(dp, after), 0);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(run.trace.reason, SHOAL_R_TX_OWNER);
	assert_int_equal(run.trace.owner, FX_B);
	assert_int_equal(run.action, XDP_TX);
}

/* ---- setup ---- */

static int group_setup(void **st)
{
	(void)st;
	if (fx_enter())
		return -1;
	dp = fx_dataplane(FX_A);
	if (!dp)
		return -1;
	est_client = fx_connect(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, &est_server);
	est6_client = fx_connect(FX_CLIENT6_LOCAL, 40002, FX_VIP6, 443, &est6_server);
	any_listener = fx_listen(FX_VIP4_ANY, 8080);
	if (est_client < 0 || est6_client < 0 || any_listener < 0) {
		fprintf(stderr, "sockets: %d %d %d\n", est_client, est6_client, any_listener);
		return -1;
	}
	{
		/* The server closes first, so its side ends in time-wait. */
		int srv, cli = fx_connect(FX_CLIENT_LOCAL, TW_PORT, FX_VIP4, 80, &srv);

		if (cli < 0) {
			fprintf(stderr, "time-wait socket: %d\n", cli);
			return -1;
		}
		close(srv);
		usleep(50000);
		close(cli);
		usleep(50000);
		if (fx_sh("ss -Htn state time-wait 'sport = :80 and dport = :%d' | grep -q .", TW_PORT)) {
			fprintf(stderr, "no time-wait socket for port %d\n", TW_PORT);
			return -1;
		}
		/* The server closes, the client stays: an orphan in FIN_WAIT2 (a time-wait socket). */
		fw2_client = fx_connect(FX_CLIENT_LOCAL, FW2_PORT, FX_VIP4, 80, &srv);
		if (fw2_client < 0)
			return -1;
		close(srv);
		usleep(50000);
		if (fx_sh("ss -Htn state fin-wait-2 'sport = :80 and dport = :%d' | grep -q .", FW2_PORT)) {
			fprintf(stderr, "no fin-wait-2 socket for port %d\n", FW2_PORT);
			return -1;
		}
	}
	return 0;
}

static int group_teardown(void **st)
{
	(void)st;
	shoal_close(dp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_passes_untouched),
		cmocka_unit_test(test_lldp_passes_untouched),
		cmocka_unit_test(test_ipv4_non_vip_passes_untouched),
		cmocka_unit_test(test_ipv6_non_vip_passes_untouched),
		cmocka_unit_test(test_vip_address_other_port_passes),
		cmocka_unit_test(test_icmp_echo_to_vip_is_answered_here),
		cmocka_unit_test(test_unconfigured_node_passes_everything),
		cmocka_unit_test(test_syn_to_local_owner_passes),
		cmocka_unit_test(test_syn_to_remote_owner_forwards),
		cmocka_unit_test(test_ack_to_stable_local_bucket_needs_no_lookup),
		cmocka_unit_test(test_ack_to_remote_owner_forwards),
		cmocka_unit_test(test_udp_to_local_owner_passes),
		cmocka_unit_test(test_udp_to_remote_owner_forwards),
		cmocka_unit_test(test_ipv6_syn_to_remote_owner_forwards),
		cmocka_unit_test(test_ipv6_udp_to_local_owner_passes),
		cmocka_unit_test(test_any_port_vip_matches_every_port),
		cmocka_unit_test(test_exact_port_wins_over_any_port),
		cmocka_unit_test(test_per_vip_counters_count_packets_and_bytes),
		cmocka_unit_test(test_weight_zero_node_owns_nothing),
		cmocka_unit_test(test_bucket_matches_userspace_hash),
		cmocka_unit_test(test_ack_with_established_socket_passes),
		cmocka_unit_test(test_ipv6_ack_with_established_socket_passes),
		cmocka_unit_test(test_ack_without_socket_goes_to_previous_owner),
		cmocka_unit_test(test_ipv6_ack_without_socket_goes_to_previous_owner),
		cmocka_unit_test(test_fin_from_listener_only_goes_to_previous_owner),
		cmocka_unit_test(test_ack_with_request_socket_passes),
		cmocka_unit_test(test_ack_with_valid_syncookie_passes),
		cmocka_unit_test(test_ack_with_bad_syncookie_goes_to_previous_owner),
		cmocka_unit_test(test_expired_previous_owner_is_ignored),
		cmocka_unit_test(test_chain_skips_an_expired_previous_owner),
		cmocka_unit_test(test_syn_at_owner_in_transition_passes_without_lookup),
		cmocka_unit_test(test_previous_owner_with_socket_keeps_the_flow),
		cmocka_unit_test(test_previous_owner_asks_the_owner_first_for_a_time_wait_flow),
		cmocka_unit_test(test_previous_owner_keeps_a_connection_it_is_closing),
		cmocka_unit_test(test_time_wait_flow_the_owner_sends_back_passes),
		cmocka_unit_test(test_owner_asks_the_previous_owner_past_its_time_wait_socket),
		cmocka_unit_test(test_previous_owner_without_socket_forwards_to_owner),
		cmocka_unit_test(test_outsider_does_not_look_up_sockets),
		cmocka_unit_test(test_syn_at_previous_owner_goes_to_owner),
		cmocka_unit_test(test_forwarded_syn_at_owner_passes),
		cmocka_unit_test(test_forwarded_ack_at_owner_gets_second_chance_as_hop2),
		cmocka_unit_test(test_forwarded_ack_never_returns_to_sender),
		cmocka_unit_test(test_forwarded_ack_skips_sender_in_chain),
		cmocka_unit_test(test_second_chance_from_owner_walks_the_chain),
		cmocka_unit_test(test_second_chance_from_owner_ends_the_chain),
		cmocka_unit_test(test_second_chance_finds_socket_at_previous_owner),
		cmocka_unit_test(test_forwarded_to_wrong_owner_goes_on_as_hop2),
		cmocka_unit_test(test_forwarded_udp_whose_owner_is_the_sender_passes),
		cmocka_unit_test(test_hop2_frame_always_passes),
		cmocka_unit_test(test_frame_from_unknown_peer_is_dropped),
		cmocka_unit_test(test_frame_claiming_to_be_from_self_is_dropped),
		cmocka_unit_test(test_forwarding_target_without_node_entry_is_dropped),
		cmocka_unit_test(test_ttl_one_is_not_forwarded),
		cmocka_unit_test(test_ipv6_hop_limit_one_is_not_forwarded),
		cmocka_unit_test(test_ttl_checksum_update_is_exact),
		cmocka_unit_test(test_truncated_ethernet_header_passes),
		cmocka_unit_test(test_truncated_ipv4_header_passes),
		cmocka_unit_test(test_truncated_tcp_header_is_dropped),
		cmocka_unit_test(test_truncated_udp_header_is_dropped),
		cmocka_unit_test(test_truncated_ipv6_header_passes),
		cmocka_unit_test(test_ipv4_total_length_beyond_frame_is_dropped),
		cmocka_unit_test(test_ipv4_total_length_below_header_is_dropped),
		cmocka_unit_test(test_ipv4_bad_ihl_is_dropped),
		cmocka_unit_test(test_ipv4_wrong_version_is_dropped),
		cmocka_unit_test(test_ipv4_options_are_skipped),
		cmocka_unit_test(test_ethernet_padding_is_accepted),
		cmocka_unit_test(test_tcp_data_offset_below_five_is_dropped),
		cmocka_unit_test(test_udp_length_below_header_is_dropped),
		cmocka_unit_test(test_tcp_header_in_padding_is_dropped),
		cmocka_unit_test(test_tcp_options_beyond_segment_are_dropped),
		cmocka_unit_test(test_udp_length_beyond_packet_is_dropped),
		cmocka_unit_test(test_ipv6_udp_length_beyond_payload_is_dropped),
		cmocka_unit_test(test_ipv4_tcp_fragment_is_dropped),
		cmocka_unit_test(test_ipv4_udp_fragment_is_served_locally),
		cmocka_unit_test(test_fragment_of_non_vip_protocol_passes),
		cmocka_unit_test(test_ipv6_extension_headers_are_walked),
		cmocka_unit_test(test_ipv6_authentication_header_is_walked),
		cmocka_unit_test(test_ipv6_too_many_extension_headers_are_dropped),
		cmocka_unit_test(test_ipv6_cut_extension_header_is_dropped),
		cmocka_unit_test(test_ipv6_tcp_fragment_is_dropped),
		cmocka_unit_test(test_ipv6_atomic_fragment_is_keyed_normally),
		cmocka_unit_test(test_ipv6_udp_fragment_is_served_locally),
		cmocka_unit_test(test_ipv6_payload_length_beyond_frame_is_dropped),
		cmocka_unit_test(test_vlan_tagged_vip_is_forwarded_with_its_tag),
		cmocka_unit_test(test_qinq_tagged_vip_is_forwarded_with_its_tags),
		cmocka_unit_test(test_three_vlan_tags_pass_untouched),
		cmocka_unit_test(test_vlan_tagged_non_vip_passes),
		cmocka_unit_test(test_truncated_vlan_tag_passes),
		cmocka_unit_test(test_trace_run_counts_nothing),
	};

	return cmocka_run_group_tests_name("dataplane", tests, group_setup, group_teardown);
}
