#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Invariant I2 on real TCP stacks: 200 long-lived connections stream and check every
# byte while a node drains, a node joins, the drained node leaves, weights change and
# the router's ECMP set changes. No connection may break; new connections made during
# each change must all succeed.
. "$(dirname "$0")/lib.sh"

CONNS=200
e2e_up 4 ecmp
lab_stream_start $CONNS -S 8
if ! lab_stream_ready $CONNS 30; then
	not_ok "$CONNS streams established" "$(lab_stream_status)"
	e2e_done
fi
st=$(lab_stream_status)
echo "# streams: $(echo "$st" | jq -c '{established, alive, by_node: (.by_node | map_values(.alive))}')"
expect "$CONNS streams established and exchanging data" \
	test "$(echo "$st" | jq '.alive')" = $CONNS

# One planned change, with requests running while it happens.
change() { # NAME COMMAND...
	local name=$1 before reqs
	shift
	before=$(stream_field .broken)
	lab_http 300 >"$LAB_RUN/during" &
	reqs=$!
	"$@" >/dev/null || not_ok "$name: the change itself failed"
	wait "$reqs"
	# Every live stream makes further round trips: the change is behind them.
	lab_stream_progress 5 60 || not_ok "$name: streams made progress afterwards" "$(lab_stream_status | jq -c .)"
	st=$(lab_stream_status)
	summary=$(lab_http_summary <"$LAB_RUN/during")
	echo "# $name: streams $(echo "$st" | jq -c '{alive, broken}'), requests during the change: $summary"
	expect "$name: 0 of $CONNS connections broken" test "$(echo "$st" | jq '.broken')" = "$before"
	read -r total okc failed _ <<<"$summary"
	expect "$name: all $total new connections made during it succeeded" test "$failed" = 0 -a "$okc" = 300
	[ "$(echo "$st" | jq '.broken')" = 0 ] || echo "# $(echo "$st" | jq -c '.broken_list[:5]')"
}

change "drain n1" lab_drain 1
change "add n5" lab_add_node
change "remove n1" lab_remove_node 1
change "weight of n2 to 250" lab_set_weight 2 250
change "ECMP next hops reshuffled (n3 out)" lab_router_nexthops ecmp 2 4 5
change "ECMP next hops reshuffled (n3 back)" lab_router_nexthops ecmp 2 3 4 5

# The counters that explain it: second chances were taken, and frames the owner did
# not hold reached the previous owner that did.
prev=0 held=0
for i in $(lab_all_nodes); do
	c=$(lab_shoalctl "$i" -j stats)
	prev=$((prev + $(echo "$c" | jq '.tx_prev.packets')))
	held=$((held + $(echo "$c" | jq '.pass_prev_socket.packets')))
done
echo "# second chances taken: $prev, passed by a previous owner holding the flow: $held"
expect "connections of moved buckets were kept by second chances" test "$prev" -gt 0 -a "$held" -gt 0

final=$(lab_stream_stop)
expect "at the end, every stream verified its bytes and none broke" \
	test "$(echo "$final" | jq '.broken + .failed_connect')" = 0
e2e_done
