/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Test fixtures: a private network namespace, a configured data plane, frames, and checks. */
#ifndef SHOAL_FIXTURE_H
#define SHOAL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cluster.h"
#include "maglev.h"
#include "packet.h"
#include "shoal.h"

/*
 * The fixture cluster: this node is A (id 1); B, C, D are peers (2-4); R is
 * the router. VIPs (pool "default"):
 *   198.51.100.1:80/tcp   198.51.100.1:53/udp   198.51.100.2:any/tcp
 *   198.51.100.2:any/udp  2001:db8::1:443/tcp    2001:db8::1:53/udp
 * Local addresses in the namespace: the VIPs on lo, a local client
 * 198.18.0.10 on lo, and 198.18.1.0/24 reachable through veth0 (its peer
 * veth1 swallows what the kernel sends there, and lets tests inject frames).
 */
enum { FX_A = 1, FX_B, FX_C, FX_D, FX_NODES = 4 };

#define FX_VIP4		"198.51.100.1"
#define FX_VIP4_ANY	"198.51.100.2"
#define FX_VIP6		"2001:db8::1"
#define FX_CLIENT_LOCAL	"198.18.0.10"
#define FX_CLIENT_FAR	"198.18.1.10"
#define FX_CLIENT6	"2001:db8:ff::10"
#define FX_CLIENT6_LOCAL "2001:db8:ee::10"

extern const __u8 fx_mac[FX_NODES + 1][6];	/* fx_mac[id]; [0] is the router */
extern const __u8 fx_prefix[3];

/* Enter private net and mount namespaces (bpffs included) and build the topology. */
int fx_enter(void);
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool fx_is_root(void);

/* The fixture cluster model (caller frees with shoal_cluster_free). */
void fx_cluster(struct shoal_cluster *c);
/*
 * The same forwarding by GUE: node N at 198.18.2.N (or fd00:2::N), which the
 * namespace routes through the router (fx_mac[0]) on veth0.
 */
#define FX_NODE_NET4	"198.18.2.0/24"
#define FX_NODE_NET6	"fd00:2::/64"
void fx_cluster_gue(struct shoal_cluster *c, int family);
void fx_node_addr(__u16 id, int family, struct shoal_addr *a);
/* A fresh, unpinned data plane configured as node `self` of the fixture cluster. */
struct shoal *fx_dataplane(__u16 self);
/* ... of another model (rep may be NULL). */
struct shoal *fx_dataplane_model(const struct shoal_cluster *c, __u16 self,
				 struct shoal_apply_report *rep);

/* Install the same bucket in every slot of pool 0 (the decision sees only this bucket). */
int fx_table_uniform(struct shoal *s, __u16 owner, const __u16 *prev, int nprev, int live);
/* Same, with explicit expiry ticks per previous owner. */
int fx_table_bucket(struct shoal *s, const struct shoal_bucket *b);

/* Frames. */
struct pkt_spec fx_tcp4(const char *src, __u16 sport, const char *dst, __u16 dport, __u8 flags);
struct pkt_spec fx_udp4(const char *src, __u16 sport, const char *dst, __u16 dport);
struct pkt_spec fx_tcp6(const char *src, __u16 sport, const char *dst, __u16 dport, __u8 flags);
struct pkt_spec fx_udp6(const char *src, __u16 sport, const char *dst, __u16 dport);
/* Mark a frame as forwarded by `sender` on cluster hop `hop` (1 or 2). */
void fx_from_peer(struct pkt_spec *s, __u16 sender, int hop);

/* One run of the program, with counters read around it. */
struct fx_result {
	__u32 action;
	int reason;			/* the single reason counter that moved, or -1 */
	int moved;			/* how many packets all reason counters moved by */
	__u8 in[2048];
	__u32 in_len;
	__u8 out[2048];
	__u32 out_len;
	struct shoal_trace trace;	/* from a second, traced run of the same frame */
};
int fx_run(struct shoal *s, const struct pkt_spec *spec, struct fx_result *r);
int fx_run_raw(struct shoal *s, const __u8 *frame, size_t len, struct fx_result *r);

/* The frame as the program must have rewritten it to forward to `to` on hop `hop`. */
void fx_expect_forward(const struct fx_result *r, __u16 to, int hop, __u8 *exp);
void fx_expect_forward_frame(const __u8 *in, __u32 in_len, __u16 to, int hop, __u8 *exp);

/* Real sockets in the namespace. */
int fx_listen(const char *addr, __u16 port);
/* A connected pair: returns the client fd, *server gets the accepted fd. */
int fx_connect(const char *src, __u16 sport, const char *dst, __u16 dport, int *server);
/* Inject a frame on veth1 (it arrives at veth0 as if from the wire). */
int fx_inject(const __u8 *frame, size_t len);
/* Wait (bounded) for a TCP segment to `dst`:`dport` leaving through veth0. */
int fx_capture_tcp(const char *dst, __u16 dport, __u32 *seq, __u8 *flags, int timeout_ms);

#endif /* SHOAL_FIXTURE_H */
