#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 end to end: IPv6 VIP, IPv6 clients and IPv6 node addresses (heartbeats, table
# hand-over and GUE all over IPv6). On one segment (L2 forwarding) and on an L3 fabric
# (GUE in IPv6): requests answered and spread by weight, and 200 IPv6 streams kept
# through drain, join, removal, weight change and ECMP reshuffles.
. "$(dirname "$0")/lib.sh"
export LAB_AF=6

e2e_up 4 ecmp l2 6
echo "# n1 hears its peers at: $(lab_daemon_status 1 | jq -c '[.peers[] | {name, state}]')"
expect "the nodes' shoald talk over IPv6" \
	sh -c "grep -q 'address: \"fd00:5e9::2\"' '$(lab_node_dir 1)/cluster.yaml'"
expect "and count each other alive" \
	test "$(lab_daemon_status 1 | jq '[.peers[] | select(.state == "alive")] | length')" = 3
lab_set_weight 3 200
e2e_spread 2000
e2e_continuity 200

lab_down
e2e_up 4 ecmp l3 6
e2e_spread 1000
LAB_AF=4 e2e_spread 600
expect "peers forwarded to each other by GUE over IPv6" test "$(e2e_counter tx_owner)" -gt 500
e2e_continuity 200
e2e_done
