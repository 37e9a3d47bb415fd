// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Micro-benchmark: data-plane paths in ns/packet against a trivial XDP program; table builds. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

#define REPEAT		1000000		/* packets per timed test run */
#define RUNS		5		/* timed runs per figure; the median is reported */
#define WARMUP		100000		/* packets per untimed run before the rounds */
#define TABLE_RUNS	5
#define FRAME_MAX	FLOOR_FRAME_MAX
#define OUT_MAX		256		/* room for any output: a FRAME_MAX frame, encapsulated */
#define RUN_OUT_MAX	4096		/* a timed run's output: one page, however far the head went */
#define FLOORS		4		/* loads of floor.bpf.c: one per frame length and head move */

/* floor_move run alone alternates its move; an even count ends where it began. */
_Static_assert(REPEAT % 2 == 0, "REPEAT must be even");

/* A client that holds no socket anywhere (as in tests/unit/test_dataplane.c). */
#define BENCH_CLIENT	"198.18.3.7"
#define BENCH_NON_VIP	"198.18.2.1"



/* The reference programs of bench/floor.bpf.c, and the data planes under test. */
struct bench {
	struct shoal *l2;	/* node A, L2 forwarding (fx_dataplane) */
	struct shoal *gue;	/* node A, GUE forwarding over IPv4 (fx_cluster_gue) */
	__u64 gue_seed[2];	/* the GUE cluster's flow hash key */
	struct floor floors[FLOORS];
	int nfloors;		/* floors[0]: the trivial and empty programs of every path */
	double floor_min;	/* lowest and highest median of the trivial program */
	double floor_max;
};

enum method { M_DIRECT, M_WRAPPER };

static const char *const method_name[] = { "direct", "restore-wrapper" };

struct path {
	const char *name;
	const char *what;
	struct pkt_spec spec;
	bool gue;		/* on the GUE data plane, not the L2 one */
	__u16 from;		/* nonzero: the frame is spec's packet GUE-encapsulated by this peer */
	int grow;		/* output length less input length: the program moves the head by -grow */
	/* the uniform bucket every flow maps to */
	__u16 owner;
	__u16 prev[SHOAL_MAX_PREV];
	int nprev;
	/* the verdict the path must have */
	__u32 action;
	int reason;
	__u16 target;		/* for XDP_TX: the peer it goes to */
	enum method method;	/* paths that rewrite the frame need the wrapper */
	/* set up */
	struct shoal *dp;
	int shoal_fd;
	struct floor *fl;	/* the wrapper and calibration target for this frame */
	__u8 frame[FRAME_MAX];
	size_t len;
	__u8 out[OUT_MAX];	/* the output, as checked before timing */
	__u32 out_len;
	/* results */
	double ns;		/* by `method` */
	double floor_ns;	/* trivial program, same rounds */
	double ratio;		/* median of the rounds' ns / floor_ns */
	double wrapper_ns;	/* through the wrapper, its overhead subtracted */
	double overhead_ns;	/* t(wrapper->cal) - t(cal), same rounds: what is subtracted */
	double cal_ns;		/* t(cal): the calibration target alone */
	double move_ns;		/* paths that move the head: t(floor_move) - t(empty) */
	double check_ns;	/* ... floor_move_swap alone */
	double check_wrapped_ns; /* ... through the wrapper, less the same overhead */
};

/* The wrapper's calibration target: what the path does to the head, and nothing else. */
static int cal_fd(const struct path *p)
{
	return p->grow ? p->fl->move_fd : p->fl->empty_fd;
}

static const char *cal_name(const struct path *p)
{
	return p->grow ? "floor_move" : "floor_empty";
}

/*
 * The trivial program's median in every group of rounds: they differ by a
 * few per cent on a steady machine, and by more when it was busy.
 */
static void floor_seen(struct bench *b, double floor_ns)
{
	if (!b->floor_min || floor_ns < b->floor_min)
		b->floor_min = floor_ns;
	if (floor_ns > b->floor_max)
		b->floor_max = floor_ns;
}

/* ---- running programs ---- */

/*
 * One BPF_PROG_TEST_RUN of `repeat` packets, timed by the wall clock around
 * the syscall: test_run's own duration is whole nanoseconds per packet, the
 * wall clock over a million packets resolves fractions. The syscall's fixed
 * cost (a few microseconds, copying the frame in and out included) is below
 * 0.01 ns per packet. `out` (RUN_OUT_MAX bytes, or NULL) gets the frame as
 * the last repeat left it; *out_len its length.
 */
static int time_run(int prog_fd, const __u8 *frame, size_t len, __u32 repeat, double *ns,
		    __u32 *retval, __u8 *out, __u32 *out_len)
{
	static __u8 sink[RUN_OUT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out ? out : sink, .data_size_out = RUN_OUT_MAX, .repeat = repeat);
	double t0, t1;
	int err;

	t0 = now_ns();
	err = bpf_prog_test_run_opts(prog_fd, &o);
	t1 = now_ns();
	if (err)
		return err;
	*ns = (t1 - t0) / repeat;
	*retval = o.retval;
	*out_len = o.data_size_out;
	return 0;
}

/* A timed run of a reference program, which must give `action` and leave out_len bytes. */
static int time_floor(int prog_fd, const char *what, const __u8 *frame, size_t len,
		      __u32 action, size_t out_len, double *ns)
{
	__u32 ret, got;
	int err = time_run(prog_fd, frame, len, REPEAT, ns, &ret, NULL, &got);

	if (err) {
		fprintf(stderr, "test run of %s: %s\n", what, strerror(-err));
		return err;
	}
	if (ret != action) {
		fprintf(stderr, "%s returned %s, want %s\n", what, shoal_action_name(ret),
			shoal_action_name(action));
		return -EPROTO;
	}
	if (got != out_len) {
		fprintf(stderr, "%s left a frame of %u bytes, want %zu\n", what, got, out_len);
		return -EPROTO;
	}
	return 0;
}

/*
 * A timed run of shoal (directly or through the wrapper). The reason
 * counters must move by exactly `repeat`, all under the path's reason: every
 * packet took the path, not just the last one whose verdict test_run returns.
 * Their bytes must move by `repeat` input frames: shoal counts the frame as
 * it arrived, so a repeat that saw a frame of another length (a GUE frame's
 * inner packet, say, which takes the same reason) shows. The frame the last
 * repeat left must be the output checked before timing.
 */
static int time_path(const struct path *p, int prog_fd, __u32 repeat, double *ns)
{
	struct shoal_counter before[SHOAL_R_MAX], after[SHOAL_R_MAX];
	static __u8 out[RUN_OUT_MAX];
	__u64 total = 0, mine, bytes;
	__u32 ret, out_len = 0;
	int err, i;

	err = shoal_stats_read(p->dp, before);
	if (!err)
		err = time_run(prog_fd, p->frame, p->len, repeat, ns, &ret, out, &out_len);
	if (!err)
		err = shoal_stats_read(p->dp, after);
	if (err) {
		fprintf(stderr, "%s: test run: %s\n", p->name, strerror(-err));
		return err;
	}
	for (i = 0; i < SHOAL_R_MAX; i++)
		total += after[i].packets - before[i].packets;
	mine = after[p->reason].packets - before[p->reason].packets;
	bytes = after[p->reason].bytes - before[p->reason].bytes;
	if (ret != p->action || mine != repeat || total != repeat ||
	    bytes != (__u64)repeat * p->len) {
		fprintf(stderr, "%s: timed run gave %s with %llu of %llu packets (%llu bytes) "
			"counted as %s (want %s, %u packets of %zu bytes)\n", p->name,
			shoal_action_name(ret), (unsigned long long)mine,
			(unsigned long long)total, (unsigned long long)bytes,
			shoal_reason_name(p->reason), shoal_action_name(p->action), repeat,
			p->len);
		return -EPROTO;
	}
	if (out_len != p->out_len || memcmp(out, p->out, out_len)) {
		fprintf(stderr, "%s: the timed run left a frame of %u bytes that is not the "
			"checked output (%u bytes)\n", p->name, out_len, p->out_len);
		return -EPROTO;
	}
	return 0;
}

/*
 * One traced run through any program (the wrapper tail-calls shoal, which
 * fills the trace record in the metadata area), as shoal_run() does for
 * shoal alone.
 */
static int run_traced(int prog_fd, const __u8 *frame, size_t len, __u32 *action,
		      struct shoal_trace *t, __u8 *out, __u32 *out_len)
{
	struct shoal_trace req = { .magic = SHOAL_TRACE_MAGIC };
	__u8 in[sizeof(req) + FRAME_MAX], res[sizeof(req) + OUT_MAX];
	struct xdp_md ctx = { .data = sizeof(req), .data_end = (__u32)(sizeof(req) + len) };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)(sizeof(req) + len),
		    .data_out = res, .data_size_out = sizeof(res), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	if (len > sizeof(in) - sizeof(req))
		return -EINVAL;
	memcpy(in, &req, sizeof(req));
	memcpy(in + sizeof(req), frame, len);
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err;
	if (o.data_size_out < sizeof(req))
		return -EPROTO;
	*action = o.retval;
	memcpy(t, res, sizeof(*t));
	*out_len = o.data_size_out - (__u32)sizeof(req);
	memcpy(out, res + sizeof(req), *out_len);
	return 0;
}

static int set_frame(const struct path *p)
{
	int err = floor_set_frame(p->fl, p->frame, p->len);

	if (err)
		fprintf(stderr, "%s: saving the frame: %s\n", p->name, strerror(-err));
	return err;
}

/* ---- setup ---- */

static struct floor *floor_get(struct bench *b, size_t frame_len, int head_move)
{
	struct floor *fl;
	int i;

	for (i = 0; i < b->nfloors; i++) {
		fl = &b->floors[i];
		if (fl->conf.frame_len == frame_len && fl->conf.head_move == head_move)
			return fl;
	}
	if (b->nfloors == FLOORS || frame_len < 8 || frame_len > FRAME_MAX) {
		fprintf(stderr, "no wrapper for a frame of %zu bytes (8 .. %d, %d loads)\n",
			frame_len, FRAME_MAX, FLOORS);
		return NULL;
	}
	fl = &b->floors[b->nfloors++];
	fl->conf.frame_len = (__u32)frame_len;
	fl->conf.head_move = head_move;
	return floor_open(fl, FLOOR_OBJ) ? NULL : fl;
}

/* The flow's bucket on the GUE data plane, computed here the way every node must. */
static __u32 gue_bucket(const struct bench *b, const struct pkt_spec *s)
{
	return shoal_bucket_of(shoal_flow_hash4(b->gue_seed, s->src.a[0], s->dst.a[0],
						htons(s->sport), htons(s->dport), s->proto),
			       shoal_m(b->gue));
}

/*
 * spec's packet GUE-encapsulated: `from` -> `to` on hop `hop`, the bucket and
 * source port as a sender computes them, MACs between `to` and the router.
 * `ttl` is the inner TTL (0: as built). Returns the length, or 0.
 */
static size_t gue_frame(const struct bench *b, const struct pkt_spec *spec, __u16 from, __u16 to,
			int hop, __u8 ttl, __u32 gen, __u8 *buf, size_t cap)
{
	struct pkt_spec s = *spec;
	__u32 bucket = gue_bucket(b, spec);
	struct pkt_gue g = { .dport = SHOAL_GUE_PORT_DEFAULT, .hop = (__u8)hop, .sender = from,
			     .bucket = bucket, .gen = gen,
			     .sport = (__u16)(0xc000 | (bucket & 0x3fff)) };
	__u8 inner[FRAME_MAX];
	size_t n;

	s.ttl = ttl;
	n = pkt_build(&s, inner, sizeof(inner));
	if (!n)
		return 0;
	/* Sent by this node: to the router; received here: from the router. */
	memcpy(g.dst_mac, from == FX_A ? fx_mac[0] : fx_mac[to], 6);
	memcpy(g.src_mac, from == FX_A ? fx_mac[FX_A] : fx_mac[0], 6);
	fx_node_addr(from, 4, &g.src);
	fx_node_addr(to, 4, &g.dst);
	return pkt_gue_wrap(&g, inner, n, buf, cap);
}

/* The frame each path starts from, and the load of floor.bpf.c that restores it. */
static int path_setup(struct bench *b, struct path *p)
{
	p->dp = p->gue ? b->gue : b->l2;
	p->shoal_fd = shoal_prog_fd(p->dp);
	if (p->from)
		p->len = gue_frame(b, &p->spec, p->from, FX_A, 1, 0, 7, p->frame, sizeof(p->frame));
	else
		p->len = pkt_build(&p->spec, p->frame, sizeof(p->frame));
	if (!p->len) {
		fprintf(stderr, "%s: the frame does not fit in %d bytes\n", p->name, FRAME_MAX);
		return -EINVAL;
	}
	/* Paths that leave the head alone share floors[0] (the first path's frame length). */
	p->fl = floor_get(b, p->len, -p->grow);
	return p->fl ? 0 : -ENOENT;
}

/*
 * The exact output of a path that moves the head: the encapsulation
 * test_gue.c expects (inner TTL one down, this node's pool generation), or
 * the inner frame. Returns the length, or 0.
 */
static size_t expected_out(const struct bench *b, const struct path *p, __u8 *buf, size_t cap)
{
	struct shoal_pool pool;

	if (p->grow > 0) {
		if (shoal_pool_get(p->dp, 0, &pool))
			return 0;
		return gue_frame(b, &p->spec, FX_A, p->target, 1, 63, (__u32)pool.gen, buf, cap);
	}
	return pkt_build(&p->spec, buf, cap);
}

/*
 * A traced run, an untraced run (the fast path, where the frame qualifies)
 * and a traced run through the wrapper must all give the path's verdict and
 * the same output; a path that moves the head must give exactly the frame
 * expected. The output is kept for the timed runs' checks.
 */
static int check_path(const struct bench *b, struct path *p)
{
	static struct shoal_run r, u;
	struct shoal_trace t;
	__u8 out[OUT_MAX], exp[OUT_MAX];
	__u32 action, out_len;
	size_t n;
	int err;

	err = shoal_run(p->dp, p->frame, p->len, true, &r);
	if (!err)
		err = shoal_run(p->dp, p->frame, p->len, false, &u);
	if (err) {
		fprintf(stderr, "%s: test run: %s\n", p->name, strerror(-err));
		return err;
	}
	if (r.action != p->action || r.trace.reason != p->reason ||
	    (p->action == XDP_TX && r.trace.target != p->target)) {
		fprintf(stderr, "%s: wrong path: got %s %s (target %u), want %s %s (target %u)\n",
			p->name, shoal_action_name(r.action), shoal_reason_name(r.trace.reason),
			r.trace.target, shoal_action_name(p->action), shoal_reason_name(p->reason),
			p->action == XDP_TX ? p->target : 0);
		return -EPROTO;
	}
	if (u.action != r.action || u.out_len != r.out_len || memcmp(u.out, r.out, r.out_len)) {
		fprintf(stderr, "%s: the untraced run gave %s and another frame\n", p->name,
			shoal_action_name(u.action));
		return -EPROTO;
	}
	if (r.out_len != p->len + (size_t)p->grow || r.out_len > OUT_MAX) {
		fprintf(stderr, "%s: output of %u bytes from %zu, want %+d\n", p->name, r.out_len,
			p->len, p->grow);
		return -EPROTO;
	}
	if (p->grow) {
		n = expected_out(b, p, exp, sizeof(exp));
		if (!(r.trace.flags & (p->grow > 0 ? SHOAL_TRACE_F_GUE_OUT : SHOAL_TRACE_F_GUE_IN)) ||
		    n != r.out_len || memcmp(exp, r.out, n)) {
			fprintf(stderr, "%s: the output is not the expected %s frame\n", p->name,
				p->grow > 0 ? "encapsulated" : "decapsulated");
			return -EPROTO;
		}
	}
	memcpy(p->out, r.out, r.out_len);
	p->out_len = r.out_len;

	err = set_frame(p);
	if (!err)
		err = floor_set_target(p->fl, p->shoal_fd, "shoal");
	if (err)
		return err;
	err = run_traced(p->fl->restore_fd, p->frame, p->len, &action, &t, out, &out_len);
	if (err) {
		fprintf(stderr, "%s: traced run through the wrapper: %s\n", p->name,
			strerror(-err));
		return err;
	}
	if (action != p->action || t.reason != p->reason) {
		fprintf(stderr, "%s: through the wrapper: got %s %s, want %s %s%s\n", p->name,
			shoal_action_name(action), shoal_reason_name(t.reason),
			shoal_action_name(p->action), shoal_reason_name(p->reason),
			action == XDP_ABORTED ? " (the tail call did not happen)" : "");
		return -EPROTO;
	}
	if (out_len != r.out_len || memcmp(out, r.out, out_len)) {
		fprintf(stderr, "%s: the wrapper changed the program's output frame\n", p->name);
		return -EPROTO;
	}
	return 0;
}

/* ---- measuring ---- */

/* The trivial and empty programs alone: the run's reference figures. */
static int measure_floor(struct bench *b, const struct path *p, double *floor_ns,
			 double *empty_ns, double *overhead_ns)
{
	const struct floor *fl = &b->floors[0];
	double fl_ns[RUNS], em[RUNS], we[RUNS];
	int i, err;

	err = set_frame(p);
	if (!err)
		err = floor_set_target(fl, fl->empty_fd, "floor_empty");
	if (err)
		return err;
	for (i = 0; i < RUNS; i++) {
		err = time_floor(fl->trivial_fd, "trivial", p->frame, p->len, XDP_TX, p->len,
				 &fl_ns[i]);
		if (!err)
			err = time_floor(fl->empty_fd, "empty", p->frame, p->len, XDP_PASS, p->len,
					 &em[i]);
		if (!err)
			err = time_floor(fl->restore_fd, "wrapper->empty", p->frame, p->len,
					 XDP_PASS, p->len, &we[i]);
		if (err)
			return err;
	}
	*floor_ns = median(fl_ns, RUNS);
	floor_seen(b, *floor_ns);
	*empty_ns = median(em, RUNS);
	*overhead_ns = median(we, RUNS) - *empty_ns;
	return 0;
}

/*
 * RUNS rounds, each timing, back to back: the trivial program, shoal directly
 * (when the path leaves the frame alone), the wrapper tail-calling shoal, the
 * wrapper tail-calling the calibration target, the calibration target alone,
 * and, for paths that move the head, the empty program and floor_move_swap
 * through the wrapper and alone (a check on the subtraction). The calibration
 * target is floor_empty for paths that leave the head alone and floor_move
 * for those that move it, so that the wrapper finds the head where shoal
 * leaves it and does the same work as before shoal. The wrapper's overhead
 * is t(wrapper->target) - t(target): the target's own work (for floor_move,
 * one bpf_xdp_adjust_head(), which shoal makes too) is not subtracted.
 *
 * The ratio is the median of the rounds' ratios: this virtual machine changes
 * speed from time to time, and a round is short enough to see one speed,
 * while five rounds may not.
 */
static int measure_path(struct bench *b, struct path *p)
{
	double fl[RUNS], dir[RUNS], ws[RUNS], wc[RUNS], ca[RUNS], em[RUNS], rt[RUNS], mv[RUNS];
	double xs[RUNS], xw[RUNS], xc[RUNS];
	const struct floor *ref = &b->floors[0];
	size_t moved = p->len + (size_t)p->grow;
	int i, err;
	double ns;

	err = set_frame(p);
	if (err)
		return err;

	/* Warm caches and branch predictors, and prove each run takes the path. */
	err = floor_set_target(p->fl, p->shoal_fd, "shoal");
	if (!err && p->method == M_DIRECT)
		err = time_path(p, p->shoal_fd, WARMUP, &ns);
	if (!err)
		err = time_path(p, p->fl->restore_fd, WARMUP, &ns);
	if (err)
		return err;

	for (i = 0; i < RUNS; i++) {
		err = time_floor(ref->trivial_fd, "trivial", p->frame, p->len, XDP_TX, p->len,
				 &fl[i]);
		if (!err && p->method == M_DIRECT)
			err = time_path(p, p->shoal_fd, REPEAT, &dir[i]);
		if (!err)
			err = time_path(p, p->fl->restore_fd, REPEAT, &ws[i]);
		if (!err)
			err = floor_set_target(p->fl, cal_fd(p), cal_name(p));
		/* Through the wrapper the target always moves the head; alone, there and back. */
		if (!err)
			err = time_floor(p->fl->restore_fd, p->grow ? "wrapper->floor_move" :
					 "wrapper->empty", p->frame, p->len, XDP_PASS, moved, &wc[i]);
		if (!err)
			err = time_floor(cal_fd(p), cal_name(p), p->frame, p->len, XDP_PASS, p->len,
					 &ca[i]);
		if (!err && p->grow)
			err = time_floor(ref->empty_fd, "empty", p->frame, p->len, XDP_PASS,
					 p->len, &em[i]);
		if (!err && p->grow)
			err = floor_set_target(p->fl, p->fl->move_swap_fd, "floor_move_swap");
		if (!err && p->grow)
			err = time_floor(p->fl->restore_fd, "wrapper->floor_move_swap", p->frame,
					 p->len, XDP_TX, moved, &xw[i]);
		if (!err && p->grow)
			err = time_floor(p->fl->move_swap_fd, "floor_move_swap", p->frame, p->len,
					 XDP_TX, p->len, &xs[i]);
		if (!err)
			err = floor_set_target(p->fl, p->shoal_fd, "shoal");
		if (err)
			return err;
		ns = p->method == M_DIRECT ? dir[i] : ws[i] - (wc[i] - ca[i]);
		rt[i] = ns / fl[i];
		mv[i] = p->grow ? ca[i] - em[i] : 0;
		xc[i] = p->grow ? xw[i] - (wc[i] - ca[i]) : 0;
		if (!p->grow)
			xs[i] = 0;
	}
	p->floor_ns = median(fl, RUNS);
	floor_seen(b, p->floor_ns);
	p->cal_ns = median(ca, RUNS);
	p->overhead_ns = median(wc, RUNS) - p->cal_ns;
	p->wrapper_ns = median(ws, RUNS) - p->overhead_ns;
	p->ns = p->method == M_DIRECT ? median(dir, RUNS) : p->wrapper_ns;
	p->ratio = median(rt, RUNS);
	p->move_ns = median(mv, RUNS);
	p->check_ns = median(xs, RUNS);
	p->check_wrapped_ns = median(xc, RUNS);
	return 0;
}

/* ---- table builds ---- */

struct table_result {
	__u32 nodes;
	__u32 m;
	double build_ms;
	double merge_ms;
	__u32 moved;
};

/*
 * maglev_build() for `n` equal-weight nodes, and table_merge() of that table
 * over the table of the same nodes without node 1, as when node 1 joins.
 */
static int measure_table(__u32 n, __u32 m, struct table_result *res)
{
	static const __u64 seed[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	struct maglev_node *nodes = calloc(n, sizeof(*nodes));
	__u16 *owners = calloc(m, sizeof(*owners)), *before = calloc(m, sizeof(*before));
	struct shoal_bucket *old = calloc(m, sizeof(*old)), *out = calloc(m, sizeof(*out));
	double build[TABLE_RUNS], merge[TABLE_RUNS], t0;
	struct table_diff diff;
	__u32 now = shoal_now_ticks(), i;
	int err = -ENOMEM, r;

	if (!nodes || !owners || !before || !old || !out)
		goto out;
	for (i = 0; i < n; i++) {
		nodes[i].id = (__u16)(i + 1);
		nodes[i].weight = SHOAL_WEIGHT_DEFAULT;
	}
	err = maglev_build(nodes + 1, n - 1, seed, m, before);
	if (err)
		goto out;
	table_merge(NULL, before, m, now, now + 600, NULL, NULL, old, &diff);
	for (r = 0; r < TABLE_RUNS; r++) {
		t0 = now_ns();
		err = maglev_build(nodes, n, seed, m, owners);
		build[r] = (now_ns() - t0) / 1e6;
		if (err)
			goto out;
		t0 = now_ns();
		table_merge(old, owners, m, now, now + 600, NULL, NULL, out, &diff);
		merge[r] = (now_ns() - t0) / 1e6;
	}
	res->nodes = n;
	res->m = m;
	res->build_ms = median(build, TABLE_RUNS);
	res->merge_ms = median(merge, TABLE_RUNS);
	res->moved = diff.moved;
out:
	if (err)
		fprintf(stderr, "table build for %u nodes: %s\n", n, strerror(-err));
	free(nodes);
	free(owners);
	free(before);
	free(old);
	free(out);
	return err;
}

/* ---- report ---- */

static struct json_object *path_json(const struct path *p)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "name", json_object_new_string(p->name));
	json_object_object_add(j, "ns_per_pkt", jnum(p->ns));
	json_object_object_add(j, "floor_ns_per_pkt", jnum(p->floor_ns));
	json_object_object_add(j, "ratio", jnum(p->ratio));
	json_object_object_add(j, "action", json_object_new_string(shoal_action_name(p->action)));
	json_object_object_add(j, "reason", json_object_new_string(shoal_reason_name(p->reason)));
	json_object_object_add(j, "method", json_object_new_string(method_name[p->method]));
	json_object_object_add(j, "frame_bytes", json_object_new_int((int)p->len));
	json_object_object_add(j, "out_bytes", json_object_new_int((int)p->out_len));
	/* For direct paths, the same path through the wrapper: a check on the subtraction. */
	json_object_object_add(j, "restore_wrapper_ns_per_pkt", jnum(p->wrapper_ns));
	json_object_object_add(j, "wrapper_overhead_ns_per_pkt", jnum(p->overhead_ns));
	json_object_object_add(j, "calibration", json_object_new_string(cal_name(p)));
	json_object_object_add(j, "calibration_ns_per_pkt", jnum(p->cal_ns));
	/* One bpf_xdp_adjust_head(), part of ns_per_pkt: floor_move alone less empty. */
	if (p->grow) {
		json_object_object_add(j, "head_move_ns_per_pkt", jnum(p->move_ns));
		/* floor_move_swap alone, and through the wrapper less this path's overhead. */
		json_object_object_add(j, "check_direct_ns_per_pkt", jnum(p->check_ns));
		json_object_object_add(j, "check_wrapped_ns_per_pkt", jnum(p->check_wrapped_ns));
	}
	json_object_object_add(j, "description", json_object_new_string(p->what));
	return j;
}

static struct json_object *tables_json(const struct table_result *t, size_t n, bool merge)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "nodes", json_object_new_int((int)t[i].nodes));
		json_object_object_add(j, "m", json_object_new_int((int)t[i].m));
		json_object_object_add(j, "ms", jnum(merge ? t[i].merge_ms : t[i].build_ms));
		if (merge)
			json_object_object_add(j, "moved", json_object_new_int((int)t[i].moved));
		json_object_array_add(a, j);
	}
	return a;
}

struct cpu_probe {
	const struct bench *b;
	const struct path *p;
};

/* The trivial program's best of 3 on this CPU, for pin_fastest(). */
static int cpu_speed(void *arg, int cpu, double *score)
{
	const struct cpu_probe *c = arg;
	double ns[3];
	int i, err;

	for (i = 0; i < 3; i++) {
		err = time_floor(c->b->floors[0].trivial_fd, "trivial", c->p->frame, c->p->len,
				 XDP_TX, c->p->len, &ns[i]);
		if (err)
			return err;
	}
	qsort(ns, 3, sizeof(ns[0]), cmp_double);
	progress("CPU %d: trivial program %.2f ns/pkt", cpu, ns[0]);
	*score = 1 / ns[0];
	return 0;
}

/* Run everything on the CPU where the trivial program runs fastest now. */
static int pick_cpu(const struct bench *b, const struct path *p)
{
	struct cpu_probe c = { .b = b, .p = p };

	return pin_fastest(cpu_speed, &c);
}

int main(int argc, char **argv)
{
	static const __u32 table_nodes[] = { 10, 100, 1000 };
	struct path paths[] = {
		{
			.name = "non_vip_pass",
			.what = "IPv4 TCP ACK to a non-VIP address",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, BENCH_NON_VIP, 22, PKT_TCP_ACK),
			.owner = FX_A,
			.action = XDP_PASS,
			.reason = SHOAL_R_PASS_NOT_VIP,
			.method = M_DIRECT,
		},
		{
			.name = "vip_local_syn",
			.what = "SYN to a VIP, bucket owned by this node",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, FX_VIP4, 80, PKT_TCP_SYN),
			.owner = FX_A,
			.action = XDP_PASS,
			.reason = SHOAL_R_PASS_SYN,
			.method = M_DIRECT,
		},
		{
			.name = "vip_forward_owner",
			.what = "ACK to a VIP, bucket owned by a peer: rewritten and sent to it",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK),
			.owner = FX_B,
			.action = XDP_TX,
			.reason = SHOAL_R_TX_OWNER,
			.target = FX_B,
			.method = M_WRAPPER,
		},
		{
			.name = "owner_socket",
			.what = "ACK of an established local socket, bucket owned here with a "
				"live previous owner: the socket lookup finds it",
			.spec = fx_tcp4(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, PKT_TCP_ACK),
			.owner = FX_A,
			.prev = { FX_B },
			.nprev = 1,
			.action = XDP_PASS,
			.reason = SHOAL_R_PASS_SOCKET,
			.method = M_DIRECT,
		},
		{
			.name = "second_chance",
			.what = "ACK with no local socket, bucket owned here with a live "
				"previous owner: sent to the previous owner",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK),
			.owner = FX_A,
			.prev = { FX_B },
			.nprev = 1,
			.action = XDP_TX,
			.reason = SHOAL_R_TX_PREV,
			.target = FX_B,
			.method = M_WRAPPER,
		},
		{
			.name = "gue_forward_owner",
			.what = "ACK to a VIP on a GUE data plane (IPv4 fabric), bucket owned by "
				"a peer: encapsulated (52 bytes in front) and sent to it",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK),
			.gue = true,
			.grow = (int)SHOAL_GUE_OVERHEAD4,
			.owner = FX_B,
			.action = XDP_TX,
			.reason = SHOAL_R_TX_OWNER,
			.target = FX_B,
			.method = M_WRAPPER,
		},
		{
			.name = "gue_decap_pass",
			.what = "GUE frame from peer B (hop 1) holding an ACK to a VIP, bucket "
				"owned by this node: decapsulated (52 bytes off) and passed",
			.spec = fx_tcp4(BENCH_CLIENT, 40001, FX_VIP4, 80, PKT_TCP_ACK),
			.gue = true,
			.from = FX_B,
			.grow = -(int)SHOAL_GUE_OVERHEAD4,
			.owner = FX_A,
			.action = XDP_PASS,
			.reason = SHOAL_R_PASS_OWNER,
			.method = M_WRAPPER,
		},
	};
	const size_t npaths = sizeof(paths) / sizeof(paths[0]);
	const size_t ntables = sizeof(table_nodes) / sizeof(table_nodes[0]);
	struct table_result tables[sizeof(table_nodes) / sizeof(table_nodes[0])];
	struct bench b = { .nfloors = 0 };
	struct shoal_cluster c;
	double floor_ns = 0, empty_ns = 0, overhead_ns = 0;
	int client = -1, server = -1, cpu, jit, err, rc = 1;
	struct json_object *root = NULL, *arr;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
		return 2;
	}

	/* The namespace hides this sysctl: read it first. */
	jit = jit_enabled();
	/* The same data plane and namespace as the unit tests. */
	if (fx_enter()) {
		fprintf(stderr, "bench: cannot set up the namespace (root needed)\n");
		goto out;
	}
	b.l2 = fx_dataplane(FX_A);
	if (!b.l2) {
		fprintf(stderr, "data plane setup failed\n");
		goto out;
	}
	client = fx_connect(FX_CLIENT_LOCAL, 40001, FX_VIP4, 80, &server);
	if (client < 0) {
		fprintf(stderr, "established socket %s:40001 -> %s:80: %s\n", FX_CLIENT_LOCAL,
			FX_VIP4, strerror(-client));
		goto out;
	}
	/* The GUE data plane as tests/unit/test_gue.c sets it up. */
	fx_cluster_gue(&c, 4);
	memcpy(b.gue_seed, c.seed, sizeof(b.gue_seed));
	b.gue = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	if (!b.gue) {
		fprintf(stderr, "GUE data plane setup failed\n");
		goto out;
	}
	/* paths[0] leaves the head alone: its load of floor.bpf.c is floors[0]. */
	for (i = 0; i < npaths; i++) {
		if (path_setup(&b, &paths[i]))
			goto out;
	}
	/* Every program a test run enters, held attached: see hold_prog(). */
	for (i = 0; i < (size_t)b.nfloors; i++) {
		const struct floor *fl = &b.floors[i];

		if (hold_prog(fl->empty_fd) < 0 || hold_prog(fl->trivial_fd) < 0 ||
		    hold_prog(fl->restore_fd) < 0 || hold_prog(fl->move_fd) < 0 ||
		    hold_prog(fl->move_swap_fd) < 0)
			goto out;
	}
	if (hold_prog(shoal_prog_fd(b.l2)) < 0 || hold_prog(shoal_prog_fd(b.gue)) < 0)
		goto out;
	cpu = pick_cpu(&b, &paths[0]);
	if (cpu < 0) {
		fprintf(stderr, "choosing a CPU: %s\n", strerror(-cpu));
		goto out;
	}
	progress("shoal and %s loaded; %d runs of %d packets per figure, on CPU %d", FLOOR_OBJ,
		 RUNS, REPEAT, cpu);

	/* Every path's verdict first: a wrong one stops the bench before any timing. */
	for (i = 0; i < npaths; i++) {
		struct path *p = &paths[i];

		err = fx_table_uniform(p->dp, p->owner, p->prev, p->nprev, 1);
		if (err) {
			fprintf(stderr, "%s: table: %s\n", p->name, strerror(-err));
			goto out;
		}
		if (check_path(&b, p))
			goto out;
		progress("%-20s %s %s (%zu -> %u bytes), directly and through the wrapper", p->name,
			 shoal_action_name(p->action), shoal_reason_name(p->reason), p->len,
			 p->out_len);
	}

	progress("timing the reference programs");
	if (measure_floor(&b, &paths[0], &floor_ns, &empty_ns, &overhead_ns))
		goto out;
	for (i = 0; i < npaths; i++) {
		struct path *p = &paths[i];

		progress("timing %s (%s)", p->name, method_name[p->method]);
		err = fx_table_uniform(p->dp, p->owner, p->prev, p->nprev, 1);
		if (err) {
			fprintf(stderr, "%s: table: %s\n", p->name, strerror(-err));
			goto out;
		}
		/* Again: the new table has a new generation, which GUE carries. */
		if (check_path(&b, p) || measure_path(&b, p))
			goto out;
	}
	for (i = 0; i < ntables; i++) {
		progress("timing table build and merge for %u nodes", table_nodes[i]);
		if (measure_table(table_nodes[i], SHOAL_M_DEFAULT, &tables[i]))
			goto out;
	}

	/* A benchmark never fails on timing, but it says when the figures are shaky. */
	if (b.floor_max > b.floor_min * 1.1)
		progress("warning: the trivial program's median went from %.2f to %.2f ns/pkt: "
			 "the machine was busy, trust the ratios more than the ns", b.floor_min,
			 b.floor_max);
	/*
	 * "wrapped": the path through the restore wrapper, for direct paths a
	 * cross-check. "overhead": what was subtracted from it, measured in the
	 * path's own rounds against its calibration target.
	 */
	printf("%-24s %-16s %8s %9s %7s %8s %8s  %s\n", "path", "method", "ns/pkt", "floor ns",
	       "ratio", "wrapped", "overhead", "verdict");
	printf("%-24s %-16s %8.2f %9s %7s %8s %8s  %s\n", "trivial (swap MACs)", "direct",
	       floor_ns, "", "1.00x", "", "", "TX");
	printf("%-24s %-16s %8.2f %9s %7s %8s %8s  %s\n", "empty", "direct", empty_ns, "", "", "",
	       "", "PASS");
	printf("%-24s %-16s %8.2f %9s %7s %8s %8s  %s\n", "wrapper overhead", "", overhead_ns, "",
	       "", "", "", "(subtracted)");
	for (i = 0; i < npaths; i++) {
		const struct path *p = &paths[i];
		char verdict[64];

		snprintf(verdict, sizeof(verdict), "%s %s", shoal_action_name(p->action),
			 shoal_reason_name(p->reason));
		printf("%-24s %-16s %8.2f %9.2f %6.2fx %8.2f %8.2f  %s\n", p->name,
		       method_name[p->method], p->ns, p->floor_ns, p->ratio,
		       p->wrapper_ns, p->overhead_ns, verdict);
	}
	for (i = 0; i < npaths; i++) {
		const struct path *p = &paths[i];

		if (p->grow)
			printf("%s: %zu -> %u bytes; one bpf_xdp_adjust_head() (floor_move alone "
			       "less empty) %.2f ns, part of ns/pkt; check: floor_move_swap "
			       "%.2f direct, %.2f wrapped\n", p->name, p->len, p->out_len,
			       p->move_ns, p->check_ns, p->check_wrapped_ns);
	}
	printf("\n%-10s %8s %12s %12s %8s\n", "nodes", "m", "build ms", "merge ms", "moved");
	for (i = 0; i < ntables; i++)
		printf("%-10u %8u %12.2f %12.2f %8u\n", tables[i].nodes, tables[i].m,
		       tables[i].build_ms, tables[i].merge_ms, tables[i].moved);

	root = json_object_new_object();
	json_object_object_add(root, "machine", machine_json(cpu, jit));
	json_object_object_add(root, "repeat", json_object_new_int(REPEAT));
	json_object_object_add(root, "runs", json_object_new_int(RUNS));
	json_object_object_add(root, "floor_ns_per_pkt", jnum(floor_ns));
	json_object_object_add(root, "empty_ns_per_pkt", jnum(empty_ns));
	json_object_object_add(root, "wrapper_overhead_ns_per_pkt", jnum(overhead_ns));
	json_object_object_add(root, "floor_ns_per_pkt_min", jnum(b.floor_min));
	json_object_object_add(root, "floor_ns_per_pkt_max", jnum(b.floor_max));
	json_object_object_add(root, "frame_bytes", json_object_new_int((int)paths[0].len));
	arr = json_object_new_array();
	for (i = 0; i < npaths; i++)
		json_object_array_add(arr, path_json(&paths[i]));
	json_object_object_add(root, "paths", arr);
	json_object_object_add(root, "table_build_ms", tables_json(tables, ntables, false));
	json_object_object_add(root, "table_merge_ms", tables_json(tables, ntables, true));
	if (write_report(argv[1], root))
		goto out;
	rc = 0;
out:
	json_object_put(root);
	if (client >= 0)
		close(client);
	if (server >= 0)
		close(server);
	for (i = 0; i < (size_t)b.nfloors; i++)
		bpf_object__close(b.floors[i].obj);
	shoal_close(b.gue);
	shoal_close(b.l2);
	return rc;
}
