#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the end-to-end tests: the lab, TAP output, and cleanup that runs however
# a test ends. Each test sources this, then calls e2e_up, checks, and e2e_done.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lab/lab.sh
. "$E2E_ROOT/lab/lab.sh"

e2e_n=0
e2e_failed=0

ok() { e2e_n=$((e2e_n + 1)); echo "ok $e2e_n - $1"; }
not_ok() {
	e2e_n=$((e2e_n + 1))
	e2e_failed=$((e2e_failed + 1))
	echo "not ok $e2e_n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
# expect NAME CONDITION-COMMAND... [-- DIAGNOSTIC-COMMAND...]
expect() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; e2e_counters; fi
}

# What explains a failure: every node's verdict counters that moved, its daemon's view
# (health, tables, peers) and its last warnings - all a CI log keeps.
e2e_counters() {
	local i log
	for i in $(lab_all_nodes); do
		echo "# $(lab_node_name "$i"): $(lab_shoalctl "$i" -j stats 2>/dev/null |
			jq -c 'with_entries(select(.value.packets > 0)) | map_values(.packets)')"
		echo "#   shoald: $(lab_daemon_status "$i" 2>/dev/null | jq -c '{healthy, applies,
			table_digest, pools_all_drained, apply_error, peers: [.peers[]? |
			"\(.name) \(.state) \(if .healthy then "healthy" else "failing" end)"]}' 2>/dev/null)"
		log=$(lab_node_dir "$i")/shoald.log
		[ -f "$log" ] && grep -E 'warning|error' "$log" | tail -n 4 | sed 's/^/#   /'
	done
}

e2e_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

e2e_up() { # NODES MODE
	[ "$(id -u)" = 0 ] || e2e_skip_all "needs root"
	lab_check_tools >/dev/null 2>&1 || e2e_skip_all "lab tools missing (make deps && make)"
	trap 'LAB_AF=4 lab_stream_stop >/dev/null 2>&1; LAB_AF=6 lab_stream_stop >/dev/null 2>&1; lab_down' EXIT
	trap 'exit 1' INT TERM
	lab_up "$@" 2>&1 | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ] || { not_ok "the lab comes up"; e2e_done; }
	lab_layout_load
}

e2e_done() {
	echo "1..$e2e_n"
	[ "$e2e_failed" = 0 ]
	exit $?
}

# JSON field of the stream client's status.
stream_field() { lab_stream_status | jq -r "$1"; }

# ---- checks several tests run on different lab variants ----

# N requests on new connections: all answered, and spread by weight - within 15% of
# each node's share, or 4 standard deviations of the binomial count when N is small
# (flows land on buckets at random: the test must not fail by chance).
e2e_spread() { # N
	local n=$1 out summary total okc failed spread_ok=1 i w want got dev sum=0 tol
	out=$(lab_http "$n")
	summary=$(echo "$out" | lab_http_summary)
	echo "# $summary"
	read -r total okc failed _ <<<"$summary"
	expect "$n requests (IPv${LAB_AF:-4}), each on a new connection, all answered" \
		test "$total" = "$n" -a "$okc" = "$n" -a "$failed" = 0
	for i in $(lab_nodes); do sum=$((sum + $(lab_node_field "$i" 2))); done
	for i in $(lab_nodes); do
		w=$(lab_node_field "$i" 2)
		want=$((n * w / sum))
		got=$(echo "$out" | awk -v n="n$i" '$1 == 200 && $2 == n' | wc -l)
		dev=$(((got - want) * 100 / want))
		tol=$(awk -v n="$n" -v w="$w" -v s="$sum" 'BEGIN { p = w / s; t = 4 * sqrt(n * p * (1 - p));
			if (t < 0.15 * n * p) t = 0.15 * n * p; printf "%d", t }')
		echo "# n$i weight $w: $got answers, expected $want ($dev%, tolerance $tol)"
		[ "$(((got - want) * (got - want)))" -le "$((tol * tol))" ] || spread_ok=0
	done
	expect "answers spread by the weights" test "$spread_ok" = 1
}

# Broken streams, over both families' sets.
e2e_broken() { echo $(($(LAB_AF=4 stream_field .broken) + $(LAB_AF=6 stream_field .broken))); }

# One planned change, with requests running while it happens; no stream may break.
e2e_change() { # NAME COMMAND...
	local name=$1 before reqs st st6 broken summary total okc failed
	shift
	before=$(e2e_broken)
	lab_http 300 >"$LAB_RUN/during" &
	reqs=$!
	"$@" >/dev/null || not_ok "$name: the change itself failed"
	wait "$reqs"
	# Every live stream makes further round trips: the change is behind them.
	LAB_AF=4 lab_stream_progress 5 60 && LAB_AF=6 lab_stream_progress 5 60 ||
		not_ok "$name: streams made progress afterwards" "$(LAB_AF=4 lab_stream_status | jq -c .)" \
			"$(LAB_AF=6 lab_stream_status | jq -c .)"
	st=$(LAB_AF=4 lab_stream_status)
	st6=$(LAB_AF=6 lab_stream_status)
	broken=$(($(echo "$st" | jq .broken) + $(echo "$st6" | jq .broken)))
	summary=$(lab_http_summary <"$LAB_RUN/during")
	echo "# $name: IPv4 streams $(echo "$st" | jq -c '{alive, broken}'), IPv6 $(echo "$st6" | jq -c '{alive, broken}'), requests during the change: $summary"
	expect "$name: 0 of $E2E_CONNS connections broken" test "$broken" = "$before"
	read -r total okc failed _ <<<"$summary"
	expect "$name: all $total new connections made during it succeeded" test "$failed" = 0 -a "$okc" = 300
	[ "$broken" = 0 ] || echo "# $(echo "$st" | jq -c '.broken_list[:3]') $(echo "$st6" | jq -c '.broken_list[:3]')"
}

# Invariant I2 on real TCP stacks: CONNS long-lived connections, half over IPv4 and half
# over IPv6, stream and check every byte while a node drains, a node joins, the drained
# node leaves, weights change and the router's ECMP set changes; new connections made
# during each change all succeed.
e2e_continuity() { # CONNS
	local st prev=0 held=0 i c af final=0
	E2E_CONNS=$1
	LAB_AF=4 lab_stream_start $((E2E_CONNS / 2)) -S 8
	LAB_AF=6 lab_stream_start $((E2E_CONNS / 2)) -S 8
	for af in 4 6; do
		if ! LAB_AF=$af lab_stream_ready $((E2E_CONNS / 2)) 30; then
			not_ok "$((E2E_CONNS / 2)) IPv$af streams established" "$(LAB_AF=$af lab_stream_status)"
			return
		fi
		st=$(LAB_AF=$af lab_stream_status)
		echo "# IPv$af streams: $(echo "$st" | jq -c '{established, alive, by_node: (.by_node | map_values(.alive))}')"
		expect "$((E2E_CONNS / 2)) IPv$af streams established and exchanging data" \
			test "$(echo "$st" | jq '.alive')" = $((E2E_CONNS / 2))
	done

	e2e_change "drain n1" lab_drain 1
	e2e_change "add n5" lab_add_node
	e2e_change "remove n1" lab_remove_node 1
	e2e_change "weight of n2 to 250" lab_set_weight 2 250
	e2e_change "ECMP next hops reshuffled (n3 out)" lab_router_nexthops ecmp 2 4 5
	e2e_change "ECMP next hops reshuffled (n3 back)" lab_router_nexthops ecmp 2 3 4 5

	# The counters that explain it: second chances were taken, and frames the owner did
	# not hold reached the previous owner that did.
	for i in $(lab_all_nodes); do
		c=$(lab_shoalctl "$i" -j stats)
		prev=$((prev + $(echo "$c" | jq '.tx_prev.packets')))
		held=$((held + $(echo "$c" | jq '.pass_prev_socket.packets')))
	done
	echo "# second chances taken: $prev, passed by a previous owner holding the flow: $held"
	expect "connections of moved buckets were kept by second chances" test "$prev" -gt 0 -a "$held" -gt 0

	for af in 4 6; do
		final=$((final + $(LAB_AF=$af lab_stream_stop | jq '.broken + .failed_connect')))
	done
	expect "at the end, every stream (IPv4 and IPv6) verified its bytes and none broke" \
		test "$final" = 0
}

# The sum of one verdict counter over every node.
e2e_counter() { # REASON
	local i t=0
	for i in $(lab_all_nodes); do
		t=$((t + $(lab_shoalctl "$i" -j stats | jq ".$1.packets")))
	done
	echo "$t"
}
