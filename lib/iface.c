// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Which node of a cluster config this host is, found from its interfaces' MACs. */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster.h"

/* Find the node whose MAC sits on a local interface. */
int shoal_detect_node(const struct shoal_cluster *c, const char *want_dev, __u16 *id, char *dev,
		       size_t devlen)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct sockaddr_ll *ll = (void *)i->ifa_addr;
		size_t k;

		if (!ll || ll->sll_family != AF_PACKET || ll->sll_halen != 6)
			continue;
		if (want_dev && strcmp(want_dev, i->ifa_name))
			continue;
		for (k = 0; k < c->nnodes; k++) {
			if (memcmp(c->nodes[k].mac, ll->sll_addr, 6))
				continue;
			/* Bond slaves, VLANs and macvlans share MACs: refuse to guess. */
			if (found) {
				freeifaddrs(ifa);
				return -EEXIST;
			}
			*id = c->nodes[k].id;
			snprintf(dev, devlen, "%s", i->ifa_name);
			found = 1;
		}
	}
	freeifaddrs(ifa);
	return found ? 0 : -ENOENT;
}

