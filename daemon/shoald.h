/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* shoald's state, shared by its parts: the main loop, health checks, peers, control socket, metrics. */
#ifndef SHOALD_H
#define SHOALD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cluster.h"
#include "nic.h"
#include "shoal.h"

#define SHOALD_SOCKET_DEFAULT	"/run/shoal/shoald.sock"
#define SHOALD_TICK_MS		50

enum peer_state {
	PEER_UNKNOWN,	/* not heard yet; presumed alive if it was in the running state */
	PEER_ALIVE,
	PEER_HOLDING,	/* back after being dead, waiting out its hold-down */
	PEER_DEAD,
};

struct peer {
	__u16 id;
	char name[SHOAL_NAME_LEN];
	struct shoal_addr addr;
	enum peer_state state;
	bool presumed;		/* in the running state at start, or starting with us: alive until proven dead */
	__u64 last_seen;	/* CLOCK_MONOTONIC ns of its last valid heartbeat, 0 = never */
	__u64 streak_start;	/* first heartbeat of its current run of heartbeats */
	__u64 hold_ns;		/* hold-down it must wait out when it comes back */
	__u64 last_change;	/* when it last changed state */
	__u64 died_at;
	__u32 flaps;
	bool healthy;		/* its local service, as it reports */
	bool serving;		/* it has tables (not joining): it can hand them out */
	__u64 model_digest;
	__u64 table_digest;
	__u64 last_seq;		/* of its last heartbeat accepted: older ones are replays */
	__u64 grace_until;	/* it said it restarts: not dead before then */
	__u64 next_probe;	/* next ICMP echo while it is silent */
	__u64 echo_at;		/* its last echo reply: its data plane is up */
	bool daemon_down;	/* silent past dead_after, data plane answering */
	__u32 disagree;		/* heartbeats in a row with our model but another table */
	struct shoal_hash_info hash;	/* how it keys flows, from its last hash report */
	__u64 hash_seq;
	__u64 hash_at;		/* when heard, 0 = never */
};

struct check {
	struct shoal_health_cfg cfg;
	struct shoal_addr addr;	/* the VIP's address: the service listens there */
	__u16 port;
	char label[200];
	bool healthy;
	__u32 ok_run, bad_run;
	__u64 next_due;
	__u64 deadline;
	int fd;			/* connect / HTTP in progress */
	int pid;		/* exec in progress */
	int pidfd;
	char buf[256];
	size_t len;
	char last_error[160];
	__u64 last_change;
};

struct rates {
	__u64 at;
	struct shoal_counter reason[SHOAL_R_MAX];
	double pps[SHOAL_R_MAX];
	double bps[SHOAL_R_MAX];
};

struct daemon {
	/* options */
	const char *config_path;
	const char *pin;
	const char *node_name;
	const char *dev;
	const char *socket_path;
	const char *metrics_override;
	enum shoal_xdp_mode mode;

	struct shoal *s;
	struct shoal_cluster cfg;	/* the last good config */
	bool have_cfg;
	__u64 cfg_digest;
	char reload_error[512];
	__u64 reload_at;		/* wall clock, s */
	__u32 reloads, reload_failures;
	__u64 started;

	__u16 self;
	char dev_name[32];
	struct peer *peers;
	size_t npeers;
	struct check *checks;
	size_t nchecks;
	bool healthy;			/* every local check passes */
	bool fresh;			/* no state existed: wait for peers, start from the leader's tables */
	bool retiring;			/* the config no longer lists this node: serve what remains */
	__u64 fresh_since;
	__u64 model_digest;		/* of the model last applied */
	__u64 table_digest;
	__u64 all_drained;		/* pool ids whose every member is drained (drains ignored) */
	__u64 settle_at;		/* re-apply then: buckets were kept past a change */
	char apply_error[512];
	char nexthop_error[256];	/* GUE next hops not resolved at the last apply */
	struct shoal_hash_info hash;	/* how this node keys flows (RSS read every 10 s) */
	__u32 hash_tick;
	__u32 nexthop_tick;
	__u32 applies, table_syncs;
	__u32 hb_sent, hb_received, hb_rejected;
	__u64 hb_seq;			/* starts at the wall clock in ns: grows across restarts */

	int ep, sigfd, tfd, ino, ino_wd, udp, tcp, ctl, icmp;
	__u16 echo_id;
	struct rates rates;
	__u64 next_second;
	__u64 next_heartbeat;

	pthread_mutex_t lock;		/* guards metrics_text */
	char *metrics_text;
	void *mhd;
};

/* shoald.c */
void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__u64 now_ns(void);
void daemon_reapply(struct daemon *d, const char *why);
int daemon_apply_base(struct daemon *d, const struct shoal_base *base, const char *why);
int daemon_reload(struct daemon *d, const char *why);

/* health.c */
void health_setup(struct daemon *d);
void health_tick(struct daemon *d, __u64 now);
void health_event(struct daemon *d, int fd, __u32 events);
void health_free(struct daemon *d);

/* peers.c */
int peers_setup(struct daemon *d);
void peers_tick(struct daemon *d, __u64 now);
void peers_receive(struct daemon *d);
void peers_serve_tables(struct daemon *d);
int peers_fetch_tables(struct daemon *d, const struct peer *from, struct shoal_base *base);
const struct peer *peers_leader(const struct daemon *d);
bool peer_counts(const struct peer *p);
void peers_free(struct daemon *d);
void peers_goodbye(struct daemon *d);
void peers_echo_receive(struct daemon *d);
void peers_send_hash(struct daemon *d);

/* ctl.c */
int ctl_setup(struct daemon *d);
void ctl_accept(struct daemon *d);
struct json_object;
struct json_object *ctl_status(struct daemon *d);

/* metrics.c */
int metrics_setup(struct daemon *d);
void metrics_update(struct daemon *d);
void metrics_stop(struct daemon *d);

#endif /* SHOALD_H */
