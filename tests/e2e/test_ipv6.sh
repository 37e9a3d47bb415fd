#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 end to end over an L3 fabric: IPv6 node addresses, so heartbeats, the table
# hand-over and GUE all run over IPv6 (72 bytes of encapsulation); IPv6 and IPv4
# requests answered and spread by weight, and 200 streams (IPv6 and IPv4) kept through
# drain, join, removal, weight change and ECMP reshuffles. (IPv6 on one segment is in
# test_continuity.sh.)
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp l3 6
LAB_AF=6 e2e_spread 1200
e2e_spread 800
expect "peers forwarded to each other by GUE over IPv6" test "$(e2e_counter tx_owner)" -gt 500
(lab_router timeout 10 tcpdump -i "$(lab_node_rdev 2)" -nn -vv -l -c 40 "ip6 and udp port 7947" \
	>"$LAB_RUN/gue6.cap" 2>/dev/null) &
cap=$!
sleep 0.5
LAB_AF=6 lab_http 200 >/dev/null
wait "$cap"
good=$(grep -c 'udp sum ok' "$LAB_RUN/gue6.cap")
expect "GUE over IPv6 carries correct UDP checksums in a capture ($good of 40)" \
	test "$good" = 40
e2e_continuity 200
e2e_done
