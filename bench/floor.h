/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* bench/floor.bpf.c's reference programs: their load-time settings, and loading them (bench/floor.c). */
#ifndef SHOAL_BENCH_FLOOR_H
#define SHOAL_BENCH_FLOOR_H

#include <linux/types.h>

/* Longest frame the restore wrapper restores; the bench frames are shorter. */
#define FLOOR_FRAME_MAX	128

/*
 *   frame_len: bytes of the frame to restore, 8 .. FLOOR_FRAME_MAX.
 *   head_move: what the path under test passes to bpf_xdp_adjust_head() (-52
 *              to encapsulate in IPv4 GUE, +52 to decapsulate), 0 if nothing;
 *              only floor_move and floor_move_swap read it.
 */
struct floor_conf {
	__u32 frame_len;
	__s32 head_move;
};

#ifndef __bpf__
#include <stddef.h>

struct bpf_object;

/*
 * One load of floor.bpf.c. The restore wrapper restores one frame length,
 * and floor_move makes one head move, both fixed at load: each (length,
 * move) a benchmark needs has its own load.
 */
struct floor {
	struct bpf_object *obj;
	struct floor_conf conf;	/* set before floor_open() */
	int empty_fd;		/* return XDP_PASS */
	int trivial_fd;		/* swap MACs, return XDP_TX */
	int restore_fd;		/* restore the head and the frame, tail-call slot 0 of target */
	int move_fd;		/* bpf_xdp_adjust_head(head_move), return XDP_PASS */
	int move_swap_fd;	/* the same, then swap MACs, return XDP_TX: a check */
	int target_fd;		/* prog array */
	int frame_fd;		/* the saved frame */
};

/* Load `path` with fl->conf. 0, or -errno with the reason printed. */
int floor_open(struct floor *fl, const char *path);
/* What the wrapper tail-calls, and the frame it restores before every repeat. */
int floor_set_target(const struct floor *fl, int prog_fd, const char *what);
int floor_set_frame(const struct floor *fl, const __u8 *frame, size_t len);
#endif

#endif /* SHOAL_BENCH_FLOOR_H */
