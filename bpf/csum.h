/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksums without touching payloads: folding, pseudo-headers, what a valid packet sums to. */
#ifndef SHOAL_BPF_CSUM_H
#define SHOAL_BPF_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>

/*
 * Sums are kept in a __u64 of 32-bit words as they sit in memory (network
 * order): the ones' complement sum of 16-bit words is the same whatever the
 * width it is accumulated in, and whatever the byte order, as long as
 * constants are added in network order too.
 */
static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)((s & 0xffff) + (s >> 16));
}

/* The ones' complement negation of a sum: adding it takes the sum away. */
static __always_inline __u64 csum_neg(__u64 s)
{
	return (__u16)~csum_fold(s);
}

static __always_inline __u64 csum_addr(const __u32 *a, __u8 family)
{
	if (family == 4)
		return a[0];
	return (__u64)a[0] + a[1] + a[2] + a[3];
}

/* Pseudo-header sum for TCP, UDP and ICMPv6 (RFC 793, 768, 8200 section 8.1). */
static __always_inline __u64 csum_pseudo(const __u32 *src, const __u32 *dst, __u8 family,
					 __u8 proto, __u32 len)
{
	return csum_addr(src, family) + csum_addr(dst, family) + bpf_htonl(proto) + bpf_htonl(len);
}

#endif /* SHOAL_BPF_CSUM_H */
