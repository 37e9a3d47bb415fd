#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Requests through the lab: every one answered, spread by weight, replies straight from
# the owner to the router (direct server return), nodes' own addresses untouched, a
# client port reused after a drain; and the same with a resilient next-hop group on the
# router.
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp
# Weights 100, 100, 200, 100: node 3 should answer 2/5 of new connections.
lab_set_weight 3 200

e2e_spread 2400

# Direct server return: every reply frame reaching the router carries the MAC of the
# node that answered (never another node's), and no reply crosses another node.
lab_router tcpdump -i r-seg -n -e -l -c 400 "tcp and src host $LAB_VIP and src port $LAB_HTTP_PORT" \
	>"$LAB_RUN/replies.txt" 2>/dev/null &
cap=$!
for i in 1 2 3 4; do
	lab_node_exec "$i" timeout 20 tcpdump -i eth0 -n -l -Q in "tcp and src host $LAB_VIP" \
		>"$LAB_RUN/in.$i" 2>/dev/null &
done
sleep 1
out2=$(lab_http 200)
n=0
while kill -0 "$cap" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
kill "$cap" 2>/dev/null
pkill -f "tcpdump -i eth0 -n -l -Q in" 2>/dev/null
wait 2>/dev/null
# src MAC -> node: the lab's MACs end in the node index.
bad=$(awk '{ print $2 }' "$LAB_RUN/replies.txt" | sort -u | grep -cv '^02:5b:00:00:00:0[1-4]$')
seen=$(awk '{ print $2 }' "$LAB_RUN/replies.txt" | sort -u | wc -l)
echo "# reply frames at the router: $(wc -l <"$LAB_RUN/replies.txt"), from $seen node MACs"
expect "replies reach the router from the answering nodes' own MACs" test "$bad" = 0 -a "$seen" -ge 3
crossed=$(cat "$LAB_RUN"/in.? | grep -c .)
expect "no reply enters another node" test "$crossed" = 0

# Traffic to a node's own address is its own: answered by that node, untouched by shoal.
own_ok=1
for i in 1 2 3 4; do
	who=$(lab_client curl -s --max-time 3 "http://$(lab_node_ip "$i"):$LAB_HTTP_PORT/")
	[ "$who" = "n$i" ] || { own_ok=0; echo "# $(lab_node_ip "$i") answered by '$who'"; }
	lab_client ping -c 1 -W 2 "$(lab_node_ip "$i")" >/dev/null || own_ok=0
done
expect "nodes' own addresses answer for themselves (HTTP and ping)" test "$own_ok" = 1
nonvip=0
for i in 1 2 3 4; do
	c=$(lab_shoalctl "$i" -j stats | jq '.pass_not_vip.packets')
	nonvip=$((nonvip + c))
done
expect "that traffic was counted as not for a VIP and passed" test "$nonvip" -gt 0

# Counters explain the answers: SYNs passed by owners equal the connections made.
syn=0
for i in 1 2 3 4; do
	c=$(lab_shoalctl "$i" -j stats | jq '.pass_syn.packets')
	syn=$((syn + c))
done
echo "# SYNs passed by their owners: $syn"
expect "every connection's SYN was passed by exactly one owner" test "$syn" -ge 2600

# A client reuses its port after a drain. Connections from fixed ports that n1 served end
# in time-wait on n1 (nginx closes first); n1 drains; the same ports connect again and
# land on the buckets' new owners. Where the router hands such a flow to n1 first, n1
# must ask the owner rather than give the frames to its time-wait socket: that socket
# answered with stale ACKs, and the client retransmitted its request until, after
# 0.4-0.8 s or not at all, the connection got through.
port_probe() { # SOURCE PORT: who answers a new connection from that client address and port
	lab_client curl -s -o /dev/null --interface "$(lab_src "$1")" --local-port "$2" \
		-H 'Connection: close' --connect-timeout 3 --max-time 4 \
		-w "$1 $2 %{exitcode} %{http_code} %header{x-node}\n" "http://$(lab_vip_url):$LAB_HTTP_PORT/"
}
client_retrans() {
	lab_client awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 }
		else print $c }' /proc/net/snmp
}
prev_kept() { lab_shoalctl 1 -j stats | jq '.pass_prev_socket.packets // 0'; }
# Probe every "SOURCE PORT" line of stdin, 16 connections at a time: a burst of a hundred
# curl processes on two vCPUs would delay replies past the client's retransmission timer.
probe_all() {
	local src p pids="" k=0
	while read -r src p; do
		port_probe "$src" "$p" &
		pids="$pids $!"
		k=$((k + 1))
		# shellcheck disable=SC2086
		[ $((k % 16)) = 0 ] && { wait $pids; pids=""; }
	done
	# shellcheck disable=SC2086
	[ -z "$pids" ] || wait $pids
}
for src in 1 2 3; do for p in $(seq 31000 31159); do echo "$src $p"; done; done |
	probe_all >"$LAB_RUN/ports.before"
awk '$4 == 200 && $5 == "n1" { print $1, $2 }' "$LAB_RUN/ports.before" >"$LAB_RUN/ports.n1"
tw=$(lab_node_exec 1 ss -Htn state time-wait "sport = :$LAB_HTTP_PORT" | grep -c ':31[01][0-9][0-9] *$')
echo "# $(grep -c . "$LAB_RUN/ports.n1") client addresses and ports answered by n1; time-wait sockets on n1 from them: $tw"
expect "n1 holds connections from reused ports in time-wait" test "$tw" -ge 10
expect "n1 drains" lab_drain 1
r0=$(client_retrans) k0=$(prev_kept)
probe_all <"$LAB_RUN/ports.n1" >"$LAB_RUN/ports.after"
# curl exit 45: the client itself still held the port (it closed first); nothing to test.
grep -v "^[0-9]* [0-9]* 0 200 " "$LAB_RUN/ports.after" | sed "s/^/# not answered: /"
summary=$(awk '$3 != 45 { print $4, $5 }' "$LAB_RUN/ports.after" | lab_http_summary)
read -r total okc failed _ <<<"$summary"
echo "# the same ports after n1 drained ($(awk '$3 == 45' "$LAB_RUN/ports.after" | grep -c .) still in use on the client): $summary"
expect "every new connection from a reused port is answered ($okc of $total)" \
	test "$okc" = "$total" -a "$total" -ge 10
expect "and none by the drained n1" test "$(echo "$summary" | grep -c 'n1=')" = 0
expect "no client retransmission ($(($(client_retrans) - r0)))" test "$(client_retrans)" = "$r0"
expect "n1 kept no frame of them for a socket of its own ($k0 -> $(prev_kept))" test "$(prev_kept)" = "$k0"
expect "n1 takes new connections again" lab_undrain 1

# The resilient next-hop group variant.
lab_down
e2e_up 4 resilient
summary=$(lab_http 1000 | lab_http_summary)
echo "# resilient: $summary"
read -r total okc failed _ <<<"$summary"
expect "with a resilient next-hop group, 1000 requests all answered" test "$okc" = 1000
e2e_done
