/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load-time settings of bench/floor.bpf.c's reference programs, shared with the benchmarks that load it. */
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

#endif /* SHOAL_BENCH_FLOOR_H */
