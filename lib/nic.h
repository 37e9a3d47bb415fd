/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The uplink's RX hash: does the driver hand it to XDP, and how does the NIC compute it. */
#ifndef SHOAL_NIC_H
#define SHOAL_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * 1 when the driver of ifindex implements the XDP RX-hash hint, 0 when it does
 * not (or the kernel cannot tell), -errno when asking failed; why says which.
 */
int shoal_nic_rx_hash_probe(int ifindex, char *why, size_t len);

#define SHOAL_RSS_KEY_MAX	128
#define SHOAL_RSS_FLOWS		4	/* tcp4, udp4, tcp6, udp6 */

/* What `ethtool -x` and `ethtool -n DEV rx-flow-hash FLOW` show. */
struct shoal_rss {
	bool ok;		/* read; else err says why (-EOPNOTSUPP: no RSS, e.g. veth) */
	int err;
	__u8 key[SHOAL_RSS_KEY_MAX];
	__u32 key_len;
	__u8 hfunc;		/* ETH_RSS_HASH_* bit: Toeplitz, XOR, CRC32 */
	__u32 fields[SHOAL_RSS_FLOWS];	/* RXH_* bits hashed for each flow type */
};

int shoal_rss_read(const char *dev, struct shoal_rss *out);

/*
 * How a node's first hop keys flows, in a form nodes can compare without
 * revealing the RSS key: the key travels as a digest keyed by the cluster seed.
 */
struct shoal_hash_info {
	__u8 mode;		/* SHOAL_HASH_SOFTWARE or SHOAL_HASH_NIC */
	__u8 rss_ok;		/* the NIC's RSS settings could be read */
	__u8 hfunc;
	__u8 key_len;
	__u32 fields[SHOAL_RSS_FLOWS];
	__u64 key_digest;
};

void shoal_hash_info_make(const struct shoal_rss *rss, __u8 mode, const __u64 seed[2],
			  struct shoal_hash_info *out);
/* 0 when a and b key flows alike; else 1, with what differs in why. */
int shoal_hash_info_diff(const struct shoal_hash_info *a, const struct shoal_hash_info *b,
			 char *why, size_t len);
/* "sdfn"-style letters of RXH_* fields, as ethtool -N ... rx-flow-hash takes them. */
const char *shoal_rxh_letters(__u32 fields, char buf[16]);
const char *shoal_hfunc_name(__u8 hfunc);

#endif /* SHOAL_NIC_H */
