// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Scale benchmark: how shoal's costs grow with what it serves. Flat is the
 * goal. Four series, every figure also a ratio to a baseline measured in the
 * same run:
 *
 * 1. table_build: maglev_build() in userspace for 10, 100, 1000 and 4095
 *    equal-weight nodes (node ids are 1 .. SHOAL_MAX_NODES - 1, so 4095 is
 *    the largest pool there can be) at M = 65537 (the default), 655373 (the
 *    prime nearest 10x) and 4194301 (SHOAL_M_MAX, the largest M the library
 *    takes). The figure is the thread's CPU time, so that other tasks taking
 *    the CPU do not count (the wall clock is reported beside it): the median
 *    of TABLE_RUNS builds, TABLE_RUNS_BIG at SHOAL_M_MAX, where one takes
 *    over a second. Also per bucket. Baseline: 10 nodes at M = 65537. A
 *    combo whose first build takes longer than TABLE_SLOW_MS gets no more
 *    runs, and once the series has spent TABLE_BUDGET_MS the rest are
 *    skipped; table_build_skipped in the JSON says which.
 *
 * 2. map_memory: the kernel memory of a data plane configured through
 *    libshoal as the unit tests' fixture does (shoal_create(), then
 *    shoal_cluster_apply() of a cluster model), for 1, 100, 1000 and 10000
 *    VIPs and pools of 2, 100, 1000 and 4095 nodes at M = 65537, then for 1
 *    VIP and 2 nodes at each M. Each configuration is a fresh data plane,
 *    pinned in the private bpffs of fx_enter() as a node's is. The figure is
 *    the sum of the "memlock" line of /proc/self/fdinfo/<fd>, what the
 *    kernel charges, over every map: those the program uses, those pinned
 *    (some only userspace reads), and the maps inside the map-in-maps (a
 *    bucket table per pool, two copies of M buckets; the grace-period map).
 *    Ratio to the smallest configuration; the per-map breakdown of the
 *    largest.
 *
 * 3. pkt_cost_vips: the per-packet cost (BPF_PROG_TEST_RUN) of an IPv4 TCP
 *    ACK to a VIP whose bucket this node owns, with no previous owner:
 *    XDP_PASS, pass_owner, the cheapest VIP verdict, so the one where the
 *    VIP lookup weighs most. 1, 10, 100, 1000 and 10000 VIPs (port 80/tcp on
 *    distinct addresses in 198.19.0.0/16), two nodes, every bucket this
 *    node's (fx_table_uniform()). The VIP table is open-addressed by a hash
 *    of the address alone, and the data plane's fast path looks at the
 *    address's home slot only: a VIP that a collision pushed further along
 *    takes the general path. So the figure is an average over VIPs: up to
 *    VIP_SAMPLE VIPs of the set, evenly spaced in the order they were added
 *    (the first and the last added included), each timed on its own. Beside
 *    it, how many of those and of the whole set sit off their home slot, the
 *    longest probe, and the mean cost of the sampled VIPs on and off their
 *    home slot. Addresses: drawn at random from the /16 with a fixed seed
 *    (pkt_cost_vips; every run uses the same ones, and a smaller set is the
 *    start of a larger one), and a block from 198.19.0.0 upwards
 *    (pkt_cost_vips_block), which collides differently. Ratio to the
 *    trivial program and to the 1-VIP figure.
 *
 * 4. pkt_cost_pool: the same pass_owner path with a real Maglev table, from
 *    shoal_cluster_apply() of pools of 2, 16, 256 and 4095 nodes (M = 65537,
 *    one VIP), over POOL_FLOWS flows whose buckets this node owns. They are
 *    found by hashing candidate flows in userspace as the data plane does
 *    (from 198.18.3.1-254, source ports from 1024, in that order) and
 *    reading the table; the traced runs confirm each bucket and owner. In a
 *    pool of 4095, this node owns 16 or 17 buckets, so the flows share them.
 *    Beside it, the forwarding path (XDP_TX, tx_owner: MACs and TTL
 *    rewritten) over the first POOL_FLOWS flows that other nodes own, so
 *    that the frames go to as many owners as the pool has, up to 64. That
 *    path rewrites the frame, so it runs through the restore wrapper of
 *    bench/floor.bpf.c, less the wrapper's overhead t(wrapper->empty) -
 *    t(empty) measured on the same frame just before, as in bench/micro.c.
 *    Ratios to the trivial program and to the 2-node figures.
 *
 * Timing (3, 4), as in bench/micro.c: the wall clock around
 * bpf_prog_test_run_opts(), divided by the repeat count, on the CPU where
 * the trivial program (floor_trivial: swap MACs, XDP_TX) runs fastest. Each
 * configuration is timed in ROUNDS rounds. In a round, every flow is timed
 * once (FLOW_REPEAT packets) right after a run of the trivial program of the
 * same length. ns/pkt is the median over rounds of the mean over flows;
 * ratio_to_trivial the median over rounds of the mean of each flow's ratio
 * to the trivial run just before it, because this VM's speed drifts and a
 * pair of runs sees one speed; ratio_to_first is that ratio over the first
 * configuration's. Every program timed directly (the trivial and empty
 * programs, the wrapper, shoal) is first attached to a veth in the private
 * namespace, down: test_run with repeat > 1 otherwise adds the program to
 * the XDP dispatcher and removes it again in every run, each change waiting
 * for an RCU grace period, about 1 ms a run (test_run_fixed_cost in the
 * JSON, measured both ways). A run during which the thread was switched
 * out by another task (getrusage()'s ru_nivcsw moved) is run again, up to
 * TRIES attempts, and the fastest attempt kept; the JSON counts them
 * (switched_out). On a quiet machine there are none.
 *
 * Verdict checks: before timing, a traced and an untraced run of each flow
 * must give the expected action, reason, VIP, bucket, owner and (for XDP_TX)
 * target, and the forwarded frame must be exactly the input with the
 * owner's MAC, this node's hop-marked source MAC and the TTL one down. In
 * every timed run, shoal's reason counters must move by exactly the packets
 * run, all under the expected reason, with the frame's bytes, and the frame
 * the last repeat left must be the checked output. A failure exits 1.
 *
 * What test_run cannot show: it repeats one frame, so every repeat reads the
 * same VIP slot, bucket and node entry, from a warm cache. A larger VIP
 * table, bucket table or pool changes which memory is read, not how much,
 * and these figures are that instruction path; the cache misses that a
 * live mix of flows over a 3 MB bucket table, 2 MB of VIP slots and 320 KB
 * of node entries would add are not in them.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "common.h"
#include "floor.h"
#include "fixture.h"
#include "shoal/hash.h"

#ifndef FLOOR_OBJ
#define FLOOR_OBJ "build/bench/floor.bpf.o"
#endif

#define REPEAT		200000		/* packets per reference run */
#define FLOW_REPEAT	100000		/* packets per flow per round */
#define TRIES		4		/* attempts at a run that is not switched out */
#define WARMUP		20000		/* packets per flow, untimed, before the rounds */
#define ROUNDS		5
#define VIP_SAMPLE	32		/* VIPs timed per VIP count */
#define POOL_FLOWS	64		/* flows timed per pool size and path */
#define MAX_FLOWS	64
#define TABLE_RUNS	5
#define TABLE_RUNS_BIG	3		/* at SHOAL_M_MAX: over a second per build */
#define TABLE_SLOW_MS	5000.0		/* a first build this slow: no more runs of it */
#define TABLE_BUDGET_MS	60000.0		/* the whole series; later combos are skipped */
#define FRAME_MAX	FLOOR_FRAME_MAX
#define RUN_OUT_MAX	4096
#define MAX_MAPS	64
#define MEM_PIN		"/sys/fs/bpf/scale"	/* in fx_enter()'s private bpffs */

#define SELF		1		/* this node's id in every cluster here */
#define CLIENT		"198.18.3.7"	/* holds no socket: nothing here does */
#define POOL_VIP	"198.51.100.1"
#define VIP_PORT	80
#define VIP_NET		0xc6130000U	/* 198.19.0.0/16, host order */
#define VIP_NET_SIZE	65536
#define MAX_VIPS_HERE	10000
#define SEED0		0x0123456789abcdefULL
#define SEED1		0xfedcba9876543210ULL

_Static_assert(VIP_SAMPLE <= MAX_FLOWS && POOL_FLOWS <= MAX_FLOWS, "flow arrays");
_Static_assert(MAX_VIPS_HERE <= SHOAL_MAX_VIPS && MAX_VIPS_HERE <= VIP_NET_SIZE, "VIP count");
_Static_assert(ROUNDS <= BENCH_MEDIAN_MAX && TABLE_RUNS <= BENCH_MEDIAN_MAX, "median()");



/* A frame to time, and what shoal must do with it. */
struct flow {
	__u8 frame[FRAME_MAX];
	size_t len;
	__u32 action;
	int reason;
	__u16 owner;		/* of its bucket */
	__u16 vip;		/* the VIP id it must match */
	__u32 bucket;
	__u32 probe;		/* VIP flows: slots between the VIP and its home slot */
	__u8 out[FRAME_MAX];	/* as checked before timing */
	__u32 out_len;
};

struct bench {
	struct floor fl;
	__u8 ref[FRAME_MAX];	/* the reference programs' frame */
	size_t ref_len;
	double triv_min;	/* lowest and highest trivial median of any configuration */
	double triv_max;
};

struct table_point {
	__u32 nodes;
	__u32 m;
	int runs;		/* 0: skipped */
	double ms;		/* the thread's CPU time */
	double wall_ms;
	double ns_per_bucket;
	double ratio;
};

struct mem_point {
	size_t vips;
	__u32 nodes;
	__u32 m;
	__u64 bytes;
	double ratio;
};

struct map_mem {
	char name[48];
	const char *type;
	__u32 id;
	__u32 max_entries;
	__u32 value_size;
	__u64 bytes;
};

struct vip_point {
	size_t vips;
	double ns;		/* mean over the sampled VIPs, median over rounds */
	double ratio;		/* to trivial: median of the rounds' ratios */
	double first_ratio;	/* ratio over the first VIP count's ratio */
	double trivial_ns;	/* this configuration's rounds */
	double home_ns;		/* the sampled VIPs in their home slot; < 0: none */
	double away_ns;		/* ... and the others */
	int sampled;
	int sampled_away;
	size_t away;		/* of the whole set, VIPs not in their home slot */
	__u32 max_probe;
};

struct pool_point {
	__u32 nodes;
	/* pass_owner: flows this node owns */
	double ns;
	double ratio;
	double first_ratio;
	int flows;
	int buckets;		/* distinct buckets among them */
	/* tx_owner: flows other nodes own, through the wrapper */
	double fwd_ns;
	double fwd_ratio;
	double fwd_first_ratio;
	double fwd_wrapped_ns;	/* before the overhead is subtracted */
	double overhead_ns;	/* t(wrapper->empty) - t(empty) */
	int fwd_flows;
	int fwd_owners;		/* distinct owners */
	int fwd_buckets;
	double trivial_ns;
};

static void triv_seen(struct bench *b, double ns)
{
	if (!b->triv_min || ns < b->triv_min)
		b->triv_min = ns;
	if (ns > b->triv_max)
		b->triv_max = ns;
}

/* ---- running programs ---- */

/*
 * Runs that were switched out: a test run that another task preempted
 * counts the other task's time too (the wall clock runs on). On a quiet
 * machine there are none; on a busy one most retries find a clean run.
 */
static struct {
	long runs;		/* timed runs reported */
	long retried;		/* ... that needed more than one attempt */
	long preempted;		/* ... of which no attempt ran clean: the fastest is kept */
} sched_stats;

static long nivcsw(void)
{
	struct rusage u;

	return getrusage(RUSAGE_THREAD, &u) ? -1 : u.ru_nivcsw;
}

/*
 * One timed test run of `repeat` packets: the wall clock around the syscall,
 * divided by `repeat` (test_run's own duration is whole ns per packet). The
 * syscall's fixed cost, with the program held in the XDP dispatcher (see
 * hold_prog()), is a couple of microseconds: 0.02 ns per packet at FLOW_REPEAT.
 * When the thread was switched out involuntarily during the run
 * (getrusage's ru_nivcsw moved), the run is repeated, up to TRIES attempts
 * in all, and the fastest attempt kept. *tries gets the number of
 * attempts, for the caller's counter checks; `out` the frame the last
 * repeat of the last attempt left.
 */
static int time_run(int prog_fd, const __u8 *frame, size_t len, __u32 repeat, double *ns,
		    __u32 *retval, __u8 *out, __u32 *out_len, int *tries)
{
	static __u8 sink[RUN_OUT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out ? out : sink, .repeat = repeat);
	double t0, t1, x;
	long c0, c1;
	int err, n;

	for (n = 0; n < TRIES; n++) {
		o.data_size_out = RUN_OUT_MAX;
		c0 = nivcsw();
		t0 = now_ns();
		err = bpf_prog_test_run_opts(prog_fd, &o);
		t1 = now_ns();
		c1 = nivcsw();
		if (err)
			return err;
		x = (t1 - t0) / repeat;
		if (!n || x < *ns)
			*ns = x;
		*retval = o.retval;
		*out_len = o.data_size_out;
		if (c0 == c1)
			break;
	}
	*tries = n < TRIES ? n + 1 : TRIES;
	sched_stats.runs++;
	sched_stats.retried += *tries > 1;
	sched_stats.preempted += n == TRIES;
	return 0;
}

/*
 * Every program timed directly is held attached to a down veth of its own
 * (hold_prog() in bench/common.c), so that a test run does not put it into
 * the XDP dispatcher and take it out again, an RCU grace period each; the
 * fixed cost of a run is then a couple of microseconds. The shoal data plane
 * of each configuration is held while it is timed, then let go.
 */
/* The median fixed cost of a test run of 2 repeats, in microseconds. */
static double run_fixed_us(int prog_fd, const __u8 *frame, size_t len)
{
	double us[5], t0;
	__u8 out[RUN_OUT_MAX];
	int i;

	for (i = 0; i < 5; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 2);

		t0 = now_ns();
		if (bpf_prog_test_run_opts(prog_fd, &o))
			return -1;
		us[i] = (now_ns() - t0) / 1e3;
	}
	return median(us, 5);
}

/* A reference program: it must give `action` and leave the frame's length. */
static int time_ref(int prog_fd, const char *what, const __u8 *frame, size_t len, __u32 action,
		    __u32 repeat, double *ns)
{
	__u32 ret, got;
	int tries, err = time_run(prog_fd, frame, len, repeat, ns, &ret, NULL, &got, &tries);

	if (err) {
		fprintf(stderr, "test run of %s: %s\n", what, strerror(-err));
		return err;
	}
	if (ret != action || got != len) {
		fprintf(stderr, "%s returned %s with %u bytes, want %s with %zu\n", what,
			shoal_action_name(ret), got, shoal_action_name(action), len);
		return -EPROTO;
	}
	return 0;
}

/*
 * A timed run of one flow through shoal, directly or through the wrapper:
 * every repeat must be counted under the flow's reason, with the frame's
 * bytes, and the last one must leave the checked output.
 */
static int time_flow(struct shoal *s, int prog_fd, const struct flow *f, __u32 repeat,
		     const char *what, double *ns)
{
	struct shoal_counter before[SHOAL_R_MAX], after[SHOAL_R_MAX];
	static __u8 out[RUN_OUT_MAX];
	__u64 total = 0, mine, bytes;
	__u32 ret = 0, out_len = 0;
	int err, i, tries = 0;

	err = shoal_stats_read(s, before);
	if (!err)
		err = time_run(prog_fd, f->frame, f->len, repeat, ns, &ret, out, &out_len,
			       &tries);
	if (!err)
		err = shoal_stats_read(s, after);
	if (err) {
		fprintf(stderr, "%s: test run: %s\n", what, strerror(-err));
		return err;
	}
	for (i = 0; i < SHOAL_R_MAX; i++)
		total += after[i].packets - before[i].packets;
	mine = after[f->reason].packets - before[f->reason].packets;
	bytes = after[f->reason].bytes - before[f->reason].bytes;
	/* Every attempt counts: tries * repeat packets. */
	if (ret != f->action || mine != (__u64)tries * repeat || total != mine ||
	    bytes != mine * f->len) {
		fprintf(stderr, "%s: timed run gave %s with %llu of %llu packets (%llu bytes) as "
			"%s; want %s, %u packets of %zu bytes\n", what, shoal_action_name(ret),
			(unsigned long long)mine, (unsigned long long)total,
			(unsigned long long)bytes, shoal_reason_name(f->reason),
			shoal_action_name(f->action), tries * repeat, f->len);
		return -EPROTO;
	}
	if (out_len != f->out_len || memcmp(out, f->out, out_len)) {
		fprintf(stderr, "%s: the timed run left another frame than the checked one\n",
			what);
		return -EPROTO;
	}
	return 0;
}

/* ---- setup ---- */

/* floor.bpf.c restoring `frame_len`-byte frames, moving no head. */
static int floor_load(struct floor *fl, size_t frame_len)
{
	fl->conf.frame_len = (__u32)frame_len;
	fl->conf.head_move = 0;
	return floor_open(fl, FLOOR_OBJ);
}

/* Node `id`'s MAC: 02:00:00:00:id, which for ids 1-4 is the fixture's. */
static void node_mac(__u16 id, __u8 mac[6])
{
	static const __u8 base[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };

	memcpy(mac, base, 6);
	mac[4] = (__u8)(id >> 8);
	mac[5] = (__u8)id;
}

/*
 * A cluster of nodes 1 .. nnodes, all in the one pool, reached by L2, with a
 * VIP VIP_PORT/tcp on each of `addrs` (host order). Returns 0 or -ENOMEM.
 */
static int cluster_build(struct shoal_cluster *c, __u32 m, __u32 nnodes, const __u32 *addrs,
			 size_t nvips)
{
	__u32 i;

	shoal_cluster_init(c);
	c->seed[0] = SEED0;
	c->seed[1] = SEED1;
	c->m = m;
	c->nodes = calloc(nnodes, sizeof(*c->nodes));
	c->pools = calloc(1, sizeof(*c->pools));
	c->vips = calloc(nvips, sizeof(*c->vips));
	if (!c->nodes || !c->pools || !c->vips)
		goto nomem;
	c->npools = 1;
	strcpy(c->pools[0].name, SHOAL_DEFAULT_POOL);
	c->pools[0].members = calloc(nnodes, sizeof(__u16));
	if (!c->pools[0].members)
		goto nomem;
	for (i = 1; i <= nnodes; i++) {
		struct shoal_node_cfg *n = &c->nodes[c->nnodes++];

		snprintf(n->name, sizeof(n->name), "n%u", i);
		n->id = (__u16)i;
		node_mac(n->id, n->mac);
		n->weight = SHOAL_WEIGHT_DEFAULT;
		c->pools[0].members[c->pools[0].nmembers++] = n->id;
	}
	for (i = 0; i < nvips; i++) {
		struct shoal_vip_cfg *v = &c->vips[c->nvips++];

		v->addr.family = 4;
		v->addr.a[0] = htonl(addrs[i]);
		v->port = VIP_PORT;
		v->proto = IPPROTO_TCP;
		strcpy(v->pool, SHOAL_DEFAULT_POOL);
	}
	return 0;
nomem:
	shoal_cluster_free(c);
	return -ENOMEM;
}

/*
 * A fresh data plane serving `c` as node SELF: unpinned, or pinned under
 * pin_dir (in the private bpffs of fx_enter()), as a node's is.
 */
static struct shoal *dataplane(const struct shoal_cluster *c, const char *pin_dir,
			       const char *what)
{
	struct shoal_apply_opts o = { .self = SELF };
	struct shoal *s;
	char err[512];
	int rc;

	rc = shoal_create(&s, pin_dir, c->m);
	if (rc) {
		fprintf(stderr, "%s: creating the data plane: %s\n", what, strerror(-rc));
		return NULL;
	}
	if (shoal_cluster_apply(s, c, &o, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s: apply: %s\n", what, err);
		shoal_close(s);
		return NULL;
	}
	return s;
}

/*
 * VIP addresses in 198.19.0.0/16, host order: a contiguous block, or
 * distinct ones drawn at random (xorshift64 with a fixed seed, so every run
 * and every VIP count uses the same addresses; smaller sets are prefixes of
 * larger ones).
 */
static void vip_addrs(__u32 *a, size_t n, bool block)
{
	static __u8 used[VIP_NET_SIZE];
	__u64 x = 0x9e3779b97f4a7c15ULL;
	size_t i = 0;

	if (block) {
		for (i = 0; i < n; i++)
			a[i] = VIP_NET + (__u32)i;
		return;
	}
	memset(used, 0, sizeof(used));
	while (i < n) {
		__u32 host;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		host = (__u32)(x >> 40) & (VIP_NET_SIZE - 1);
		if (used[host])
			continue;
		used[host] = 1;
		a[i++] = VIP_NET + host;
	}
}

/* The frame shoal must send to `owner`: its MAC, this node's hop-1 mark, TTL one down. */
static void expect_forward(const struct shoal_cluster *c, const __u8 *in, size_t len,
			   __u16 owner, __u8 *exp)
{
	__u8 *ip = exp + 14;
	__u16 sum;

	memcpy(exp, in, len);
	node_mac(owner, exp);
	memcpy(exp + 6, c->mac_prefix, 3);
	exp[9] = 1;
	exp[10] = (__u8)(SELF >> 8);
	exp[11] = (__u8)SELF;
	ip[8]--;
	ip[10] = ip[11] = 0;
	sum = pkt_ip4_csum(ip, (size_t)(ip[0] & 0xf) * 4);
	memcpy(ip + 10, &sum, 2);
}

static size_t flow_frame(struct flow *f, __u32 saddr, __u16 sport, __u32 daddr)
{
	struct pkt_spec s = fx_tcp4(CLIENT, sport, POOL_VIP, VIP_PORT, PKT_TCP_ACK);

	s.src.a[0] = htonl(saddr);
	s.dst.a[0] = htonl(daddr);
	f->len = pkt_build(&s, f->frame, sizeof(f->frame));
	return f->len;
}

/*
 * A traced and an untraced run must agree and give the flow's verdict, and
 * for XDP_TX exactly the frame `exp` (NULL otherwise: the input, unchanged).
 */
static int check_flow(struct shoal *s, struct flow *f, const __u8 *exp, const char *what)
{
	static struct shoal_run t, u;
	int err;

	err = shoal_run(s, f->frame, f->len, true, &t);
	if (!err)
		err = shoal_run(s, f->frame, f->len, false, &u);
	if (err) {
		fprintf(stderr, "%s: test run: %s\n", what, strerror(-err));
		return err;
	}
	if (t.action != f->action || t.trace.reason != f->reason ||
	    !(t.trace.flags & SHOAL_TRACE_F_VIP) || t.trace.vip != f->vip ||
	    t.trace.owner != f->owner || t.trace.bucket != f->bucket ||
	    (f->action == XDP_TX && t.trace.target != f->owner)) {
		fprintf(stderr, "%s: got %s %s (vip %u, bucket %u, owner %u, target %u), want %s "
			"%s (vip %u, bucket %u, owner %u)\n", what, shoal_action_name(t.action),
			shoal_reason_name(t.trace.reason), t.trace.vip, t.trace.bucket,
			t.trace.owner, t.trace.target, shoal_action_name(f->action),
			shoal_reason_name(f->reason), f->vip, f->bucket, f->owner);
		return -EPROTO;
	}
	if (u.action != t.action || u.out_len != t.out_len || memcmp(u.out, t.out, t.out_len)) {
		fprintf(stderr, "%s: the untraced run gave %s and another frame\n", what,
			shoal_action_name(u.action));
		return -EPROTO;
	}
	if (u.out_len != f->len || memcmp(u.out, exp ? exp : f->frame, f->len)) {
		fprintf(stderr, "%s: the output is not the expected frame\n", what);
		return -EPROTO;
	}
	memcpy(f->out, u.out, u.out_len);
	f->out_len = u.out_len;
	return 0;
}

/* The trivial program's best of 3 on this CPU, for pin_fastest(). */
static int cpu_speed(void *arg, int cpu, double *score)
{
	const struct bench *b = arg;
	double ns[3];
	int i, err;

	for (i = 0; i < 3; i++) {
		err = time_ref(b->fl.trivial_fd, "trivial", b->ref, b->ref_len, XDP_TX, REPEAT,
			       &ns[i]);
		if (err)
			return err;
	}
	qsort(ns, 3, sizeof(ns[0]), cmp_double);
	progress("CPU %d: trivial program %.2f ns/pkt", cpu, ns[0]);
	*score = 1 / ns[0];
	return 0;
}

/* Run on the CPU where the trivial program is fastest now. */
static int pick_cpu(const struct bench *b)
{
	return pin_fastest(cpu_speed, (void *)b);
}

/* ---- 1. table builds ---- */

/* This thread's CPU time: a build's cost, without the time other tasks took the CPU. */
static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int time_build(struct table_point *t, double *spent_ms)
{
	struct maglev_node *nodes = calloc(t->nodes, sizeof(*nodes));
	__u16 *owners = calloc(t->m, sizeof(*owners));
	static const __u64 seed[2] = { SEED0, SEED1 };
	int want = t->m >= SHOAL_M_MAX ? TABLE_RUNS_BIG : TABLE_RUNS, err = -ENOMEM;
	double ms[TABLE_RUNS], wall[TABLE_RUNS], t0, c0;
	__u32 i;

	t->runs = 0;
	if (!nodes || !owners)
		goto out;
	for (i = 0; i < t->nodes; i++) {
		nodes[i].id = (__u16)(i + 1);
		nodes[i].weight = SHOAL_WEIGHT_DEFAULT;
	}
	err = 0;
	while (t->runs < want) {
		t0 = now_ns();
		c0 = cpu_ns();
		err = maglev_build(nodes, t->nodes, seed, t->m, owners);
		ms[t->runs] = (cpu_ns() - c0) / 1e6;
		wall[t->runs] = (now_ns() - t0) / 1e6;
		if (err)
			break;
		*spent_ms += wall[t->runs];
		t->runs++;
		if (wall[0] > TABLE_SLOW_MS)
			break;
	}
	if (!err) {
		t->ms = median(ms, t->runs);
		t->wall_ms = median(wall, t->runs);
		t->ns_per_bucket = t->ms * 1e6 / t->m;
	}
out:
	if (err)
		fprintf(stderr, "maglev_build of %u nodes, M=%u: %s\n", t->nodes, t->m,
			strerror(-err));
	free(nodes);
	free(owners);
	return err;
}

/* ---- 2. map memory ---- */

/*
 * From an fd's fdinfo: the kernel's charge for a map ("memlock:") and its id
 * ("map_id:"). -ENOENT when the fd is not a map's.
 */
static int map_fdinfo(int fd, __u64 *bytes, __u32 *id)
{
	char path[64], line[128];
	unsigned long long v;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %llu", &v) == 1) {
			*bytes = v;
			found |= 1;
		} else if (sscanf(line, "map_id: %llu", &v) == 1) {
			*id = (__u32)v;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -ENOENT;
}

static int map_add(struct map_mem *maps, int *n, __u32 id, const char *parent, __u32 key);

/* Each inner map of a map-in-map (keys are __u32 in shoal's). */
static int map_add_inner(struct map_mem *maps, int *n, int fd, const char *parent)
{
	__u32 key, next, inner;
	__u32 *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &inner))
			continue;	/* an empty slot of an array of maps */
		err = map_add(maps, n, inner, parent, key);
		if (err)
			return err;
	}
	return 0;
}

static int map_add(struct map_mem *maps, int *n, __u32 id, const char *parent, __u32 key)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct map_mem *m;
	int fd, err, i;

	for (i = 0; i < *n; i++) {
		if (maps[i].id == id)
			return 0;
	}
	if (*n == MAX_MAPS)
		return -E2BIG;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		goto out;
	m = &maps[(*n)++];
	m->id = id;
	m->type = libbpf_bpf_map_type_str(info.type);
	m->max_entries = info.max_entries;
	m->value_size = info.value_size;
	if (parent)
		snprintf(m->name, sizeof(m->name), "%s[%u]:%s", parent, key, info.name);
	else
		snprintf(m->name, sizeof(m->name), "%s", info.name);
	err = map_fdinfo(fd, &m->bytes, &id);
	if (!err && (info.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		     info.type == BPF_MAP_TYPE_HASH_OF_MAPS))
		err = map_add_inner(maps, n, fd, info.name);
out:
	close(fd);
	return err;
}

/*
 * Every map of a pinned data plane: those the program uses, those pinned in
 * its directory (some only userspace touches), and the maps inside its
 * map-in-maps, each counted once.
 */
static int dataplane_memory(struct shoal *s, const char *pin_dir, struct map_mem *maps, int *n,
			    __u64 *total)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[MAX_MAPS], nids, i, id;
	int fd = shoal_prog_fd(s), err, mfd;
	struct dirent *e;
	char path[512];
	__u64 bytes;
	DIR *d;

	*n = 0;
	*total = 0;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	nids = info.nr_map_ids;
	if (nids > MAX_MAPS)
		return -E2BIG;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = nids;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	for (i = 0; i < info.nr_map_ids && i < nids; i++) {
		err = map_add(maps, n, ids[i], NULL, 0);
		if (err)
			return err;
	}
	d = opendir(pin_dir);
	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		mfd = bpf_obj_get(path);
		if (mfd < 0)
			continue;
		/* The program's pin is no map. */
		if (!map_fdinfo(mfd, &bytes, &id))
			err = map_add(maps, n, id, NULL, 0);
		close(mfd);
	}
	closedir(d);
	if (err)
		return err;
	for (i = 0; i < (__u32)*n; i++)
		*total += maps[i].bytes;
	return 0;
}

static int measure_memory(const __u32 *addrs, struct mem_point *p, struct map_mem *maps,
			  int *nmaps)
{
	struct shoal_cluster c;
	struct map_mem local[MAX_MAPS];
	struct shoal *s;
	char what[64];
	int err, n;

	snprintf(what, sizeof(what), "memory, %zu VIP%s, %u nodes, M=%u", p->vips,
		 p->vips == 1 ? "" : "s", p->nodes, p->m);
	err = cluster_build(&c, p->m, p->nodes, addrs, p->vips);
	if (err)
		return err;
	s = dataplane(&c, MEM_PIN, what);
	shoal_cluster_free(&c);
	if (!s)
		return -EIO;
	err = dataplane_memory(s, MEM_PIN, maps ? maps : local, nmaps ? nmaps : &n, &p->bytes);
	if (err)
		fprintf(stderr, "%s: reading the maps: %s\n", what, strerror(-err));
	shoal_destroy(s);
	return err;
}

/* ---- 3. per-packet cost against the VIP count ---- */

/* Where VIP `addr` (host order) sits in the slot table, and how far from home; -1: nowhere. */
static int vip_find(const struct shoal_vip *slots, __u32 addr, __u32 *probe)
{
	__u32 a = htonl(addr), home = shoal_vip_slot4(a), d;

	for (d = 0; d < SHOAL_VIP_PROBES; d++) {
		const struct shoal_vip *v = &slots[(home + d) & (SHOAL_VIP_SLOTS - 1)];

		if (!v->family)
			break;
		if (v->family == 4 && v->addr[0] == a && v->port == htons(VIP_PORT)) {
			*probe = d;
			return (int)((home + d) & (SHOAL_VIP_SLOTS - 1));
		}
	}
	return -1;
}

/*
 * ROUNDS rounds; in each, for every flow, the trivial program and then the
 * flow directly, back to back. Figures are the medians over rounds of the
 * rounds' means over flows (all, those in their VIP's home slot, the
 * others), and of the mean of each flow's ratio to the trivial run just
 * before it: the speed of this VM drifts, and the pair sees one speed.
 */
static int time_direct(struct bench *b, struct shoal *s, const struct flow *f, int n,
		       const char *what, double *ns, double *ratio, double *trivial,
		       double *home, double *away)
{
	double tr[ROUNDS], all[ROUNDS], rt[ROUNDS], hm[ROUNDS], aw[ROUNDS], x, t;
	int fd = shoal_prog_fd(s), r, i, err, nh, na;

	for (i = 0; i < n; i++) {
		err = time_flow(s, fd, &f[i], WARMUP, what, &x);
		if (err)
			return err;
	}
	for (r = 0; r < ROUNDS; r++) {
		tr[r] = all[r] = rt[r] = hm[r] = aw[r] = 0;
		nh = na = 0;
		for (i = 0; i < n; i++) {
			err = time_ref(b->fl.trivial_fd, "trivial", b->ref, b->ref_len, XDP_TX,
				       FLOW_REPEAT, &t);
			if (!err)
				err = time_flow(s, fd, &f[i], FLOW_REPEAT, what, &x);
			if (err)
				return err;
			tr[r] += t;
			all[r] += x;
			rt[r] += x / t;
			if (f[i].probe) {
				aw[r] += x;
				na++;
			} else {
				hm[r] += x;
				nh++;
			}
		}
		tr[r] /= n;
		all[r] /= n;
		rt[r] /= n;
		hm[r] = nh ? hm[r] / nh : -1;
		aw[r] = na ? aw[r] / na : -1;
	}
	*ns = median(all, ROUNDS);
	*ratio = median(rt, ROUNDS);
	*trivial = median(tr, ROUNDS);
	*home = median(hm, ROUNDS);
	*away = median(aw, ROUNDS);
	triv_seen(b, *trivial);
	return 0;
}

static int measure_vips(struct bench *b, const __u32 *addrs, struct vip_point *p)
{
	static const __u64 seed[2] = { SEED0, SEED1 };
	struct shoal_vip *slots = calloc(SHOAL_VIP_SLOTS, sizeof(*slots));
	struct flow f[MAX_FLOWS] = {};
	struct shoal_cluster c;
	struct shoal *s = NULL;
	char what[64];
	int err, i, n, slot, held = 0;
	size_t k;

	snprintf(what, sizeof(what), "%zu VIP%s", p->vips, p->vips == 1 ? "" : "s");
	if (!slots)
		return -ENOMEM;
	err = cluster_build(&c, SHOAL_M_DEFAULT, 2, addrs, p->vips);
	if (err)
		goto out;
	s = dataplane(&c, NULL, what);
	shoal_cluster_free(&c);
	err = -EIO;
	if (!s)
		goto out;
	held = hold_prog(shoal_prog_fd(s));
	if (held < 0) {
		err = held;
		goto out;
	}
	/* Every bucket this node's, nothing in transition: pass_owner for every flow. */
	err = fx_table_uniform(s, SELF, NULL, 0, 1);
	if (!err)
		err = shoal_vips_read(s, slots);
	if (err) {
		fprintf(stderr, "%s: table: %s\n", what, strerror(-err));
		goto out;
	}
	/* The whole set: how many VIPs a collision pushed out of their home slot. */
	p->away = 0;
	p->max_probe = 0;
	for (k = 0; k < p->vips; k++) {
		__u32 d;

		if (vip_find(slots, addrs[k], &d) < 0) {
			fprintf(stderr, "%s: VIP %zu is not in the slot table\n", what, k);
			err = -EPROTO;
			goto out;
		}
		p->away += d > 0;
		if (d > p->max_probe)
			p->max_probe = d;
	}
	n = p->vips < VIP_SAMPLE ? (int)p->vips : VIP_SAMPLE;
	p->sampled = n;
	p->sampled_away = 0;
	for (i = 0; i < n; i++) {
		size_t idx = n > 1 ? (size_t)i * (p->vips - 1) / (size_t)(n - 1) : 0;
		struct flow *x = &f[i];

		slot = vip_find(slots, addrs[idx], &x->probe);
		if (!flow_frame(x, ntohl(inet_addr(CLIENT)), 40001, addrs[idx])) {
			err = -EINVAL;
			goto out;
		}
		x->action = XDP_PASS;
		x->reason = SHOAL_R_PASS_OWNER;
		x->owner = SELF;
		x->vip = slots[slot].id;
		x->bucket = shoal_bucket_of(shoal_flow_hash4(seed, inet_addr(CLIENT),
							     htonl(addrs[idx]), htons(40001),
							     htons(VIP_PORT), IPPROTO_TCP),
					    SHOAL_M_DEFAULT);
		p->sampled_away += x->probe > 0;
		err = check_flow(s, x, NULL, what);
		if (err)
			goto out;
	}
	err = time_direct(b, s, f, n, what, &p->ns, &p->ratio, &p->trivial_ns, &p->home_ns,
			  &p->away_ns);
out:
	unhold_prog(held);
	shoal_close(s);
	free(slots);
	return err;
}

/* ---- 4. per-packet cost against the pool size ---- */

static int count_distinct(const __u32 *v, int n)
{
	int i, j, d = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && v[j] != v[i]; j++)
			;
		d += j == i;
	}
	return d;
}

/*
 * Flows to the VIP from 198.18.3.1-254, every source port from 1024, in that
 * order: the first POOL_FLOWS whose bucket this node owns, and the first
 * POOL_FLOWS whose bucket another node owns. Buckets as the data plane
 * computes them (and the traced runs confirm).
 */
static int pool_flows(const struct shoal_cluster *c, const struct shoal_bucket *table,
		      __u16 vip_id, struct flow *local, struct flow *fwd, struct pool_point *p)
{
	__u32 vip = ntohl(inet_addr(POOL_VIP)), client, bl[MAX_FLOWS], bf[MAX_FLOWS];
	__u32 of[MAX_FLOWS];
	int nl = 0, nf = 0;
	__u32 sport;

	for (client = 1; client < 255 && (nl < POOL_FLOWS || nf < POOL_FLOWS); client++) {
		__u32 saddr = (198U << 24) | (18U << 16) | (3U << 8) | client;

		for (sport = 1024; sport < 65536 && (nl < POOL_FLOWS || nf < POOL_FLOWS); sport++) {
			__u32 bucket = shoal_bucket_of(shoal_flow_hash4(c->seed, htonl(saddr),
									htonl(vip),
									htons((__u16)sport),
									htons(VIP_PORT),
									IPPROTO_TCP), c->m);
			__u16 owner = table[bucket].owner;
			struct flow *f;

			if (owner == SELF && nl < POOL_FLOWS) {
				f = &local[nl];
				bl[nl++] = bucket;
				f->action = XDP_PASS;
				f->reason = SHOAL_R_PASS_OWNER;
			} else if (owner != SELF && nf < POOL_FLOWS) {
				f = &fwd[nf];
				bf[nf] = bucket;
				of[nf++] = owner;
				f->action = XDP_TX;
				f->reason = SHOAL_R_TX_OWNER;
			} else {
				continue;
			}
			f->owner = owner;
			f->bucket = bucket;
			f->vip = vip_id;
			if (!flow_frame(f, saddr, (__u16)sport, vip))
				return -EINVAL;
		}
	}
	if (nl < POOL_FLOWS || nf < POOL_FLOWS) {
		fprintf(stderr, "%u nodes: found %d local and %d forwarded flows of %d\n",
			p->nodes, nl, nf, POOL_FLOWS);
		return -ENOENT;
	}
	p->flows = nl;
	p->fwd_flows = nf;
	p->buckets = count_distinct(bl, nl);
	p->fwd_buckets = count_distinct(bf, nf);
	p->fwd_owners = count_distinct(of, nf);
	return 0;
}

/*
 * ROUNDS rounds; in each, for flow pair i, back to back: the trivial
 * program, local flow i directly, the wrapper tail-calling the empty program
 * and the empty program alone on forwarded flow i's frame (the wrapper's
 * overhead), and forwarded flow i through the wrapper, less that overhead.
 * Medians over rounds of the means over flows, and of the per-flow ratios to
 * the trivial run of the same pair, as in time_direct().
 */
static int time_pool(struct bench *b, struct shoal *s, const struct flow *local,
		     const struct flow *fwd, struct pool_point *p, const char *what)
{
	double tr[ROUNDS], em[ROUNDS], we[ROUNDS], lo[ROUNDS], fw[ROUNDS], ws[ROUNDS];
	double lr[ROUNDS], fr[ROUNDS], x = 0, w = 0, t = 0, we1 = 0, em1 = 0;
	const struct floor *fl = &b->fl;
	int fd = shoal_prog_fd(s), r, i, err;

	err = floor_set_target(fl, fd, "shoal");
	for (i = 0; !err && i < POOL_FLOWS; i++) {
		err = time_flow(s, fd, &local[i], WARMUP, what, &x);
		if (!err)
			err = floor_set_frame(fl, fwd[i].frame, fwd[i].len);
		if (!err)
			err = time_flow(s, fl->restore_fd, &fwd[i], WARMUP, what, &x);
	}
	for (r = 0; !err && r < ROUNDS; r++) {
		tr[r] = lo[r] = ws[r] = fw[r] = lr[r] = fr[r] = em[r] = we[r] = 0;
		for (i = 0; !err && i < POOL_FLOWS; i++) {
			const struct flow *f = &fwd[i];

			err = time_ref(fl->trivial_fd, "trivial", b->ref, b->ref_len, XDP_TX,
				       FLOW_REPEAT, &t);
			if (!err)
				err = time_flow(s, fd, &local[i], FLOW_REPEAT, what, &x);
			/* The wrapper's overhead on this frame, then the wrapper on shoal. */
			if (!err)
				err = floor_set_frame(fl, f->frame, f->len);
			if (!err)
				err = floor_set_target(fl, fl->empty_fd, "floor_empty");
			if (!err)
				err = time_ref(fl->restore_fd, "wrapper->empty", f->frame, f->len,
					       XDP_PASS, FLOW_REPEAT, &we1);
			if (!err)
				err = time_ref(fl->empty_fd, "empty", f->frame, f->len, XDP_PASS,
					       FLOW_REPEAT, &em1);
			if (!err)
				err = floor_set_target(fl, fd, "shoal");
			if (!err)
				err = time_flow(s, fl->restore_fd, f, FLOW_REPEAT, what, &w);
			tr[r] += t;
			lo[r] += x;
			ws[r] += w;
			we[r] += we1;
			em[r] += em1;
			fw[r] += w - (we1 - em1);
			lr[r] += x / t;
			fr[r] += (w - (we1 - em1)) / t;
		}
		if (err)
			break;
		tr[r] /= POOL_FLOWS;
		lo[r] /= POOL_FLOWS;
		ws[r] /= POOL_FLOWS;
		we[r] = (we[r] - em[r]) / POOL_FLOWS;	/* now the overhead */
		fw[r] /= POOL_FLOWS;
		lr[r] /= POOL_FLOWS;
		fr[r] /= POOL_FLOWS;
	}
	if (err)
		return err;
	p->trivial_ns = median(tr, ROUNDS);
	p->ns = median(lo, ROUNDS);
	p->ratio = median(lr, ROUNDS);
	p->overhead_ns = median(we, ROUNDS);
	p->fwd_wrapped_ns = median(ws, ROUNDS);
	p->fwd_ns = median(fw, ROUNDS);
	p->fwd_ratio = median(fr, ROUNDS);
	triv_seen(b, p->trivial_ns);
	return 0;
}

static int measure_pool(struct bench *b, struct pool_point *p)
{
	__u32 vip = ntohl(inet_addr(POOL_VIP));
	struct shoal_bucket *table = calloc(SHOAL_M_DEFAULT, sizeof(*table));
	struct shoal_vip *slots = calloc(SHOAL_VIP_SLOTS, sizeof(*slots));
	struct flow *local = calloc(MAX_FLOWS, sizeof(*local));
	struct flow *fwd = calloc(MAX_FLOWS, sizeof(*fwd));
	struct shoal_cluster c = {};
	__u8 exp[FRAME_MAX];
	struct shoal *s = NULL;
	char what[64];
	__u32 k, probe;
	int err = -ENOMEM, i, slot, held = 0;

	snprintf(what, sizeof(what), "pool of %u nodes", p->nodes);
	if (!table || !slots || !local || !fwd)
		goto out;
	err = cluster_build(&c, SHOAL_M_DEFAULT, p->nodes, &vip, 1);
	if (err)
		goto out;
	err = -EIO;
	s = dataplane(&c, NULL, what);
	if (!s)
		goto out;
	held = hold_prog(shoal_prog_fd(s));
	err = held < 0 ? held : shoal_table_read(s, 0, table);
	if (!err)
		err = shoal_vips_read(s, slots);
	if (err) {
		fprintf(stderr, "%s: reading the tables: %s\n", what, strerror(-err));
		goto out;
	}
	slot = vip_find(slots, vip, &probe);
	if (slot < 0) {
		fprintf(stderr, "%s: the VIP is not in the slot table\n", what);
		err = -EPROTO;
		goto out;
	}
	/* A fresh data plane's first table: no bucket has a previous owner. */
	for (k = 0; k < SHOAL_M_DEFAULT; k++) {
		if (table[k].prev[0] || !table[k].owner || table[k].owner > p->nodes) {
			fprintf(stderr, "%s: bucket %u is not a plain Maglev bucket\n", what, k);
			err = -EPROTO;
			goto out;
		}
	}
	err = pool_flows(&c, table, slots[slot].id, local, fwd, p);
	for (i = 0; !err && i < POOL_FLOWS; i++) {
		err = check_flow(s, &local[i], NULL, what);
		if (!err) {
			expect_forward(&c, fwd[i].frame, fwd[i].len, fwd[i].owner, exp);
			err = check_flow(s, &fwd[i], exp, what);
		}
	}
	if (!err)
		err = time_pool(b, s, local, fwd, p, what);
out:
	shoal_cluster_free(&c);
	unhold_prog(held);
	shoal_close(s);
	free(table);
	free(slots);
	free(local);
	free(fwd);
	return err;
}

/* ---- report ---- */

static struct json_object *jratio(double v)
{
	return v > 0 ? jnum(v) : NULL;
}

static struct json_object *tables_json(const struct table_point *t, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *j;

		if (!t[i].runs)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "nodes", json_object_new_int((int)t[i].nodes));
		json_object_object_add(j, "m", json_object_new_int((int)t[i].m));
		json_object_object_add(j, "ms", jnum(t[i].ms));
		json_object_object_add(j, "wall_ms", jnum(t[i].wall_ms));
		json_object_object_add(j, "ns_per_bucket", jnum(t[i].ns_per_bucket));
		json_object_object_add(j, "ratio_to_baseline", jnum(t[i].ratio));
		json_object_object_add(j, "runs", json_object_new_int(t[i].runs));
		json_object_array_add(a, j);
	}
	return a;
}

static struct json_object *mem_json(const struct mem_point *p, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "vips", json_object_new_int((int)p[i].vips));
		json_object_object_add(j, "nodes", json_object_new_int((int)p[i].nodes));
		json_object_object_add(j, "m", json_object_new_int((int)p[i].m));
		json_object_object_add(j, "bytes", json_object_new_int64((int64_t)p[i].bytes));
		json_object_object_add(j, "ratio_to_smallest", jnum(p[i].ratio));
		json_object_array_add(a, j);
	}
	return a;
}

static struct json_object *vips_json(const struct vip_point *p, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "vips", json_object_new_int((int)p[i].vips));
		json_object_object_add(j, "ns_per_pkt", jnum(p[i].ns));
		json_object_object_add(j, "ratio_to_trivial", jnum(p[i].ratio));
		json_object_object_add(j, "ratio_to_first", jnum(p[i].first_ratio));
		json_object_object_add(j, "trivial_ns_per_pkt", jnum(p[i].trivial_ns));
		json_object_object_add(j, "sampled_vips", json_object_new_int(p[i].sampled));
		json_object_object_add(j, "sampled_off_home",
				       json_object_new_int(p[i].sampled_away));
		json_object_object_add(j, "home_ns_per_pkt", jratio(p[i].home_ns));
		json_object_object_add(j, "off_home_ns_per_pkt", jratio(p[i].away_ns));
		json_object_object_add(j, "vips_off_home", json_object_new_int((int)p[i].away));
		json_object_object_add(j, "max_probe", json_object_new_int((int)p[i].max_probe));
		json_object_array_add(a, j);
	}
	return a;
}

static struct json_object *pool_json(const struct pool_point *p, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "nodes", json_object_new_int((int)p[i].nodes));
		json_object_object_add(j, "ns_per_pkt", jnum(p[i].ns));
		json_object_object_add(j, "ratio_to_trivial", jnum(p[i].ratio));
		json_object_object_add(j, "ratio_to_first", jnum(p[i].first_ratio));
		json_object_object_add(j, "trivial_ns_per_pkt", jnum(p[i].trivial_ns));
		json_object_object_add(j, "flows", json_object_new_int(p[i].flows));
		json_object_object_add(j, "buckets", json_object_new_int(p[i].buckets));
		json_object_object_add(j, "forward_ns_per_pkt", jnum(p[i].fwd_ns));
		json_object_object_add(j, "forward_ratio_to_trivial", jnum(p[i].fwd_ratio));
		json_object_object_add(j, "forward_ratio_to_first", jnum(p[i].fwd_first_ratio));
		json_object_object_add(j, "forward_wrapped_ns_per_pkt", jnum(p[i].fwd_wrapped_ns));
		json_object_object_add(j, "wrapper_overhead_ns_per_pkt", jnum(p[i].overhead_ns));
		json_object_object_add(j, "forward_flows", json_object_new_int(p[i].fwd_flows));
		json_object_object_add(j, "forward_owners", json_object_new_int(p[i].fwd_owners));
		json_object_object_add(j, "forward_buckets", json_object_new_int(p[i].fwd_buckets));
		json_object_array_add(a, j);
	}
	return a;
}

static void print_vips(const char *title, const struct vip_point *p, size_t n)
{
	size_t i;

	printf("\n%s\n%-8s %9s %9s %8s %8s %14s %9s %9s %10s %6s\n", title, "vips", "ns/pkt",
	       "trivial", "ratio", "vs first", "off home/smpl", "home ns", "off ns",
	       "off (all)", "probe");
	for (i = 0; i < n; i++) {
		char away[32], home_ns[16], off_ns[16];

		snprintf(away, sizeof(away), "%d/%d", p[i].sampled_away, p[i].sampled);
		snprintf(home_ns, sizeof(home_ns), p[i].home_ns < 0 ? "-" : "%.2f", p[i].home_ns);
		snprintf(off_ns, sizeof(off_ns), p[i].away_ns < 0 ? "-" : "%.2f", p[i].away_ns);
		printf("%-8zu %9.2f %9.2f %7.2fx %7.2fx %14s %9s %9s %10zu %6u\n", p[i].vips,
		       p[i].ns, p[i].trivial_ns, p[i].ratio, p[i].first_ratio, away, home_ns,
		       off_ns, p[i].away, p[i].max_probe);
	}
}

static struct json_object *method_json(void)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "timing", json_object_new_string(
		"wall clock around bpf_prog_test_run_opts() / repeat, on the CPU where the "
		"trivial program is fastest; every program timed directly attached to a "
		"down veth first, so that test_run does not change the XDP dispatcher "
		"(test_run_fixed_cost); a run the thread was switched out of is run "
		"again (see switched_out); per configuration, rounds of: for every flow, the "
		"trivial program then the flow; medians over rounds of the mean over flows "
		"(ns) and of the mean per-flow ratio to the trivial run just before "
		"(ratio_to_trivial); ratio_to_first is ratio_to_trivial over the first "
		"configuration's"));
	json_object_object_add(j, "pkt_cost_vips", json_object_new_string(
		"IPv4 TCP ACK to VIP:80, bucket owned here, no previous owner: PASS pass_owner; "
		"every bucket this node's (fx_table_uniform); up to sampled_vips VIPs evenly "
		"spaced in the order added, first and last included"));
	json_object_object_add(j, "pkt_cost_vips_addresses", json_object_new_string(
		"pkt_cost_vips: distinct addresses drawn at random (fixed seed) from "
		"198.19.0.0/16; pkt_cost_vips_block: 198.19.0.0 upwards"));
	json_object_object_add(j, "pkt_cost_pool", json_object_new_string(
		"real Maglev table from shoal_cluster_apply(), M=65537; ns_per_pkt: the first "
		"flows from 198.18.3.1-254, ports from 1024, whose bucket this node owns, PASS "
		"pass_owner, direct; forward_*: the first flows whose bucket another node owns, "
		"TX tx_owner, through the restore wrapper less t(wrapper->empty) - t(empty)"));
	json_object_object_add(j, "map_memory", json_object_new_string(
		"sum of fdinfo memlock over the program's maps and the inner maps of its "
		"map-in-maps, fresh data plane per configuration, M=65537 unless m says"));
	json_object_object_add(j, "limits", json_object_new_string(
		"test_run repeats one frame: every repeat reads the same VIP slot, bucket and "
		"node entry from a warm cache; the cache misses of a live mix of flows are not "
		"in these figures"));
	return j;
}

int main(int argc, char **argv)
{
	static const __u32 build_nodes[] = { 10, 100, 1000, SHOAL_MAX_NODES - 1 };
	static const __u32 build_m[] = { SHOAL_M_DEFAULT, 655373, SHOAL_M_MAX };
	static const size_t mem_vips[] = { 1, 100, 1000, MAX_VIPS_HERE };
	static const __u32 mem_nodes[] = { 2, 100, 1000, SHOAL_MAX_NODES - 1 };
	static const size_t cost_vips[] = { 1, 10, 100, 1000, MAX_VIPS_HERE };
	static const __u32 cost_nodes[] = { 2, 16, 256, SHOAL_MAX_NODES - 1 };
#define NB	(sizeof(build_nodes) / sizeof(build_nodes[0]) * \
		 sizeof(build_m) / sizeof(build_m[0]))
#define NMEM	(sizeof(mem_vips) / sizeof(mem_vips[0]) * \
		 sizeof(mem_nodes) / sizeof(mem_nodes[0]))
#define NMEMM	(sizeof(build_m) / sizeof(build_m[0]))
#define NCV	(sizeof(cost_vips) / sizeof(cost_vips[0]))
#define NCP	(sizeof(cost_nodes) / sizeof(cost_nodes[0]))
	static __u32 addrs[MAX_VIPS_HERE], block[MAX_VIPS_HERE];
	struct table_point tables[NB] = {};
	struct mem_point mem[NMEM] = {}, mem_m[NMEMM] = {};
	struct vip_point vips[NCV] = {}, vblock[NCV] = {};
	struct pool_point pools[NCP] = {};
	struct map_mem maps[MAX_MAPS];
	struct json_object *root = NULL, *arr, *skipped = NULL;
	struct bench b = {};
	double t_start = now_ns(), spent = 0, trivial[ROUNDS], fixed_free, fixed_held;
	struct pkt_spec ref;
	int cpu, jit, nmaps = 0, rc = 1, i;
	size_t k, big = NMEM - 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
		return 2;
	}
	for (k = 0; k < NB; k++) {
		tables[k].m = build_m[k / (NB / NMEMM)];
		tables[k].nodes = build_nodes[k % (NB / NMEMM)];
		if (!shoal_is_prime(tables[k].m) || tables[k].m > SHOAL_M_MAX) {
			fprintf(stderr, "M=%u is not a prime up to %u\n", tables[k].m, SHOAL_M_MAX);
			return 1;
		}
	}
	vip_addrs(addrs, MAX_VIPS_HERE, false);
	vip_addrs(block, MAX_VIPS_HERE, true);

	jit = jit_enabled();	/* the namespace hides the sysctl */
	if (fx_enter()) {
		fprintf(stderr, "bench: cannot set up the namespace (root needed)\n");
		goto out;
	}
	ref = fx_tcp4(CLIENT, 40001, POOL_VIP, VIP_PORT, PKT_TCP_ACK);
	b.ref_len = pkt_build(&ref, b.ref, sizeof(b.ref));
	if (!b.ref_len || floor_load(&b.fl, b.ref_len))
		goto out;
	fixed_free = run_fixed_us(b.fl.trivial_fd, b.ref, b.ref_len);
	if (hold_prog(b.fl.trivial_fd) < 0 || hold_prog(b.fl.empty_fd) < 0 ||
	    hold_prog(b.fl.restore_fd) < 0)
		goto out;
	fixed_held = run_fixed_us(b.fl.trivial_fd, b.ref, b.ref_len);
	progress("fixed cost of a test run: %.1f us, %.1f us with the program attached",
		 fixed_free, fixed_held);
	cpu = pick_cpu(&b);
	if (cpu < 0) {
		fprintf(stderr, "choosing a CPU: %s\n", strerror(-cpu));
		goto out;
	}
	for (i = 0; i < ROUNDS; i++) {
		if (time_ref(b.fl.trivial_fd, "trivial", b.ref, b.ref_len, XDP_TX, REPEAT,
			     &trivial[i]))
			goto out;
	}
	triv_seen(&b, median(trivial, ROUNDS));
	progress("on CPU %d; trivial program %.2f ns/pkt", cpu, median(trivial, ROUNDS));

	/* 1. */
	skipped = json_object_new_array();
	for (k = 0; k < NB; k++) {
		struct table_point *t = &tables[k];

		if (spent > TABLE_BUDGET_MS) {
			char why[128];

			snprintf(why, sizeof(why), "%u nodes, M=%u: skipped, the series had taken "
				 "%.0f s", t->nodes, t->m, spent / 1e3);
			json_object_array_add(skipped, json_object_new_string(why));
			progress("table build %s", why);
			continue;
		}
		progress("table build: %u nodes, M=%u", t->nodes, t->m);
		if (time_build(t, &spent))
			goto out;
		if (t->runs == 1) {
			char why[128];

			snprintf(why, sizeof(why), "%u nodes, M=%u: one run only, it took %.0f ms",
				 t->nodes, t->m, t->ms);
			json_object_array_add(skipped, json_object_new_string(why));
		}
		t->ratio = t->ms / tables[0].ms;
	}

	/* 2. */
	for (k = 0; k < NMEM; k++) {
		mem[k].vips = mem_vips[k / (sizeof(mem_nodes) / sizeof(mem_nodes[0]))];
		mem[k].nodes = mem_nodes[k % (sizeof(mem_nodes) / sizeof(mem_nodes[0]))];
		mem[k].m = SHOAL_M_DEFAULT;
		progress("map memory: %zu VIP%s, %u nodes", mem[k].vips,
			 mem[k].vips == 1 ? "" : "s", mem[k].nodes);
		if (measure_memory(addrs, &mem[k], k == big ? maps : NULL,
				   k == big ? &nmaps : NULL))
			goto out;
		mem[k].ratio = (double)mem[k].bytes / (double)mem[0].bytes;
	}
	for (k = 0; k < NMEMM; k++) {
		mem_m[k].vips = 1;
		mem_m[k].nodes = 2;
		mem_m[k].m = build_m[k];
		progress("map memory: 1 VIP, 2 nodes, M=%u", mem_m[k].m);
		if (measure_memory(addrs, &mem_m[k], NULL, NULL))
			goto out;
		mem_m[k].ratio = (double)mem_m[k].bytes / (double)mem[0].bytes;
	}

	/* 3. */
	for (k = 0; k < NCV; k++) {
		vips[k].vips = vblock[k].vips = cost_vips[k];
		progress("per-packet cost: %zu VIP%s, random addresses", cost_vips[k],
			 cost_vips[k] == 1 ? "" : "s");
		if (measure_vips(&b, addrs, &vips[k]))
			goto out;
		progress("per-packet cost: %zu VIP%s, a block of addresses", cost_vips[k],
			 cost_vips[k] == 1 ? "" : "s");
		if (measure_vips(&b, block, &vblock[k]))
			goto out;
		/* In units of the trivial program, so that a change of speed cancels. */
		vips[k].first_ratio = vips[k].ratio / vips[0].ratio;
		vblock[k].first_ratio = vblock[k].ratio / vblock[0].ratio;
	}

	/* 4. */
	for (k = 0; k < NCP; k++) {
		pools[k].nodes = cost_nodes[k];
		progress("per-packet cost: pool of %u nodes", cost_nodes[k]);
		if (measure_pool(&b, &pools[k]))
			goto out;
		pools[k].first_ratio = pools[k].ratio / pools[0].ratio;
		pools[k].fwd_first_ratio = pools[k].fwd_ratio / pools[0].fwd_ratio;
	}

	if (sched_stats.retried)
		progress("%ld of %ld timed runs were switched out by other tasks and run again; "
			 "%ld were switched out all %d times (the fastest attempt kept)",
			 sched_stats.retried, sched_stats.runs, sched_stats.preempted, TRIES);
	if (b.triv_max > b.triv_min * 1.1)
		progress("warning: the trivial program's median went from %.2f to %.2f ns/pkt: "
			 "the machine was busy, trust the ratios more than the ns", b.triv_min,
			 b.triv_max);

	printf("trivial program (swap MACs, XDP_TX): %.2f ns/pkt; per-configuration medians "
	       "%.2f-%.2f\n", median(trivial, ROUNDS), b.triv_min, b.triv_max);
	printf("\ntable build (maglev_build, equal weights; baseline 10 nodes, M=%u)\n",
	       SHOAL_M_DEFAULT);
	printf("%-8s %8s %5s %11s %10s %9s %9s\n", "nodes", "M", "runs", "build ms",
	       "ns/bucket", "ratio", "wall ms");
	for (k = 0; k < NB; k++) {
		if (tables[k].runs)
			printf("%-8u %8u %5d %11.2f %10.2f %8.2fx %9.2f\n", tables[k].nodes,
			       tables[k].m, tables[k].runs, tables[k].ms, tables[k].ns_per_bucket,
			       tables[k].ratio, tables[k].wall_ms);
		else
			printf("%-8u %8u %5s %11s %10s %9s\n", tables[k].nodes, tables[k].m, "-",
			       "skipped", "", "");
	}
	printf("\nmap memory (fdinfo memlock, all maps and inner maps)\n");
	printf("%-8s %8s %8s %12s %10s %9s\n", "vips", "nodes", "M", "bytes", "MiB", "ratio");
	for (k = 0; k < NMEM + NMEMM; k++) {
		const struct mem_point *p = k < NMEM ? &mem[k] : &mem_m[k - NMEM];

		printf("%-8zu %8u %8u %12llu %10.2f %8.2fx\n", p->vips, p->nodes, p->m,
		       (unsigned long long)p->bytes, (double)p->bytes / 1048576.0, p->ratio);
	}
	printf("\nper map, %zu VIPs, %u nodes, M=%u\n", mem[big].vips, mem[big].nodes,
	       mem[big].m);
	printf("%-28s %-16s %9s %7s %12s\n", "map", "type", "entries", "value", "bytes");
	for (i = 0; i < nmaps; i++)
		printf("%-28s %-16s %9u %7u %12llu\n", maps[i].name,
		       maps[i].type ? maps[i].type : "?", maps[i].max_entries,
		       maps[i].value_size, (unsigned long long)maps[i].bytes);
	print_vips("per-packet cost against VIPs (ACK, PASS pass_owner; random addresses in "
		   "198.19.0.0/16)", vips, NCV);
	print_vips("the same, a block of addresses from 198.19.0.0", vblock, NCV);
	printf("\nper-packet cost against pool size (real Maglev table, M=%u)\n",
	       SHOAL_M_DEFAULT);
	printf("%-8s %9s %9s %8s %8s %8s | %9s %8s %8s %7s %8s %9s\n", "nodes", "pass ns",
	       "trivial", "ratio", "vs first", "buckets", "fwd ns", "ratio", "vs first",
	       "owners", "buckets", "overhead");
	for (k = 0; k < NCP; k++)
		printf("%-8u %9.2f %9.2f %7.2fx %7.2fx %8d | %9.2f %7.2fx %7.2fx %7d %8d %9.2f\n",
		       pools[k].nodes, pools[k].ns, pools[k].trivial_ns, pools[k].ratio,
		       pools[k].first_ratio, pools[k].buckets, pools[k].fwd_ns,
		       pools[k].fwd_ratio, pools[k].fwd_first_ratio, pools[k].fwd_owners,
		       pools[k].fwd_buckets, pools[k].overhead_ns);
	printf("(pass: %d flows owned here, PASS pass_owner, direct; fwd: %d flows owned "
	       "elsewhere, TX tx_owner, through the restore wrapper less its overhead)\n",
	       POOL_FLOWS, POOL_FLOWS);

	root = json_object_new_object();
	json_object_object_add(root, "machine", machine_json(cpu, jit));
	json_object_object_add(root, "trivial_ns_per_pkt", jnum(median(trivial, ROUNDS)));
	json_object_object_add(root, "trivial_ns_per_pkt_min", jnum(b.triv_min));
	json_object_object_add(root, "trivial_ns_per_pkt_max", jnum(b.triv_max));
	json_object_object_add(root, "repeat", json_object_new_int(REPEAT));
	json_object_object_add(root, "flow_repeat", json_object_new_int(FLOW_REPEAT));
	json_object_object_add(root, "rounds", json_object_new_int(ROUNDS));
	json_object_object_add(root, "frame_bytes", json_object_new_int((int)b.ref_len));
	json_object_object_add(root, "method", method_json());
	arr = json_object_new_object();
	json_object_object_add(arr, "detached_us", jnum(fixed_free));
	json_object_object_add(arr, "attached_us", jnum(fixed_held));
	json_object_object_add(root, "test_run_fixed_cost", arr);
	json_object_object_add(root, "table_build", tables_json(tables, NB));
	arr = json_object_new_object();
	json_object_object_add(arr, "nodes", json_object_new_int((int)tables[0].nodes));
	json_object_object_add(arr, "m", json_object_new_int((int)tables[0].m));
	json_object_object_add(root, "table_build_baseline", arr);
	json_object_object_add(root, "table_build_skipped", skipped);
	skipped = NULL;		/* root's now */
	json_object_object_add(root, "table_build_note", json_object_new_string(
		"pools stop at 4095 nodes: node ids are 1 .. SHOAL_MAX_NODES - 1; M=655373 is "
		"the prime nearest 10 x 65537, M=4194301 is SHOAL_M_MAX"));
	json_object_object_add(root, "map_memory", mem_json(mem, NMEM));
	json_object_object_add(root, "map_memory_by_m", mem_json(mem_m, NMEMM));
	arr = json_object_new_array();
	for (i = 0; i < nmaps; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "map", json_object_new_string(maps[i].name));
		json_object_object_add(j, "bytes", json_object_new_int64((int64_t)maps[i].bytes));
		json_object_object_add(j, "type", json_object_new_string(maps[i].type ?
									 maps[i].type : "?"));
		json_object_object_add(j, "max_entries",
				       json_object_new_int64(maps[i].max_entries));
		json_object_object_add(j, "value_size", json_object_new_int64(maps[i].value_size));
		json_object_array_add(arr, j);
	}
	json_object_object_add(root, "map_memory_breakdown", arr);
	arr = json_object_new_object();
	json_object_object_add(arr, "vips", json_object_new_int((int)mem[big].vips));
	json_object_object_add(arr, "nodes", json_object_new_int((int)mem[big].nodes));
	json_object_object_add(arr, "m", json_object_new_int((int)mem[big].m));
	json_object_object_add(root, "map_memory_breakdown_config", arr);
	json_object_object_add(root, "pkt_cost_vips", vips_json(vips, NCV));
	json_object_object_add(root, "pkt_cost_vips_block", vips_json(vblock, NCV));
	json_object_object_add(root, "pkt_cost_pool", pool_json(pools, NCP));
	arr = json_object_new_object();
	json_object_object_add(arr, "timed_runs", json_object_new_int64(sched_stats.runs));
	json_object_object_add(arr, "retried", json_object_new_int64(sched_stats.retried));
	json_object_object_add(arr, "preempted_every_try",
			       json_object_new_int64(sched_stats.preempted));
	json_object_object_add(arr, "tries", json_object_new_int(TRIES));
	json_object_object_add(root, "switched_out", arr);
	json_object_object_add(root, "seconds", jnum((now_ns() - t_start) / 1e9));
	if (write_report(argv[1], root))
		goto out;
	progress("done in %.0f s", (now_ns() - t_start) / 1e9);
	rc = 0;
out:
	json_object_put(skipped);
	json_object_put(root);
	bpf_object__close(b.fl.obj);
	return rc;
}
