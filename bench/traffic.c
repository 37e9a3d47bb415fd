// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The traffic generator and its sinks: loads bench/gen.bpf.o with the
 * template frame's offsets and values, runs it with BPF_PROG_TEST_RUN in
 * live-frames mode, and reads what the sinks counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "traffic.h"

#define CHUNK		(1U << 20)	/* frames per test_run call: setup amortised, signals seen */

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES	(1U << 1)
#endif

static __u16 get16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The template frame and where the generator patches it. */
static int gen_template(struct gen *g, const struct gen_spec *s, struct gen_conf *c, char *why,
			size_t n)
{
	struct pkt_spec p = s->pkt;
	static const __u8 zeros[GEN_FRAME_MAX];
	size_t hdr, l3 = ETH_HLEN, l4;
	__u32 span, last;

	if (p.nvlan || p.ip4_opts_len || p.ip6_ext_len) {
		snprintf(why, n, "the generator sends untagged frames without IP options");
		return -EINVAL;
	}
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP) {
		snprintf(why, n, "the generator sends TCP or UDP");
		return -EINVAL;
	}
	if (s->flows < 1 || s->flows > GEN_FLOWS_MAX) {
		snprintf(why, n, "flows: 1 to %u", GEN_FLOWS_MAX);
		return -EINVAL;
	}
	if (s->batch > GEN_BATCH_MAX) {
		snprintf(why, n, "batch: 1 to %d", GEN_BATCH_MAX);
		return -EINVAL;
	}
	p.payload = NULL;
	p.payload_len = 0;
	hdr = pkt_build(&p, g->frame, sizeof(g->frame));
	if (!hdr) {
		snprintf(why, n, "the template frame does not build");
		return -EINVAL;
	}
	if (s->frame_len && (s->frame_len < hdr || s->frame_len > GEN_FRAME_MAX)) {
		snprintf(why, n, "frame size: %zu (the headers) to %d bytes", hdr, GEN_FRAME_MAX);
		return -EINVAL;
	}
	if (s->frame_len > hdr) {
		p.payload = zeros;
		p.payload_len = s->frame_len - hdr;
		if (pkt_build(&p, g->frame, sizeof(g->frame)) != s->frame_len) {
			snprintf(why, n, "the template frame does not build");
			return -EINVAL;
		}
	}
	g->len = s->frame_len > hdr ? s->frame_len : (__u32)hdr;

	memset(c, 0, sizeof(*c));
	if (p.src.family == 4) {	/* shoal_addr: 4 or 6 */
		l4 = l3 + (size_t)(g->frame[l3] & 0x0f) * 4;
		c->ip_csum_off = (__u16)(l3 + 10);
		c->saddr_lo_off = (__u16)(l3 + 14);
	} else {
		l4 = l3 + 40;
		c->saddr_lo_off = (__u16)(l3 + 8 + 14);
	}
	c->udp = p.proto == IPPROTO_UDP;
	c->sport_off = (__u16)l4;
	c->l4_csum_off = (__u16)(l4 + (c->udp ? 6 : 16));
	c->patch_end = c->l4_csum_off + 2U;
	c->sport = get16(g->frame + c->sport_off);
	c->saddr_lo = get16(g->frame + c->saddr_lo_off);
	c->l4_csum = get16(g->frame + c->l4_csum_off);
	c->ip_csum = c->ip_csum_off ? get16(g->frame + c->ip_csum_off) : 0;
	c->hdr_len = (__u32)hdr;
	if (hdr > GEN_HDR_MAX || hdr % 2) {
		snprintf(why, n, "headers of %zu bytes: the generator writes at most %d", hdr, GEN_HDR_MAX);
		return -EINVAL;
	}
	memcpy(c->hdr, g->frame, hdr);
	c->sport_base = p.sport;
	c->flows = s->flows;
	/* Ports from the template's up; past the top, the next source address. */
	span = 65536U - p.sport;
	c->port_span = span < s->flows ? span : s->flows;
	last = (s->flows - 1) / c->port_span;
	if (ntohs(c->saddr_lo) + last > 0xffff) {
		snprintf(why, n, "%u flows from source port %u would wrap the source address's last 16 bits",
			 s->flows, p.sport);
		return -EINVAL;
	}
	return 0;
}

static int prog_fd(struct bpf_object *o, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o, name);

	return p ? bpf_program__fd(p) : -ENOENT;
}

int gen_open(struct gen *g, const char *obj_path, const struct gen_spec *spec, char *why, size_t n)
{
	struct gen_conf conf = { 0 };
	struct bpf_map *rodata, *m;
	int err;

	memset(g, 0, sizeof(*g));
	g->prog_fd = g->sink_fd = g->sink_tc_fd = g->count_fd = g->bss_fd = -1;
	if (spec) {
		err = gen_template(g, spec, &conf, why, n);
		if (err) {
			g->bad_spec = true;
			return err;
		}
		g->ifindex = spec->ifindex;
		g->batch = spec->batch ? spec->batch : 64;
	}
	g->obj = bpf_object__open_file(obj_path, NULL);
	if (!g->obj) {
		err = -errno;
		snprintf(why, n, "%s: %s", obj_path, strerror(-err));
		return err;
	}
	rodata = bpf_object__find_map_by_name(g->obj, ".rodata");
	if (!rodata || bpf_map__set_initial_value(rodata, &conf, sizeof(conf))) {
		snprintf(why, n, "%s: no settings to fill in (another build?)", obj_path);
		err = -ENOENT;
		goto fail;
	}
	err = bpf_object__load(g->obj);
	if (err) {
		snprintf(why, n, "load %s: %s", obj_path, strerror(-err));
		goto fail;
	}
	g->prog_fd = prog_fd(g->obj, "gen_flows");
	g->sink_fd = prog_fd(g->obj, "gen_sink");
	g->sink_tc_fd = prog_fd(g->obj, "gen_sink_tc");
	m = bpf_object__find_map_by_name(g->obj, "sink_count");
	g->count_fd = m ? bpf_map__fd(m) : -ENOENT;
	m = bpf_object__find_map_by_name(g->obj, ".bss");
	g->bss_fd = m ? bpf_map__fd(m) : -ENOENT;
	if (g->prog_fd < 0 || g->sink_fd < 0 || g->sink_tc_fd < 0 || g->count_fd < 0 ||
	    g->bss_fd < 0) {
		snprintf(why, n, "%s: a program or map is missing (another build?)", obj_path);
		err = -ENOENT;
		goto fail;
	}
	return 0;
fail:
	bpf_object__close(g->obj);
	g->obj = NULL;
	return err;
}

void gen_close(struct gen *g)
{
	bpf_object__close(g->obj);
	g->obj = NULL;
}

static int gen_seq(const struct gen *g, __u64 *seq)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(g->bss_fd, &k, seq) ? -errno : 0;
}

int gen_send(struct gen *g, __u64 count, __u64 *sent, double *ns)
{
	struct xdp_md ctx = { .data_end = g->len, .ingress_ifindex = (__u32)g->ifindex };
	__u64 s0, s1;
	double t0;
	int err = 0;

	*sent = 0;
	*ns = 0;
	if (gen_seq(g, &s0))
		return -errno;
	t0 = now_ns();
	while (*sent < count) {
		__u64 left = count - *sent;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = g->frame, .data_size_in = g->len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .repeat = left < CHUNK ? (__u32)left : CHUNK,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = g->batch);

		__u64 before = *sent;

		if (g->stop && *g->stop) {
			err = -EINTR;
			break;
		}

		err = bpf_prog_test_run_opts(g->prog_fd, &o);
		if (err)
			err = -errno;
		if (gen_seq(g, &s1) == 0)
			*sent = s1 - s0;
		if (err)
			break;
		/* Bounded: a run that made no frame (the program refused the template) ends it. */
		if (*sent == before) {
			err = -EIO;
			break;
		}
	}
	*ns = now_ns() - t0;
	return err;
}

int gen_sink_attach(struct gen *g, int ifindex, bool tc)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = g->sink_tc_fd);
	int err;

	if (!tc) {
		err = bpf_xdp_attach(ifindex, g->sink_fd,
				     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		return err == -EEXIST ? -EBUSY : err;
	}
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	g->tc_qdisc_ours = err == 0;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		if (g->tc_qdisc_ours) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		return err;
	}
	g->tc_handle = opts.handle;
	g->tc_priority = opts.priority;
	return 0;
}

void gen_sink_detach(struct gen *g, int ifindex, bool tc)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = g->tc_handle, .priority = g->tc_priority);
	DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = g->sink_fd);

	if (!tc) {
		/* Only if the sink is still what runs there. */
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, &xo);
		return;
	}
	if (g->tc_qdisc_ours) {
		/* The clsact qdisc was made for the sink: it goes, with the sink. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	} else {
		bpf_tc_detach(&hook, &opts);
	}
}

int gen_sink_read(const struct gen *g, __u64 *frames, __u64 *bytes)
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	__u64 *v;
	__u32 k;

	if (ncpu <= 0)
		return ncpu ? ncpu : -ENOTSUP;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < GEN_SINK_MAX; k++) {
		__u64 sum = 0, *out = k == GEN_SINK_FRAMES ? frames : bytes;

		if (!out)
			continue;
		if (bpf_map_lookup_elem(g->count_fd, &k, v)) {
			err = -errno;
			break;
		}
		for (i = 0; i < ncpu; i++)
			sum += v[i];
		*out = sum;
	}
	free(v);
	return err;
}

int gen_sink_settle(const struct gen *g, __u64 *frames)
{
	__u64 prev = ~0ULL;
	int k, err;

	for (k = 0; k < 100; k++) {
		err = gen_sink_read(g, frames, NULL);
		if (err)
			return err;
		if (*frames == prev)
			return 0;
		prev = *frames;
		usleep(1000);
	}
	return 0;
}

int cpu_busy_ns(int cpu, double *ns)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	char line[512], want[16];
	int found = 0;

	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		/* user nice system idle iowait irq softirq steal */
		found = sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
		break;
	}
	fclose(f);
	if (!found)
		return -ENOENT;
	*ns = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e9 / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

int prog_run_stats(int fd, __u64 *run_ns, __u64 *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}
