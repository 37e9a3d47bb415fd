#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# GUE forwarding on an L3 fabric: every node on a subnet of its own behind the router,
# no shared segment, peers reached through the router in UDP. Requests over IPv4 and
# IPv6 all answered and spread by weight; the encapsulated packets' checksums correct
# in a real capture; forged GUE refused and counted; pings to the VIP answered by the
# node they reach; a large transfer across the smaller MTU that encapsulation leaves
# (ICMP "too big" from the data plane, PMTU discovery in the client's kernel); and 200
# streams kept through drain, join, removal, weight change and ECMP reshuffles.
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp l3 4
lab_set_weight 3 200
e2e_spread 2000
LAB_AF=6 e2e_spread 1000
expect "peers forwarded to each other by GUE" test "$(e2e_counter tx_owner)" -gt 1000

# shoalctl flow asks n1's program how a flow another node owns would go: in GUE.
for p in $(seq 40000 40040); do
	f=$(lab_shoalctl 1 -j flow tcp "$LAB_SRC_NET.1:$p" "$LAB_VIP:$LAB_HTTP_PORT")
	[ "$(echo "$f" | jq -r '.owner != .this_node')" = true ] && break
done
expect "shoalctl flow shows another owner's flow forwarded to it in GUE" \
	test "$(echo "$f" | jq -r '[.packets[] | select(.action == "TX") | .format] | unique | join(",")')" = gue

# A capture on the router's link to n1 while traffic runs: every GUE packet's UDP
# checksum is right, by tcpdump's own check of the bytes.
lab_router timeout 15 tcpdump -i "$(lab_node_rdev 1)" -nn -vv -l -c 100 "udp port 7947" \
	>"$LAB_RUN/gue.cap" 2>/dev/null &
cap=$!
sleep 0.5
lab_http 300 >/dev/null
LAB_AF=6 lab_http 300 >/dev/null
wait "$cap"
good=$(grep -c 'udp sum ok' "$LAB_RUN/gue.cap")
bad=$(grep -c 'bad udp cksum' "$LAB_RUN/gue.cap")
echo "# captured GUE packets on n1's link: $(grep -c 'UDP, length' "$LAB_RUN/gue.cap"), checksum ok $good, bad $bad"
expect "GUE packets in a real capture carry correct UDP checksums ($good checked)" \
	test "$good" -ge 20 -a "$bad" = 0
expect "GUE runs between the nodes' own addresses" \
	sh -c "! grep 'UDP, length' '$LAB_RUN/gue.cap' | grep -v '198\.19\.[0-9]*\.1\.[0-9]* > 198\.19\.[0-9]*\.1\.7947:'"

# Forged GUE. A well-formed header claiming to come from n2, sent from the client's
# address; then garbage from n2's own address.
peer0=$(lab_shoalctl 1 -j stats | jq '.drop_gue_peer.packets')
bad0=$(lab_shoalctl 1 -j stats | jq '.drop_gue_bad.packets')
syn0=$(lab_shoalctl 1 -j stats | jq '.pass_syn.packets')
forged='\x05\x04\x00\x00\x53\x11\x00\x02\x00\x00\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00'
inner='\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00\xc6\x12\xfb\x01\xc6\x12\xc8\x0a\x9c\x40\x00\x50\x00\x00\x00\x01\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00'
for _ in 1 2 3 4 5; do
	printf "$forged$inner" | lab_client socat -u - "UDP:$(lab_node_ip 1):7947" 2>/dev/null
	head -c 60 /dev/urandom | lab_node_exec 2 socat -u - "UDP:$(lab_node_ip 1):7947" 2>/dev/null
done
sleep 0.3
peer=$(($(lab_shoalctl 1 -j stats | jq '.drop_gue_peer.packets') - peer0))
bad=$(($(lab_shoalctl 1 -j stats | jq '.drop_gue_bad.packets') - bad0))
echo "# forged GUE at n1: $peer dropped as not from a peer, $bad as malformed"
expect "GUE from an address that is no peer's is dropped and counted" test "$peer" = 5
expect "garbage on the GUE port, even from a peer, is dropped and counted" test "$bad" = 5
expect "and nothing of it reached the service" \
	test "$(lab_shoalctl 1 -j stats | jq '.pass_syn.packets')" = "$syn0"

# Pings to the VIP: answered by whichever node the router hands them to.
echo0=$(e2e_counter pass_icmp_echo)
expect "ping to the IPv4 VIP is answered" lab_client ping -c 3 -i 0.2 -W 2 "$LAB_VIP"
expect "ping to the IPv6 VIP is answered" lab_client ping -6 -c 3 -i 0.2 -W 2 "$LAB_VIP6"
expect "each echo request was passed to the node that received it" \
	test "$(($(e2e_counter pass_icmp_echo) - echo0))" -ge 6

# Path MTU: the links are 1500 bytes, so a full-size segment no longer fits once
# encapsulated. The first hop answers "fragmentation needed" / "packet too big" from the
# VIP, the client's kernel lowers its path MTU, and the transfer completes.
head -c 1000000 /dev/urandom >"$LAB_RUN/blob"
want=$(sha256sum <"$LAB_RUN/blob" | cut -d' ' -f1)
big0=$(e2e_counter tx_too_big)
okx=0
for s in 1 2 3 4 5 6 7 8; do
	for af in 4 6; do
		if [ $af = 4 ]; then to="TCP:$LAB_VIP:$LAB_STREAM_PORT,bind=$LAB_SRC_NET.$s"
		else to="TCP6:[$LAB_VIP6]:$LAB_STREAM_PORT,bind=[$LAB_SRC_NET6:$s]"; fi
		got=$(lab_client timeout 30 socat -t 5 -T 15 - "$to" <"$LAB_RUN/blob" 2>/dev/null |
			tail -n +2 | sha256sum | cut -d' ' -f1)
		[ "$got" = "$want" ] && okx=$((okx + 1))
	done
done
big=$(($(e2e_counter tx_too_big) - big0))
echo "# 16 transfers of 1 MB echoed intact: $okx; too-big answers sent: $big; client's path: $(lab_client ip route get "$LAB_VIP" | grep -o 'mtu [0-9]*')"
expect "1 MB transfers over IPv4 and IPv6 all come back intact ($okx of 16)" test "$okx" = 16
expect "the data plane told the clients the path is smaller" test "$big" -ge 2
client_pmtu() { lab_client ip route get "$LAB_VIP" | grep -q 'mtu 1448'; }
expect "the client's kernel learned the path MTU (1500 less 52 bytes)" client_pmtu

# ICMP errors about a VIP flow reach the node holding it. The client's link now takes
# 1280-byte frames only (the client's own MTU, so its MSS, stays 1500): the router
# answers each full-size reply with "fragmentation needed" / "packet too big" to the VIP,
# which its ECMP hands to whichever node; shoal passes each to the owner of the quoted
# connection, whose kernel sends smaller. Without that, downloads would stall.
lab_router ip link set r-cli mtu 1280
want=$(sha256sum <"$LAB_RUN/big" | cut -d' ' -f1)
okd=0
for s in 1 2 3 4 5 6 7 8; do
	for af in 4 6; do
		got=$(LAB_AF=$af lab_client curl -g -s --max-time 20 --interface "$(LAB_AF=$af lab_src "$s")" \
			"http://$(LAB_AF=$af lab_vip_url):$LAB_HTTP_PORT/big" | sha256sum | cut -d' ' -f1)
		[ "$got" = "$want" ] && okd=$((okd + 1))
	done
done
lab_router ip link set r-cli mtu 1500
learned=0
for i in $(lab_nodes); do
	lab_node_exec "$i" ip route show cache | grep -q 'mtu 1280' &&
		lab_node_exec "$i" ip -6 route show cache | grep -q 'mtu 1280' && learned=$((learned + 1))
done
echo "# 16 downloads of 1 MB through a 1280-byte link: $okd intact; nodes whose kernel learned the path for both families: $learned"
expect "every download completes intact: the ICMP errors reached the connections' owners" \
	test "$okd" = 16
expect "the owners' kernels learned the smaller path (IPv4 and IPv6)" test "$learned" -ge 2

e2e_continuity 200
for r in drop_gue_bad drop_gue_peer drop_gue_inner drop_nexthop drop_no_room; do
	n=$(e2e_counter $r)
	[ "$n" = 0 ] || echo "# $r: $n"
done
expect "no GUE packet between peers was refused or lost for a next hop" \
	test "$(($(e2e_counter drop_gue_inner) + $(e2e_counter drop_nexthop) + $(e2e_counter drop_no_room)))" = 0
e2e_done
