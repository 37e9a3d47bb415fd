#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Invariant I2 on real TCP stacks, on one L2 segment with the nodes talking to each
# other over IPv6: 200 long-lived connections, half IPv4 and half IPv6, stream and check
# every byte while a node drains, a node joins, the drained node leaves, weights change
# and the router's ECMP set changes. No connection may break; new connections made
# during each change must all succeed (e2e_continuity in lib.sh). IPv6 requests are
# answered and spread by weight.
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp l2 6
echo "# n1 hears its peers: $(lab_daemon_status 1 | jq -c '[.peers[] | {name, state}]')"
expect "the nodes' shoald talk over IPv6" \
	grep -q 'address: "fd00:5e9::2"' "$(lab_node_dir 1)/cluster.yaml"
expect "and count each other alive" \
	test "$(lab_daemon_status 1 | jq '[.peers[] | select(.state == "alive")] | length')" = 3
LAB_AF=6 e2e_spread 1200
e2e_continuity 200
e2e_done
