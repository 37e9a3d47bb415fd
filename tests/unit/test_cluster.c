// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libshoal against a live kernel: pinning and adoption, attaching, and
 * applying cluster models to the maps - previous-owner bookkeeping through
 * changes, nothing half-applied, stable ids, identical tables on every node.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "fixture.h"
#include "log.h"

#define DRAIN_NS	(600ULL * 1000000000ULL)
#define CLIENT		"198.18.3.7"

static char err[512];

static struct shoal *fresh(const char *pin, const struct shoal_cluster *c, __u16 self, __u64 now)
{
	struct shoal_apply_opts o = { .self = self, .now_ns = now };
	struct shoal *s;

	assert_int_equal(shoal_create(&s, pin, c->m), 0);
	if (shoal_cluster_apply(s, c, &o, NULL, err, sizeof(err)))
		fail_msg("apply: %s", err);
	return s;
}

static int apply_at(struct shoal *s, const struct shoal_cluster *c, __u64 now,
		    struct shoal_apply_report *rep)
{
	struct shoal_apply_opts o = { .now_ns = now };

	return shoal_cluster_apply(s, c, &o, rep, err, sizeof(err));
}

static struct shoal_bucket *table_copy(struct shoal *s, __u8 pool)
{
	struct shoal_bucket *t = malloc(sizeof(*t) * shoal_m(s));

	assert_non_null(t);
	assert_int_equal(shoal_table_read(s, pool, t), 0);
	return t;
}

/* ---- lifecycle ---- */

static void test_create_pins_state_and_open_adopts_it(void **st)
{
	struct shoal_cluster c, back;
	struct shoal *s, *o;
	struct shoal_bucket *t1, *t2;
	size_t i;

	(void)st;
	fx_cluster(&c);
	s = fresh("/sys/fs/bpf/adopt", &c, FX_A, 0);
	assert_true(shoal_exists("/sys/fs/bpf/adopt"));
	t1 = table_copy(s, 0);
	shoal_close(s);

	assert_int_equal(shoal_open(&o, "/sys/fs/bpf/adopt"), 0);
	assert_int_equal(shoal_m(o), c.m);
	assert_int_equal(shoal_conf(o)->self, FX_A);
	t2 = table_copy(o, 0);
	assert_memory_equal(t1, t2, sizeof(*t1) * c.m);
	assert_int_equal(shoal_cluster_read(o, &back), 0);
	assert_int_equal(back.nnodes, c.nnodes);
	assert_int_equal(back.nvips, c.nvips);
	assert_int_equal(back.npools, 1);
	assert_int_equal(back.seed[0], c.seed[0]);
	assert_int_equal(back.seed[1], c.seed[1]);
	for (i = 0; i < c.nnodes; i++) {
		struct shoal_node_cfg *n = shoal_cluster_node(&back, c.nodes[i].name);

		assert_non_null(n);
		assert_int_equal(n->id, c.nodes[i].id);
		assert_memory_equal(n->mac, c.nodes[i].mac, 6);
		assert_true(shoal_addr_eq(&n->addr, &c.nodes[i].addr));
	}
	assert_int_equal(shoal_destroy(o), 0);
	assert_false(shoal_exists("/sys/fs/bpf/adopt"));
	free(t1);
	free(t2);
	shoal_cluster_free(&back);
	shoal_cluster_free(&c);
}

static void test_create_refuses_to_overwrite_state(void **st)
{
	struct shoal *s, *t;

	(void)st;
	assert_int_equal(shoal_create(&s, "/sys/fs/bpf/twice", 251), 0);
	assert_int_equal(shoal_create(&t, "/sys/fs/bpf/twice", 251), -EEXIST);
	assert_non_null(strstr(shoal_last_error(), "already holds"));
	assert_int_equal(shoal_destroy(s), 0);
}

static void test_open_without_state_says_so(void **st)
{
	struct shoal *s;

	(void)st;
	assert_int_equal(shoal_open(&s, "/sys/fs/bpf/nothing-here"), -ENOENT);
	assert_non_null(strstr(shoal_last_error(), "no shoal instance"));
}

static __u32 xdp_prog_on(const char *dev, __u32 mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query((int)if_nametoindex(dev), 0, &q))
		return 0;
	return q.attach_mode == mode ? q.prog_id : 0;
}

static void test_attach_is_pinned_and_survives_the_process(void **st)
{
	struct shoal_cluster c;
	struct shoal *s, *o;
	enum shoal_xdp_mode mode;
	int ifindex;

	(void)st;
	fx_cluster(&c);
	s = fresh("/sys/fs/bpf/att", &c, FX_A, 0);
	assert_int_equal(shoal_attach(s, "veth0", SHOAL_XDP_NATIVE), 0);
	/* Attaching again to the same device is a no-op, elsewhere an error. */
	assert_int_equal(shoal_attach(s, "veth0", SHOAL_XDP_NATIVE), 0);
	assert_int_equal(shoal_attach(s, "veth1", SHOAL_XDP_NATIVE), -EBUSY);
	shoal_close(s);
	/* The handle is gone; the pinned link keeps the program attached. */
	assert_int_not_equal(xdp_prog_on("veth0", XDP_ATTACHED_DRV), 0);

	assert_int_equal(shoal_open(&o, "/sys/fs/bpf/att"), 0);
	assert_int_equal(shoal_attachment(o, &ifindex, &mode), 0);
	assert_int_equal(ifindex, (int)if_nametoindex("veth0"));
	assert_int_equal(mode, SHOAL_XDP_NATIVE);
	assert_int_equal(shoal_destroy(o), 0);
	assert_int_equal(xdp_prog_on("veth0", XDP_ATTACHED_DRV), 0);
	shoal_cluster_free(&c);
}

static void test_generic_mode_only_when_asked(void **st)
{
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh("/sys/fs/bpf/gen", &c, FX_A, 0);
	assert_int_equal(shoal_attach(s, "veth1", SHOAL_XDP_GENERIC), 0);
	assert_int_not_equal(xdp_prog_on("veth1", XDP_ATTACHED_SKB), 0);
	assert_int_equal(xdp_prog_on("veth1", XDP_ATTACHED_DRV), 0);
	assert_int_equal(shoal_destroy(s), 0);
	assert_int_equal(xdp_prog_on("veth1", XDP_ATTACHED_SKB), 0);
	shoal_cluster_free(&c);
}

static void test_attach_to_missing_device_is_reported(void **st)
{
	struct shoal *s;

	(void)st;
	assert_int_equal(shoal_create(&s, NULL, 251), 0);
	assert_int_equal(shoal_attach(s, "nosuchdev0", SHOAL_XDP_NATIVE), -ENODEV);
	assert_non_null(strstr(shoal_last_error(), "nosuchdev0"));
	shoal_close(s);
}

static void test_pinned_state_is_root_only(void **st)
{
	struct shoal *s;
	struct stat sb;

	(void)st;
	assert_int_equal(shoal_create(&s, "/sys/fs/bpf/perm", 251), 0);
	assert_int_equal(stat("/sys/fs/bpf/perm", &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(shoal_destroy(s), 0);
}

/* ---- double buffering ---- */

static void test_staged_table_is_invisible_until_commit(void **st)
{
	struct shoal *s = fx_dataplane(FX_A);
	struct pkt_spec p = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct shoal_bucket *t, *now;
	struct fx_result r;
	__u32 i, m;

	(void)st;
	assert_non_null(s);
	m = shoal_m(s);
	assert_int_equal(fx_table_uniform(s, FX_B, NULL, 0, 1), 0);
	t = table_copy(s, 0);
	for (i = 0; i < m; i++)
		t[i].owner = FX_C;
	assert_int_equal(shoal_table_stage(s, 0, t), 0);
	/* Staged, not committed: the program and readers still see B. */
	assert_int_equal(fx_run(s, &p, &r), 0);
	assert_int_equal(r.trace.owner, FX_B);
	now = table_copy(s, 0);
	assert_int_equal(now[0].owner, FX_B);
	assert_int_equal(shoal_commit(s), 0);
	assert_int_equal(fx_run(s, &p, &r), 0);
	assert_int_equal(r.trace.owner, FX_C);
	free(now);
	now = table_copy(s, 0);
	assert_int_equal(now[m - 1].owner, FX_C);
	free(now);
	free(t);
	shoal_close(s);
}

/* ---- applying ---- */

static void snapshot(struct shoal *s, struct shoal_bucket **t, struct shoal_vip **v,
		     struct shoal_node *n)
{
	int id;

	memset(n, 0, sizeof(*n) * 16);
	*t = table_copy(s, 0);
	*v = malloc(sizeof(**v) * SHOAL_VIP_SLOTS);
	assert_non_null(*v);
	shoal_vips_read(s, *v);
	for (id = 1; id < 16; id++)
		assert_int_equal(shoal_node_get(s, (__u16)id, &n[id]), 0);
}

static void test_rejected_config_changes_nothing(void **st)
{
	struct shoal_cluster c, bad;
	struct shoal_bucket *t0, *t1;
	struct shoal_vip *v0, *v1;
	struct shoal_node n0[16], n1[16];
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	snapshot(s, &t0, &v0, n0);

	/* A VIP names a pool that does not exist. */
	assert_int_equal(shoal_cluster_copy(&bad, &c), 0);
	bad.nodes[1].weight = 7;
	strcpy(bad.vips[0].pool, "nope");
	assert_int_equal(apply_at(s, &bad, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "unknown pool 'nope'"));
	snapshot(s, &t1, &v1, n1);
	assert_memory_equal(t0, t1, sizeof(*t0) * c.m);
	assert_memory_equal(v0, v1, sizeof(*v0) * SHOAL_VIP_SLOTS);
	assert_memory_equal(n0, n1, sizeof(n0));
	free(t1);
	free(v1);

	/* Two nodes with one id. */
	bad.vips[0] = c.vips[0];
	bad.nodes[2].id = bad.nodes[1].id;
	assert_int_equal(apply_at(s, &bad, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "duplicate id"));
	snapshot(s, &t1, &v1, n1);
	assert_memory_equal(t0, t1, sizeof(*t0) * c.m);
	assert_memory_equal(n0, n1, sizeof(n0));

	free(t0);
	free(t1);
	free(v0);
	free(v1);
	shoal_cluster_free(&bad);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_new_seed_needs_force(void **st)
{
	struct shoal_apply_opts force = { .force = true };
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	c.seed[0] ^= 1;
	assert_int_equal(apply_at(s, &c, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "seed"));
	assert_int_not_equal(shoal_conf(s)->key[0], c.seed[0]);
	assert_int_equal(shoal_cluster_apply(s, &c, &force, NULL, err, sizeof(err)), 0);
	assert_int_equal(shoal_conf(s)->key[0], c.seed[0]);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_bucket_count_cannot_change_in_place(void **st)
{
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	c.m = 257;
	assert_int_equal(apply_at(s, &c, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "M=251"));
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_apply_needs_an_identity(void **st)
{
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	assert_int_equal(shoal_create(&s, NULL, c.m), 0);
	assert_int_equal(apply_at(s, &c, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "which node"));
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_reapplying_the_same_config_changes_nothing(void **st)
{
	struct shoal_apply_report rep;
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	assert_int_equal(apply_at(s, &c, 0, &rep), 0);
	assert_int_equal(rep.npools, 1);
	assert_int_equal(rep.pools[0].moved, 0);
	assert_int_equal(rep.pools[0].changed, 0);
	assert_int_equal(rep.pools[0].gen, 1);
	assert_false(rep.vips_changed);
	assert_int_equal(rep.nodes_added + rep.nodes_updated + rep.nodes_retired, 0);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_drain_makes_the_node_a_previous_owner(void **st)
{
	__u64 t0 = 1000ULL * 1000000000ULL;
	struct shoal_apply_report rep;
	struct shoal_bucket *before, *after;
	struct shoal_cluster c;
	struct shoal *s;
	__u32 b, owned = 0;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, t0);
	before = table_copy(s, 0);
	shoal_cluster_node_id(&c, FX_B)->drained = true;
	assert_int_equal(apply_at(s, &c, t0, &rep), 0);
	after = table_copy(s, 0);
	for (b = 0; b < c.m; b++) {
		assert_int_not_equal(after[b].owner, FX_B);
		if (before[b].owner != FX_B)
			continue;
		owned++;
		assert_int_equal(after[b].prev[0], FX_B);
		assert_int_equal(after[b].expire[0], (__u32)((t0 + DRAIN_NS) >> SHOAL_TICK_SHIFT));
	}
	assert_true(owned > 0);
	assert_true(rep.pools[0].moved >= owned);
	assert_int_equal(rep.pools[0].gen, 2);
	free(before);
	free(after);
	shoal_cluster_free(&c);
	shoal_close(s);
}

/* A flow in a bucket B gave up: the owner asks B (second chance). */
static void test_drained_node_gets_second_chance_traffic(void **st)
{
	struct shoal_bucket *t;
	struct shoal_cluster c;
	struct shoal *s;
	struct fx_result r;
	int i, checked = 0;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	shoal_cluster_node_id(&c, FX_B)->drained = true;
	assert_int_equal(apply_at(s, &c, 0, NULL), 0);
	t = table_copy(s, 0);
	for (i = 0; i < 400 && checked < 5; i++) {
		struct pkt_spec p = fx_tcp4(CLIENT, (__u16)(20000 + i), FX_VIP4, 80, PKT_TCP_ACK);

		assert_int_equal(fx_run(s, &p, &r), 0);
		if (r.trace.owner != FX_A || t[r.trace.bucket].prev[0] != FX_B)
			continue;
		assert_int_equal(r.action, XDP_TX);
		assert_int_equal(r.reason, SHOAL_R_TX_PREV);
		assert_int_equal(r.trace.target, FX_B);
		checked++;
	}
	assert_true(checked > 0);
	free(t);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_removed_node_stays_forwardable_until_its_window_ends(void **st)
{
	__u64 t0 = 5000ULL * 1000000000ULL;
	struct shoal_apply_report rep;
	struct shoal_bucket *t;
	struct shoal_cluster c;
	struct shoal_node n;
	struct shoal *s;
	__u32 b;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, t0);
	assert_int_equal(shoal_cluster_remove_node(&c, "d"), 0);
	assert_int_equal(apply_at(s, &c, t0, &rep), 0);
	assert_int_equal(rep.nodes_retired, 1);
	assert_int_equal(shoal_node_get(s, FX_D, &n), 0);
	assert_true(n.flags & SHOAL_NODE_F_PEER);
	assert_true(n.flags & SHOAL_NODE_F_REMOVED);

	/* Within the window nothing changes; after it, D is forgotten. */
	assert_int_equal(apply_at(s, &c, t0 + DRAIN_NS / 2, &rep), 0);
	assert_int_equal(rep.nodes_freed, 0);
	assert_int_equal(apply_at(s, &c, t0 + DRAIN_NS + 2000000000ULL, &rep), 0);
	assert_int_equal(rep.nodes_freed, 1);
	assert_int_equal(shoal_node_get(s, FX_D, &n), 0);
	assert_false(n.flags & SHOAL_NODE_F_PEER);
	t = table_copy(s, 0);
	for (b = 0; b < c.m; b++)
		assert_int_equal(t[b].prev[0], 0);
	free(t);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_previous_owner_chain_follows_a_sequence_of_changes(void **st)
{
	__u64 t = 100000ULL * 1000000000ULL, step = 60ULL * 1000000000ULL;
	struct shoal_bucket *t0, *t1, *t2, *t3;
	struct shoal_cluster c;
	struct shoal *s;
	__u32 b, seen = 0;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, t);
	t0 = table_copy(s, 0);
	shoal_cluster_node_id(&c, FX_D)->drained = true;	/* D drains */
	assert_int_equal(apply_at(s, &c, t += step, NULL), 0);
	t1 = table_copy(s, 0);
	shoal_cluster_node_id(&c, FX_C)->drained = true;	/* then C */
	assert_int_equal(apply_at(s, &c, t += step, NULL), 0);
	t2 = table_copy(s, 0);
	shoal_cluster_node_id(&c, FX_D)->drained = false;	/* D comes back */
	assert_int_equal(apply_at(s, &c, t += step, NULL), 0);
	t3 = table_copy(s, 0);

	for (b = 0; b < c.m; b++) {
		/* D -> C -> (D back): most recent first, D not listed while it owns. */
		if (t0[b].owner == FX_D && t1[b].owner == FX_C && t2[b].owner != FX_C) {
			assert_int_equal(t2[b].prev[0], FX_C);
			assert_int_equal(t2[b].prev[1], FX_D);
			assert_true(t2[b].expire[0] > t2[b].expire[1]);
			seen++;
		}
		if (t3[b].owner == FX_D) {
			int i;

			for (i = 0; i < SHOAL_MAX_PREV; i++)
				assert_int_not_equal(t3[b].prev[i], FX_D);
		}
		assert_true(t3[b].prev[2] == 0 || t3[b].prev[2] != t3[b].prev[1]);
	}
	assert_true(seen > 0);
	free(t0);
	free(t1);
	free(t2);
	free(t3);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_vip_ids_survive_reapply_and_new_vips_start_at_zero(void **st)
{
	struct shoal_cluster c;
	struct shoal_vip_cfg v = {};
	struct shoal_counter ctr;
	struct fx_result r1, r2, r3;
	struct pkt_spec p = fx_tcp4(CLIENT, 1234, FX_VIP4, 80, PKT_TCP_SYN);
	struct pkt_spec q = fx_tcp4(CLIENT, 1234, "198.51.100.3", 25, PKT_TCP_SYN);
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	assert_int_equal(fx_run(s, &p, &r1), 0);
	shoal_parse_addr("198.51.100.3", &v.addr);
	v.port = 25;
	v.proto = IPPROTO_TCP;
	strcpy(v.pool, SHOAL_DEFAULT_POOL);
	assert_int_equal(shoal_cluster_add_vip(&c, &v), 0);
	assert_int_equal(apply_at(s, &c, 0, NULL), 0);
	assert_int_equal(fx_run(s, &p, &r2), 0);
	assert_int_equal(r1.trace.vip, r2.trace.vip);
	assert_int_equal(fx_run(s, &q, &r3), 0);
	assert_true(r3.trace.flags & SHOAL_TRACE_F_VIP);
	assert_int_not_equal(r3.trace.vip, r2.trace.vip);
	assert_int_equal(shoal_vipstats_read(s, r3.trace.vip, &ctr), 0);
	assert_int_equal(ctr.packets, 1);
	/* And removing it makes the address ordinary again. */
	assert_int_equal(shoal_cluster_del_vip(&c, &v.addr, 25, IPPROTO_TCP), 0);
	assert_int_equal(apply_at(s, &c, 0, NULL), 0);
	assert_int_equal(fx_run(s, &q, &r3), 0);
	assert_int_equal(r3.reason, SHOAL_R_PASS_NOT_VIP);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void add_pool(struct shoal_cluster *c, const char *name, const __u16 *ids, size_t n)
{
	struct shoal_pool_cfg *p;

	c->pools = realloc(c->pools, (c->npools + 1) * sizeof(*c->pools));
	p = &c->pools[c->npools++];
	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	p->members = calloc(n, sizeof(__u16));
	memcpy(p->members, ids, n * sizeof(__u16));
	p->nmembers = n;
}

static void test_pools_keep_their_tables_by_name(void **st)
{
	static const __u16 web[] = { FX_C, FX_D };
	struct shoal_apply_report rep;
	struct shoal_cluster c;
	struct shoal_pool_cfg tmp;
	struct shoal *s;
	struct fx_result r;
	int i;

	(void)st;
	fx_cluster(&c);
	add_pool(&c, "web", web, 2);
	strcpy(c.vips[0].pool, "web");		/* VIP4:80/tcp served by C and D only */
	s = fresh(NULL, &c, FX_A, 0);
	for (i = 0; i < 100; i++) {
		struct pkt_spec p = fx_tcp4(CLIENT, (__u16)(3000 + i), FX_VIP4, 80, PKT_TCP_SYN);

		assert_int_equal(fx_run(s, &p, &r), 0);
		assert_true(r.trace.owner == FX_C || r.trace.owner == FX_D);
	}
	/* Listing the pools the other way round changes no table. */
	tmp = c.pools[0];
	c.pools[0] = c.pools[1];
	c.pools[1] = tmp;
	assert_int_equal(apply_at(s, &c, 0, &rep), 0);
	assert_int_equal(rep.pools[0].changed + rep.pools[1].changed, 0);
	assert_false(rep.vips_changed);
	/* Dropping the pool (and its VIP) frees it. */
	strcpy(c.vips[0].pool, SHOAL_DEFAULT_POOL);
	free(c.pools[0].members);
	c.pools[0] = c.pools[1];
	c.npools = 1;
	assert_int_equal(apply_at(s, &c, 0, &rep), 0);
	assert_int_equal(rep.pools_dropped, 1);
	shoal_cluster_free(&c);
	shoal_close(s);
}

/* I1: every node that applies the same config holds the same bytes. */
static void test_every_node_builds_the_identical_table(void **st)
{
	__u64 t = 777ULL * 1000000000ULL;
	struct shoal_bucket *ref = NULL;
	struct shoal_cluster c;
	struct shoal *s[FX_NODES];
	__u16 id;

	(void)st;
	fx_cluster(&c);
	for (id = 1; id <= FX_NODES; id++) {
		s[id - 1] = fresh(NULL, &c, id, t);
		shoal_cluster_node_id(&c, FX_C)->drained = true;
		assert_int_equal(apply_at(s[id - 1], &c, t + 1000000000ULL, NULL), 0);
		shoal_cluster_node_id(&c, FX_C)->drained = false;
	}
	for (id = 0; id < FX_NODES; id++) {
		struct shoal_bucket *x = table_copy(s[id], 0);

		if (!ref)
			ref = x;
		else {
			assert_memory_equal(ref, x, sizeof(*x) * c.m);
			free(x);
		}
		shoal_close(s[id]);
	}
	free(ref);
	shoal_cluster_free(&c);
}

static void test_node_leaving_own_config_keeps_serving(void **st)
{
	struct shoal_cluster c;
	struct shoal_node n;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	assert_int_equal(shoal_cluster_remove_node(&c, "a"), 0);
	assert_int_equal(apply_at(s, &c, 0, NULL), 0);
	assert_int_equal(shoal_conf(s)->self, FX_A);
	assert_int_equal(shoal_node_get(s, FX_A, &n), 0);
	assert_true(n.flags & SHOAL_NODE_F_REMOVED);
	shoal_cluster_free(&c);
	shoal_close(s);
}

static void test_mac_prefix_cannot_change_in_place(void **st)
{
	struct shoal_cluster c;
	struct shoal *s;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	c.mac_prefix[2] ^= 1;
	assert_int_equal(apply_at(s, &c, 0, NULL), -EINVAL);
	assert_non_null(strstr(err, "mac_prefix"));
	assert_int_equal(shoal_conf(s)->mac_prefix[2], (__u8)(c.mac_prefix[2] ^ 1));
	shoal_cluster_free(&c);
	shoal_close(s);
}

/* Two creators racing on one directory: one wins, and its state stays whole. */
static void test_concurrent_creation_leaves_one_whole_state(void **st)
{
	struct shoal *s;
	int round;

	(void)st;
	for (round = 0; round < 5; round++) {
		pid_t pid[2];
		int i, status, ok = 0;

		for (i = 0; i < 2; i++) {
			pid[i] = fork();
			if (pid[i] == 0) {
				struct shoal *mine;

				_exit(shoal_create(&mine, "/sys/fs/bpf/race", 251) ? 1 : 0);
			}
		}
		for (i = 0; i < 2; i++) {
			waitpid(pid[i], &status, 0);
			ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		assert_int_equal(ok, 1);
		assert_int_equal(shoal_open(&s, "/sys/fs/bpf/race"), 0);
		assert_int_equal(shoal_destroy(s), 0);
	}
}

/* A joining node that starts from a peer's export holds the peer's tables. */
static void test_joining_node_adopts_a_peers_tables(void **st)
{
	__u64 t0 = 3000ULL * 1000000000ULL;
	struct shoal_apply_opts o = { .self = FX_B };
	struct shoal_bucket *ta, *tb;
	struct shoal_cluster c;
	struct shoal_base base;
	struct shoal_node n;
	struct shoal *a, *b;
	char path[] = "/tmp/shoal-export-XXXXXX";
	FILE *f;
	__u32 i, chains = 0;
	int fd;

	(void)st;
	fx_cluster(&c);
	a = fresh(NULL, &c, FX_A, 0);
	/* History the newcomer could not compute: D left (draining), C drained. */
	assert_int_equal(shoal_cluster_remove_node(&c, "d"), 0);
	assert_int_equal(apply_at(a, &c, 0, NULL), 0);
	shoal_cluster_node_id(&c, FX_C)->drained = true;
	assert_int_equal(apply_at(a, &c, 0, NULL), 0);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(shoal_base_write(a, f), 0);
	fclose(f);
	assert_int_equal(shoal_base_read(path, &base, err, sizeof(err)), 0);
	unlink(path);

	assert_int_equal(shoal_create(&b, NULL, c.m), 0);
	(void)t0;
	o.base = &base;
	if (shoal_cluster_apply(b, &c, &o, NULL, err, sizeof(err)))
		fail_msg("apply with base: %s", err);
	ta = table_copy(a, 0);
	tb = table_copy(b, 0);
	for (i = 0; i < c.m; i++) {
		int k;

		assert_int_equal(ta[i].owner, tb[i].owner);
		for (k = 0; k < SHOAL_MAX_PREV; k++) {
			assert_int_equal(ta[i].prev[k], tb[i].prev[k]);
			/* Expiry travelled as ticks left: equal within a tick. */
			assert_true(ta[i].expire[k] - tb[i].expire[k] + 1 <= 2);
		}
		chains += tb[i].prev[0] != 0;
	}
	assert_true(chains > 0);
	/* D is gone from the config but still a previous owner: forwardable. */
	assert_int_equal(shoal_node_get(b, FX_D, &n), 0);
	assert_true(n.flags & SHOAL_NODE_F_PEER);
	assert_true(n.flags & SHOAL_NODE_F_REMOVED);
	assert_memory_equal(n.mac, fx_mac[FX_D], 6);

	/* An export made with another seed is refused. */
	base.seed_digest ^= 1;
	assert_int_equal(shoal_cluster_apply(b, &c, &o, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "seed"));
	free(ta);
	free(tb);
	shoal_base_free(&base);
	shoal_cluster_free(&c);
	shoal_close(a);
	shoal_close(b);
}

/* A second change does not move buckets still in transition (chains stay one deep). */
static void test_second_change_keeps_transition_buckets_with_their_owner(void **st)
{
	struct shoal_apply_report rep;
	struct shoal_bucket *t;
	struct shoal_cluster c;
	struct shoal *s;
	__u32 b, deep = 0, kept = 0;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	shoal_cluster_node_id(&c, FX_B)->drained = true;
	assert_int_equal(apply_at(s, &c, 0, NULL), 0);
	shoal_cluster_node_id(&c, FX_C)->weight = 300;	/* C wants more buckets */
	assert_int_equal(apply_at(s, &c, 0, &rep), 0);
	assert_true(rep.pools[0].deferred > 0);
	t = table_copy(s, 0);
	for (b = 0; b < c.m; b++) {
		deep += t[b].prev[1] != 0;
		kept += t[b].prev[0] == FX_B;
	}
	assert_int_equal(deep, 0);
	assert_true(kept > 0);
	free(t);
	shoal_cluster_free(&c);
	shoal_close(s);
}

/*
 * Drains take effect while someone is left to take new flows. Draining every
 * member, one after another, never leaves a bucket without an owner (that
 * frame would pass on whichever node the router picked and break its
 * connection): the last drain is ignored, and said so.
 */
static void test_draining_every_member_drains_none(void **st)
{
	static const __u16 order[] = { FX_A, FX_B, FX_C, FX_D };
	struct shoal_bucket *t, *ref;
	struct shoal_apply_report rep;
	struct shoal_cluster c;
	struct shoal *s, *s2;
	__u32 b, differ = 0;
	size_t i;

	(void)st;
	fx_cluster(&c);
	s = fresh(NULL, &c, FX_A, 0);
	ref = table_copy(s, 0);
	for (i = 0; i < 4; i++) {
		shoal_cluster_node_id(&c, order[i])->drained = true;
		assert_int_equal(shoal_pool_all_drained(&c, &c.pools[0]), i == 3);
		assert_int_equal(apply_at(s, &c, 0, &rep), 0);
		assert_int_equal(rep.pools[0].all_drained, i == 3);
		t = table_copy(s, 0);
		for (b = 0; b < c.m; b++) {
			assert_int_not_equal(t[b].owner, 0);
			if (i == 2)	/* D alone takes new flows */
				assert_int_equal(t[b].owner, FX_D);
		}
		free(t);
	}

	/* A node that starts with every member drained builds the undrained table. */
	s2 = fresh(NULL, &c, FX_B, 0);
	t = table_copy(s2, 0);
	for (b = 0; b < c.m; b++)
		differ += t[b].owner != ref[b].owner;
	assert_int_equal(differ, 0);

	/* A node that is not drained ends it: the others drain again. */
	shoal_cluster_node_id(&c, FX_B)->drained = false;
	assert_int_equal(apply_at(s, &c, 0, &rep), 0);
	assert_false(rep.pools[0].all_drained);
	t = table_copy(s, 0);
	for (b = 0; b < c.m; b++)
		assert_int_equal(t[b].owner, FX_B);
	free(t);
	free(ref);
	shoal_cluster_free(&c);
	shoal_close(s);
	shoal_close(s2);
}

static int group_setup(void **st)
{
	(void)st;
	return fx_enter() ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_pins_state_and_open_adopts_it),
		cmocka_unit_test(test_create_refuses_to_overwrite_state),
		cmocka_unit_test(test_open_without_state_says_so),
		cmocka_unit_test(test_attach_is_pinned_and_survives_the_process),
		cmocka_unit_test(test_generic_mode_only_when_asked),
		cmocka_unit_test(test_attach_to_missing_device_is_reported),
		cmocka_unit_test(test_pinned_state_is_root_only),
		cmocka_unit_test(test_staged_table_is_invisible_until_commit),
		cmocka_unit_test(test_rejected_config_changes_nothing),
		cmocka_unit_test(test_new_seed_needs_force),
		cmocka_unit_test(test_bucket_count_cannot_change_in_place),
		cmocka_unit_test(test_apply_needs_an_identity),
		cmocka_unit_test(test_reapplying_the_same_config_changes_nothing),
		cmocka_unit_test(test_drain_makes_the_node_a_previous_owner),
		cmocka_unit_test(test_drained_node_gets_second_chance_traffic),
		cmocka_unit_test(test_draining_every_member_drains_none),
		cmocka_unit_test(test_removed_node_stays_forwardable_until_its_window_ends),
		cmocka_unit_test(test_previous_owner_chain_follows_a_sequence_of_changes),
		cmocka_unit_test(test_vip_ids_survive_reapply_and_new_vips_start_at_zero),
		cmocka_unit_test(test_pools_keep_their_tables_by_name),
		cmocka_unit_test(test_every_node_builds_the_identical_table),
		cmocka_unit_test(test_node_leaving_own_config_keeps_serving),
		cmocka_unit_test(test_mac_prefix_cannot_change_in_place),
		cmocka_unit_test(test_concurrent_creation_leaves_one_whole_state),
		cmocka_unit_test(test_joining_node_adopts_a_peers_tables),
		cmocka_unit_test(test_second_change_keeps_transition_buckets_with_their_owner),
	};

	return cmocka_run_group_tests_name("cluster", tests, group_setup, NULL);
}
