// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference XDP programs for bench/micro.c: an empty program, the trivial
 * forwarder every path is compared against, and the restore wrapper that
 * lets BPF_PROG_TEST_RUN repeat a path which rewrites its packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Longest frame the wrapper restores; the bench frames are shorter. */
#define FLOOR_FRAME_MAX	128

/*
 * Bytes of the frame to restore, 8 .. FLOOR_FRAME_MAX, set before load. Read
 * only, so the verifier knows the value and drops the copy's dead branches.
 */
const volatile __u32 frame_len = 0;

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
 * Copy the saved frame over the packet, then tail-call the program under
 * test, so that every repeat sees the original input and not the previous
 * repeat's output. Whole words first; the last, partial word is copied as
 * the overlapping 8 bytes that end the frame. XDP_ABORTED means the packet
 * is shorter than the saved frame, or the tail call did not happen.
 */
SEC("xdp")
int floor_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, len = frame_len, off;
	__u64 *f;
	__u32 i;

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
