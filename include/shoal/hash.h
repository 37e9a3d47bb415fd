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
 * Keyed flow hash. Not a PRF: the key keeps clusters' layouts apart and makes
 * bucket placement unpredictable without it. Each 64-bit word of the tuple,
 * keyed, goes through its own multiply and the products are xored: the
 * multiplies run in parallel, so the hash adds one multiply's latency to the
 * per-packet path (a finaliser chain cost ~2.5 ns here). Only the upper 32
 * bits are used (shoal_bucket_of()), and those depend on every input bit.
 *
 * Addresses are as they sit in the packet (network order); `ports` is the
 * first four bytes of the TCP/UDP header loaded as one host-order word, so
 * that the data plane hashes what it loaded without shuffling bytes.
 */
#define SHOAL_MUL4 0x8ebc6af09c88c6e3ULL
#define SHOAL_MUL5 0xd6e8feb86659fd93ULL

SHOAL_INLINE __u32 shoal_ports(__u16 sport_be, __u16 dport_be)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u32)sport_be | ((__u32)dport_be << 16);
#else
	return ((__u32)sport_be << 16) | (__u32)dport_be;
#endif
}

SHOAL_INLINE __u64 shoal_flow_hash4p(const __u64 key[2], __u32 saddr, __u32 daddr, __u32 ports,
				     __u8 proto)
{
	__u64 w0 = ((__u64)saddr << 32) | daddr;
	__u64 w1 = ((__u64)ports << 8) | proto;

	return ((w0 ^ key[0]) * SHOAL_MUL1) ^ ((w1 ^ key[1]) * SHOAL_MUL2);
}

SHOAL_INLINE __u64 shoal_flow_hash6p(const __u64 key[2], const __u32 *saddr, const __u32 *daddr,
				     __u32 ports, __u8 proto)
{
	__u64 s0 = ((__u64)saddr[0] << 32) | saddr[1];
	__u64 s1 = ((__u64)saddr[2] << 32) | saddr[3];
	__u64 d0 = ((__u64)daddr[0] << 32) | daddr[1];
	__u64 d1 = ((__u64)daddr[2] << 32) | daddr[3];
	__u64 w1 = ((__u64)ports << 8) | proto;

	return ((s0 ^ key[0]) * SHOAL_MUL1) ^ ((s1 ^ key[1]) * SHOAL_MUL2) ^
	       ((d0 ^ key[1]) * SHOAL_MUL3) ^ ((d1 ^ key[0]) * SHOAL_MUL4) ^
	       ((w1 ^ key[1]) * SHOAL_MUL5);
}

/* The same, from ports in network order. */
SHOAL_INLINE __u64 shoal_flow_hash4(const __u64 key[2], __u32 saddr, __u32 daddr, __u16 sport,
				    __u16 dport, __u8 proto)
{
	return shoal_flow_hash4p(key, saddr, daddr, shoal_ports(sport, dport), proto);
}

SHOAL_INLINE __u64 shoal_flow_hash6(const __u64 key[2], const __u32 *saddr, const __u32 *daddr,
				    __u16 sport, __u16 dport, __u8 proto)
{
	return shoal_flow_hash6p(key, saddr, daddr, shoal_ports(sport, dport), proto);
}

/*
 * Bucket from hash: multiply-shift range reduction of the upper 32 bits
 * (Lemire), uniform like hash % M but a multiply instead of a divide.
 */
SHOAL_INLINE __u32 shoal_bucket_of(__u64 hash, __u32 m)
{
	return (__u32)(((hash >> 32) * (__u64)m) >> 32);
}

/*
 * Slot where the probe for a VIP address starts. Unkeyed: VIP addresses are
 * the operator's choice, and userspace bounds every probe sequence.
 *
 * Multiplicative (Fibonacci) hashing spreads keys that differ in their low
 * bits best, and an operator's VIPs differ in their last octets: so the
 * address, which arrives in network order, is taken in host order first.
 * Hashed as it arrived, the varying octets sat in the high bits, and 10,000
 * VIPs of one /16 left 44% (random addresses) to 66% (a block) of them off
 * their home slot, each costing the slow path (bench/scale.c); in host
 * order, 10% and none. One byte swap per packet.
 */
SHOAL_INLINE __u32 shoal_vip_slot4(__u32 addr)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	addr = __builtin_bswap32(addr);
#endif
	return (__u32)(((__u64)addr * SHOAL_MUL1) >> (64 - SHOAL_VIP_SLOT_BITS));
}

SHOAL_INLINE __u32 shoal_vip_slot6(const __u32 *addr)
{
	return shoal_vip_slot4(addr[0] ^ addr[1] ^ addr[2] ^ addr[3]);
}

#endif /* SHOAL_HASH_H */
