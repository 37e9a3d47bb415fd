#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Requests through the lab: every one answered, spread by weight, replies straight from
# the owner to the router (direct server return), nodes' own addresses untouched; and
# the same with a resilient next-hop group on the router.
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

# The resilient next-hop group variant.
lab_down
e2e_up 4 resilient
summary=$(lab_http 1000 | lab_http_summary)
echo "# resilient: $summary"
read -r total okc failed _ <<<"$summary"
expect "with a resilient next-hop group, 1000 requests all answered" test "$okc" = 1000
e2e_done
