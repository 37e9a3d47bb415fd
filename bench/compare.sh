#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench/compare.sh: shoal against what an operator would otherwise run, on the same lab
# topology in the same run.
#
#   shoal     the lab as `lab_up 4 ecmp l2` builds it: shoald and XDP on every node, the
#             router spreading the VIP over the nodes with ECMP.
#   nftables  a dedicated balancer (namespace shl-lb, 198.18.0.200, on the switch) doing
#             hash-based DNAT with conntrack; the router sends the VIP only to it.
#   haproxy   HAProxy in TCP mode on that same balancer; servers changed on its runtime API.
#   ecmp      the router's ECMP over the nodes and nothing else: the baseline.
#
# The lab is built afresh for each variant (4 serving nodes; for all but shoal, shoald is
# stopped and the XDP program detached). For each variant:
#   - wrk from the client namespace against the VIP, once with a new connection per
#     request (Connection: close) and once with keep-alive: requests per second, p50/p99
#     latency, errors; the whole machine's busy CPU (/proc/stat) during the run divided
#     by the requests; the balancing CPU is that minus the ecmp variant's figure (all of
#     it runs on this one machine, so the difference is what balancing costs). HAProxy's
#     own process CPU is reported too.
#   - disruption: long-lived checked streams (lab/stream.c) to the echo service while a
#     node is added, then node 1 drained; streams broken by each change, and new HTTP
#     requests (made continuously while the change happens) that failed.
#
# wrk cannot bind a source address: it runs from the client's one address (198.18.250.2),
# its connections told apart by source port (the router's ECMP hash and nft's jhash both
# use the ports). The streams and the HTTP checks use the lab's 16 client sources.
#
# Usage: bench/compare.sh OUTPUT.json     (as root, after make and scripts/deps.sh bench)
# Environment: BENCH_DURATION (s, default 8), BENCH_THREADS (2), BENCH_CONNS (64),
#              BENCH_STREAMS (150), BENCH_VARIANTS (default "ecmp shoal nftables haproxy")
# A benchmark, not a test: exits 0 whatever the figures; 1 when setup fails; 2 on usage.
#
# Node lists ($(lab_nodes)) are meant to split into one argument per node:
# shellcheck disable=SC2046
set -u

usage() {
	echo "usage: $0 OUTPUT.json   (as root; env BENCH_DURATION BENCH_THREADS BENCH_CONNS BENCH_STREAMS BENCH_VARIANTS)" >&2
	exit 2
}
[ $# -eq 1 ] || usage
case "$1" in -h | --help) usage ;; esac
OUT=$1

# shellcheck source=lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"

DURATION=${BENCH_DURATION:-8}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
STREAMS=${BENCH_STREAMS:-150}
VARIANTS=${BENCH_VARIANTS:-ecmp shoal nftables haproxy}
NODES=4
HTTP_CHECK=32		# requests per lab_http round while a change happens
AFTER_CHECK=200		# requests after a change: where new connections go now

# The dedicated balancer of the nftables and haproxy variants: one more host on the switch.
LB_NS=shl-lb
LB_IP=$LAB_SEG.200
LB_MAC=02:5b:00:00:00:c8
NFT_SEED=0x5eed1ab5

START=$(date +%s)
prog() { printf 'compare: [%3ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { prog "error: $*"; exit 1; }

for v in $VARIANTS; do
	case "$v" in shoal | nftables | haproxy | ecmp) ;; *) echo "$0: unknown variant '$v'" >&2; usage ;; esac
done
case "$DURATION$THREADS$CONNS$STREAMS" in *[!0-9]*) echo "$0: BENCH_* must be numbers" >&2; usage ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP, nftables)"
: >"$OUT" 2>/dev/null || die "cannot write $OUT"
missing=""
for t in wrk haproxy nft socat jq timeout; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
[ -z "$missing" ] || die "missing:$missing (run: scripts/deps.sh bench)"
lab_check_tools || die "the lab cannot run (run: scripts/deps.sh bench && make)"
# A haproxy left running outside the lab (the package's service) would take CPU that is
# counted against every variant.
for pid in $(pgrep -x haproxy); do
	[ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/self/ns/net)" ] &&
		prog "warning: haproxy (pid $pid) runs in the root namespace; its CPU counts against every variant (stop it)"
done

# The lab's namespaces are shared with the e2e tests and the demo: never tear down
# someone else's running lab (lab_up starts with lab_down).
if ip netns list 2>/dev/null | awk '{ print $1 }' | grep -q '^shl-'; then
	die "a lab is up (shl-* namespaces): a test or demo may be using it; if not, run lab/lab.sh down"
fi

WORK=$(mktemp -d /tmp/shoal-compare.XXXXXX) || die "mktemp"
trap 'lab_stream_stop >/dev/null 2>&1; lab_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
HZ=$(getconf CLK_TCK)

# wrk's own summary as one JSON line (latencies in µs).
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
		'"write":%d,"timeout":%d,"status":%d,"p50_us":%d,"p99_us":%d}\n',
		summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(99)))
end
EOF

# ---- CPU ----

# The machine's busy time, all CPUs, in ticks: user nice system irq softirq steal.
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# A process's user + system time in ticks (all its threads), or 0.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ---- the variants' set-up ----

# The lab without shoal: shoald stopped and the program detached on every node. The
# nodes keep the VIP on loopback, nginx and the echo service.
shoal_off() {
	local i
	for i in $(lab_nodes); do
		lab_stop_daemon "$i"
		lab_shoalctl "$i" detach >/dev/null 2>&1 || { lab_log "n$i: detach failed"; return 1; }
		if ip -n "$(lab_node_ns "$i")" link show dev eth0 | grep -q xdp; then
			lab_log "n$i: an XDP program is still attached"
			return 1
		fi
	done
}

# A serving node without shoal, for the variants that add one by their own means.
plain_node_add() { # INDEX
	lab_node_create "$1" || return
	echo "$1 100 active" >>"$(lab_nodes_file)"
}

lb_sysctl() { lab_exec "$LB_NS" sysctl -qw "$@"; }

# The dedicated balancer's host: a port on the switch, its default route via the router.
lb_create() {
	ip netns add "$LB_NS" &&
		lab_port eth0 "$LB_NS" sw-lb "$LB_MAC" &&
		ip -n "$LB_NS" link set lo up &&
		ip -n "$LB_NS" addr add "$LB_IP/24" dev eth0 &&
		ip -n "$LB_NS" route add default via "$LAB_RTR" &&
		# It forwards (nftables) out of the port it received on: no redirects that would
		# teach the nodes to bypass it. Its own TCP (haproxy) computes checksums in
		# software, like every traffic source in the lab (lab_veth_source).
		lb_sysctl net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.eth0.send_redirects=0 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.eth0.arp_ignore=1 net.core.somaxconn=4096 \
			net.ipv4.ip_local_port_range="20000 60999" net.ipv4.tcp_tw_reuse=1 &&
		lab_veth_source "$LB_NS" eth0
}

# The router's IPv4 VIP route: only the balancer.
lb_route_vip() { ip -n "$NS_ROUTER" route replace "$LAB_VIP/32" via "$LB_IP" dev r-seg; }

# nftables: hash-based DNAT on the balancer. The rule only picks a node for a connection's
# first packet; conntrack holds the choice for the rest, so a new rule (a node added or
# taken out) changes where new connections go and leaves established ones where they are.
# The rule is replaced atomically: one nft transaction flushes the chain and adds the new
# rule, and the chain (hence the NAT hook) stays registered throughout.
#
# Replies: the nodes route the client networks back through the balancer (IPVS "NAT"
# style) rather than the balancer SNATing to its own address. The servers see real client
# addresses, as they do with shoal and ECMP, and the balancer spends no source ports per
# server (in Connection: close runs, SNAT would leave ~10^5 TIME_WAIT conntrack entries
# competing for each server's port space).
nft_apply() { # NODE INDICES...
	local n=0 i map=""
	for i in "$@"; do
		map="$map${map:+, }$n : $(lab_node_ip "$i")"
		n=$((n + 1))
	done
	lab_exec "$LB_NS" nft -f - <<EOF
add table ip shlb
add chain ip shlb pre { type nat hook prerouting priority dstnat; policy accept; }
flush chain ip shlb pre
add rule ip shlb pre ip daddr $LAB_VIP tcp dport { $LAB_HTTP_PORT, $LAB_STREAM_PORT } dnat to jhash ip saddr . tcp sport mod $n seed $NFT_SEED map { $map }
EOF
}

nft_node_routes() { # INDEX: the client networks back through the balancer
	local ns
	ns=$(lab_node_ns "$1")
	lab_exec "$ns" sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 &&
		ip -n "$ns" route replace "$LAB_CLI_NET.0/24" via "$LB_IP" dev eth0 &&
		ip -n "$ns" route replace "$LAB_SRC_NET.0/24" via "$LB_IP" dev eth0
}

HAP_SOCK() { echo "$LAB_RUN/haproxy.sock"; }
HAP_PID() { cat "$LAB_RUN/haproxy.pid" 2>/dev/null; }

# One runtime API command; prints the answer.
hap_cmd() { echo "$*" | timeout 5 socat -t 2 - "UNIX-CONNECT:$(HAP_SOCK)"; }

# HAProxy 2.6, TCP mode, on the VIP; round robin (a dynamic algorithm, so servers can be
# added at run time); no health checks (nor have the nftables and ecmp variants).
haproxy_start() {
	local i t=0
	ip -n "$LB_NS" addr add "$LAB_VIP/32" dev lo || return
	{
		cat <<EOF
# Generated by bench/compare.sh
global
	maxconn 8000
	stats socket $(HAP_SOCK) mode 600 level admin
defaults
	mode tcp
	timeout connect 3s
	timeout client 60s
	timeout server 60s
frontend http
	bind $LAB_VIP:$LAB_HTTP_PORT backlog 4096
	default_backend http
frontend stream
	bind $LAB_VIP:$LAB_STREAM_PORT backlog 4096
	default_backend stream
EOF
		for b in http stream; do
			printf 'backend %s\n\tbalance roundrobin\n' "$b"
			for i in $(lab_nodes); do
				printf '\tserver n%d %s:%d\n' "$i" "$(lab_node_ip "$i")" \
					"$([ "$b" = http ] && echo "$LAB_HTTP_PORT" || echo "$LAB_STREAM_PORT")"
			done
		done
	} >"$LAB_RUN/haproxy.cfg"
	lab_exec "$LB_NS" haproxy -c -q -f "$LAB_RUN/haproxy.cfg" || return
	# Daemon mode: the started process exits once the worker runs (pid file).
	lab_exec "$LB_NS" haproxy -D -f "$LAB_RUN/haproxy.cfg" -p "$LAB_RUN/haproxy.pid" \
		</dev/null >>"$LAB_RUN/haproxy.log" 2>&1 || return
	until hap_cmd "show info" 2>/dev/null | grep -q '^Pid:'; do
		t=$((t + 1))
		[ $t -gt 50 ] && { lab_log "haproxy: no runtime socket"; return 1; }
		sleep 0.1
	done
}

# Add node INDEX to both backends, live.
haproxy_add() { # INDEX
	local b port out
	for b in http stream; do
		port=$([ "$b" = http ] && echo "$LAB_HTTP_PORT" || echo "$LAB_STREAM_PORT")
		out=$(hap_cmd "add server $b/n$1 $(lab_node_ip "$1"):$port")
		echo "$out" | grep -q 'New server registered' || { lab_log "haproxy: add server $b/n$1: $out"; return 1; }
		# A new server starts in maintenance.
		hap_cmd "enable server $b/n$1" >/dev/null || return
	done
}

haproxy_drain() { # INDEX: no new connections; established ones stay
	local b out
	for b in http stream; do
		out=$(hap_cmd "set server $b/n$1 state drain")
		[ -z "$(echo "$out" | tr -d '[:space:]')" ] || { lab_log "haproxy: drain $b/n$1: $out"; return 1; }
	done
}

# The VIP answers through the router (bounded).
wait_vip() {
	local n=0
	until lab_client curl -s -o /dev/null --max-time 2 "http://$LAB_VIP:$LAB_HTTP_PORT/"; do
		n=$((n + 1))
		[ $n -gt 30 ] && return 1
		sleep 0.2
	done
}

variant_up() { # NAME
	local v=$1 i
	lab_up "$NODES" ecmp l2 || return
	lab_layout_load
	# The same client for every variant: a busy run of new connections must not run the
	# client out of ports because of its own TIME_WAIT sockets.
	lab_client sysctl -qw net.ipv4.tcp_tw_reuse=1 || return
	case "$v" in
	shoal) ;;
	ecmp) shoal_off ;;
	nftables)
		shoal_off && lb_create && nft_apply $(lab_nodes) || return
		for i in $(lab_nodes); do nft_node_routes "$i" || return; done
		lb_route_vip
		;;
	haproxy) shoal_off && lb_create && haproxy_start && lb_route_vip ;;
	esac || return
	wait_vip || { lab_log "$v: the VIP does not answer"; return 1; }
}

# ---- the changes, per variant ----

change_add() { # VARIANT INDEX: node INDEX joins
	case "$1" in
	shoal) lab_add_node >/dev/null ;;
	ecmp) lab_router_nexthops ecmp $(lab_nodes) ;;
	nftables) nft_apply $(lab_nodes) ;;
	haproxy) haproxy_add "$2" ;;
	esac
}

# Before the change is timed: a node that only exists is not yet part of anything.
prepare_add() { # VARIANT INDEX
	case "$1" in
	shoal) ;;
	nftables) plain_node_add "$2" && nft_node_routes "$2" ;;
	*) plain_node_add "$2" ;;
	esac
}

change_drain() { # VARIANT INDEX: no new connections to it; ECMP can only take it out
	case "$1" in
	shoal) lab_drain "$2" ;;
	ecmp) lab_node_set "$2" 3 drained && lab_router_nexthops ecmp $(lab_nodes | grep -vx "$2") ;;
	nftables) lab_node_set "$2" 3 drained && nft_apply $(lab_nodes | grep -vx "$2") ;;
	haproxy) lab_node_set "$2" 3 drained && haproxy_drain "$2" ;;
	esac
}

# ---- measurements ----

# The machine's busy CPUs while nothing of ours runs (other work on the machine counts
# against every figure; it is recorded next to them).
background_busy() { # SECONDS
	local c0 c1
	c0=$(cpu_busy)
	sleep "$1"
	c1=$(cpu_busy)
	awk -v t=$((c1 - c0)) -v hz="$HZ" -v s="$1" 'BEGIN { printf "%.2f", t / hz / s }'
}

# One wrk run: prints the JSON of a "close" or "keepalive" result.
wrk_run() { # close|keepalive DURATION [BACKGROUND_BUSY_CPUS]
	local mode=$1 d=$2 bg=${3:-null} hdr=() c0 c1 h0 h1 t0 t1 hpid out line
	[ "$mode" = close ] && hdr=(-H 'Connection: close')
	hpid=$(HAP_PID)
	t0=$(date +%s%N)
	c0=$(cpu_busy)
	h0=$([ -n "$hpid" ] && proc_ticks "$hpid" || echo 0)
	out=$(timeout -k 5 $((d + 30)) ip netns exec "$NS_CLIENT" wrk -t "$THREADS" -c "$CONNS" -d "${d}s" \
		--latency -s "$WORK/report.lua" "${hdr[@]}" "http://$LAB_VIP:$LAB_HTTP_PORT/" 2>&1)
	c1=$(cpu_busy)
	h1=$([ -n "$hpid" ] && proc_ticks "$hpid" || echo 0)
	t1=$(date +%s%N)
	line=$(echo "$out" | sed -n 's/^WRKJSON //p' | tail -1)
	if [ -z "$line" ]; then
		prog "wrk ($mode) gave no result: $(echo "$out" | tail -3 | tr '\n' ' ')"
		echo null
		return
	fi
	echo "$line" | jq -c --argjson busy $((c1 - c0)) --argjson hap $((h1 - h0)) --argjson hz "$HZ" \
		--argjson has_hap "$([ -n "$hpid" ] && echo true || echo false)" --argjson bg "$bg" \
		--argjson wall_ms $(((t1 - t0) / 1000000)) '
		def r(n): (. * n | round) / n;
		(.connect + .read + .write + .timeout + .status) as $err |
		{ rps: (if .duration_us > 0 then .requests / (.duration_us / 1e6) | r(10) else 0 end),
		  p50_ms: (.p50_us / 1000 | r(1000)), p99_ms: (.p99_us / 1000 | r(1000)),
		  errors: $err, requests: .requests,
		  cpu_us_per_req: (if .requests > 0 then $busy * 1e6 / $hz / .requests | r(10) else null end),
		  errors_by_kind: { connect, read, write, timeout, non_2xx: .status },
		  machine_busy_cpus: ($busy / $hz / ($wall_ms / 1000) | r(100)),
		  background_busy_cpus_before: $bg }
		+ if $has_hap then { haproxy_cpu_us_per_req:
			(if .requests > 0 then $hap * 1e6 / $hz / .requests | r(10) else null end) } else {} end'
}

# Both wrk runs, each after a 1 s sample of the idle machine: prints {close, keepalive}.
wrk_pair() { # LABEL
	local close keep bg
	bg=$(background_busy 1)
	prog "$1: wrk, new connection per request, ${DURATION}s (machine busy beforehand: $bg CPUs)"
	close=$(wrk_run close "$DURATION" "$bg")
	prog "$1: close: $(echo "$close" | jq -c '{rps, p50_ms, p99_ms, errors, cpu_us_per_req}')"
	bg=$(background_busy 1)
	prog "$1: wrk, keep-alive, ${DURATION}s (machine busy beforehand: $bg CPUs)"
	keep=$(wrk_run keepalive "$DURATION" "$bg")
	prog "$1: keepalive: $(echo "$keep" | jq -c '{rps, p50_ms, p99_ms, errors, cpu_us_per_req}')"
	jq -nc --argjson c "$close" --argjson k "$keep" '{ close: $c, keepalive: $k }'
}

# HTTP requests, round after round, while a change happens: written to FILE until
# FLAG disappears (bounded: 60 s). Paced, so that they do not slow the change itself
# down (back-to-back rounds of 16 parallel curls made a shoal drain take several times longer).
http_during() { # FLAG FILE
	local end=$(($(date +%s) + 60))
	while [ -e "$1" ] && [ "$(date +%s)" -lt $end ]; do
		lab_http "$HTTP_CHECK" >>"$2"
		sleep 0.2
	done
}

STALL=4		# a stream whose echo is missing this long counts as broken (shoal-stream -S)

# Fresh streams: STREAMS connections established and exchanging data; prints how many.
streams_fresh() {
	lab_stream_stop >/dev/null 2>&1
	lab_stream_start "$STREAMS" -S "$STALL"
	lab_stream_ready "$STREAMS" 30 || return 1
	lab_stream_status | jq .alive
}

# After a change: every live stream has made further round trips, or none is alive
# (lab_stream_progress waits for live ones only, and would wait its full bound).
streams_settle() { # MAX_SECONDS
	local base t=0
	base=$(lab_stream_status | jq .echoes)
	while :; do
		sleep 0.5
		t=$((t + 1))
		[ "$(lab_stream_status | jq --argjson b "${base:-0}" '.alive == 0 or .echoes - $b >= .alive * 5')" = true ] &&
			return 0
		[ $t -ge $(($1 * 2)) ] && return 1
	done
}

# One change with fresh streams live and new requests running: prints
# "alive_before broken http_total http_failed requests_after to_node_after change_rc".
measure_change() { # KIND(add|drain) VARIANT INDEX
	local kind=$1 v=$2 i=$3 alive before after flag="$WORK/during.flag" file="$WORK/during.txt"
	local pid ok total rc=0 t_end out_after n_after wait_left
	alive=$(streams_fresh) || { prog "$v: streams not established: $(lab_stream_status | jq -c '{established, failed_connect, alive}')"; return 1; }
	before=$(lab_stream_status | jq '.broken // 0')
	case "$before" in '' | *[!0-9]*) before=0 ;; esac
	: >"$file"
	touch "$flag"
	http_during "$flag" "$file" &
	pid=$!
	sleep 0.3
	if [ "$kind" = add ]; then change_add "$v" "$i"; else change_drain "$v" "$i"; fi || rc=1
	[ $rc = 0 ] || prog "$v: the $kind itself failed"
	t_end=$(date +%s%N)
	# Requests keep coming for a moment after the change is complete.
	sleep 0.5
	rm -f "$flag"
	wait "$pid"
	total=$(wc -l <"$file")
	ok=$(awk '$1 == 200' "$file" | wc -l)
	streams_settle 30 || prog "$v: streams made no progress after the $kind"
	# Where new connections go now: the added node's share, or the drained node's count.
	out_after=$(lab_http "$AFTER_CHECK")
	n_after=$(echo "$out_after" | awk -v n="n$i" '$1 == 200 && $2 == n' | wc -l)
	# A stream the change left without a path is declared broken only after STALL s.
	wait_left=$(((STALL + 1) * 1000 - ($(date +%s%N) - t_end) / 1000000))
	[ "$wait_left" -gt 0 ] && sleep "$(awk -v m="$wait_left" 'BEGIN { printf "%.3f", m / 1000 }')"
	streams_settle 30 >/dev/null
	after=$(lab_stream_status | jq '.broken // empty')
	case "$after" in '' | *[!0-9]*) prog "$v: no stream status after the $kind"; return 1 ;; esac
	echo "$alive $((after - before)) $total $((total - ok)) $(echo "$out_after" | awk '$1 == 200' | wc -l) $n_after $rc"
}

disruption() { # VARIANT: prints the disruption JSON
	local v=$1 new a d
	new=$(($(lab_all_nodes | sort -n | tail -1) + 1))
	prepare_add "$v" "$new" || { prog "$v: node n$new could not be created"; echo null; return; }
	a=$(measure_change add "$v" "$new") || { lab_stream_stop >/dev/null; echo null; return; }
	prog "$v: add n$new: $(echo "$a" | awk '{ printf "%d of %d streams broken; %d of %d requests failed during it; n'"$new"' then took %d of %d new connections", $2, $1, $4, $3, $6, $5 }')"
	d=$(measure_change drain "$v" 1) || { lab_stream_stop >/dev/null; echo null; return; }
	prog "$v: drain n1: $(echo "$d" | awk '{ printf "%d of %d streams broken; %d of %d requests failed during it; n1 then took %d of %d new connections", $2, $1, $4, $3, $6, $5 }')"
	lab_stream_stop >/dev/null
	read -r aa ab at af ar an arc <<<"$a"
	read -r da db dt df dr dn drc <<<"$d"
	jq -nc --argjson streams "$STREAMS" --argjson stall "$STALL" \
		--argjson aa "$aa" --argjson ab "$ab" --argjson at "$at" --argjson af "$af" --argjson ar "$ar" \
		--argjson an "$an" --argjson da "$da" --argjson db "$db" --argjson dt "$dt" --argjson df "$df" \
		--argjson dr "$dr" --argjson dn "$dn" --argjson arc "$arc" --argjson drc "$drc" --arg added "n$new" '
		{ streams: $streams, broken_on_add: $ab, broken_on_drain: $db,
		  http_failed_on_add: $af, http_failed_on_drain: $df,
		  streams_alive_before_add: $aa, streams_alive_before_drain: $da, stream_stall_s: $stall,
		  http_requests_on_add: $at, http_requests_on_drain: $dt,
		  added_node: $added, drained_node: "n1", requests_after_change: $ar,
		  added_node_share_after: (if $ar > 0 then ($an / $ar * 1000 | round) / 1000 else null end),
		  drained_node_requests_after: $dn,
		  change_failed: { add: ($arc != 0), drain: ($drc != 0) } }'
}

# A reference for reading shoal's figures: ecmp with a program that passes everything
# attached natively to every node's uplink. XDP on a veth changes the path by itself
# (veth then receives through its own NAPI loop and must make an XDP buffer of every
# skb), in ways a real NIC's driver does not; this separates that from shoal's own work.
xdp_pass_ref() {
	local i r
	for i in $(lab_nodes); do lab_veth_xdp_peer "$(lab_node_ns "$i")" eth0 || return 1; done
	r=$(wrk_pair "ecmp+xdp_pass")
	for i in $(lab_nodes); do ip -n "$(lab_node_ns "$i")" link set dev eth0 xdpdrv off; done
	echo "$r"
}

describe() { # VARIANT
	case "$1" in
	shoal) echo "shoald and XDP on every node; the router spreads the VIP over the nodes with ECMP (L4 hash); Maglev owners with second chance, direct server return" ;;
	nftables) echo "a dedicated balancer host ($LB_IP) on the switch, the router's only VIP next hop: nft DNAT by jhash(saddr . sport) mod N with conntrack; nodes route the client networks back through it (NAT mode); changes replace the rule atomically" ;;
	haproxy) echo "HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }') in TCP mode (round robin, no health checks) on the same dedicated balancer host; full proxy; servers added and drained on the runtime API" ;;
	ecmp) echo "the router's ECMP (L4 hash) over the nodes, VIP on their loopback, no balancer: the baseline; add = a next hop added, drain = a next hop removed" ;;
	esac
}

run_variant() { # NAME
	local v=$1 t0 runs dis
	t0=$(date +%s)
	prog "$v: bringing up the lab ($NODES nodes)"
	variant_up "$v" || die "$v: set-up failed"
	prog "$v: warm-up (2 s)"
	wrk_run keepalive 2 >/dev/null
	runs=$(wrk_pair "$v")
	if [ "$v" = ecmp ] && [ "${BENCH_XDP_REF:-1}" = 1 ]; then
		prog "reference: ecmp with an XDP program that passes everything on every node"
		xdp_pass_ref >"$WORK/ref.json" || die "attaching the pass-everything XDP program failed"
	fi
	prog "$v: disruption: $STREAMS fresh streams for each change: a node added, then n1 drained"
	dis=$(disruption "$v")
	lab_down
	# A variant whose figures did not come out stays in the report, as failed.
	jq -nc --arg name "$v" --arg desc "$(describe "$v")" --argjson runs "${runs:-null}" \
		--argjson dis "${dis:-null}" --argjson secs $(($(date +%s) - t0)) \
		'{ name: $name, description: $desc } + ($runs // { failed: true }) + { disruption: $dis, seconds: $secs }' \
		>"$WORK/v-$v.json" || die "$v: its figures are not JSON"
	prog "$v: done in $(($(date +%s) - t0)) s"
}

# ---- main ----

prog "variants: $VARIANTS; wrk -t$THREADS -c$CONNS -d${DURATION}s; $STREAMS streams; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bg=$(background_busy 2)
prog "the machine is $bg CPUs busy before we start$(awk -v b="$bg" 'BEGIN { if (b > 0.2) printf " (other work: figures will be noisy)" }')"
for v in $VARIANTS; do run_variant "$v"; done
[ -s "$WORK/ref.json" ] || echo null >"$WORK/ref.json"

# Ratios and balancing CPU against ecmp, measured in this run; variants in a fixed order.
ORDER='["shoal","nftables","haproxy","ecmp"]'
jq -s --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson cpus "$(nproc)" --argjson d "$DURATION" --argjson t "$THREADS" --argjson c "$CONNS" \
	--argjson order "$ORDER" --argjson secs "$(($(date +%s) - START))" --argjson bg "$bg" \
	--slurpfile ref "$WORK/ref.json" --arg refdesc "ecmp with a program that passes every packet attached natively to every node's veth uplink: what XDP on a veth does to the lab's path by itself, before shoal's own work (xdp_cpu_us_per_req_*: minus ecmp)" '
	def r(n): (. * n | round) / n;
	def ratio(a; b): if a == null or b == null or b == 0 then null else a / b | r(1000) end;
	def diff(a; b): if a == null or b == null then null else a - b | r(10) end;
	(map(select(.name == "ecmp")) | .[0]) as $e |
	{ machine: { kernel: $kernel, cpu_model: $cpu, cpus: $cpus, busy_cpus_at_start: $bg },
	  duration_s: $d,
	  wrk: { threads: $t, connections: $c, client_addresses: 1 },
	  runtime_s: $secs,
	  variants: [ $order[] as $n | .[] | select(.name == $n) |
		. + { balancer_cpu_us_per_req_close: diff(.close.cpu_us_per_req; $e.close.cpu_us_per_req),
		      balancer_cpu_us_per_req_keepalive: diff(.keepalive.cpu_us_per_req; $e.keepalive.cpu_us_per_req),
		      rps_ratio_to_ecmp_close: ratio(.close.rps; $e.close.rps),
		      rps_ratio_to_ecmp_keepalive: ratio(.keepalive.rps; $e.keepalive.rps) } ],
	  references: (if $ref[0] == null then [] else [ $ref[0] + { name: "ecmp_xdp_pass", description: $refdesc,
		rps_ratio_to_ecmp_close: ratio($ref[0].close.rps; $e.close.rps),
		rps_ratio_to_ecmp_keepalive: ratio($ref[0].keepalive.rps; $e.keepalive.rps),
		xdp_cpu_us_per_req_close: diff($ref[0].close.cpu_us_per_req; $e.close.cpu_us_per_req),
		xdp_cpu_us_per_req_keepalive: diff($ref[0].keepalive.cpu_us_per_req; $e.keepalive.cpu_us_per_req) } ] end) }' \
	"$WORK"/v-*.json >"$OUT" || die "assembling $OUT failed"
prog "wrote $OUT in $(($(date +%s) - START)) s"

# ---- the summary, on stdout ----

row() { printf '%-14s | %8s %6s %7s %7s %6s %7s %7s | %8s %6s %7s %7s %6s %7s %7s\n' "$@"; }
printf '\nshoal against the alternatives, one lab, one run: %s, %s CPUs, kernel %s\n' \
	"$(jq -r .machine.cpu_model "$OUT")" "$(nproc)" "$(uname -r)"
printf 'wrk -t%s -c%s for %ss from one client address to the VIP; %s serving nodes\n' "$THREADS" "$CONNS" "$DURATION" "$NODES"
printf 'cpu: the whole machine'"'"'s busy time per request (µs); bal: that minus ecmp'"'"'s\n\n'
printf '%-14s | %-55s | %-55s\n' "" "new connection per request" "keep-alive"
row VARIANT rps ratio p50ms p99ms errors cpu bal rps ratio p50ms p99ms errors cpu bal
jq -r 'def f: if . == null then "-" else tostring end;
	(.variants[] | [.name, (.close.rps|f), (.rps_ratio_to_ecmp_close|f), (.close.p50_ms|f), (.close.p99_ms|f),
	 (.close.errors|f), (.close.cpu_us_per_req|f), (.balancer_cpu_us_per_req_close|f),
	 (.keepalive.rps|f), (.rps_ratio_to_ecmp_keepalive|f), (.keepalive.p50_ms|f), (.keepalive.p99_ms|f),
	 (.keepalive.errors|f), (.keepalive.cpu_us_per_req|f), (.balancer_cpu_us_per_req_keepalive|f)]),
	(.references[] | ["(ref) xdp_pass", (.close.rps|f), (.rps_ratio_to_ecmp_close|f), (.close.p50_ms|f),
	 (.close.p99_ms|f), (.close.errors|f), (.close.cpu_us_per_req|f), (.xdp_cpu_us_per_req_close|f),
	 (.keepalive.rps|f), (.rps_ratio_to_ecmp_keepalive|f), (.keepalive.p50_ms|f), (.keepalive.p99_ms|f),
	 (.keepalive.errors|f), (.keepalive.cpu_us_per_req|f), (.xdp_cpu_us_per_req_keepalive|f)]) | @tsv' "$OUT" |
	while IFS=$'\t' read -r -a cols; do row "${cols[@]}"; done
jq -r '.variants[] | select(.name == "haproxy" and .close.haproxy_cpu_us_per_req != null) |
	"\nthe haproxy process alone: \(.close.haproxy_cpu_us_per_req) µs/request (close), \(.keepalive.haproxy_cpu_us_per_req) µs/request (keep-alive)"' "$OUT"
jq -r '.references[] | "(ref) xdp_pass: ecmp with a pass-everything XDP program on every node'"'"'s veth uplink (XDP on veth alone; bal: minus ecmp)"' "$OUT"
jq -r '[.variants[] | .close.background_busy_cpus_before, .keepalive.background_busy_cpus_before | select(. != null)] | max // 0 |
	if . > 0.2 then "warning: the machine was up to \(.) CPUs busy with other work just before a run: figures are noisy" else empty end' "$OUT"

drow() { printf '%-9s | %14s %16s | %19s %21s | %13s %15s\n' "$@"; }
printf '\nlong-lived streams (%s, fresh for each change) while a node joins, then while n1 drains\n' "$STREAMS"
drow VARIANT "broken on add" "broken on drain" "http failed on add" "http failed on drain" "added node's" "drained node's"
drow "" "" "" "(during the change)" "(during the change)" "share after" "requests after"
jq -r '.variants[] | def f: if . == null then "-" else tostring end;
	if .disruption == null then [.name, "-", "-", "-", "-", "-", "-"] else .disruption as $d |
	[.name, "\($d.broken_on_add)/\($d.streams_alive_before_add)",
	 "\($d.broken_on_drain)/\($d.streams_alive_before_drain)",
	 "\($d.http_failed_on_add)/\($d.http_requests_on_add)",
	 "\($d.http_failed_on_drain)/\($d.http_requests_on_drain)",
	 (if $d.added_node_share_after == null then "-" else "\($d.added_node_share_after * 100 | round)%" end),
	 "\($d.drained_node_requests_after)/\($d.requests_after_change)"] end | @tsv' "$OUT" |
	while IFS=$'\t' read -r -a cols; do drow "${cols[@]}"; done
printf '\nruntime %s s; JSON in %s\n' "$(($(date +%s) - START))" "$OUT"
exit 0
