// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BPF_PROG_TEST_RUN fixtures for ICMP to a VIP: echo requests are answered by
 * the node that receives them; errors about a VIP flow (destination
 * unreachable, fragmentation needed, time exceeded, ICMPv6 packet too big)
 * go to that flow's owner, keyed by the header they quote; nothing else is
 * sent anywhere on anyone's behalf.
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

static struct shoal *dp;	/* node A, L2 */
static struct shoal *dpg;	/* node A, GUE over IPv4 */
static int est_client = -1, est_server = -1;	/* FX_CLIENT_LOCAL:40001 <-> VIP4:80 */

#define CLIENT	"198.18.3.7"
#define CLIENT6	"2001:db8:ff::77"
#define ROUTER_ADDR "198.18.1.254"	/* some router on the path */

static void expect_tx_l2(const struct fx_result *r, int reason, __u16 to)
{
	__u8 exp[2048];

	expect_reason(r, reason);
	assert_int_equal(r->action, XDP_TX);
	assert_int_equal(r->trace.target, to);
	fx_expect_forward(r, to, 1, exp);
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(r->out, exp, r->in_len);
}

static void table(struct shoal *s, __u16 owner, const __u16 *prev, int nprev)
{
	assert_int_equal(fx_table_uniform(s, owner, prev, nprev, 1), 0);
}

#define PREV(...) ((const __u16[]){ __VA_ARGS__ }), (int)(sizeof((const __u16[]){ __VA_ARGS__ }) / sizeof(__u16))

/*
 * An ICMP error from `from` to the VIP about a packet the VIP sent to the
 * client: the quote is the IP header and the first 8 bytes of `quoted`
 * (a VIP -> client frame), as RFC 792 asks.
 */
static size_t icmp_error(const char *from, const struct pkt_spec *quoted, __u8 type, __u8 code,
			 __u32 rest, size_t qlen, __u8 *out)
{
	__u8 q[2048], msg[600];
	struct pkt_spec s = {};
	size_t n = pkt_build(quoted, q, sizeof(q)), hl;
	int v6 = quoted->dst.family == 6;

	assert_true(n > 0);
	hl = v6 ? 40 : (size_t)(q[14] & 0xf) * 4;
	if (!qlen)
		qlen = hl + 8;
	memset(msg, 0, 8);
	msg[0] = type;
	msg[1] = code;
	msg[4] = (__u8)(rest >> 24);
	msg[5] = (__u8)(rest >> 16);
	msg[6] = (__u8)(rest >> 8);
	msg[7] = (__u8)rest;
	memcpy(msg + 8, q + 14, qlen);
	memcpy(s.dst_mac, fx_mac[FX_A], 6);
	memcpy(s.src_mac, fx_mac[0], 6);
	shoal_parse_addr(from, &s.src);
	s.dst = quoted->src;
	s.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	s.payload = msg;
	s.payload_len = 8 + qlen;
	n = pkt_build(&s, out, 2048);
	assert_true(n > 0);
	return n;
}

/* The VIP's reply direction of a client's flow. */
static struct pkt_spec reply4(const char *client, __u16 cport, const char *vip, __u16 vport,
			      __u8 proto)
{
	struct pkt_spec s = proto == IPPROTO_TCP ? fx_tcp4(vip, vport, client, cport, PKT_TCP_ACK) :
						   fx_udp4(vip, vport, client, cport);

	return s;
}

static void run_raw(struct shoal *s, const __u8 *f, size_t n, struct fx_result *r)
{
	assert_int_equal(fx_run_raw(s, f, n, r), 0);
}

/* The bucket the client's own packets of this flow land in, by the data plane's trace. */
static __u32 forward_bucket(const char *client, __u16 cport, const char *vip, __u16 vport, __u8 proto)
{
	struct pkt_spec s = proto == IPPROTO_TCP ? fx_tcp4(client, cport, vip, vport, PKT_TCP_ACK) :
						   fx_udp4(client, cport, vip, vport);
	struct fx_result r;

	if (strchr(vip, ':'))
		s = fx_tcp6(client, cport, vip, vport, PKT_TCP_ACK);
	assert_int_equal(fx_run(dp, &s, &r), 0);
	return r.trace.bucket;
}

static void test_echo_requests_to_a_vip_are_answered_here(void **st)
{
	__u8 echo[16] = { 8, 0 }, echo6[16] = { 128, 0 };
	struct pkt_spec s = fx_tcp4(CLIENT, 0, FX_VIP4, 0, 0);
	struct pkt_spec s6 = fx_tcp6(CLIENT6, 0, FX_VIP6, 0, 0);
	struct fx_result r;

	(void)st;
	table(dp, FX_B, NULL, 0);
	s.proto = IPPROTO_ICMP;
	s.payload = echo;
	s.payload_len = sizeof(echo);
	assert_int_equal(fx_run(dp, &s, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_ICMP_ECHO);
	s6.proto = IPPROTO_ICMPV6;
	s6.payload = echo6;
	s6.payload_len = sizeof(echo6);
	assert_int_equal(fx_run(dp, &s6, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_ICMP_ECHO);
}

static void test_fragmentation_needed_goes_to_the_flows_owner(void **st)
{
	struct pkt_spec q = reply4(CLIENT, 40100, FX_VIP4, 80, IPPROTO_TCP);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 0, f);
	table(dp, FX_C, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_tx_l2(&r, SHOAL_R_TX_OWNER, FX_C);
	assert_true(r.trace.flags & SHOAL_TRACE_F_ICMP);
	/* Keyed by the client's flow, not by the ICMP packet's own addresses. */
	assert_int_equal(r.trace.bucket, forward_bucket(CLIENT, 40100, FX_VIP4, 80, IPPROTO_TCP));
	table(dp, FX_A, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_pass(&r, SHOAL_R_PASS_OWNER);
}

static void test_port_unreachable_about_a_udp_flow_goes_to_its_owner(void **st)
{
	struct pkt_spec q = reply4(CLIENT, 5353, FX_VIP4, 53, IPPROTO_UDP);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	n = icmp_error(CLIENT, &q, 3, 3, 0, 0, f);
	table(dp, FX_B, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_tx_l2(&r, SHOAL_R_TX_OWNER, FX_B);
	table(dp, FX_A, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_pass(&r, SHOAL_R_PASS_UDP);
}

static void test_time_exceeded_about_any_port_vip_goes_to_its_owner(void **st)
{
	struct pkt_spec q = reply4(CLIENT, 40101, FX_VIP4_ANY, 8443, IPPROTO_TCP);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	n = icmp_error(ROUTER_ADDR, &q, 11, 0, 0, 0, f);
	table(dp, FX_D, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_tx_l2(&r, SHOAL_R_TX_OWNER, FX_D);
}

static void test_packet_too_big_goes_to_the_ipv6_flows_owner(void **st)
{
	struct pkt_spec q = fx_tcp6(FX_VIP6, 443, CLIENT6, 40102, PKT_TCP_ACK);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	n = icmp_error("2001:db8:ff::fe", &q, 2, 0, 1280, 0, f);
	table(dp, FX_B, NULL, 0);
	run_raw(dp, f, n, &r);
	expect_tx_l2(&r, SHOAL_R_TX_OWNER, FX_B);
	assert_int_equal(r.trace.bucket, forward_bucket(CLIENT6, 40102, FX_VIP6, 443, IPPROTO_TCP));
}

static void test_previous_owner_holding_the_flow_keeps_its_errors(void **st)
{
	struct pkt_spec q = reply4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, IPPROTO_TCP);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	assert_true(est_client >= 0);
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 0, f);
	table(dp, FX_B, PREV(FX_A));
	run_raw(dp, f, n, &r);
	/* The socket lookup ran on the quoted flow, turned round: it found A's connection. */
	expect_pass(&r, SHOAL_R_PASS_PREV_SOCKET);
	assert_true(r.trace.flags & SHOAL_TRACE_F_FOUND);
}

static void test_errors_about_no_vip_flow_are_left_to_the_kernel(void **st)
{
	/* Quoting a packet from another address, or from the VIP's address on another port. */
	struct pkt_spec other = reply4(CLIENT, 40103, "198.18.0.10", 80, IPPROTO_TCP);
	struct pkt_spec port = reply4(CLIENT, 40103, FX_VIP4, 9999, IPPROTO_TCP);
	__u8 ts[20] = { 13, 0 };
	struct pkt_spec tstamp = fx_tcp4(CLIENT, 0, FX_VIP4, 0, 0);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	table(dp, FX_B, NULL, 0);
	n = icmp_error(ROUTER_ADDR, &other, 3, 1, 0, 0, f);
	/* The error goes to the VIP, but is about the node's own address: the kernel's. */
	memcpy(f + 14 + 16, (__u32[]){ inet_addr(FX_VIP4) }, 4);
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	run_raw(dp, f, n, &r);
	expect_pass(&r, SHOAL_R_PASS_ICMP);
	n = icmp_error(ROUTER_ADDR, &port, 3, 1, 0, 0, f);
	run_raw(dp, f, n, &r);
	expect_pass(&r, SHOAL_R_PASS_ICMP);
	tstamp.proto = IPPROTO_ICMP;
	tstamp.payload = ts;
	tstamp.payload_len = sizeof(ts);
	assert_int_equal(fx_run(dp, &tstamp, &r), 0);
	expect_pass(&r, SHOAL_R_PASS_ICMP);
}

static void test_quote_with_extension_headers_is_left_to_the_kernel(void **st)
{
	static const __u8 dstopt[8] = { IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0 };
	struct pkt_spec q = fx_tcp6(FX_VIP6, 443, CLIENT6, 40106, PKT_TCP_ACK);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	q.ip6_ext = dstopt;
	q.ip6_ext_len = sizeof(dstopt);
	q.ip6_ext_first = IPPROTO_DSTOPTS;
	n = icmp_error("2001:db8:ff::fe", &q, 2, 0, 1280, 48 + 8, f);
	table(dp, FX_B, NULL, 0);
	run_raw(dp, f, n, &r);
	/* Its ports sit past the extension header: the flow cannot be keyed from the quote. */
	expect_pass(&r, SHOAL_R_PASS_ICMP);
}

static void test_cut_or_broken_quotes_are_dropped(void **st)
{
	struct pkt_spec q = reply4(CLIENT, 40104, FX_VIP4, 80, IPPROTO_TCP);
	struct fx_result r;
	__u8 f[2048];
	size_t n;

	(void)st;
	table(dp, FX_B, NULL, 0);
	/* Only 12 bytes of the quoted IP header. */
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 12, f);
	run_raw(dp, f, n, &r);
	expect_reason(&r, SHOAL_R_DROP_BAD_ICMP);
	assert_int_equal(r.action, XDP_DROP);
	/* The header, but not the ports. */
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 22, f);
	run_raw(dp, f, n, &r);
	expect_reason(&r, SHOAL_R_DROP_BAD_ICMP);
	/* A quoted header that is no IPv4 header. */
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 0, f);
	f[14 + 20 + 8] = 0x65;
	memcpy(f + 14 + 20 + 2, (__u16[]){ 0 }, 2);
	memcpy(f + 14 + 20 + 2, (__u16[]){ pkt_csum(f + 14 + 20, n - 34, 0) }, 2);
	run_raw(dp, f, n, &r);
	expect_reason(&r, SHOAL_R_DROP_BAD_ICMP);
	/* An ICMP header of 4 bytes. */
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 0, f);
	n = 14 + 20 + 4;
	f[14 + 3] = 24;
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	run_raw(dp, f, n, &r);
	expect_reason(&r, SHOAL_R_DROP_BAD_ICMP);
}

static void test_an_error_forwarded_by_gue_carries_a_valid_outer_checksum(void **st)
{
	struct pkt_spec q = reply4(CLIENT, 40105, FX_VIP4, 80, IPPROTO_TCP);
	struct fx_result r;
	__u8 f[2048];
	__u32 pseudo = 0, ulen;
	size_t n;
	int i;

	(void)st;
	n = icmp_error(ROUTER_ADDR, &q, 3, 4, 1400, 0, f);
	assert_int_equal(fx_table_uniform(dpg, FX_B, NULL, 0, 1), 0);
	run_raw(dpg, f, n, &r);
	expect_reason(&r, SHOAL_R_TX_OWNER);
	assert_true(r.trace.flags & SHOAL_TRACE_F_GUE_OUT);
	assert_int_equal(r.out_len, n + SHOAL_GUE_OVERHEAD4);
	ulen = (__u32)(r.out[14 + 20 + 4] << 8 | r.out[14 + 20 + 5]);
	for (i = 12; i < 20; i += 2)
		pseudo += (__u32)(r.out[14 + i] << 8 | r.out[15 + i]);
	pseudo += IPPROTO_UDP + ulen;
	assert_true(r.out[14 + 20 + 6] || r.out[14 + 20 + 7]);
	assert_int_equal(pkt_csum(r.out + 34, ulen, pseudo), 0);
	/* The inner ICMP packet, TTL one down, is otherwise the one that arrived. */
	f[14 + 8]--;
	memcpy(f + 14 + 10, (__u16[]){ pkt_ip4_csum(f + 14, 20) }, 2);
	assert_memory_equal(r.out + 14 + SHOAL_GUE_OVERHEAD4, f + 14, n - 14);
}

static int setup(void **st)
{
	struct shoal_cluster c;
	int server;

	(void)st;
	if (fx_enter())
		return -1;
	dp = fx_dataplane(FX_A);
	fx_cluster_gue(&c, 4);
	dpg = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	est_client = fx_connect(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, &server);
	est_server = server;
	return dp && dpg && est_client >= 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	shoal_close(dp);
	shoal_close(dpg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_requests_to_a_vip_are_answered_here),
		cmocka_unit_test(test_fragmentation_needed_goes_to_the_flows_owner),
		cmocka_unit_test(test_port_unreachable_about_a_udp_flow_goes_to_its_owner),
		cmocka_unit_test(test_time_exceeded_about_any_port_vip_goes_to_its_owner),
		cmocka_unit_test(test_packet_too_big_goes_to_the_ipv6_flows_owner),
		cmocka_unit_test(test_previous_owner_holding_the_flow_keeps_its_errors),
		cmocka_unit_test(test_errors_about_no_vip_flow_are_left_to_the_kernel),
		cmocka_unit_test(test_quote_with_extension_headers_is_left_to_the_kernel),
		cmocka_unit_test(test_cut_or_broken_quotes_are_dropped),
		cmocka_unit_test(test_an_error_forwarded_by_gue_carries_a_valid_outer_checksum),
	};

	return cmocka_run_group_tests_name("icmp", tests, setup, teardown);
}
