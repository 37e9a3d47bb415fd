// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Live benchmark: GUE forwarding on a real veth, keyed on the software hash
 * against keyed on the NIC's RX hash, with a trivial forwarder as the
 * baseline, all in one run.
 *
 * A device-bound program (flow_hash: nic) cannot be test-run, so the cost of
 * the two hash sources is measured where packets really flow: a generator
 * sends TCP ACKs to a VIP from an AF_PACKET socket on veth1; they arrive at
 * veth0 as skbs (which is what gives veth an RX hash to hand over), where
 * the program under test runs natively; it encapsulates each in GUE and
 * sends it back out with XDP_TX; at veth1 a sink program counts and drops
 * it. The generator is pinned to one CPU and everything the kernel does for
 * a packet - the send, both XDP programs - runs there in the sender's
 * softirq, so what one core achieves is what is reported:
 *   - packets per second through the whole path on that core;
 *   - CPU time per packet: the core's busy time (/proc/stat) over the
 *     packets delivered;
 *   - the program's own time per packet (bpf_enable_stats run time), in a
 *     separate pass, as the stats cost a little themselves.
 * Variants alternate within every round; figures are medians of the rounds.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "common.h"
#include "traffic.h"
#include "fixture.h"

#ifndef FLOOR_OBJ
#define FLOOR_OBJ "build/bench/floor.bpf.o"
#endif

#define PACKETS		1500000		/* frames sent per timed trial */
#define WARMUP		100000		/* frames sent before the rounds, per variant */
#define PICK_PACKETS	200000		/* frames per CPU when choosing one */
#define ROUNDS		7		/* trials per variant; medians reported */
#define FLOWS		64		/* TCP flows the generator cycles through */
#define BATCH		64		/* frames per sendmmsg() */
#define FRAME_MAX	128

#define BENCH_CLIENT	"198.18.3.7"	/* as in bench/micro.c */

enum { V_TRIVIAL, V_SOFTWARE, V_NIC, V_NIC_COMPUTED, V_MAX };

struct variant {
	const char *name;
	const char *what;
	struct shoal *dp;		/* NULL: the trivial program */
	bool dissect;			/* no hash given: veth computes one when asked */
	int prog_fd;			/* what runs on veth0 */
	double pps[ROUNDS];
	double cpu_ns[ROUNDS];		/* busy time of the core per delivered packet */
	double busy[ROUNDS];		/* the core's busy share during the trial */
	double drop[ROUNDS];		/* share of frames sent that did not come back */
	double pps_med, cpu_ns_med, busy_med, drop_med;
	double prog_ns;			/* the program's run time per packet (stats pass) */
	double sink_ns;			/* the sink's, in the same pass */
	__u64 fallbacks;		/* nic: frames keyed in software after all */
};

struct live {
	struct bpf_object *floor;
	int trivial_fd, sink_fd, sunk_fd, hash_fd, hash_on_fd;
	int ifindex0, ifindex1;
	int sock;			/* AF_PACKET on veth1 */
	int cpu;
	__u8 frames[FLOWS][FRAME_MAX];
	size_t len;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll to;
};

/* One trial's raw outcome. */
struct trial {
	__u64 sent, delivered, gue;
	double ns, busy_ns;
};

/* ---- setup ---- */

static int floor_load(struct live *l)
{
	struct bpf_program *p;
	struct bpf_map *m;
	int err;

	l->floor = bpf_object__open_file(FLOOR_OBJ, NULL);
	if (!l->floor)
		return -errno;
	err = bpf_object__load(l->floor);
	if (err)
		return err;
	p = bpf_object__find_program_by_name(l->floor, "floor_trivial");
	l->trivial_fd = p ? bpf_program__fd(p) : -ENOENT;
	p = bpf_object__find_program_by_name(l->floor, "floor_sink");
	l->sink_fd = p ? bpf_program__fd(p) : -ENOENT;
	p = bpf_object__find_program_by_name(l->floor, "floor_hash");
	l->hash_fd = p ? bpf_program__fd(p) : -ENOENT;
	m = bpf_object__find_map_by_name(l->floor, "sunk");
	l->sunk_fd = m ? bpf_map__fd(m) : -ENOENT;
	m = bpf_object__find_map_by_name(l->floor, "hash_on");
	l->hash_on_fd = m ? bpf_map__fd(m) : -ENOENT;
	if (l->trivial_fd < 0 || l->sink_fd < 0 || l->sunk_fd < 0 || l->hash_fd < 0 ||
	    l->hash_on_fd < 0)
		return -ENOENT;
	return 0;
}

/* floor_hash on veth1's egress: every frame the generator sends passes it. */
static int hash_attach(struct live *l)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex1, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = l->hash_fd);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

/* The GUE data plane of the fixture, node A, every bucket owned by B. */
static struct shoal *gue_dataplane(bool nic)
{
	struct shoal_apply_opts o = { .self = FX_A };
	struct shoal_cluster c;
	struct shoal *s = NULL;
	char err[512], why[256];

	fx_cluster_gue(&c, 4);
	c.flow_hash = nic ? SHOAL_FH_NIC : SHOAL_FH_SOFTWARE;
	if (shoal_cluster_create(&s, NULL, &c, "veth0", why, sizeof(why))) {
		fprintf(stderr, "bench: %s data plane: %s\n", nic ? "nic" : "software", why);
		s = NULL;
		goto out;
	}
	if (shoal_cluster_apply(s, &c, &o, NULL, err, sizeof(err)) ||
	    fx_table_uniform(s, FX_B, NULL, 0, 1)) {
		fprintf(stderr, "bench: apply: %s\n", err);
		shoal_close(s);
		s = NULL;
	}
out:
	shoal_cluster_free(&c);
	return s;
}

static int generator_open(struct live *l)
{
	int i;

	/* Through dev_queue_xmit(), not PACKET_QDISC_BYPASS: tc egress must see the frames. */
	l->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (l->sock < 0)
		return -errno;
	l->to.sll_family = AF_PACKET;
	l->to.sll_ifindex = l->ifindex1;
	l->to.sll_halen = ETH_ALEN;
	for (i = 0; i < FLOWS; i++) {
		struct pkt_spec s = fx_tcp4(BENCH_CLIENT, (__u16)(40000 + i), FX_VIP4, 80, PKT_TCP_ACK);
		size_t n = pkt_build(&s, l->frames[i], FRAME_MAX);

		if (!n || (i && n != l->len))
			return -EINVAL;
		l->len = n;
	}
	return 0;
}

/* ---- attach ---- */

static int variant_attach(struct live *l, const struct variant *v)
{
	__u32 k = 0, on = !v->dissect;

	if (bpf_map_update_elem(l->hash_on_fd, &k, &on, BPF_ANY))
		return -errno;
	if (v->dp)
		return shoal_attach(v->dp, "veth0", SHOAL_XDP_NATIVE);
	return bpf_xdp_attach(l->ifindex0, v->prog_fd, XDP_FLAGS_DRV_MODE, NULL);
}

static void variant_detach(struct live *l, const struct variant *v)
{
	if (v->dp)
		shoal_detach(v->dp);
	else
		bpf_xdp_detach(l->ifindex0, XDP_FLAGS_DRV_MODE, NULL);
}

/* ---- measuring ---- */

static int sunk_read(const struct live *l, __u32 k, __u64 *out)
{
	int n = libbpf_num_possible_cpus(), i;
	__u64 v[256];

	if (n <= 0 || n > 256)
		return -ENOTSUP;
	if (bpf_map_lookup_elem(l->sunk_fd, &k, v))
		return -errno;
	*out = 0;
	for (i = 0; i < n; i++)
		*out += v[i];
	return 0;
}

/* Send `count` frames, cycling over the flows, as fast as one core can. */
static int generate(struct live *l, __u64 count, __u64 *sent)
{
	__u64 tries = 0, flow = 0;
	int i, n;

	*sent = 0;
	while (*sent < count) {
		int batch = count - *sent < BATCH ? (int)(count - *sent) : BATCH;

		for (i = 0; i < batch; i++) {
			l->iov[i].iov_base = l->frames[flow++ % FLOWS];
			l->iov[i].iov_len = l->len;
			l->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &l->to, .msg_namelen = sizeof(l->to),
				.msg_iov = &l->iov[i], .msg_iovlen = 1,
			};
		}
		n = sendmmsg(l->sock, l->msgs, (unsigned int)batch, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			*sent += (__u64)n;
		/* Bounded: a send that keeps failing ends the trial, with what it sent. */
		if (++tries > count)
			return -ETIMEDOUT;
	}
	return 0;
}

static int trial(struct live *l, __u64 count, struct trial *t)
{
	__u64 d0, d1, g0, g1, prev;
	double b0, b1, t0;
	int err, k;

	if ((err = sunk_read(l, 0, &d0)) || (err = sunk_read(l, 1, &g0)) ||
	    (err = cpu_busy_ns(l->cpu, &b0)))
		return err;
	t0 = now_ns();
	err = generate(l, count, &t->sent);
	t->ns = now_ns() - t0;
	if (err || (err = cpu_busy_ns(l->cpu, &b1)))
		return err;
	/* What is still in the veth's rings is processed within microseconds. */
	for (k = 0, prev = ~0ULL; k < 100; k++) {
		if ((err = sunk_read(l, 0, &d1)))
			return err;
		if (d1 == prev)
			break;
		prev = d1;
		usleep(1000);
	}
	if ((err = sunk_read(l, 1, &g1)))
		return err;
	t->delivered = d1 - d0;
	t->gue = g1 - g0;
	t->busy_ns = b1 - b0;
	return 0;
}

static __u64 reasons_total(const struct shoal_counter *c)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < SHOAL_R_MAX; i++)
		n += c[i].packets;
	return n;
}

/*
 * One trial of a variant, attached for it and detached after, with the check
 * that it took the path it is meant to measure: every frame that came back
 * was forwarded to B by GUE (shoal) or bounced (trivial), and the nic variant
 * keyed every frame on the RX hash.
 */
static int run_variant(struct live *l, struct variant *v, __u64 count, struct trial *t)
{
	struct shoal_counter c0[SHOAL_R_MAX], c1[SHOAL_R_MAX];
	__u64 e0[SHOAL_E_MAX] = { 0 }, e1[SHOAL_E_MAX] = { 0 }, fb, fwd;
	int err;

	err = variant_attach(l, v);
	if (err) {
		fprintf(stderr, "bench: attach %s to veth0: %s\n", v->name, strerror(-err));
		return err;
	}
	if (v->dp && (shoal_stats_read(v->dp, c0) || shoal_events_read(v->dp, e0))) {
		err = -EIO;
		goto out;
	}
	err = trial(l, count, t);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", v->name, strerror(-err));
		goto out;
	}
	if (t->delivered == 0 || t->delivered > t->sent) {
		fprintf(stderr, "bench: %s: %llu of %llu frames came back\n", v->name,
			(unsigned long long)t->delivered, (unsigned long long)t->sent);
		err = -EIO;
		goto out;
	}
	if (!v->dp) {
		if (t->gue) {
			fprintf(stderr, "bench: trivial: %llu GUE frames\n", (unsigned long long)t->gue);
			err = -EIO;
		}
		goto out;
	}
	if (shoal_stats_read(v->dp, c1) || shoal_events_read(v->dp, e1)) {
		err = -EIO;
		goto out;
	}
	fb = e1[SHOAL_E_HASH_NO_NIC] - e0[SHOAL_E_HASH_NO_NIC] + e1[SHOAL_E_HASH_NOT_L4] -
	     e0[SHOAL_E_HASH_NOT_L4] + e1[SHOAL_E_HASH_ICMP] - e0[SHOAL_E_HASH_ICMP];
	v->fallbacks += fb;
	fwd = c1[SHOAL_R_TX_OWNER].packets - c0[SHOAL_R_TX_OWNER].packets;
	if (t->gue != t->delivered || fwd < t->delivered || fwd > t->sent || fb) {
		fprintf(stderr, "bench: %s: took another path: %llu of %llu back (%llu GUE), %llu "
			"forwarded to the owner of %llu decided, %llu keyed in software\n", v->name,
			(unsigned long long)t->delivered, (unsigned long long)t->sent,
			(unsigned long long)t->gue, (unsigned long long)fwd,
			(unsigned long long)(reasons_total(c1) - reasons_total(c0)),
			(unsigned long long)fb);
		err = -EIO;
	}
out:
	variant_detach(l, v);
	return err;
}

/* The programs' own time per packet: a trial with run-time statistics on. */
static int stats_pass(struct live *l, struct variant *v)
{
	__u64 pn0 = 0, pc0 = 0, pn1 = 0, pc1 = 0, sn0 = 0, sc0 = 0, sn1 = 0, sc1 = 0;
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME), err;
	struct trial t;

	if (fd < 0)
		return -errno;
	if ((err = prog_run_stats(v->prog_fd, &pn0, &pc0)) ||
	    (err = prog_run_stats(l->sink_fd, &sn0, &sc0)))
		goto out;
	err = run_variant(l, v, PACKETS, &t);
	if (err || (err = prog_run_stats(v->prog_fd, &pn1, &pc1)) ||
	    (err = prog_run_stats(l->sink_fd, &sn1, &sc1)))
		goto out;
	if (pc1 == pc0 || sc1 == sc0) {
		err = -EIO;
		goto out;
	}
	v->prog_ns = (double)(pn1 - pn0) / (double)(pc1 - pc0);
	v->sink_ns = (double)(sn1 - sn0) / (double)(sc1 - sc0);
out:
	close(fd);
	return err;
}

struct cpu_probe {
	struct live *l;
	struct variant *trivial;
};

/* The trivial path's rate on this CPU, for pin_fastest(). */
static int cpu_speed(void *arg, int cpu, double *score)
{
	struct cpu_probe *c = arg;
	struct trial t;
	int err;

	c->l->cpu = cpu;
	err = run_variant(c->l, c->trivial, PICK_PACKETS, &t);
	if (err)
		return err;
	*score = (double)t.delivered / t.ns;
	progress("CPU %d: trivial path %.3f Mpps", cpu, *score * 1e3);
	return 0;
}

/* The CPU where the trivial path runs fastest now. */
static int pick_cpu(struct live *l, struct variant *trivial)
{
	struct cpu_probe c = { .l = l, .trivial = trivial };
	int cpu = pin_fastest(cpu_speed, &c);

	if (cpu >= 0)
		l->cpu = cpu;
	return cpu;
}

/* ---- report ---- */

static struct json_object *variant_json(const struct variant *v, const struct variant *base)
{
	struct json_object *j = json_object_new_object(), *a;
	int r;

	json_object_object_add(j, "name", json_object_new_string(v->name));
	json_object_object_add(j, "description", json_object_new_string(v->what));
	json_object_object_add(j, "mpps_per_core", jnum(v->pps_med / 1e6));
	json_object_object_add(j, "cpu_ns_per_pkt", jnum(v->cpu_ns_med));
	json_object_object_add(j, "pps_ratio_to_trivial", jnum(v->pps_med / base->pps_med));
	json_object_object_add(j, "cpu_ratio_to_trivial", jnum(v->cpu_ns_med / base->cpu_ns_med));
	json_object_object_add(j, "core_busy_share", jnum(v->busy_med));
	json_object_object_add(j, "not_returned_share", jnum(v->drop_med));
	json_object_object_add(j, "prog_ns_per_pkt", jnum(v->prog_ns));
	json_object_object_add(j, "sink_ns_per_pkt", jnum(v->sink_ns));
	json_object_object_add(j, "software_fallbacks", json_object_new_uint64(v->fallbacks));
	a = json_object_new_array();
	for (r = 0; r < ROUNDS; r++)
		json_object_array_add(a, jnum(v->pps[r] / 1e6));
	json_object_object_add(j, "mpps_rounds", a);
	a = json_object_new_array();
	for (r = 0; r < ROUNDS; r++)
		json_object_array_add(a, jnum(v->cpu_ns[r]));
	json_object_object_add(j, "cpu_ns_rounds", a);
	return j;
}

int main(int argc, char **argv)
{
	struct variant vs[V_MAX] = {
		[V_TRIVIAL] = {
			.name = "trivial",
			.what = "swap the MACs and XDP_TX: the least a forwarder does",
		},
		[V_SOFTWARE] = {
			.name = "software_hash",
			.what = "shoal, flow_hash software: the flow's 5-tuple hashed in the "
				"program (SipHash), GUE-encapsulated to the owner",
		},
		[V_NIC] = {
			.name = "nic_hash",
			.what = "shoal, flow_hash nic: bound to veth0, the bucket from "
				"bpf_xdp_metadata_rx_hash(), GUE-encapsulated to the owner; "
				"the frame brings its hash (set by tc on the sender), as a "
				"NIC's RX descriptor does",
		},
		[V_NIC_COMPUTED] = {
			.name = "nic_hash_computed",
			.what = "the same, but the frame brings no hash: veth computes the "
				"skb's flow hash (the kernel's flow dissector) when the program "
				"asks - what veth costs, not what a NIC costs",
			.dissect = true,
		},
	};
	struct live l = { .sock = -1, .floor = NULL };
	struct json_object *root = NULL, *arr;
	int jit, err, rc = 1, r, i;
	struct trial t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
		return 2;
	}
	jit = jit_enabled();
	if (fx_enter()) {
		fprintf(stderr, "bench: cannot set up the namespace (root needed)\n");
		goto out;
	}
	l.ifindex0 = (int)if_nametoindex("veth0");
	l.ifindex1 = (int)if_nametoindex("veth1");
	err = floor_load(&l);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", FLOOR_OBJ, strerror(-err));
		goto out;
	}
	err = bpf_xdp_attach(l.ifindex1, l.sink_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "bench: attach the sink to veth1: %s\n", strerror(-err));
		goto out;
	}
	err = generator_open(&l);
	if (err) {
		fprintf(stderr, "bench: packet socket on veth1: %s\n", strerror(-err));
		goto out;
	}
	vs[V_TRIVIAL].prog_fd = l.trivial_fd;
	vs[V_SOFTWARE].dp = gue_dataplane(false);
	vs[V_NIC].dp = gue_dataplane(true);
	if (!vs[V_SOFTWARE].dp || !vs[V_NIC].dp)
		goto out;
	vs[V_SOFTWARE].prog_fd = shoal_prog_fd(vs[V_SOFTWARE].dp);
	vs[V_NIC].prog_fd = shoal_prog_fd(vs[V_NIC].dp);
	vs[V_NIC_COMPUTED].dp = vs[V_NIC].dp;
	vs[V_NIC_COMPUTED].prog_fd = vs[V_NIC].prog_fd;
	err = hash_attach(&l);
	if (err) {
		fprintf(stderr, "bench: tc egress on veth1: %s\n", strerror(-err));
		goto out;
	}

	err = pick_cpu(&l, &vs[V_TRIVIAL]);
	if (err < 0) {
		fprintf(stderr, "bench: choosing a CPU: %s\n", strerror(-err));
		goto out;
	}
	progress("%d rounds of %d frames (%zu bytes, %d flows) per variant, generator on CPU %d",
		 ROUNDS, PACKETS, l.len, FLOWS, l.cpu);
	for (i = 0; i < V_MAX; i++)
		if (run_variant(&l, &vs[i], WARMUP, &t))
			goto out;
	for (r = 0; r < ROUNDS; r++) {
		/* Rotated, so that no variant always follows the same one. */
		for (i = 0; i < V_MAX; i++) {
			struct variant *v = &vs[(i + r) % V_MAX];
			double b;

			if (run_variant(&l, v, PACKETS, &t))
				goto out;
			b = t.busy_ns / t.ns;
			v->pps[r] = (double)t.delivered / t.ns * 1e9;
			v->cpu_ns[r] = t.busy_ns / (double)t.delivered;
			v->busy[r] = b > 1 ? 1 : b;
			v->drop[r] = 1 - (double)t.delivered / (double)t.sent;
			progress("round %d %-14s %.3f Mpps, %.1f CPU ns/pkt (core busy %.0f%%)", r + 1,
				 v->name, v->pps[r] / 1e6, v->cpu_ns[r], b * 100);
		}
	}
	for (i = 0; i < V_MAX; i++) {
		struct variant *v = &vs[i];

		v->pps_med = median(v->pps, ROUNDS);
		v->cpu_ns_med = median(v->cpu_ns, ROUNDS);
		v->busy_med = median(v->busy, ROUNDS);
		v->drop_med = median(v->drop, ROUNDS);
		progress("run time of %s with statistics on", v->name);
		err = stats_pass(&l, v);
		if (err) {
			fprintf(stderr, "bench: %s: run-time statistics: %s\n", v->name, strerror(-err));
			goto out;
		}
	}

	printf("%-16s %10s %12s %8s %10s %10s %8s\n", "variant", "Mpps/core", "CPU ns/pkt",
	       "ratio", "prog ns", "sink ns", "busy");
	for (i = 0; i < V_MAX; i++) {
		const struct variant *v = &vs[i];

		printf("%-16s %10.3f %12.1f %7.2fx %10.1f %10.1f %7.0f%%\n", v->name, v->pps_med / 1e6,
		       v->cpu_ns_med, v->cpu_ns_med / vs[V_TRIVIAL].cpu_ns_med, v->prog_ns,
		       v->sink_ns, v->busy_med * 100);
	}
	for (i = V_NIC; i <= V_NIC_COMPUTED; i++)
		printf("%s vs software_hash: %+.1f%% packets/s per core, %+.1f CPU ns/pkt, "
		       "%+.1f ns in the program\n", vs[i].name,
		       (vs[i].pps_med / vs[V_SOFTWARE].pps_med - 1) * 100,
		       vs[i].cpu_ns_med - vs[V_SOFTWARE].cpu_ns_med,
		       vs[i].prog_ns - vs[V_SOFTWARE].prog_ns);

	root = json_object_new_object();
	json_object_object_add(root, "machine", machine_json(l.cpu, jit));
	json_object_object_add(root, "packets_per_trial", json_object_new_int(PACKETS));
	json_object_object_add(root, "rounds", json_object_new_int(ROUNDS));
	json_object_object_add(root, "flows", json_object_new_int(FLOWS));
	json_object_object_add(root, "frame_bytes", json_object_new_int((int)l.len));
	json_object_object_add(root, "nic_vs_software_pps_ratio",
			       jnum(vs[V_NIC].pps_med / vs[V_SOFTWARE].pps_med));
	json_object_object_add(root, "nic_minus_software_cpu_ns_per_pkt",
			       jnum(vs[V_NIC].cpu_ns_med - vs[V_SOFTWARE].cpu_ns_med));
	json_object_object_add(root, "nic_minus_software_prog_ns_per_pkt",
			       jnum(vs[V_NIC].prog_ns - vs[V_SOFTWARE].prog_ns));
	json_object_object_add(root, "nic_computed_minus_software_prog_ns_per_pkt",
			       jnum(vs[V_NIC_COMPUTED].prog_ns - vs[V_SOFTWARE].prog_ns));
	arr = json_object_new_array();
	for (i = 0; i < V_MAX; i++)
		json_object_array_add(arr, variant_json(&vs[i], &vs[V_TRIVIAL]));
	json_object_object_add(root, "variants", arr);
	if (write_report(argv[1], root))
		goto out;
	rc = 0;
out:
	json_object_put(root);
	if (l.sock >= 0)
		close(l.sock);
	if (l.ifindex1)
		bpf_xdp_detach(l.ifindex1, XDP_FLAGS_DRV_MODE, NULL);
	shoal_close(vs[V_SOFTWARE].dp);
	shoal_close(vs[V_NIC].dp);
	bpf_object__close(l.floor);
	return rc;
}
