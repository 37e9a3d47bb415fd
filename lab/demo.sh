#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The shoal demo (make demo): a cluster in network namespaces behind an ECMP router,
# requests spread by weight, what each node's XDP program did, and 200 long-lived
# connections kept through a drain, a join, a removal, a weight change and an ECMP
# reshuffle. Tears everything down at the end, or on any failure or interrupt.
set -u
. "$(dirname "$0")/lab.sh"

CONNS=200
START=$(date +%s)
step=0
STEPS=6

say() { printf '%s\n' "$*"; }
head_() { step=$((step + 1)); printf '\n[%d/%d] %s\n' "$step" "$STEPS" "$*"; }
fail() { say "demo: $*" >&2; exit 1; }
elapsed() { echo $(($(date +%s) - START)); }

[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, XDP)"
trap 'lab_stream_stop >/dev/null 2>&1; lab_down' EXIT
trap 'exit 130' INT TERM

say "shoal demo: every node balances; the router only spreads packets (ECMP)."
say "Everything below runs in network namespaces on this machine and is removed at the end."

head_ "Bringing up the lab: a client, an ECMP router (L4 hash), a switch, 4 nodes"
lab_up 4 ecmp 2>&1 | sed 's/^/      /' || true
[ "${PIPESTATUS[0]}" = 0 ] || fail "the lab did not come up"
lab_layout_load
lab_set_weight 3 200 || fail "setting weights failed"
say "      VIP $LAB_VIP: nginx on :$LAB_HTTP_PORT answers with the node's name; shoal-echo echoes on :$LAB_STREAM_PORT"
say "      weights: n1 100, n2 100, n3 200, n4 100 (n3 should get twice the others' share)"

head_ "2000 HTTP requests from the client, each on a new connection"
out=$(lab_http 2000)
total=$(echo "$out" | wc -l)
okc=$(echo "$out" | awk '$1 == 200' | wc -l)
printf '      %-6s %6s %13s %9s %7s\n' NODE WEIGHT "WEIGHT SHARE" ANSWERED SHARE
wsum=0
for i in $(lab_nodes); do wsum=$((wsum + $(lab_node_field "$i" 2))); done
for i in $(lab_nodes); do
	w=$(lab_node_field "$i" 2)
	got=$(echo "$out" | awk -v n="n$i" '$1 == 200 && $2 == n' | wc -l)
	awk -v n="n$i" -v w="$w" -v ws="$wsum" -v g="$got" -v t="$total" \
		'BEGIN { printf "      %-6s %6s %12.1f%% %9s %6.1f%%\n", n, w, 100 * w / ws, g, 100 * g / t }'
done
say "      answered: $okc of $total"

head_ "What each node's XDP program did with the VIP's packets"
printf '      %-6s %16s %18s %10s\n' NODE "PASSED LOCALLY" "BOUNCED (XDP_TX)" DROPPED
for i in $(lab_nodes); do
	c=$(lab_shoalctl "$i" -j stats)
	printf '      %-6s %16s %18s %10s\n' "n$i" \
		"$(echo "$c" | jq '[to_entries[] | select((.key | startswith("pass_")) and .key != "pass_not_ip" and .key != "pass_not_vip") | .value.packets] | add')" \
		"$(echo "$c" | jq '[to_entries[] | select(.key | startswith("tx_")) | .value.packets] | add')" \
		"$(echo "$c" | jq '[to_entries[] | select(.key | startswith("drop_")) | .value.packets] | add')"
done
say "      (a packet the router sends to a node that does not own its flow is bounced once,"
say "       to the owner; the owner replies straight to the router)"

head_ "$CONNS long-lived connections streaming; planned changes, one at a time"
lab_stream_start $CONNS -S 8
lab_stream_ready $CONNS 30 || fail "the streams did not come up: $(lab_stream_status)"
say "      $(lab_stream_status | jq -r '"streams per node: " + (.by_node | to_entries | map("\(.key) \(.value.alive)") | join(", "))')"
printf '      %-34s %10s %22s\n' CHANGE BROKEN "NEW REQUESTS FAILED"
change() { # LABEL COMMAND...
	local label=$1 before summary reqs
	shift
	before=$(lab_stream_status | jq .broken)
	lab_http 300 >"$LAB_RUN/during" &
	reqs=$!
	"$@" >/dev/null || say "      ($label: the change reported an error)"
	wait "$reqs"
	lab_stream_progress 5 60 || true
	summary=$(lab_http_summary <"$LAB_RUN/during")
	printf '      %-34s %6s/%-3s %18s/%s\n' "$label" \
		"$(($(lab_stream_status | jq .broken) - before))" "$CONNS" \
		"$(echo "$summary" | awk '{ print $3 }')" "$(echo "$summary" | awk '{ print $1 }')"
}
change "drain n1" lab_drain 1
change "add n5" lab_add_node
change "remove n1 (drained)" lab_remove_node 1
change "n2 weight 100 -> 250" lab_set_weight 2 250
change "router ECMP set: n3 withdrawn" lab_router_nexthops ecmp 2 4 5
change "router ECMP set: n3 back" lab_router_nexthops ecmp 2 3 4 5
st=$(lab_stream_status)
say "      after all changes: $(echo "$st" | jq -r '"\(.alive) of \(.conns) connections alive, \(.broken) broken, \(.echoes) echoes verified"')"

head_ "Asking the data plane about one live connection (shoalctl flow, on n2)"
src=$(echo "$st" | jq -r '.sample.src')
say "      connection $src -> $LAB_VIP:$LAB_STREAM_PORT, served by $(echo "$st" | jq -r '.sample.node')"
lab_shoalctl 2 flow tcp "$src" "$LAB_VIP:$LAB_STREAM_PORT" | sed 's/^/      /'
final=$(lab_stream_stop)

head_ "Tearing down"
lab_down
trap - EXIT
say "      done in $(elapsed) s: $(echo "$final" | jq -r '"\(.broken) of \(.conns) long-lived connections broken"'); $okc of $total requests answered."
