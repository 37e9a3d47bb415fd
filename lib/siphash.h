/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SipHash-2-4: the keyed MAC that authenticates shoald's heartbeats. */
#ifndef SHOAL_SIPHASH_H
#define SHOAL_SIPHASH_H

#include <stddef.h>
#include <linux/types.h>

/* key[0] and key[1] are the 128-bit key as two little-endian words. */
__u64 shoal_siphash(const __u64 key[2], const void *data, size_t len);

#endif /* SHOAL_SIPHASH_H */
