/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Next hops for GUE forwarding, from the kernel's routes and neighbours. */
#ifndef SHOAL_ROUTE_H
#define SHOAL_ROUTE_H

#include <stddef.h>
#include <linux/types.h>
#include "util.h"

/*
 * The MAC that frames to dst go to: the route's gateway's, or dst's own when
 * it is on the link. With want_ifindex, the route must leave through that
 * interface. 0, or -errno with the reason in why: -EAGAIN when the route is
 * there but the neighbour is not resolved yet.
 */
int shoal_nexthop(const struct shoal_addr *dst, int want_ifindex, __u8 mac[6], char *why,
		  size_t len);
/*
 * Make the kernel resolve the next hop toward dst (-EAGAIN above): a datagram
 * to dst's discard port. The answer is in the neighbour table moments later.
 */
void shoal_nexthop_kick(const struct shoal_addr *dst);

#endif /* SHOAL_ROUTE_H */
