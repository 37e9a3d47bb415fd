/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Constants and small structs the 6.1 UAPI headers on the build host lack. */
#ifndef SHOAL_BPF_COMPAT_H
#define SHOAL_BPF_COMPAT_H

#ifndef ETH_P_8021AD
#define ETH_P_8021AD	0x88A8
#endif

#ifndef IPPROTO_MH
#define IPPROTO_MH	135
#endif

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6	58
#endif

/* ICMP types (RFC 792, 4443): linux/icmp.h drags in libc headers BPF cannot build. */
#define SHOAL_ICMP_DEST_UNREACH		3
#define SHOAL_ICMP_FRAG_NEEDED		4	/* code of DEST_UNREACH */
#define SHOAL_ICMP_ECHO			8
#define SHOAL_ICMP_TIME_EXCEEDED	11
#define SHOAL_ICMP_PARAMETERPROB	12
#define SHOAL_ICMP6_DEST_UNREACH	1
#define SHOAL_ICMP6_PKT_TOOBIG		2
#define SHOAL_ICMP6_PARAMPROB		4
#define SHOAL_ICMP6_ECHO_REQUEST	128

#define SHOAL_IP_DF		0x4000
#define SHOAL_IP_MF		0x2000
#define SHOAL_IP_OFFSET		0x1FFF
#define SHOAL_IP6_MF		0x0001
#define SHOAL_IP6_OFFSET	0xFFF8

/* include/linux/if_vlan.h is kernel-internal; the wire format is fixed. */
struct shoal_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The fixed part every IPv6 extension header we walk starts with. */
struct shoal_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct shoal_frag_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;
	__be32 identification;
};

#endif /* SHOAL_BPF_COMPAT_H */
