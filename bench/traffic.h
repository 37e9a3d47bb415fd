/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The traffic generator and its sinks (test_run live frames), for shoal-gen and the benchmarks. */
#ifndef SHOAL_BENCH_TRAFFIC_H
#define SHOAL_BENCH_TRAFFIC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "gen.h"
#include "packet.h"

#define GEN_FRAME_MAX	1514	/* an untagged full-size Ethernet frame */
#define GEN_BATCH_MAX	256	/* test_run's own limit */

struct gen_spec {
	int ifindex;		/* frames leave through this interface (this namespace) */
	struct pkt_spec pkt;	/* the template; flow 0 has its source port and address */
	__u32 flows;		/* 1 .. GEN_FLOWS_MAX distinct 5-tuples */
	__u32 frame_len;	/* 0: the headers alone */
	__u32 batch;		/* frames per test_run batch, 1 .. GEN_BATCH_MAX; 0: 64 */
};

struct gen {
	struct bpf_object *obj;
	int prog_fd;		/* gen_flows */
	int sink_fd;		/* gen_sink (XDP) */
	int sink_tc_fd;		/* gen_sink_tc */
	int count_fd;		/* sink_count */
	int bss_fd;		/* gen_seq */
	int ifindex;
	__u32 len, batch;
	bool bad_spec;		/* gen_open() refused the spec (a usage error), not the kernel */
	volatile sig_atomic_t *stop;	/* when set and non-zero, gen_send() ends at the next chunk */
	/* The tc sink: where it hangs, and whether the clsact qdisc is ours to remove. */
	__u32 tc_handle, tc_priority;
	bool tc_qdisc_ours;
	__u8 frame[GEN_FRAME_MAX];
};

/*
 * Load the generator from `obj_path` for `spec`, or with spec NULL only the
 * sinks. 0, or -errno with the reason in why.
 */
int gen_open(struct gen *g, const char *obj_path, const struct gen_spec *spec, char *why, size_t n);
void gen_close(struct gen *g);
/*
 * Generate `count` frames as fast as one core can (the caller's; pin it).
 * *sent: frames the generator made and handed to the interface; *ns: the
 * time it took. A signal ends it early with -EINTR, *sent still true.
 */
int gen_send(struct gen *g, __u64 count, __u64 *sent, double *ns);
/*
 * The sinks: XDP on a veth's receiving end (refused with -EBUSY where an XDP
 * program runs already), or a tc ingress filter behind an XDP program that
 * passes. Detaching removes only what the attach added.
 */
int gen_sink_attach(struct gen *g, int ifindex, bool tc);
void gen_sink_detach(struct gen *g, int ifindex, bool tc);
/* What the sinks counted so far, over all CPUs (either may be NULL). */
int gen_sink_read(const struct gen *g, __u64 *frames, __u64 *bytes);
/* Wait (at most ~100 ms) until the sink's count stops growing: frames still in rings. */
int gen_sink_settle(const struct gen *g, __u64 *frames);

/* The busy time of one CPU so far, in ns (/proc/stat: all but idle and iowait). */
int cpu_busy_ns(int cpu, double *ns);
/* A program's run time and run count so far (counted while BPF_STATS_RUN_TIME is on). */
int prog_run_stats(int fd, __u64 *run_ns, __u64 *runs);

#endif /* SHOAL_BENCH_TRAFFIC_H */
