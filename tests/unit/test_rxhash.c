// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flow_hash: nic - the NIC's RX hash as the flow key. A device-bound program
 * cannot be test-run, so what the bound program does is checked on real
 * frames: injected on veth1, they reach the program bound to veth0 as skbs,
 * with the kernel's flow hash as their RX hash. Traces run on the unbound
 * twin, with the RX hash the caller names. And the rules: which configs may
 * key on the NIC's hash, and how two nodes' hashing is compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "fixture.h"
#include "expect.h"
#include "log.h"
#include "nic.h"
#include "shoal/hash.h"

#define M	4099	/* large enough that an RX-hash bucket is the software one by chance rarely */

static struct shoal *dp;	/* node A, GUE cluster, keyed on veth0's RX hash */

static __u32 sw_bucket(const struct pkt_spec *s)
{
	static const __u64 key[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

	return shoal_bucket_of(shoal_flow_hash4(key, s->src.a[0], s->dst.a[0], htons(s->sport),
						 htons(s->dport), s->proto), M);
}

/* Every bucket owned by `rest`, but those in `mine` (a list), owned by A. */
static void table_owned(const __u32 *mine, int n, __u16 rest)
{
	struct shoal_bucket *t = calloc(M, sizeof(*t));
	int i;

	for (i = 0; i < M; i++)
		t[i].owner = rest;
	for (i = 0; i < n; i++)
		t[mine[i]].owner = FX_A;
	assert_int_equal(shoal_table_stage(dp, 0, t), 0);
	assert_int_equal(shoal_commit(dp), 0);
	free(t);
}

static void counters(struct shoal_counter c[SHOAL_R_MAX], __u64 e[SHOAL_E_MAX])
{
	assert_int_equal(shoal_stats_read(dp, c), 0);
	assert_int_equal(shoal_events_read(dp, e), 0);
}

static void test_the_driver_says_it_hands_xdp_the_rx_hash(void **st)
{
	char why[160];

	(void)st;
	assert_int_equal(shoal_nic_rx_hash_probe((int)if_nametoindex("veth0"), why, sizeof(why)), 1);
	assert_non_null(strstr(why, "implements the XDP RX-hash hint"));
	/* The loopback has no XDP hints at all. */
	assert_int_equal(shoal_nic_rx_hash_probe((int)if_nametoindex("lo"), why, sizeof(why)), 0);
}

static void test_the_attached_program_is_bound_and_traces_run_unbound(void **st)
{
	__u8 frame[128] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));

	(void)st;
	assert_int_equal(shoal_conf(dp)->flow_hash, SHOAL_HASH_NIC);
	assert_int_equal(shoal_conf(dp)->hash_ifindex, if_nametoindex("veth0"));
	/* A device-bound program cannot be test-run; the library's traces use the twin. */
	assert_int_not_equal(bpf_prog_test_run_opts(shoal_prog_fd(dp), &o), 0);
	assert_int_equal(errno, EINVAL);
	{
		struct pkt_spec s = fx_tcp4("198.18.3.7", 40000, FX_VIP4, 80, PKT_TCP_SYN);
		struct fx_result r;

		assert_int_equal(fx_run(dp, &s, &r), 0);
		assert_int_equal(r.trace.bucket, sw_bucket(&s));
	}
}

static void test_a_trace_takes_the_rx_hash_it_is_given(void **st)
{
	struct pkt_spec s = fx_tcp4("198.18.3.7", 40001, FX_VIP4, 80, PKT_TCP_SYN);
	__u32 h = 0x9e3779b9, want = shoal_bucket_of((__u64)h << 32, M);
	struct shoal_run r;
	__u8 f[256];
	size_t n;

	(void)st;
	table_owned(&want, 1, FX_B);
	n = pkt_build(&s, f, sizeof(f));
	assert_int_equal(shoal_run_hash(dp, f, n, true, &h, &r), 0);
	assert_int_equal(r.trace.bucket, want);
	assert_true(r.trace.flags & SHOAL_TRACE_F_RX_HASH);
	assert_int_equal(r.trace.reason, SHOAL_R_PASS_SYN);
	/* Without it, the software hash's bucket, owned by B. */
	assert_int_equal(shoal_run(dp, f, n, true, &r), 0);
	assert_int_equal(r.trace.reason, SHOAL_R_TX_OWNER);
	assert_false(r.trace.flags & SHOAL_TRACE_F_RX_HASH);
}

static void test_live_frames_are_keyed_on_the_rx_hash_not_rehashed(void **st)
{
	struct shoal_counter c0[SHOAL_R_MAX], c1[SHOAL_R_MAX];
	__u64 e0[SHOAL_E_MAX], e1[SHOAL_E_MAX];
	__u32 mine[8];
	int i, k, moved = 0;

	(void)st;
	/*
	 * A owns exactly the buckets the software hash gives these 8 flows; B all
	 * others. Keyed on the RX hash, their SYNs land elsewhere: forwarded.
	 */
	for (i = 0; i < 8; i++) {
		struct pkt_spec s = fx_tcp4("198.18.3.7", (__u16)(41000 + i), FX_VIP4, 80, PKT_TCP_SYN);

		mine[i] = sw_bucket(&s);
	}
	table_owned(mine, 8, FX_B);
	counters(c0, e0);
	for (i = 0; i < 8; i++) {
		struct pkt_spec s = fx_tcp4("198.18.3.7", (__u16)(41000 + i), FX_VIP4, 80, PKT_TCP_SYN);
		__u8 f[256];
		size_t n = pkt_build(&s, f, sizeof(f));

		assert_int_equal(fx_inject(f, n), 0);
	}
	for (k = 0; k < 100 && moved < 8; k++) {
		usleep(10000);
		counters(c1, e1);
		moved = (int)(c1[SHOAL_R_TX_OWNER].packets - c0[SHOAL_R_TX_OWNER].packets +
			      c1[SHOAL_R_PASS_SYN].packets - c0[SHOAL_R_PASS_SYN].packets);
	}
	assert_int_equal(moved, 8);
	/* At most one of 8 by chance (1 in 4099 each) in A's buckets; every one keyed on the NIC's hash. */
	assert_true(c1[SHOAL_R_TX_OWNER].packets - c0[SHOAL_R_TX_OWNER].packets >= 7);
	assert_int_equal(e1[SHOAL_E_HASH_NO_NIC], e0[SHOAL_E_HASH_NO_NIC]);
	assert_int_equal(e1[SHOAL_E_HASH_NOT_L4], e0[SHOAL_E_HASH_NOT_L4]);
}

static void test_an_icmp_error_is_keyed_by_its_quote_and_counted(void **st)
{
	struct pkt_spec q = fx_tcp4(FX_VIP4, 80, "198.18.3.7", 41100, PKT_TCP_ACK);
	struct pkt_spec s = fx_tcp4("198.18.1.254", 0, FX_VIP4, 0, 0);
	__u64 e0[SHOAL_E_MAX], e1[SHOAL_E_MAX];
	struct shoal_counter c[SHOAL_R_MAX];
	__u8 qf[256], msg[64] = { 3, 4, 0, 0, 0, 0, 0x05, 0x78 }, f[256];
	size_t n;
	int k;

	(void)st;
	n = pkt_build(&q, qf, sizeof(qf));
	memcpy(msg + 8, qf + 14, 28);
	s.proto = IPPROTO_ICMP;
	s.payload = msg;
	s.payload_len = 36;
	n = pkt_build(&s, f, sizeof(f));
	counters(c, e0);
	assert_int_equal(fx_inject(f, n), 0);
	for (k = 0; k < 100; k++) {
		usleep(10000);
		counters(c, e1);
		if (e1[SHOAL_E_HASH_ICMP] != e0[SHOAL_E_HASH_ICMP])
			break;
	}
	/* The NIC hashed the ICMP packet, not the flow it quotes: software, counted. */
	assert_int_equal(e1[SHOAL_E_HASH_ICMP], e0[SHOAL_E_HASH_ICMP] + 1);
}

static void test_the_mode_cannot_change_in_place(void **st)
{
	struct shoal_apply_opts o = { .self = FX_A };
	struct shoal_cluster c;
	char err[512];

	(void)st;
	fx_cluster_gue(&c, 4);
	c.m = M;
	c.flow_hash = SHOAL_FH_SOFTWARE;
	assert_int_equal(shoal_cluster_apply(dp, &c, &o, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cluster.flow_hash: the running data plane keys flows on the NIC's hash"));
	c.flow_hash = SHOAL_FH_AUTO;	/* auto takes what runs */
	assert_int_equal(shoal_cluster_apply(dp, &c, &o, NULL, err, sizeof(err)), 0);
	shoal_cluster_free(&c);
}

static void test_nic_needs_gue_to_every_node(void **st)
{
	struct shoal_cluster c;
	struct shoal *s = NULL;
	char err[512], why[256];

	(void)st;
	fx_cluster_gue(&c, 4);
	c.flow_hash = SHOAL_FH_NIC;
	c.nodes[2].forwarding = SHOAL_FWD_L2;
	assert_int_equal(shoal_cluster_check(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cluster.flow_hash: nic: node 'c' is reached by L2"));
	/* auto settles for software there, and says why. */
	c.flow_hash = SHOAL_FH_AUTO;
	assert_int_equal(shoal_cluster_check(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(shoal_cluster_create(&s, NULL, &c, "veth0", why, sizeof(why)), 0);
	assert_int_equal(shoal_conf(s)->flow_hash, SHOAL_HASH_SOFTWARE);
	assert_non_null(strstr(why, "not every node is reached by GUE"));
	shoal_close(s);
	/* All GUE: auto takes the NIC's hash on a driver that hands it over. */
	c.nodes[2].forwarding = SHOAL_FWD_DEFAULT;
	assert_int_equal(shoal_cluster_create(&s, NULL, &c, "veth0", why, sizeof(why)), 0);
	assert_int_equal(shoal_conf(s)->flow_hash, SHOAL_HASH_NIC);
	shoal_close(s);
	/* nic on a device without the hint is refused with the reason. */
	c.flow_hash = SHOAL_FH_NIC;
	assert_int_not_equal(shoal_cluster_create(&s, NULL, &c, "lo", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "does not implement the XDP RX-hash hint"));
	shoal_cluster_free(&c);
}

static void test_an_upgrade_keeps_the_program_bound(void **st)
{
	__u8 frame[128] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));
	__u32 old_id, new_id;

	(void)st;
	assert_int_equal(shoal_upgrade(dp, NULL, false, &old_id, &new_id), 0);
	assert_int_not_equal(old_id, new_id);
	assert_int_not_equal(bpf_prog_test_run_opts(shoal_prog_fd(dp), &o), 0);
	assert_int_equal(errno, EINVAL);
	test_a_trace_takes_the_rx_hash_it_is_given(st);
}

/* An OBJECT of the other build would key flows in a way the config does not say. */
static void test_an_upgrade_takes_only_the_rx_hash_build(void **st)
{
	__u32 old_id, new_id, id = (__u32)shoal_prog_id(dp);

	(void)st;
	assert_int_equal(shoal_upgrade(dp, SHOAL_BUILD_DIR "/shoal.bpf.o", false, &old_id, &new_id),
			 -EINVAL);
	assert_non_null(strstr(shoal_last_error(), "is the software-hash build"));
	assert_int_equal(shoal_prog_id(dp), id);
	assert_int_equal(shoal_upgrade(dp, SHOAL_BUILD_DIR "/shoal_nic.bpf.o", false, &old_id,
				       &new_id), 0);
	assert_int_not_equal(new_id, id);
	test_live_frames_are_keyed_on_the_rx_hash_not_rehashed(st);
}

static void test_hash_reports_compare_what_matters(void **st)
{
	struct shoal_rss a = { .ok = true, .key_len = 40, .hfunc = 1,
			       .fields = { 0xf0, 0xf0, 0xf0, 0xf0 } }, b;
	static const __u64 seed[2] = { 1, 2 };
	struct shoal_hash_info x, y;
	char why[200];

	(void)st;
	memset(a.key, 0x6d, 40);
	b = a;
	shoal_hash_info_make(&a, SHOAL_HASH_NIC, seed, &x);
	shoal_hash_info_make(&b, SHOAL_HASH_NIC, seed, &y);
	assert_int_equal(shoal_hash_info_diff(&x, &y, why, sizeof(why)), 0);
	b.key[7] ^= 1;
	shoal_hash_info_make(&b, SHOAL_HASH_NIC, seed, &y);
	assert_int_equal(shoal_hash_info_diff(&x, &y, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "another RSS key"));
	b = a;
	b.fields[1] = 0x30;	/* udp4 on addresses only */
	shoal_hash_info_make(&b, SHOAL_HASH_NIC, seed, &y);
	assert_int_equal(shoal_hash_info_diff(&x, &y, why, sizeof(why)), 1);
	assert_string_equal(why, "udp4 hashes fields sdfn, this node sd");
	b = a;
	b.hfunc = 2;
	shoal_hash_info_make(&b, SHOAL_HASH_NIC, seed, &y);
	assert_int_equal(shoal_hash_info_diff(&x, &y, why, sizeof(why)), 1);
	assert_string_equal(why, "hash function toeplitz, this node xor");
	shoal_hash_info_make(&a, SHOAL_HASH_SOFTWARE, seed, &y);
	assert_int_equal(shoal_hash_info_diff(&x, &y, why, sizeof(why)), 1);
	/* The digest says nothing of the key without the seed. */
	assert_true(x.key_digest != 0);
	/* veth shows no RSS settings. */
	assert_int_equal(shoal_rss_read("veth0", &a), -EOPNOTSUPP);
	assert_false(a.ok);
}

static int setup(void **st)
{
	struct shoal_apply_opts o = { .self = FX_A };
	struct shoal_cluster c;
	char err[512], why[256];

	(void)st;
	if (fx_enter())
		return -1;
	fx_cluster_gue(&c, 4);
	c.m = M;
	c.flow_hash = SHOAL_FH_NIC;
	if (shoal_cluster_create(&dp, NULL, &c, "veth0", why, sizeof(why))) {
		fprintf(stderr, "create: %s\n", why);
		return -1;
	}
	if (shoal_cluster_apply(dp, &c, &o, NULL, err, sizeof(err)) ||
	    shoal_attach(dp, "veth0", SHOAL_XDP_NATIVE)) {
		fprintf(stderr, "apply: %s\n", err);
		return -1;
	}
	shoal_cluster_free(&c);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	shoal_destroy(dp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_driver_says_it_hands_xdp_the_rx_hash),
		cmocka_unit_test(test_the_attached_program_is_bound_and_traces_run_unbound),
		cmocka_unit_test(test_a_trace_takes_the_rx_hash_it_is_given),
		cmocka_unit_test(test_live_frames_are_keyed_on_the_rx_hash_not_rehashed),
		cmocka_unit_test(test_an_icmp_error_is_keyed_by_its_quote_and_counted),
		cmocka_unit_test(test_the_mode_cannot_change_in_place),
		cmocka_unit_test(test_nic_needs_gue_to_every_node),
		cmocka_unit_test(test_an_upgrade_keeps_the_program_bound),
		cmocka_unit_test(test_an_upgrade_takes_only_the_rx_hash_build),
		cmocka_unit_test(test_hash_reports_compare_what_matters),
	};

	return cmocka_run_group_tests_name("rxhash", tests, setup, teardown);
}
