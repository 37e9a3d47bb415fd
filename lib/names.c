// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Names and one-line explanations of the verdict reasons, as the CLI and metrics show them. */
#include <string.h>
#include <linux/bpf.h>

#include "shoal.h"

struct reason_info {
	const char *name;
	const char *help;
};

static const struct reason_info reasons[SHOAL_R_MAX] = {
	[SHOAL_R_PASS_NOT_IP] = { "pass_not_ip", "not IPv4 or IPv6 (ARP, LLDP, ...)" },
	[SHOAL_R_PASS_NOT_VIP] = { "pass_not_vip", "IP, but for no VIP" },
	[SHOAL_R_PASS_SHORT] = { "pass_short", "too short to tell whether it is for a VIP" },
	[SHOAL_R_PASS_VLAN_DEPTH] = { "pass_vlan_depth", "more than 2 VLAN tags" },
	[SHOAL_R_PASS_UNCONFIGURED] = { "pass_unconfigured", "this node has no identity yet" },
	[SHOAL_R_PASS_NO_TABLE] = { "pass_no_table", "the VIP's pool has no table or no owner" },
	[SHOAL_R_PASS_SYN] = { "pass_syn", "owner: new connection" },
	[SHOAL_R_PASS_OWNER] = { "pass_owner", "owner: nobody else could hold the flow" },
	[SHOAL_R_PASS_SOCKET] = { "pass_socket", "owner: a local socket holds the flow" },
	[SHOAL_R_PASS_COOKIE] = { "pass_cookie", "owner: ACK with a valid SYN cookie" },
	[SHOAL_R_PASS_CHAIN_END] = { "pass_chain_end", "no socket and no previous owner left" },
	[SHOAL_R_PASS_PREV_SOCKET] = { "pass_prev_socket",
				       "previous owner still holding the flow's socket" },
	[SHOAL_R_PASS_UDP] = { "pass_udp", "owner: UDP" },
	[SHOAL_R_PASS_HOP_LIMIT] = { "pass_hop_limit", "already crossed 2 cluster hops" },
	[SHOAL_R_PASS_NO_RETURN] = { "pass_no_return", "the next hop would be the sender" },
	[SHOAL_R_PASS_FRAG_UDP] = { "pass_frag_udp", "UDP fragment to a VIP, served here" },
	[SHOAL_R_PASS_ICMP_ECHO] = { "pass_icmp_echo", "echo request to a VIP, answered here" },
	[SHOAL_R_PASS_ICMP] = { "pass_icmp", "other ICMP to a VIP address, about no VIP flow" },
	[SHOAL_R_PASS_TOO_BIG] = { "pass_too_big",
				   "UDP without DF too big to encapsulate, served here" },
	[SHOAL_R_TX_OWNER] = { "tx_owner", "forwarded to the current owner" },
	[SHOAL_R_TX_PREV] = { "tx_prev", "second chance: forwarded to a previous owner" },
	[SHOAL_R_TX_TOO_BIG] = { "tx_too_big",
				 "too big to encapsulate: ICMP 'fragmentation needed' sent back" },
	[SHOAL_R_DROP_BAD_IP] = { "drop_bad_ip", "VIP packet with a bad IP version, IHL or length" },
	[SHOAL_R_DROP_BAD_L4] = { "drop_bad_l4", "VIP packet with a cut or invalid TCP/UDP header" },
	[SHOAL_R_DROP_FRAG] = { "drop_frag", "TCP fragment to a VIP (cannot be keyed)" },
	[SHOAL_R_DROP_EXTHDR] = { "drop_exthdr", "IPv6 extension headers too many or cut" },
	[SHOAL_R_DROP_PEER] = { "drop_peer", "forwarded frame from an unknown peer" },
	[SHOAL_R_DROP_TTL] = { "drop_ttl", "TTL or hop limit exhausted before a cluster hop" },
	[SHOAL_R_DROP_NODE] = { "drop_node", "forwarding target has no node entry" },
	[SHOAL_R_DROP_GUE_BAD] = { "drop_gue_bad", "GUE packet cut, fragmented or of unknown format" },
	[SHOAL_R_DROP_GUE_PEER] = { "drop_gue_peer", "GUE packet not from a configured peer" },
	[SHOAL_R_DROP_GUE_INNER] = { "drop_gue_inner", "decapsulated packet is no valid VIP packet" },
	[SHOAL_R_DROP_TOO_BIG] = { "drop_too_big",
				   "too big to encapsulate, and the sender cannot be told" },
	[SHOAL_R_DROP_NEXTHOP] = { "drop_nexthop", "GUE target's next hop not resolved yet" },
	[SHOAL_R_DROP_NO_ROOM] = { "drop_no_room", "no headroom to encapsulate or answer" },
	[SHOAL_R_DROP_BAD_ICMP] = { "drop_bad_icmp",
				    "ICMP error to a VIP quoting a cut or invalid header" },
};

const char *shoal_reason_name(int reason)
{
	if (reason < 0 || reason >= SHOAL_R_MAX || !reasons[reason].name)
		return "unknown";
	return reasons[reason].name;
}

const char *shoal_reason_help(int reason)
{
	if (reason < 0 || reason >= SHOAL_R_MAX || !reasons[reason].help)
		return "";
	return reasons[reason].help;
}

int shoal_reason_action(int reason)
{
	if (reason < SHOAL_R_FIRST_TX)
		return XDP_PASS;
	return reason < SHOAL_R_FIRST_DROP ? XDP_TX : XDP_DROP;
}

int shoal_reason_by_name(const char *name)
{
	int r;

	for (r = 0; r < SHOAL_R_MAX; r++) {
		if (reasons[r].name && strcmp(reasons[r].name, name) == 0)
			return r;
	}
	return -1;
}

const char *shoal_action_name(__u32 action)
{
	switch (action) {
	case XDP_ABORTED: return "ABORTED";
	case XDP_DROP: return "DROP";
	case XDP_PASS: return "PASS";
	case XDP_TX: return "TX";
	case XDP_REDIRECT: return "REDIRECT";
	default: return "?";
	}
}

static const struct reason_info events[SHOAL_E_MAX] = {
	[SHOAL_E_HASH_NO_NIC] = { "hash_no_nic", "nic mode: no RX hash with the frame; hashed in software" },
	[SHOAL_E_HASH_NOT_L4] = { "hash_not_l4",
				  "nic mode: the RX hash left out the ports; hashed in software" },
	[SHOAL_E_HASH_ICMP] = { "hash_icmp", "nic mode: an ICMP error, keyed by its quote in software" },
};

const char *shoal_event_name(int e)
{
	return e < 0 || e >= SHOAL_E_MAX ? "unknown" : events[e].name;
}

const char *shoal_event_help(int e)
{
	return e < 0 || e >= SHOAL_E_MAX ? "" : events[e].help;
}
