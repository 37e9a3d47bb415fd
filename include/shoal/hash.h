/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Hash functions shared by the XDP program and userspace, so both agree bit for bit. */
#ifndef SHOAL_HASH_H
#define SHOAL_HASH_H

#include <linux/types.h>
#include "abi.h"

#ifdef __bpf__
#define SHOAL_INLINE static __always_inline
#else
#define SHOAL_INLINE static inline
#endif

#define SHOAL_MUL1 0x9e3779b97f4a7c15ULL
#define SHOAL_MUL2 0xff51afd7ed558ccdULL
#define SHOAL_MUL3 0xc4ceb9fe1a85ec53ULL

/* 64-bit finaliser (xor-shift-multiply), a full-avalanche bijection. */
SHOAL_INLINE __u64 shoal_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= SHOAL_MUL2;
	x ^= x >> 33;
	x *= SHOAL_MUL3;
	x ^= x >> 33;
	return x;
}

/*
 * Keyed flow hash. Not a PRF: the key keeps clusters' layouts apart and
 * makes bucket placement unpredictable without it, at the cost of one
 * multiply and a finaliser on the per-packet path (about 0.4 ns here).
 * addr words are as they sit in the packet (network order), ports too.
 */
SHOAL_INLINE __u64 shoal_flow_hash4(const __u64 key[2], __u32 saddr, __u32 daddr,
				    __u16 sport, __u16 dport, __u8 proto)
{
	__u64 w0 = ((__u64)saddr << 32) | daddr;
	__u64 w1 = ((__u64)sport << 32) | ((__u64)dport << 16) | proto;

	return shoal_mix64((w0 ^ key[0]) * SHOAL_MUL1 + (w1 ^ key[1]));
}

SHOAL_INLINE __u64 shoal_flow_hash6(const __u64 key[2], const __u32 *saddr,
				    const __u32 *daddr, __u16 sport, __u16 dport,
				    __u8 proto)
{
	__u64 s0 = ((__u64)saddr[0] << 32) | saddr[1];
	__u64 s1 = ((__u64)saddr[2] << 32) | saddr[3];
	__u64 d0 = ((__u64)daddr[0] << 32) | daddr[1];
	__u64 d1 = ((__u64)daddr[2] << 32) | daddr[3];
	__u64 w1 = ((__u64)sport << 32) | ((__u64)dport << 16) | proto;
	__u64 x;

	x = (s0 ^ key[0]) * SHOAL_MUL1;
	x = (x ^ s1) * SHOAL_MUL1;
	x = (x ^ d0) * SHOAL_MUL1;
	x = (x ^ d1) * SHOAL_MUL1;
	return shoal_mix64(x + (w1 ^ key[1]));
}

/*
 * Bucket from hash: multiply-shift range reduction of the upper 32 bits
 * (Lemire), uniform like hash % M but a multiply instead of a divide.
 */
SHOAL_INLINE __u32 shoal_bucket_of(__u64 hash, __u32 m)
{
	return (__u32)(((hash >> 32) * (__u64)m) >> 32);
}

/* Slot where the probe for a VIP address starts. Unkeyed: VIP addresses are
 * the operator's choice, and userspace bounds every probe sequence. */
SHOAL_INLINE __u32 shoal_vip_slot4(__u32 addr)
{
	return (__u32)(((__u64)addr * SHOAL_MUL1) >> (64 - SHOAL_VIP_SLOT_BITS));
}

SHOAL_INLINE __u32 shoal_vip_slot6(const __u32 *addr)
{
	return shoal_vip_slot4(addr[0] ^ addr[1] ^ addr[2] ^ addr[3]);
}

#endif /* SHOAL_HASH_H */
