// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the uplink's driver and NIC offer for keying flows on the NIC's RX
 * hash: whether the driver implements the XDP RX-hash hint (the kernel's
 * "netdev" generic-netlink family says so, Linux 6.7+), and how the NIC hashes
 * (RSS key, hash function, hashed fields, through the ethtool ioctl).
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "nic.h"
#include "shoal/abi.h"
#include "siphash.h"

/* From include/uapi/linux/netdev.h (Linux 6.7+; the build host's headers are older). */
#define SHOAL_NETDEV_CMD_DEV_GET			1
#define SHOAL_NETDEV_A_DEV_IFINDEX			1
#define SHOAL_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES	5
#define SHOAL_NETDEV_XDP_RX_METADATA_HASH		2

struct gnl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[64];
};

static void put_attr(struct gnl_req *r, unsigned short type, const void *data, size_t len)
{
	struct nlattr *a = (void *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (unsigned short)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Send one request and read one answer into buf; its attributes start at *attrs. */
static int gnl_call(int fd, struct gnl_req *r, char *buf, size_t cap, struct nlattr **attrs,
		    int *alen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct nlmsghdr *h;
	ssize_t n;

	r->nh.nlmsg_flags = NLM_F_REQUEST;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (void *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (poll(&pfd, 1, 1000) <= 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, cap, 0);
	if (n < (ssize_t)NLMSG_HDRLEN)
		return n < 0 ? -errno : -EIO;
	h = (void *)buf;
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);

		return e->error ? e->error : -EIO;
	}
	if (!NLMSG_OK(h, (unsigned int)n) || h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
		return -EIO;
	*attrs = (void *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	*alen = (int)(h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
	return 0;
}

static struct nlattr *find_attr(struct nlattr *a, int len, unsigned short type)
{
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		len -= NLA_ALIGN(a->nla_len);
		a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

int shoal_nic_rx_hash_probe(int ifindex, char *why, size_t len)
{
	struct gnl_req r = {};
	char buf[4096];
	struct nlattr *attrs, *a;
	__u16 family;
	__u64 feat = 0;
	__u32 idx = (__u32)ifindex;
	int fd, alen, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0) {
		snprintf(why, len, "generic netlink: %s", strerror(errno));
		return -errno;
	}
	r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.nh.nlmsg_type = GENL_ID_CTRL;
	r.gh.cmd = CTRL_CMD_GETFAMILY;
	r.gh.version = 1;
	put_attr(&r, CTRL_ATTR_FAMILY_NAME, "netdev", sizeof("netdev"));
	err = gnl_call(fd, &r, buf, sizeof(buf), &attrs, &alen);
	a = err ? NULL : find_attr(attrs, alen, CTRL_ATTR_FAMILY_ID);
	if (!a) {
		snprintf(why, len, "the kernel does not say which XDP hints drivers implement (its netdev netlink family is missing; Linux 6.7+ says)");
		close(fd);
		return 0;
	}
	memcpy(&family, (char *)a + NLA_HDRLEN, sizeof(family));

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.nh.nlmsg_type = family;
	r.gh.cmd = SHOAL_NETDEV_CMD_DEV_GET;
	r.gh.version = 1;
	put_attr(&r, SHOAL_NETDEV_A_DEV_IFINDEX, &idx, sizeof(idx));
	err = gnl_call(fd, &r, buf, sizeof(buf), &attrs, &alen);
	close(fd);
	if (err) {
		snprintf(why, len, "asking the kernel about ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	a = find_attr(attrs, alen, SHOAL_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES);
	if (!a || a->nla_len < NLA_HDRLEN + sizeof(feat)) {
		/* Linux 6.3 to 6.6 have the family but not this attribute. */
		snprintf(why, len, "the kernel does not say which XDP hints drivers implement (Linux 6.7+ says)");
		return 0;
	}
	memcpy(&feat, (char *)a + NLA_HDRLEN, sizeof(feat));
	if (!(feat & SHOAL_NETDEV_XDP_RX_METADATA_HASH)) {
		snprintf(why, len, "the driver does not implement the XDP RX-hash hint");
		return 0;
	}
	snprintf(why, len, "the driver implements the XDP RX-hash hint");
	return 1;
}

static int ethtool(const char *dev, void *cmd)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = cmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

int shoal_rss_read(const char *dev, struct shoal_rss *out)
{
	static const __u32 flows[SHOAL_RSS_FLOWS] = { TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW,
						      UDP_V6_FLOW };
	struct {
		struct ethtool_rxfh h;
		__u8 data[SHOAL_RSS_KEY_MAX + 4096 * 4];
	} rxfh;
	int err, i;

	memset(out, 0, sizeof(*out));
	memset(&rxfh, 0, sizeof(rxfh));
	rxfh.h.cmd = ETHTOOL_GRSSH;
	err = ethtool(dev, &rxfh);
	if (err) {
		out->err = err;
		return err;
	}
	if (rxfh.h.key_size > SHOAL_RSS_KEY_MAX || rxfh.h.indir_size > 4096) {
		out->err = -E2BIG;
		return out->err;
	}
	/* The answer told the sizes; ask again for the key itself. */
	rxfh.h.cmd = ETHTOOL_GRSSH;
	err = ethtool(dev, &rxfh);
	if (err) {
		out->err = err;
		return err;
	}
	out->key_len = rxfh.h.key_size;
	memcpy(out->key, (char *)rxfh.h.rss_config + rxfh.h.indir_size * 4, out->key_len);
	out->hfunc = rxfh.h.hfunc;
	for (i = 0; i < SHOAL_RSS_FLOWS; i++) {
		struct ethtool_rxnfc nfc = { .cmd = ETHTOOL_GRXFH, .flow_type = flows[i] };

		if (ethtool(dev, &nfc) == 0)
			out->fields[i] = (__u32)nfc.data;
	}
	out->ok = true;
	return 0;
}

void shoal_hash_info_make(const struct shoal_rss *rss, __u8 mode, const __u64 seed[2],
			  struct shoal_hash_info *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = mode;
	if (!rss || !rss->ok)
		return;
	out->rss_ok = 1;
	out->hfunc = rss->hfunc;
	out->key_len = (__u8)rss->key_len;
	memcpy(out->fields, rss->fields, sizeof(out->fields));
	out->key_digest = shoal_siphash(seed, rss->key, rss->key_len);
}

const char *shoal_rxh_letters(__u32 f, char buf[16])
{
	static const struct {
		__u32 bit;
		char c;
	} l[] = { { RXH_L2DA, 'm' }, { RXH_VLAN, 'v' }, { RXH_L3_PROTO, 't' }, { RXH_IP_SRC, 's' },
		  { RXH_IP_DST, 'd' }, { RXH_L4_B_0_1, 'f' }, { RXH_L4_B_2_3, 'n' } };
	size_t i, n = 0;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		if (f & l[i].bit)
			buf[n++] = l[i].c;
	}
	buf[n] = '\0';
	return n ? buf : "-";
}

const char *shoal_hfunc_name(__u8 h)
{
	/* The ETH_RSS_HASH_* bits, which the kernel keeps out of its UAPI headers. */
	return h == 1 ? "toeplitz" : h == 2 ? "xor" : h == 4 ? "crc32" : h ? "other" : "-";
}

int shoal_hash_info_diff(const struct shoal_hash_info *a, const struct shoal_hash_info *b,
			 char *why, size_t len)
{
	static const char *const flow[SHOAL_RSS_FLOWS] = { "tcp4", "udp4", "tcp6", "udp6" };
	char x[16], y[16];
	int i;

	why[0] = '\0';
	if (a->mode != b->mode) {
		snprintf(why, len, "keys flows on the %s hash, this node on the %s",
			 a->mode == SHOAL_HASH_NIC ? "NIC's" : "software",
			 b->mode == SHOAL_HASH_NIC ? "NIC's" : "software");
		return 1;
	}
	if (a->rss_ok != b->rss_ok) {
		snprintf(why, len, "its NIC's RSS settings are %sreadable, this node's are %sreadable",
			 a->rss_ok ? "" : "not ", b->rss_ok ? "" : "not ");
		return 1;
	}
	if (!a->rss_ok)
		return 0;
	if (a->hfunc != b->hfunc) {
		snprintf(why, len, "hash function %s, this node %s", shoal_hfunc_name(a->hfunc),
			 shoal_hfunc_name(b->hfunc));
		return 1;
	}
	if (a->key_len != b->key_len || a->key_digest != b->key_digest) {
		snprintf(why, len, "another RSS key (%u bytes, this node's %u)", a->key_len, b->key_len);
		return 1;
	}
	for (i = 0; i < SHOAL_RSS_FLOWS; i++) {
		if (a->fields[i] != b->fields[i]) {
			snprintf(why, len, "%s hashes fields %s, this node %s", flow[i],
				 shoal_rxh_letters(a->fields[i], x), shoal_rxh_letters(b->fields[i], y));
			return 1;
		}
	}
	return 0;
}
