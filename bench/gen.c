// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal-gen: a traffic generator for this kernel, which has no pktgen, and
 * where xdp-trafficgen does not load. It sends IPv4 or IPv6, TCP or UDP
 * frames over many 5-tuples out of an interface at the rate one core
 * reaches (BPF_PROG_TEST_RUN live frames), and counts what arrives at a
 * sink: XDP on a veth's far end, or tc ingress behind an XDP program that
 * passes frames to the stack.
 *
 *   shoal-gen send --dev IF --src ADDR --dst ADDR [options]
 *   shoal-gen sink --dev IF [--tc] [--seconds N]
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <json-c/json.h>

#include "common.h"
#include "traffic.h"
#include "util.h"

#ifndef GEN_OBJ
#define GEN_OBJ "build/bench/gen.bpf.o"
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: shoal-gen send --dev IF --src ADDR --dst ADDR [options]\n"
		"       shoal-gen sink --dev IF [--tc] [--seconds N]\n"
		"\n"
		"send: frames out of IF (in this network namespace), as fast as one core makes them,\n"
		"with BPF_PROG_TEST_RUN live frames. On a veth, the peer must run an XDP program\n"
		"(a sink, or the program under test) or the frames are dropped.\n"
		"  -d, --dev IF          transmit out of IF (required)\n"
		"      --src ADDR        source address of flow 0 (IPv4 or IPv6; required)\n"
		"      --dst ADDR        destination address (same family; required)\n"
		"      --sport N         source port of flow 0 (default 1024); the flows count up\n"
		"                        the ports to 65535, then from N again at the next source address\n"
		"      --dport N         destination port (default 80)\n"
		"      --proto tcp|udp   (default tcp)\n"
		"      --tcp syn|ack     TCP flags: a new connection, or an established one (default ack)\n"
		"      --flows N         distinct 5-tuples, 1 .. %u (default 1024)\n"
		"      --size BYTES      frame size without FCS, the headers (54 for TCP/IPv4) .. %d\n"
		"                        (default: the headers alone)\n"
		"      --count N         frames to send (default 10000000)\n"
		"      --src-mac MAC     (default: IF's own)\n"
		"      --dst-mac MAC     (default: the sink's, when --sink is given; else required)\n"
		"      --sink IF         count what arrives at IF (this namespace) with an XDP sink\n"
		"                        (refused where an XDP program runs already)\n"
		"      --sink-tc IF      count at IF's tc ingress instead (frames an XDP program passed)\n"
		"      --cpu N           run on CPU N (default: the current one)\n"
		"      --batch N         frames per test_run batch, 1 .. %d (default 64)\n"
		"sink: count and drop what arrives at IF, printing the rate every second.\n"
		"  -d, --dev IF          the receiving interface (required)\n"
		"      --tc              at tc ingress instead of XDP\n"
		"      --seconds N       stop after N seconds (default: at SIGINT/SIGTERM)\n"
		"Both: -j, --json        a JSON summary on stdout\n"
		"      --obj PATH        the generator's BPF object (default %s)\n"
		"      -h, --help\n"
		"Needs root. Exit 0 on success, 1 on failure, 2 on a usage error.\n",
		GEN_FLOWS_MAX, GEN_FRAME_MAX, GEN_BATCH_MAX, GEN_OBJ);
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "shoal-gen: %s: '%s'\n", what, arg);
	return 2;
}

static int parse_num(const char *s, unsigned long long lo, unsigned long long hi,
		     unsigned long long *out)
{
	return shoal_parse_uint(s, hi, out) || *out < lo ? -EINVAL : 0;
}

static int dev_index(const char *name, const char *what)
{
	int i = (int)if_nametoindex(name);

	if (!i)
		fprintf(stderr, "shoal-gen: %s '%s': no such interface here\n", what, name);
	return i;
}

static int dev_mac(const char *name, __u8 mac[6])
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return err;
}

struct opts {
	const char *dev, *src, *dst, *sink, *obj;
	bool sink_tc, json, have_src_mac, have_dst_mac;
	unsigned long long sport, dport, flows, size, count, cpu, batch, seconds;
	bool have_cpu;
	int proto;
	__u8 tcp_flags;
	__u8 src_mac[6], dst_mac[6];
};

static int cmd_send(struct opts *o)
{
	struct gen_spec s = { 0 };
	struct gen g = { 0 };
	__u64 sent = 0, got0 = 0, got = 0;
	int ifindex, sink_ifindex = 0, err, rc = 1;
	char why[256];
	double ns;

	if (!o->dev || !o->src || !o->dst) {
		fprintf(stderr, "shoal-gen: send needs --dev, --src and --dst (see --help)\n");
		return 2;
	}
	if (shoal_parse_addr(o->src, &s.pkt.src))
		return bad("--src: not an address", o->src);
	if (shoal_parse_addr(o->dst, &s.pkt.dst))
		return bad("--dst: not an address", o->dst);
	if (s.pkt.src.family != s.pkt.dst.family) {
		fprintf(stderr, "shoal-gen: --src and --dst must be of one family\n");
		return 2;
	}
	if (!(ifindex = dev_index(o->dev, "--dev")))
		return 1;
	if (o->sink && !(sink_ifindex = dev_index(o->sink, o->sink_tc ? "--sink-tc" : "--sink")))
		return 1;
	if (!o->have_src_mac && dev_mac(o->dev, o->src_mac)) {
		fprintf(stderr, "shoal-gen: the MAC address of %s: %s\n", o->dev, strerror(errno));
		return 1;
	}
	if (!o->have_dst_mac) {
		if (!o->sink) {
			fprintf(stderr, "shoal-gen: send needs --dst-mac, or --sink to take it from\n");
			return 2;
		}
		if (dev_mac(o->sink, o->dst_mac)) {
			fprintf(stderr, "shoal-gen: the MAC address of %s: %s\n", o->sink, strerror(errno));
			return 1;
		}
	}
	memcpy(s.pkt.src_mac, o->src_mac, 6);
	memcpy(s.pkt.dst_mac, o->dst_mac, 6);
	s.pkt.proto = (__u8)o->proto;
	s.pkt.sport = (__u16)o->sport;
	s.pkt.dport = (__u16)o->dport;
	s.pkt.tcp_flags = o->tcp_flags;
	s.pkt.seq = 1000;
	s.pkt.ack = o->tcp_flags & PKT_TCP_ACK ? 2000 : 0;
	s.ifindex = ifindex;
	s.flows = (__u32)o->flows;
	s.frame_len = (__u32)o->size;
	s.batch = (__u32)o->batch;
	if (o->have_cpu && pin((int)o->cpu)) {
		fprintf(stderr, "shoal-gen: --cpu %llu: %s\n", o->cpu, strerror(errno));
		return 1;
	}
	err = gen_open(&g, o->obj, &s, why, sizeof(why));
	if (err) {
		fprintf(stderr, "shoal-gen: %s\n", why);
		return g.bad_spec ? 2 : 1;
	}
	g.stop = &stop;
	if (sink_ifindex) {
		err = gen_sink_attach(&g, sink_ifindex, o->sink_tc);
		if (err) {
			fprintf(stderr, "shoal-gen: sink on %s: %s%s\n", o->sink, strerror(-err),
				err == -EBUSY ? " (an XDP program runs there already)" : "");
			sink_ifindex = 0;
			goto out;
		}
		if ((err = gen_sink_read(&g, &got0, NULL))) {
			fprintf(stderr, "shoal-gen: reading the sink: %s\n", strerror(-err));
			goto out;
		}
	}
	err = gen_send(&g, o->count, &sent, &ns);
	if (err && err != -EINTR) {
		fprintf(stderr, "shoal-gen: sending on %s: %s\n", o->dev, strerror(-err));
		goto out;
	}
	if (sink_ifindex && (err = gen_sink_settle(&g, &got))) {
		fprintf(stderr, "shoal-gen: reading the sink: %s\n", strerror(-err));
		goto out;
	}
	got -= got0;
	if (o->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "frames_sent", json_object_new_uint64(sent));
		json_object_object_add(j, "seconds", jnum(ns / 1e9));
		json_object_object_add(j, "sent_pps", jnum((double)sent / ns * 1e9));
		json_object_object_add(j, "frame_bytes", json_object_new_int((int)g.len));
		json_object_object_add(j, "flows", json_object_new_uint64(o->flows));
		if (sink_ifindex) {
			json_object_object_add(j, "frames_received", json_object_new_uint64(got));
			json_object_object_add(j, "received_pps", jnum((double)got / ns * 1e9));
		}
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		printf("sent     %llu frames of %u bytes over %llu flows in %.3f s: %.3f Mpps, %.2f Gbit/s\n",
		       (unsigned long long)sent, g.len, o->flows, ns / 1e9, (double)sent / ns * 1e3,
		       (double)sent * g.len * 8 / ns);
		if (sink_ifindex)
			printf("received %llu at %s (%.1f%%): %.3f Mpps\n", (unsigned long long)got, o->sink,
			       sent ? (double)got * 100 / (double)sent : 0, (double)got / ns * 1e3);
	}
	rc = 0;
out:
	if (sink_ifindex)
		gen_sink_detach(&g, sink_ifindex, o->sink_tc);
	gen_close(&g);
	return rc;
}

static int cmd_sink(struct opts *o)
{
	__u64 f0 = 0, b0 = 0, f = 0, b = 0, last = 0;
	struct gen g = { 0 };
	int ifindex, err, rc = 1;
	unsigned long long t = 0;
	char why[256];
	double t0;

	if (!o->dev) {
		fprintf(stderr, "shoal-gen: sink needs --dev (see --help)\n");
		return 2;
	}
	if (!(ifindex = dev_index(o->dev, "--dev")))
		return 1;
	err = gen_open(&g, o->obj, NULL, why, sizeof(why));
	if (err) {
		fprintf(stderr, "shoal-gen: %s\n", why);
		return 1;
	}
	err = gen_sink_attach(&g, ifindex, o->sink_tc);
	if (err) {
		fprintf(stderr, "shoal-gen: sink on %s: %s%s\n", o->dev, strerror(-err),
			err == -EBUSY ? " (an XDP program runs there already)" : "");
		goto out;
	}
	if ((err = gen_sink_read(&g, &f0, &b0))) {
		fprintf(stderr, "shoal-gen: reading the sink: %s\n", strerror(-err));
		goto detach;
	}
	t0 = now_ns();
	while (!stop && (!o->seconds || t < o->seconds)) {
		sleep(1);
		t++;
		if ((err = gen_sink_read(&g, &f, &b))) {
			fprintf(stderr, "shoal-gen: reading the sink: %s\n", strerror(-err));
			goto detach;
		}
		if (!o->json)
			printf("%llus %.3f Mpps\n", t, (double)(f - f0 - last) / 1e6);
		fflush(stdout);
		last = f - f0;
	}
	if ((err = gen_sink_read(&g, &f, &b))) {
		fprintf(stderr, "shoal-gen: reading the sink: %s\n", strerror(-err));
		goto detach;
	}
	f -= f0;
	b -= b0;
	if (o->json)
		printf("{\"frames_received\": %llu, \"bytes_received\": %llu, \"seconds\": %.3f}\n",
		       (unsigned long long)f, (unsigned long long)b, (now_ns() - t0) / 1e9);
	else
		printf("received %llu frames, %llu bytes\n", (unsigned long long)f, (unsigned long long)b);
	rc = 0;
detach:
	gen_sink_detach(&g, ifindex, o->sink_tc);
out:
	gen_close(&g);
	return rc;
}

int main(int argc, char **argv)
{
	enum { O_SRC = 256, O_DST, O_SPORT, O_DPORT, O_PROTO, O_TCP, O_FLOWS, O_SIZE, O_COUNT,
	       O_SRC_MAC, O_DST_MAC, O_SINK, O_SINK_TC, O_CPU, O_BATCH, O_TC, O_SECONDS, O_OBJ };
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, O_SRC },
		{ "dst", required_argument, NULL, O_DST },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "dport", required_argument, NULL, O_DPORT },
		{ "proto", required_argument, NULL, O_PROTO },
		{ "tcp", required_argument, NULL, O_TCP },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "src-mac", required_argument, NULL, O_SRC_MAC },
		{ "dst-mac", required_argument, NULL, O_DST_MAC },
		{ "sink", required_argument, NULL, O_SINK },
		{ "sink-tc", required_argument, NULL, O_SINK_TC },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "tc", no_argument, NULL, O_TC },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "obj", required_argument, NULL, O_OBJ },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = {
		.obj = GEN_OBJ, .sport = 1024, .dport = 80, .flows = 1024, .count = 10000000,
		.proto = IPPROTO_TCP, .tcp_flags = PKT_TCP_ACK,
	};
	const char *cmd;
	int c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "send") && strcmp(cmd, "sink")) {
		fprintf(stderr, "shoal-gen: unknown command '%s' (send or sink; see --help)\n", cmd);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "d:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dev = optarg; break;
		case 'j': o.json = true; break;
		case 'h': usage(stdout); return 0;
		case O_SRC: o.src = optarg; break;
		case O_DST: o.dst = optarg; break;
		case O_SPORT:
			if (parse_num(optarg, 1, 65535, &o.sport))
				return bad("--sport: 1 to 65535", optarg);
			break;
		case O_DPORT:
			if (parse_num(optarg, 1, 65535, &o.dport))
				return bad("--dport: 1 to 65535", optarg);
			break;
		case O_PROTO:
			if (!strcmp(optarg, "tcp"))
				o.proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				o.proto = IPPROTO_UDP;
			else
				return bad("--proto: tcp or udp", optarg);
			break;
		case O_TCP:
			if (!strcmp(optarg, "syn"))
				o.tcp_flags = PKT_TCP_SYN;
			else if (!strcmp(optarg, "ack"))
				o.tcp_flags = PKT_TCP_ACK;
			else
				return bad("--tcp: syn or ack", optarg);
			break;
		case O_FLOWS:
			if (parse_num(optarg, 1, GEN_FLOWS_MAX, &o.flows))
				return bad("--flows: 1 to 16777216", optarg);
			break;
		case O_SIZE:
			if (parse_num(optarg, 1, GEN_FRAME_MAX, &o.size))
				return bad("--size: up to 1514 bytes", optarg);
			break;
		case O_COUNT:
			if (parse_num(optarg, 1, 1ULL << 40, &o.count))
				return bad("--count: 1 or more", optarg);
			break;
		case O_SRC_MAC:
			if (shoal_parse_mac(optarg, o.src_mac))
				return bad("--src-mac: not a MAC address", optarg);
			o.have_src_mac = true;
			break;
		case O_DST_MAC:
			if (shoal_parse_mac(optarg, o.dst_mac))
				return bad("--dst-mac: not a MAC address", optarg);
			o.have_dst_mac = true;
			break;
		case O_SINK: o.sink = optarg; o.sink_tc = false; break;
		case O_SINK_TC: o.sink = optarg; o.sink_tc = true; break;
		case O_CPU:
			if (parse_num(optarg, 0, 4095, &o.cpu))
				return bad("--cpu: a CPU number", optarg);
			o.have_cpu = true;
			break;
		case O_BATCH:
			if (parse_num(optarg, 1, GEN_BATCH_MAX, &o.batch))
				return bad("--batch: 1 to 256", optarg);
			break;
		case O_TC: o.sink_tc = true; break;
		case O_SECONDS:
			if (parse_num(optarg, 1, 86400, &o.seconds))
				return bad("--seconds: 1 to 86400", optarg);
			break;
		case O_OBJ: o.obj = optarg; break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shoal-gen: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "shoal-gen: needs root (BPF programs and XDP)\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	return !strcmp(cmd, "send") ? cmd_send(&o) : cmd_sink(&o);
}
