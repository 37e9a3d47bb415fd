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

#endif /* SHOAL_NIC_H */
