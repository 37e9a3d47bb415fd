/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the benchmarks share: progress lines, clocks, medians, CPU pinning and the report. */
#ifndef SHOAL_BENCH_COMMON_H
#define SHOAL_BENCH_COMMON_H

#include <json-c/json.h>

#define BENCH_MEDIAN_MAX	64	/* most values median() takes */

void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double now_ns(void);
int cmp_double(const void *a, const void *b);
/* The median of n values, 1 <= n <= BENCH_MEDIAN_MAX; v is left as it was. */
double median(const double *v, int n);
/* Run the calling thread on this CPU only. */
int pin(int cpu);
/*
 * Pin to each allowed CPU in turn, let `speed` measure the reference there
 * (*score: higher is faster), and stay on the fastest: on this virtual
 * machine one vCPU at times runs at about half speed. The CPU, or -errno.
 */
int pin_fastest(int (*speed)(void *arg, int cpu, double *score), void *arg);
/*
 * Keep an XDP program attached (native) to a veth of its own, left down, so
 * that no packet reaches it: BPF_PROG_TEST_RUN with repeat > 1 puts a
 * program that is attached nowhere into the XDP dispatcher for the run and
 * takes it out after, an RCU grace period each (1-3 ms a run here, 1-3 ns a
 * packet at 10^6 repeats); an attached one is in it already. Only in a
 * private namespace (the veths are not removed). A handle (> 0) for
 * unhold_prog(), which frees the veth for the next hold, or -errno.
 */
int hold_prog(int prog_fd);
void unhold_prog(int handle);
/* net.core.bpf_jit_enable, or -1: read it before entering a namespace that hides it. */
int jit_enabled(void);
/* Figures to three decimals: more would be noise. */
struct json_object *jnum(double v);
/* The machine: kernel, CPU model, CPU count, the CPU the bench ran on, the JIT. */
struct json_object *machine_json(int cpu, int jit);
/* mkdir -p of the directory part of `path`. */
int make_parent(const char *path);
/* Write the report, pretty, creating its directory. 0, or -1 with the reason printed. */
int write_report(const char *path, struct json_object *root);

#endif /* SHOAL_BENCH_COMMON_H */
