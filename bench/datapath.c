// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live data-path benchmark: shoal's paths on a real veth, one node
 * under test, next to the trivial programs on the same interface in the
 * same run.
 *
 * shoal-gen's generator (bench/traffic.c, BPF_PROG_TEST_RUN live frames)
 * sends each path's frames over 1,024 flows out of veth1; they arrive at
 * veth0, where the program under test runs natively, as they would from a
 * NIC. What it sends back with XDP_TX is counted and dropped by an XDP sink
 * on veth1; what it passes is counted and dropped at veth0's tc ingress, so
 * a "pass" costs the program, the skb veth builds, and tc - not TCP. The
 * generator is pinned to one CPU, and everything the kernel does for a
 * frame runs there in the same call, so what is reported is what one core
 * achieves:
 *   - frames per second through the whole path;
 *   - CPU time per frame: the trial's wall time over the frames delivered,
 *     the core being busy throughout (its /proc/stat busy share is kept as
 *     the check);
 *   - the program's own time per frame (bpf_enable_stats), in a separate
 *     pass, as the statistics cost a little themselves.
 * Ratios are against the trivial XDP_TX program (swap MACs, send back) and,
 * for the paths that pass, also against the empty XDP_PASS program.
 * Every trial is paired with a trial of its reference just before it, and
 * the ratios are those of the pairs; paths rotate within every round, and
 * figures are medians of the rounds.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "common.h"
#include "fixture.h"
#include "traffic.h"

#ifndef GEN_OBJ
#define GEN_OBJ "build/bench/gen.bpf.o"
#endif
#ifndef FLOOR_OBJ
#define FLOOR_OBJ "build/bench/floor.bpf.o"
#endif

#define FRAMES		1000000		/* per timed trial */
#define WARMUP		200000		/* per variant, before the rounds */
#define PICK_FRAMES	500000		/* per CPU when choosing one */
#define ROUNDS		5
#define FLOWS		1024
#define BENCH_CLIENT	"198.18.3.7"	/* no socket in the namespace: as in bench/micro.c */
#define BENCH_CLIENT6	"2001:db8:ff::77"
#define BENCH_NON_VIP	"198.18.1.1"	/* veth0's own address */

enum { V_TRIVIAL_TX, V_TRIVIAL_PASS, V_NON_VIP, V_LOCAL_OWNER, V_LOCAL_SYN, V_FORWARD,
       V_FORWARD6, V_FORWARD_GUE, V_SECOND_CHANCE, V_MAX };

struct variant {
	const char *name;
	const char *what;
	struct shoal *dp;		/* NULL: a reference program */
	int prog_fd;
	struct pkt_spec pkt;		/* the template; the generator varies the source port */
	bool pass;			/* XDP_PASS: counted at veth0's tc ingress */
	int reason;			/* the reason every frame must get (shoal) */
	__u16 owner;			/* the table: every bucket owned by ... */
	__u16 prev[SHOAL_MAX_PREV];	/* ... with these previous owners */
	int nprev;
	struct gen gen;
	double pps[ROUNDS], cpu_ns[ROUNDS], lost[ROUNDS], busy[ROUNDS];
	double ratio_tx[ROUNDS], ratio_pass[ROUNDS];	/* CPU time per frame over the pair's reference */
	double pps_med, cpu_ns_med, lost_med, busy_med, ratio_tx_med, ratio_pass_med;
	double prog_ns;
};

struct bench {
	struct bpf_object *floor;
	struct gen sink_tx, sink_pass;	/* sinks only: veth1 XDP, veth0 tc ingress */
	int ifindex0, ifindex1;
	int cpu;
};

struct trial {
	__u64 sent, delivered, decided, expected;
	double ns, busy_ns;
};

/* ---- setup ---- */

static int floor_load(struct bench *b, int *trivial_fd, int *empty_fd)
{
	struct bpf_program *p;
	int err;

	b->floor = bpf_object__open_file(FLOOR_OBJ, NULL);
	if (!b->floor)
		return -errno;
	err = bpf_object__load(b->floor);
	if (err)
		return err;
	p = bpf_object__find_program_by_name(b->floor, "floor_trivial");
	*trivial_fd = p ? bpf_program__fd(p) : -ENOENT;
	p = bpf_object__find_program_by_name(b->floor, "floor_empty");
	*empty_fd = p ? bpf_program__fd(p) : -ENOENT;
	return *trivial_fd < 0 || *empty_fd < 0 ? -ENOENT : 0;
}

static int variant_gen(struct bench *b, struct variant *v)
{
	struct gen_spec s = { .ifindex = b->ifindex1, .pkt = v->pkt, .flows = FLOWS };
	char why[256];
	int err = gen_open(&v->gen, GEN_OBJ, &s, why, sizeof(why));

	if (err)
		fprintf(stderr, "bench: %s: generator: %s\n", v->name, why);
	return err;
}

/* ---- attach ---- */

static int variant_attach(struct bench *b, struct variant *v)
{
	int err;

	if (!v->dp)
		return bpf_xdp_attach(b->ifindex0, v->prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	err = fx_table_uniform(v->dp, v->owner, v->prev, v->nprev, 1);
	if (err)
		return err;
	return shoal_attach(v->dp, "veth0", SHOAL_XDP_NATIVE);
}

static void variant_detach(struct bench *b, struct variant *v)
{
	if (v->dp)
		shoal_detach(v->dp);
	else
		bpf_xdp_detach(b->ifindex0, XDP_FLAGS_DRV_MODE, NULL);
}

/* ---- measuring ---- */

static int counts_read(struct variant *v, __u64 *decided, __u64 *expected)
{
	struct shoal_counter c[SHOAL_R_MAX];
	int i;

	*decided = *expected = 0;
	if (!v->dp)
		return 0;
	if (shoal_stats_read(v->dp, c))
		return -EIO;
	for (i = 0; i < SHOAL_R_MAX; i++)
		*decided += c[i].packets;
	*expected = c[v->reason].packets;
	return 0;
}

static int trial(struct bench *b, struct variant *v, __u64 count, struct trial *t)
{
	struct gen *sink = v->pass ? &b->sink_pass : &b->sink_tx;
	__u64 d0, d1, n0, n1, e0, e1;
	double b0, b1;
	int err;

	if ((err = gen_sink_read(sink, &d0, NULL)) || (err = counts_read(v, &n0, &e0)) ||
	    (err = cpu_busy_ns(b->cpu, &b0)))
		return err;
	err = gen_send(&v->gen, count, &t->sent, &t->ns);
	if (err || (err = cpu_busy_ns(b->cpu, &b1)) || (err = gen_sink_settle(sink, &d1)) ||
	    (err = counts_read(v, &n1, &e1)))
		return err;
	t->delivered = d1 - d0;
	t->decided = n1 - n0;
	t->expected = e1 - e0;
	t->busy_ns = b1 - b0;
	return 0;
}

/*
 * One trial, attached for it and detached after, with the check that the
 * path is the one meant: frames came back (or up), and shoal gave each of
 * them the path's reason.
 */
static int run_variant(struct bench *b, struct variant *v, __u64 count, struct trial *t)
{
	int err = variant_attach(b, v);

	if (err) {
		fprintf(stderr, "bench: attach %s to veth0: %s\n", v->name, strerror(-err));
		return err;
	}
	err = trial(b, v, count, t);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", v->name, strerror(-err));
		goto out;
	}
	if (t->delivered == 0 || t->delivered > t->sent) {
		fprintf(stderr, "bench: %s: %llu of %llu frames arrived at the sink\n", v->name,
			(unsigned long long)t->delivered, (unsigned long long)t->sent);
		err = -EIO;
		goto out;
	}
	/* The kernel's own chatter on the link (ND, MLD) is decided too, under other reasons. */
	if (v->dp && (t->expected < t->delivered || t->decided > t->sent + t->sent / 1000 + 10 ||
		      t->decided - t->expected > t->sent / 1000 + 10)) {
		fprintf(stderr, "bench: %s: took another path: %llu of %llu decided frames got %s, "
			"%llu sent, %llu arrived\n", v->name, (unsigned long long)t->expected,
			(unsigned long long)t->decided, shoal_reason_name(v->reason),
			(unsigned long long)t->sent, (unsigned long long)t->delivered);
		err = -EIO;
	}
out:
	variant_detach(b, v);
	return err;
}

/*
 * CPU time per frame: the generator's core does all the work for a frame
 * within the generator's system call, which never sleeps, so the core is
 * busy for the whole trial and its time per frame is the trial's wall time
 * over the frames delivered. /proc/stat's busy share (10 ms ticks, too
 * coarse to scale by) is reported beside it as the check that it was.
 */
static double cpu_ns(const struct trial *t)
{
	return t->ns / (double)t->delivered;
}

static void result_add(struct variant *v, int r, const struct trial *t, const struct trial *tx,
		       const struct trial *pass)
{
	double b = t->busy_ns / t->ns;

	v->pps[r] = (double)t->delivered / t->ns * 1e9;
	v->cpu_ns[r] = cpu_ns(t);
	v->busy[r] = b > 1 ? 1 : b;
	v->lost[r] = 1 - (double)t->delivered / (double)t->sent;
	v->ratio_tx[r] = v->cpu_ns[r] / cpu_ns(tx);
	v->ratio_pass[r] = v->cpu_ns[r] / cpu_ns(pass);
}

/* The program's own time per frame: a trial with run-time statistics on. */
static int stats_pass(struct bench *b, struct variant *v)
{
	__u64 n0 = 0, c0 = 0, n1 = 0, c1 = 0;
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME), err;
	struct trial t;

	if (fd < 0)
		return -errno;
	if ((err = prog_run_stats(v->prog_fd, &n0, &c0)))
		goto out;
	err = run_variant(b, v, FRAMES / 2, &t);
	if (err || (err = prog_run_stats(v->prog_fd, &n1, &c1)))
		goto out;
	if (c1 == c0) {
		err = -EIO;
		goto out;
	}
	v->prog_ns = (double)(n1 - n0) / (double)(c1 - c0);
out:
	close(fd);
	return err;
}

struct cpu_probe {
	struct bench *b;
	struct variant *trivial;
};

/* The trivial program's rate on this CPU, for pin_fastest(). */
static int cpu_speed(void *arg, int cpu, double *score)
{
	struct cpu_probe *c = arg;
	struct trial t;
	int err;

	c->b->cpu = cpu;
	err = run_variant(c->b, c->trivial, PICK_FRAMES, &t);
	if (err)
		return err;
	*score = (double)t.delivered / t.ns;
	progress("CPU %d: trivial XDP_TX %.3f Mpps", cpu, *score * 1e3);
	return 0;
}

/* The CPU where the trivial program runs fastest now (one vCPU of this VM is at times slower). */
static int pick_cpu(struct bench *b, struct variant *trivial)
{
	struct cpu_probe c = { .b = b, .trivial = trivial };
	int cpu = pin_fastest(cpu_speed, &c);

	if (cpu >= 0)
		b->cpu = cpu;
	return cpu;
}

/* ---- report ---- */

static struct json_object *variant_json(const struct variant *v)
{
	struct json_object *j = json_object_new_object(), *a;
	int r;

	json_object_object_add(j, "name", json_object_new_string(v->name));
	json_object_object_add(j, "description", json_object_new_string(v->what));
	json_object_object_add(j, "verdict", json_object_new_string(v->pass ? "PASS" : "TX"));
	if (v->dp)
		json_object_object_add(j, "reason", json_object_new_string(shoal_reason_name(v->reason)));
	json_object_object_add(j, "frame_bytes", json_object_new_int((int)v->gen.len));
	json_object_object_add(j, "mpps_per_core", jnum(v->pps_med / 1e6));
	json_object_object_add(j, "cpu_ns_per_pkt", jnum(v->cpu_ns_med));
	json_object_object_add(j, "prog_ns_per_pkt", jnum(v->prog_ns));
	json_object_object_add(j, "cpu_ratio_to_trivial_tx", jnum(v->ratio_tx_med));
	if (v->pass)
		json_object_object_add(j, "cpu_ratio_to_trivial_pass", jnum(v->ratio_pass_med));
	json_object_object_add(j, "core_busy_share", jnum(v->busy_med));
	json_object_object_add(j, "not_delivered_share", jnum(v->lost_med));
	a = json_object_new_array();
	for (r = 0; r < ROUNDS; r++)
		json_object_array_add(a, jnum(v->pps[r] / 1e6));
	json_object_object_add(j, "mpps_rounds", a);
	return j;
}

static struct shoal *gue_dataplane(void)
{
	struct shoal_cluster c;
	struct shoal *s;

	fx_cluster_gue(&c, 4);
	s = fx_dataplane_model(&c, FX_A, NULL);
	shoal_cluster_free(&c);
	return s;
}

int main(int argc, char **argv)
{
	struct variant vs[V_MAX] = {
		[V_TRIVIAL_TX] = {
			.name = "trivial_tx",
			.what = "reference: swap the MACs and XDP_TX, the least a forwarder does",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
		},
		[V_TRIVIAL_PASS] = {
			.name = "trivial_pass",
			.what = "reference: XDP_PASS and nothing else, the least a pass costs",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
			.pass = true,
		},
		[V_NON_VIP] = {
			.name = "non_vip_pass",
			.what = "TCP ACK to the node's own address (not a VIP): passed",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, BENCH_NON_VIP, 22, PKT_TCP_ACK),
			.pass = true,
			.reason = SHOAL_R_PASS_NOT_VIP,
			.owner = FX_A,
		},
		[V_LOCAL_OWNER] = {
			.name = "local_owner_pass",
			.what = "TCP ACK to a VIP, every bucket owned here and stable: passed",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
			.pass = true,
			.reason = SHOAL_R_PASS_OWNER,
			.owner = FX_A,
		},
		[V_LOCAL_SYN] = {
			.name = "local_syn_pass",
			.what = "TCP SYN to a VIP, buckets owned here with a previous owner: "
				"a new connection stays here",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_SYN),
			.pass = true,
			.reason = SHOAL_R_PASS_SYN,
			.owner = FX_A,
			.prev = { FX_B },
			.nprev = 1,
		},
		[V_FORWARD] = {
			.name = "forward_l2",
			.what = "TCP ACK to a VIP, buckets owned by peer B: MAC rewrite and XDP_TX",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
			.reason = SHOAL_R_TX_OWNER,
			.owner = FX_B,
		},
		[V_FORWARD6] = {
			.name = "forward_l2_ipv6",
			.what = "the same over IPv6: TCP ACK to an IPv6 VIP, owned by B",
			.pkt = fx_tcp6(BENCH_CLIENT6, 1024, FX_VIP6, 443, PKT_TCP_ACK),
			.reason = SHOAL_R_TX_OWNER,
			.owner = FX_B,
		},
		[V_FORWARD_GUE] = {
			.name = "forward_gue",
			.what = "TCP ACK to a VIP on a GUE data plane, owned by B: encapsulated "
				"(52 bytes) and sent to B through the router",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
			.reason = SHOAL_R_TX_OWNER,
			.owner = FX_B,
		},
		[V_SECOND_CHANCE] = {
			.name = "second_chance",
			.what = "TCP ACK with no local socket, buckets owned here with live "
				"previous owner B: socket lookup misses, sent to B",
			.pkt = fx_tcp4(BENCH_CLIENT, 1024, FX_VIP4, 80, PKT_TCP_ACK),
			.reason = SHOAL_R_TX_PREV,
			.owner = FX_A,
			.prev = { FX_B },
			.nprev = 1,
		},
	};
	struct bench b = { .floor = NULL };
	struct json_object *root = NULL, *arr;
	struct shoal *l2 = NULL, *gue = NULL;
	int trivial_fd, empty_fd, jit, err, rc = 1, r, i;
	char why[256];
	struct trial t, pair_tx;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
		return 2;
	}
	jit = jit_enabled();
	if (fx_enter()) {
		fprintf(stderr, "bench: cannot set up the namespace (root needed)\n");
		goto out;
	}
	b.ifindex0 = (int)if_nametoindex("veth0");
	b.ifindex1 = (int)if_nametoindex("veth1");
	err = floor_load(&b, &trivial_fd, &empty_fd);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", FLOOR_OBJ, strerror(-err));
		goto out;
	}
	if (gen_open(&b.sink_tx, GEN_OBJ, NULL, why, sizeof(why)) ||
	    gen_open(&b.sink_pass, GEN_OBJ, NULL, why, sizeof(why))) {
		fprintf(stderr, "bench: sinks: %s\n", why);
		goto out;
	}
	err = gen_sink_attach(&b.sink_tx, b.ifindex1, false);
	if (!err)
		err = gen_sink_attach(&b.sink_pass, b.ifindex0, true);
	if (err) {
		fprintf(stderr, "bench: attach the sinks: %s\n", strerror(-err));
		goto out;
	}
	l2 = fx_dataplane(FX_A);
	gue = gue_dataplane();
	if (!l2 || !gue) {
		fprintf(stderr, "bench: data plane setup failed\n");
		goto out;
	}
	for (i = 0; i < V_MAX; i++) {
		struct variant *v = &vs[i];

		if (i == V_TRIVIAL_TX || i == V_TRIVIAL_PASS) {
			v->prog_fd = i == V_TRIVIAL_TX ? trivial_fd : empty_fd;
		} else {
			v->dp = i == V_FORWARD_GUE ? gue : l2;
			v->prog_fd = shoal_prog_fd(v->dp);
		}
		if (variant_gen(&b, v))
			goto out;
	}

	err = pick_cpu(&b, &vs[V_TRIVIAL_TX]);
	if (err < 0) {
		fprintf(stderr, "bench: choosing a CPU: %s\n", strerror(-err));
		goto out;
	}
	progress("%d rounds of %d frames (%d flows) per path, generator on CPU %d", ROUNDS, FRAMES,
		 FLOWS, b.cpu);
	for (i = 0; i < V_MAX; i++)
		if (run_variant(&b, &vs[i], WARMUP, &t))
			goto out;
	/*
	 * This VM's speed changes from one second to the next, so each trial of
	 * a path is paired with a trial of its reference just before it, and
	 * the ratio of the pair is what is kept: medians of those ratios, and
	 * of the absolute figures.
	 */
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < V_MAX; i++) {
			struct variant *v = &vs[(i + r) % V_MAX];
			struct variant *ref = v->pass ? &vs[V_TRIVIAL_PASS] : &vs[V_TRIVIAL_TX];
			struct trial rt = { 0 };

			/* The references are their own pair: their ratios are 1 by definition. */
			if (v != &vs[V_TRIVIAL_TX] && run_variant(&b, &vs[V_TRIVIAL_TX], FRAMES, &rt))
				goto out;
			pair_tx = rt;
			if (v != ref && ref != &vs[V_TRIVIAL_TX] && run_variant(&b, ref, FRAMES, &rt))
				goto out;
			if (run_variant(&b, v, FRAMES, &t))
				goto out;
			if (v == &vs[V_TRIVIAL_TX])
				pair_tx = t;
			if (v == ref)
				rt = t;
			result_add(v, r, &t, &pair_tx, &rt);
			progress("round %d %-17s %.3f Mpps, %.1f ns/frame (%.2fx trivial XDP_TX), "
				 "core busy %.0f%%, %.1f%% not delivered", r + 1, v->name,
				 v->pps[r] / 1e6, v->cpu_ns[r], v->ratio_tx[r], v->busy[r] * 100,
				 v->lost[r] * 100);
		}
	}
	for (i = 0; i < V_MAX; i++) {
		struct variant *v = &vs[i];

		v->pps_med = median(v->pps, ROUNDS);
		v->cpu_ns_med = median(v->cpu_ns, ROUNDS);
		v->lost_med = median(v->lost, ROUNDS);
		v->busy_med = median(v->busy, ROUNDS);
		v->ratio_tx_med = median(v->ratio_tx, ROUNDS);
		v->ratio_pass_med = median(v->ratio_pass, ROUNDS);
		progress("run time of %s with statistics on", v->name);
		err = stats_pass(&b, v);
		if (err) {
			fprintf(stderr, "bench: %s: run-time statistics: %s\n", v->name, strerror(-err));
			goto out;
		}
	}

	printf("%-17s %-5s %10s %11s %9s %9s %9s\n", "path", "verd", "Mpps/core", "CPU ns/pkt",
	       "vs TX", "vs PASS", "prog ns");
	for (i = 0; i < V_MAX; i++) {
		const struct variant *v = &vs[i];
		char vp[16] = "";

		if (v->pass)
			snprintf(vp, sizeof(vp), "%.2fx", v->ratio_pass_med);
		printf("%-17s %-5s %10.3f %11.1f %8.2fx %9s %9.1f\n", v->name, v->pass ? "PASS" : "TX",
		       v->pps_med / 1e6, v->cpu_ns_med, v->ratio_tx_med, vp, v->prog_ns);
	}
	printf("(vs TX / vs PASS: CPU time per frame over the trivial XDP_TX / XDP_PASS program's\n"
	       " in the trial just before; medians of %d rounds)\n", ROUNDS);

	root = json_object_new_object();
	json_object_object_add(root, "machine", machine_json(b.cpu, jit));
	json_object_object_add(root, "frames_per_trial", json_object_new_int(FRAMES));
	json_object_object_add(root, "rounds", json_object_new_int(ROUNDS));
	json_object_object_add(root, "flows", json_object_new_int(FLOWS));
	arr = json_object_new_array();
	for (i = 0; i < V_MAX; i++)
		json_object_array_add(arr, variant_json(&vs[i]));
	json_object_object_add(root, "variants", arr);
	if (write_report(argv[1], root))
		goto out;
	rc = 0;
out:
	json_object_put(root);
	if (b.ifindex1)
		gen_sink_detach(&b.sink_tx, b.ifindex1, false);
	if (b.ifindex0)
		gen_sink_detach(&b.sink_pass, b.ifindex0, true);
	for (i = 0; i < V_MAX; i++)
		gen_close(&vs[i].gen);
	gen_close(&b.sink_tx);
	gen_close(&b.sink_pass);
	shoal_close(l2);
	shoal_close(gue);
	bpf_object__close(b.floor);
	return rc;
}
