// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference XDP programs for bench/micro.c: an empty program, the trivial
 * forwarder every path is compared against, the restore wrapper that lets
 * BPF_PROG_TEST_RUN repeat a path which rewrites its packet or moves its
 * head, and the calibration target for paths that move the head, with a
 * program that checks that calibration; and for bench/live.c, the sink at
 * the far end of the veth that counts and drops what the program under test
 * sent back, and the tc program that gives its frames an skb hash before
 * they cross the veth, as a NIC's descriptor would.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "floor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load (bench/floor.h); read only, so the verifier knows the values and drops the dead branches. */
const volatile struct floor_conf floor_conf = {};

/* Target of the wrapper's one atomic operation; its value means nothing. */
__u64 drain;

/* The input frame as it must be at the start of every repeat, in words. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[FLOOR_FRAME_MAX / 8]);
} frame SEC(".maps");

/* Slot 0: the program the wrapper runs after restoring the frame. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} target SEC(".maps");

/* The cost of test_run's own loop: nothing but a verdict. */
SEC("xdp")
int floor_empty(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/*
 * The least a forwarder does: touch the Ethernet header and send the frame
 * back out. Swapping the MACs leaves the frame valid however often it runs.
 */
SEC("xdp")
int floor_trivial(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/*
 * Put the head back where the input frame started, copy the saved frame over
 * the packet, then tail-call the program under test, so that every repeat
 * sees the original input and not the previous repeat's output.
 *
 * The head: the program under test may have moved it with
 * bpf_xdp_adjust_head() (GUE encapsulation 52 bytes earlier, decapsulation
 * 52 bytes later). It never moves the tail, so the packet's length tells how
 * far the head is from the start of the input frame, and one call moves it
 * back. On the first repeat, and for paths that leave the head alone, the
 * length is frame_len and nothing is called.
 *
 * The copy: whole words first; the last, partial word is copied as the
 * overlapping 8 bytes that end the frame.
 *
 * XDP_ABORTED means the head could not be moved back, the packet is shorter
 * than the saved frame, or the tail call did not happen.
 */
SEC("xdp")
int floor_restore(struct xdp_md *ctx)
{
	__u32 zero = 0, len = floor_conf.frame_len, off;
	void *data, *end;
	__s32 delta;
	__u64 *f;
	__u32 i;

	delta = (__s32)(ctx->data_end - ctx->data) - (__s32)len;
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	f = bpf_map_lookup_elem(&frame, &zero);
	if (!f)
		return XDP_ABORTED;
	if (len < 8 || len > FLOOR_FRAME_MAX || data + len > end)
		return XDP_ABORTED;

#pragma unroll
	for (i = 0; i < FLOOR_FRAME_MAX / 8; i++) {
		/* Both hold or neither does (data + len <= end); the verifier needs the second. */
		if (i * 8 + 8 > len || data + i * 8 + 8 > end)
			break;
		((__u64 *)data)[i] = f[i];
	}
	if (len & 7) {
		off = len - 8;
		/* Keep the compiler from folding this bound into the one above. */
		asm volatile("" : "+r"(off));
		if (off > FLOOR_FRAME_MAX - 8 || data + off + 8 > end)
			return XDP_ABORTED;
		*(__u64 *)(data + off) = *(__u64 *)((__u8 *)f + off);
	}

	/*
	 * A locked operation waits for the copy's stores to reach the cache.
	 * Otherwise the program under test reads the frame while those stores
	 * are in flight, and a load that straddles two of them cannot be
	 * forwarded and stalls: a cost of the copy that the wrapper->empty
	 * measurement (which reads nothing) would not show, and that would be
	 * charged to the program.
	 */
	__sync_fetch_and_add(&drain, 0);
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED;
}

/*
 * The calibration target for a path that moves the head: it makes the one
 * bpf_xdp_adjust_head() call the path makes, and nothing else. Through the
 * wrapper it always finds the frame restored (length frame_len) and moves
 * the head by head_move, as the path does, so the wrapper has the same work
 * to undo on the next repeat as it has for the path. Run alone, it moves the
 * head by head_move and back on alternate repeats: the head never drifts,
 * every call succeeds, and each repeat costs one call, in one direction or
 * the other. XDP_ABORTED means a call failed; the head then stays where it
 * is and every later repeat fails too, so the last verdict shows it.
 */
SEC("xdp")
int floor_move(struct xdp_md *ctx)
{
	__s32 move = floor_conf.head_move;

	if (ctx->data_end - ctx->data != floor_conf.frame_len)
		move = -move;
	if (bpf_xdp_adjust_head(ctx, move))
		return XDP_ABORTED;
	return XDP_PASS;
}

/*
 * A check on that calibration: floor_move, then the trivial program's MAC
 * swap at wherever the head now is. Run alone, it alternates as floor_move
 * does, so its cost is known directly; through the wrapper, less the
 * overhead measured with floor_move, it must come out the same. It is to
 * the GUE paths what the direct paths' "wrapped" figure is to the others.
 */
SEC("xdp")
int floor_move_swap(struct xdp_md *ctx)
{
	__s32 move = floor_conf.head_move;
	struct ethhdr *eth;
	__u8 tmp[ETH_ALEN];
	void *end;

	if (ctx->data_end - ctx->data != floor_conf.frame_len)
		move = -move;
	if (bpf_xdp_adjust_head(ctx, move))
		return XDP_ABORTED;
	eth = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/*
 * floor_sink's counts: [0] the IPv4 frames (the bench sends nothing else; the
 * kernel's own IPv6 chatter on the link is left out), [1] those that are UDP
 * (GUE, here).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sunk SEC(".maps");

/*
 * The far end of bench/live.c's veth: XDP_TX on a veth delivers only to a
 * peer with an XDP program, and this one counts what arrives and drops it,
 * so that the kernel's stack costs nothing on the way back.
 */
SEC("xdp")
int floor_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 k = 0;
	__u64 *n;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	n = bpf_map_lookup_elem(&sunk, &k);
	if (n)
		(*n)++;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_DROP;
	k = 1;
	n = bpf_map_lookup_elem(&sunk, &k);
	if (n)
		(*n)++;
	return XDP_DROP;
}

/* [0]: floor_hash sets the skb's hash when non-zero. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} hash_on SEC(".maps");

/*
 * tc egress on the generator's veth: hand the frame an L4 hash of its
 * addresses and ports (bpf_set_hash marks it so), which veth then gives a
 * device-bound XDP program as its RX hash without computing one - what a
 * NIC does with the hash in its RX descriptor. Any hash that differs per
 * flow serves: the bench's table sends every bucket to the same peer.
 */
SEC("tc")
int floor_hash(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 k = 0, *on, *ports;

	on = bpf_map_lookup_elem(&hash_on, &k);
	if (!on || !*on)
		return TC_ACT_OK;
	ports = (void *)(ip + 1);
	if ((void *)(ports + 1) > end)
		return TC_ACT_OK;
	bpf_set_hash(skb, (ip->saddr ^ ip->daddr ^ *ports) * 0x9e3779b1u);
	return TC_ACT_OK;
}
