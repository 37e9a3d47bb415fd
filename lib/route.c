// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Next hops for GUE: which MAC a frame to a peer's address goes to, asked of
 * the kernel's routes and neighbours over rtnetlink - the route to the peer
 * names a gateway (or none: the peer is on the link), the neighbour table the
 * gateway's MAC. XDP_TX bypasses the kernel's own resolution, so libshoal
 * resolves here and the data plane reads the answer from the node entry.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "route.h"

struct nlreq {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
	};
	char attrs[64];
};

static void add_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (void *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* One request, one answer (or an error), within a bounded wait. */
static int nl_call(struct nlreq *r, char *buf, size_t cap, struct nlmsghdr **out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct pollfd pfd;
	ssize_t n;
	int fd, err = -EIO;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r->nh.nlmsg_flags = NLM_F_REQUEST;
	r->nh.nlmsg_seq = 1;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (void *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) <= 0) {
		err = -ETIMEDOUT;
		goto out;
	}
	n = recv(fd, buf, cap, 0);
	if (n < (ssize_t)sizeof(struct nlmsghdr)) {
		err = n < 0 ? -errno : -EIO;
		goto out;
	}
	*out = (void *)buf;
	if ((*out)->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(*out);

		err = e->error ? e->error : -EIO;
		goto out;
	}
	if (!NLMSG_OK(*out, (unsigned int)n)) {
		err = -EIO;
		goto out;
	}
	err = 0;
out:
	close(fd);
	return err;
}

static int addr_len(__u8 family)
{
	return family == 4 ? 4 : 16;
}

/* The route to dst: its output interface, and the gateway if there is one (else dst). */
static int route_get(const struct shoal_addr *dst, int *oif, struct shoal_addr *via)
{
	struct nlreq r = {};
	char buf[4096];
	struct nlmsghdr *h;
	struct rtattr *a;
	int len, err;

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.rt.rtm_family = dst->family == 4 ? AF_INET : AF_INET6;
	r.rt.rtm_dst_len = (unsigned char)(addr_len(dst->family) * 8);
	add_attr(&r, RTA_DST, dst->a, (size_t)addr_len(dst->family));
	err = nl_call(&r, buf, sizeof(buf), &h);
	if (err)
		return err;
	if (h->nlmsg_type != RTM_NEWROUTE)
		return -EIO;
	*via = *dst;
	*oif = 0;
	len = (int)RTM_PAYLOAD(h);
	for (a = RTM_RTA((struct rtmsg *)NLMSG_DATA(h)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
			memcpy(oif, RTA_DATA(a), sizeof(int));
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (size_t)addr_len(dst->family))
			memcpy(via->a, RTA_DATA(a), RTA_PAYLOAD(a));
	}
	if (((struct rtmsg *)NLMSG_DATA(h))->rtm_type != RTN_UNICAST)
		return -ENETUNREACH;
	return *oif ? 0 : -ENETUNREACH;
}

/* The neighbour entry of addr on ifindex: 0 with its MAC when it is usable. */
static int neigh_get(const struct shoal_addr *addr, int ifindex, __u8 mac[6])
{
	struct nlreq r = {};
	char buf[4096];
	struct nlmsghdr *h;
	struct ndmsg *nd;
	struct rtattr *a;
	int len, err, found = 0;

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_GETNEIGH;
	r.nd.ndm_family = addr->family == 4 ? AF_INET : AF_INET6;
	r.nd.ndm_ifindex = ifindex;
	add_attr(&r, NDA_DST, addr->a, (size_t)addr_len(addr->family));
	err = nl_call(&r, buf, sizeof(buf), &h);
	if (err)
		return err;
	if (h->nlmsg_type != RTM_NEWNEIGH)
		return -EIO;
	nd = NLMSG_DATA(h);
	len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	for (a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(mac, RTA_DATA(a), 6);
			found = 1;
		}
	}
	/* STALE still names the right MAC: XDP_TX never confirms it, so it stays stale. */
	if (!found || !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
					 NUD_PERMANENT | NUD_NOARP)))
		return -EAGAIN;
	return 0;
}

void shoal_nexthop_kick(const struct shoal_addr *dst)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int fd;

	if (dst->family == 4) {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(9);
		memcpy(&s4->sin_addr, dst->a, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(9);
		memcpy(&s6->sin6_addr, dst->a, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, "", 0, 0, (void *)&ss, sl);
	close(fd);
}

int shoal_nexthop(const struct shoal_addr *dst, int want_ifindex, __u8 mac[6], char *why,
		  size_t len)
{
	struct shoal_addr via;
	char a[SHOAL_ADDRSTRLEN], dev[IF_NAMESIZE] = "?", want[IF_NAMESIZE] = "?";
	int oif, err;

	shoal_format_addr(dst, a);
	err = route_get(dst, &oif, &via);
	if (err) {
		snprintf(why, len, "no route to %s: %s", a, strerror(-err));
		return err;
	}
	if (want_ifindex && oif != want_ifindex) {
		if_indextoname((unsigned int)oif, dev);
		if_indextoname((unsigned int)want_ifindex, want);
		snprintf(why, len, "%s is routed out of %s, not the uplink %s (XDP_TX sends only there)",
			 a, dev, want);
		return -EXDEV;
	}
	err = neigh_get(&via, oif, mac);
	if (err) {
		char v[SHOAL_ADDRSTRLEN];

		shoal_format_addr(&via, v);
		snprintf(why, len, "next hop %s toward %s has no MAC yet", v, a);
		return -EAGAIN;
	}
	return 0;
}
