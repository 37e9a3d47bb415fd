// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Building test and probe frames with correct checksums. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "packet.h"

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;

	while (len > 1) {
		sum += (__u32)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (__u32)(p[0] << 8);
	return sum;
}

__u16 pkt_csum(const void *data, size_t len, __u32 sum)
{
	sum = csum_add(sum, data, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

__u16 pkt_ip4_csum(const __u8 *ip, size_t hlen)
{
	__u8 tmp[60];

	memcpy(tmp, ip, hlen);
	tmp[10] = tmp[11] = 0;
	return pkt_csum(tmp, hlen, 0);
}

int pkt_l3_offset(const __u8 *f, size_t len, __u16 *ethertype)
{
	size_t off = 12;
	__u16 t;

	for (;;) {
		if (off + 2 > len)
			return -1;
		t = (__u16)(f[off] << 8 | f[off + 1]);
		if (t != 0x8100 && t != 0x88a8)
			break;
		off += 4;
	}
	*ethertype = t;
	return (int)off + 2;
}

size_t pkt_build(const struct pkt_spec *s, __u8 *buf, size_t cap)
{
	size_t l4len, iplen, hdr, off = 0, l3, l4, i;
	__u16 ethertype = s->dst.family == 6 ? 0x86dd : 0x0800;
	__u32 pseudo = 0;

	l4len = s->proto == IPPROTO_TCP ? 20 : s->proto == IPPROTO_UDP ? 8 : 0;
	l4len += s->payload_len;
	hdr = s->dst.family == 6 ? 40 + s->ip6_ext_len : 20 + s->ip4_opts_len;
	iplen = hdr + l4len;
	if (14 + 4 * (size_t)s->nvlan + iplen > cap || s->nvlan > 4 || s->ip4_opts_len > 40 ||
	    s->ip4_opts_len % 4)
		return 0;

	memcpy(buf, s->dst_mac, 6);
	memcpy(buf + 6, s->src_mac, 6);
	off = 12;
	for (i = 0; i < (size_t)s->nvlan; i++) {
		__u16 tpid = s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100;

		buf[off] = tpid >> 8;
		buf[off + 1] = tpid & 0xff;
		buf[off + 2] = (s->vlan_id[i] >> 8) & 0x0f;
		buf[off + 3] = s->vlan_id[i] & 0xff;
		off += 4;
	}
	buf[off] = ethertype >> 8;
	buf[off + 1] = ethertype & 0xff;
	l3 = off + 2;
	l4 = l3 + hdr;

	if (s->dst.family == 6) {
		__u8 *ip = buf + l3;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[4] = (__u8)((iplen - 40) >> 8);
		ip[5] = (__u8)(iplen - 40);
		ip[6] = s->ip6_ext_len ? s->ip6_ext_first : s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, s->src.a, 16);
		memcpy(ip + 24, s->dst.a, 16);
		if (s->ip6_ext_len)
			memcpy(ip + 40, s->ip6_ext, s->ip6_ext_len);
		pseudo = csum_add(pseudo, ip + 8, 32);
	} else {
		__u8 *ip = buf + l3;
		__u16 fo = s->frag_off;

		memset(ip, 0, 20);
		ip[0] = (__u8)(0x40 | (hdr / 4));
		ip[2] = (__u8)(iplen >> 8);
		ip[3] = (__u8)iplen;
		ip[4] = 0x12;
		ip[5] = 0x34;
		if (!fo && !s->no_df)
			fo = 0x4000; /* DF */
		ip[6] = (__u8)(fo >> 8);
		ip[7] = (__u8)fo;
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, &s->src.a[0], 4);
		memcpy(ip + 16, &s->dst.a[0], 4);
		if (s->ip4_opts_len)
			memcpy(ip + 20, s->ip4_opts, s->ip4_opts_len);
		memcpy(ip + 10, (__u16[]){ pkt_ip4_csum(ip, hdr) }, 2);
		pseudo = csum_add(pseudo, ip + 12, 8);
	}
	pseudo += s->proto;
	pseudo += (__u32)l4len;

	if (s->proto == IPPROTO_TCP) {
		__u8 *th = buf + l4;
		__u16 c;

		memset(th, 0, 20);
		th[0] = (__u8)(s->sport >> 8);
		th[1] = (__u8)s->sport;
		th[2] = (__u8)(s->dport >> 8);
		th[3] = (__u8)s->dport;
		memcpy(th + 4, (__u32[]){ htonl(s->seq) }, 4);
		memcpy(th + 8, (__u32[]){ htonl(s->ack) }, 4);
		th[12] = 5 << 4;
		th[13] = s->tcp_flags;
		th[14] = 0xff;
		th[15] = 0xff;
		if (s->payload_len)
			memcpy(th + 20, s->payload, s->payload_len);
		c = pkt_csum(th, l4len, pseudo);
		memcpy(th + 16, &c, 2);
	} else if (s->proto == IPPROTO_UDP) {
		__u8 *uh = buf + l4;
		__u16 c;

		uh[0] = (__u8)(s->sport >> 8);
		uh[1] = (__u8)s->sport;
		uh[2] = (__u8)(s->dport >> 8);
		uh[3] = (__u8)s->dport;
		uh[4] = (__u8)(l4len >> 8);
		uh[5] = (__u8)l4len;
		uh[6] = uh[7] = 0;
		if (s->payload_len)
			memcpy(uh + 8, s->payload, s->payload_len);
		c = pkt_csum(uh, l4len, pseudo);
		if (!c)
			c = 0xffff;
		memcpy(uh + 6, &c, 2);
	} else if (s->payload_len) {
		__u16 c;

		memcpy(buf + l4, s->payload, s->payload_len);
		if (s->payload_len >= 4 && (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6)) {
			buf[l4 + 2] = buf[l4 + 3] = 0;
			c = pkt_csum(buf + l4, l4len, s->proto == IPPROTO_ICMPV6 ? pseudo : 0);
			memcpy(buf + l4 + 2, &c, 2);
		}
	}
	return l4 + l4len;
}

size_t pkt_gue_wrap(const struct pkt_gue *g, const __u8 *frame, size_t len, __u8 *buf, size_t cap)
{
	size_t ilen = len - 14, ulen = 8 + 24 + ilen, hdr = g->dst.family == 6 ? 40 : 20, off;
	__u32 pseudo = 0;
	__u8 *ip, *uh, *gh;
	__u16 c;

	if (len < 14 + 20 || 14 + hdr + ulen > cap)
		return 0;
	memcpy(buf, g->dst_mac, 6);
	memcpy(buf + 6, g->src_mac, 6);
	buf[12] = g->dst.family == 6 ? 0x86 : 0x08;
	buf[13] = g->dst.family == 6 ? 0xdd : 0x00;
	ip = buf + 14;
	memset(ip, 0, hdr);
	if (g->dst.family == 6) {
		ip[0] = (__u8)(0x60 | g->tos >> 4);
		ip[1] = (__u8)(g->tos << 4 | (g->flow_label >> 16 & 0xf));
		ip[2] = (__u8)(g->flow_label >> 8);
		ip[3] = (__u8)g->flow_label;
		ip[4] = (__u8)(ulen >> 8);
		ip[5] = (__u8)ulen;
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		memcpy(ip + 8, g->src.a, 16);
		memcpy(ip + 24, g->dst.a, 16);
		pseudo = csum_add(pseudo, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		ip[1] = g->tos;
		ip[2] = (__u8)((hdr + ulen) >> 8);
		ip[3] = (__u8)(hdr + ulen);
		ip[6] = 0x40;	/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, &g->src.a[0], 4);
		memcpy(ip + 16, &g->dst.a[0], 4);
		memcpy(ip + 10, (__u16[]){ pkt_ip4_csum(ip, 20) }, 2);
		pseudo = csum_add(pseudo, ip + 12, 8);
	}
	pseudo += IPPROTO_UDP + (__u32)ulen;
	uh = ip + hdr;
	uh[0] = (__u8)(g->sport >> 8);
	uh[1] = (__u8)g->sport;
	uh[2] = (__u8)(g->dport >> 8);
	uh[3] = (__u8)g->dport;
	uh[4] = (__u8)(ulen >> 8);
	uh[5] = (__u8)ulen;
	uh[6] = uh[7] = 0;
	gh = uh + 8;
	memset(gh, 0, 24);
	gh[0] = 5;		/* GUE version 0, C 0, Hlen 5 words */
	gh[1] = frame[12] == 0x86 && frame[13] == 0xdd ? 41 : 4;
	gh[4] = 0x53;
	gh[5] = (__u8)(0x10 | g->hop);
	gh[6] = (__u8)(g->sender >> 8);
	gh[7] = (__u8)g->sender;
	for (off = 0; off < 4; off++) {
		gh[8 + off] = (__u8)(g->bucket >> (24 - 8 * off));
		gh[12 + off] = (__u8)(g->gen >> (24 - 8 * off));
	}
	for (off = 0; off < 3; off++) {
		gh[16 + 2 * off] = (__u8)(g->chain[off] >> 8);
		gh[17 + 2 * off] = (__u8)g->chain[off];
	}
	memcpy(gh + 24, frame + 14, ilen);
	if (!g->no_csum) {
		c = pkt_csum(uh, ulen, pseudo);
		if (!c)
			c = 0xffff;
		memcpy(uh + 6, &c, 2);
	}
	return 14 + hdr + ulen;
}
