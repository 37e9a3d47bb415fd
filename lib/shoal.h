/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libshoal: load, attach and pin the data plane, and every access to its maps. */
#ifndef SHOAL_LIB_H
#define SHOAL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "shoal/abi.h"

#define SHOAL_PIN_DEFAULT	"/sys/fs/bpf/shoal"

struct shoal;

enum shoal_xdp_mode {
	SHOAL_XDP_NATIVE = 0,	/* driver mode; fail rather than fall back */
	SHOAL_XDP_GENERIC,	/* skb mode, only when asked for */
};

/*
 * Lifecycle. With a pin directory, maps, program and link are pinned there so
 * that another process adopts the same state with shoal_open(). With
 * pin_dir == NULL nothing is pinned and everything goes with the handle
 * (tests, benchmarks).
 */
int shoal_create(struct shoal **out, const char *pin_dir, __u32 m);
struct shoal_create_opts {
	__u32 m;		/* 0: SHOAL_M_DEFAULT */
	__u8 flow_hash;		/* SHOAL_HASH_SOFTWARE, or SHOAL_HASH_NIC: */
	int ifindex;		/* ... the program is bound to this device (the uplink) */
};
int shoal_create_opts(struct shoal **out, const char *pin_dir, const struct shoal_create_opts *o);
int shoal_open(struct shoal **out, const char *pin_dir);
void shoal_close(struct shoal *s);
/* Detach, unpin everything and close. */
int shoal_destroy(struct shoal *s);
/* The same without opening: for state that cannot be opened (another version's). */
int shoal_purge(const char *pin_dir);
bool shoal_exists(const char *pin_dir);

int shoal_attach(struct shoal *s, const char *ifname, enum shoal_xdp_mode mode);
int shoal_detach(struct shoal *s);
/* ifindex 0 when not attached. */
int shoal_attachment(struct shoal *s, int *ifindex, enum shoal_xdp_mode *mode);

int shoal_prog_fd(const struct shoal *s);
int shoal_prog_id(const struct shoal *s);
/* Another process upgraded the pinned program: take it as ours. 1 if it changed. */
int shoal_prog_refresh(struct shoal *s);

/*
 * Replace the program with the one in obj_path (NULL: the one built into this
 * binary), keeping every map - tables, VIPs, counters - and swapping it on the
 * attached link in one step. A program whose maps differ is refused. With
 * if_changed, a program identical to the running one (same tag) is not swapped
 * in: *new_id then equals *old_id.
 */
int shoal_upgrade(struct shoal *s, const char *obj_path, bool if_changed, __u32 *old_id,
		  __u32 *new_id);
__u32 shoal_m(const struct shoal *s);
const char *shoal_pin_dir(const struct shoal *s);

/* Writers serialise on the pin directory (flock); readers need no lock. */
int shoal_lock(struct shoal *s);
void shoal_unlock(struct shoal *s);

/* conf: the mapped element itself, so single fields are stored atomically. */
volatile struct shoal_conf *shoal_conf(struct shoal *s);
int shoal_set_identity(struct shoal *s, __u16 self);
int shoal_set_key(struct shoal *s, const __u64 key[2]);
int shoal_set_mac_prefix(struct shoal *s, const __u8 prefix[3]);

/* nodes and pools, by id */
int shoal_node_get(struct shoal *s, __u16 id, struct shoal_node *n);
int shoal_node_put(struct shoal *s, __u16 id, const struct shoal_node *n);
int shoal_node_clear(struct shoal *s, __u16 id);
int shoal_pool_get(struct shoal *s, __u8 id, struct shoal_pool *p);
int shoal_pool_put(struct shoal *s, __u8 id, const struct shoal_pool *p);

/*
 * Bucket tables and the VIP table are double buffered. _read() copies the
 * active copy; _stage() writes the inactive one (a new pool's table goes into
 * a new map, published at commit); shoal_commit() publishes and flips the
 * staged ones and waits an RCU grace period, after which no packet still
 * reads the old copies and they may be staged again.
 */
int shoal_table_read(struct shoal *s, __u8 pool, struct shoal_bucket *out);
int shoal_table_stage(struct shoal *s, __u8 pool, const struct shoal_bucket *b);
int shoal_table_drop(struct shoal *s, __u8 pool);
int shoal_vips_read(struct shoal *s, struct shoal_vip *slots);
int shoal_vips_stage(struct shoal *s, const struct shoal_vip *slots);
int shoal_commit(struct shoal *s);
/* Forget what was staged (after a failure before the commit). */
void shoal_stage_abort(struct shoal *s);

/* Counters, summed over CPUs. */
int shoal_stats_read(struct shoal *s, struct shoal_counter out[SHOAL_R_MAX]);
int shoal_vipstats_read(struct shoal *s, __u16 id, struct shoal_counter *out);
int shoal_events_read(struct shoal *s, __u64 out[SHOAL_E_MAX]);
const char *shoal_event_name(int e);
const char *shoal_event_help(int e);
int shoal_vipstats_clear(struct shoal *s, __u16 id);
int shoal_stats_clear(struct shoal *s);

/* Run the loaded program once on a frame (BPF_PROG_TEST_RUN). */
struct shoal_run {
	__u32 action;			/* XDP_* */
	struct shoal_trace trace;	/* filled when traced */
	__u8 out[2048];			/* the frame as the program left it */
	__u32 out_len;
};
int shoal_run(struct shoal *s, const void *frame, size_t len, bool trace, struct shoal_run *r);
/* The same, traced, assuming the NIC gave the frame this RX hash (nic mode). */
int shoal_run_hash(struct shoal *s, const void *frame, size_t len, bool trace,
		   const __u32 *rx_hash, struct shoal_run *r);

/* Reasons by name, for the CLI, metrics and tests. */
const char *shoal_reason_name(int reason);
const char *shoal_reason_help(int reason);
int shoal_reason_action(int reason);
int shoal_reason_by_name(const char *name);
const char *shoal_action_name(__u32 action);

/* Expiry ticks (see SHOAL_TICK_SHIFT). */
__u32 shoal_now_ticks(void);
__u64 shoal_now_ns(void);

#endif /* SHOAL_LIB_H */
