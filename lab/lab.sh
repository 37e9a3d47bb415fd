#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The shoal lab: a cluster in network namespaces on one machine.
#
#   client ──► router (ECMP over the nodes) ──► switch (a bridge) ──► node 1..N
#                                 (--fabric l3: a link of its own to each node)
#
# Every node has the VIPs (IPv4 and IPv6) on its loopback (ARP/ND suppressed),
# shoald serving the cluster with the program attached natively to its uplink,
# nginx answering with the node's name and an echo service (lab/echo.c) for long-lived
# connections. Replies go from the node straight to the router (direct server
# return). Everything is dual stack; --ip chooses the family of the nodes' own
# addresses, which shoal's heartbeats and GUE use. On the l2 fabric peers
# forward by MAC (one segment), on l3 by GUE through the router.
#
# As a command:  lab/lab.sh up [--nodes N] [--nexthops ecmp|resilient] [--fabric l2|l3] [--ip 4|6]
#                lab/lab.sh down | status | config
#                lab/lab.sh exec NODE|client|router CMD...
#                lab/lab.sh shoalctl NODE ARGS...
# As a library:  . lab/lab.sh; lab_up 4 ecmp; lab_node_exec 2 ip a; lab_down
#
# Everything lives in namespaces named shl-* and under $LAB_RUN; `down`
# removes all of it and is safe to run any time, twice, or after a failure.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_RUN=${LAB_RUN:-/run/shoal-lab}
LAB_BPF=$LAB_RUN/bpf
SHOALCTL=${SHOALCTL:-$LAB_ROOT/build/shoalctl}
SHOALD=${SHOALD:-$LAB_ROOT/build/shoald}
LAB_STREAM=${LAB_STREAM:-$LAB_ROOT/build/lab/shoal-stream}
LAB_ECHO=${LAB_ECHO:-$LAB_ROOT/build/lab/shoal-echo}
LAB_XDP_PASS=${LAB_XDP_PASS:-$LAB_ROOT/build/lab/xdp_pass.bpf.o}

NS_CLIENT=shl-client
NS_ROUTER=shl-router
NS_SW=shl-sw

# Addresses: only inside the namespaces, from 198.18.0.0/15 (TESTBED.md).
LAB_SEG=198.18.0		# the segment: node i is .i, the router .254
LAB_RTR=198.18.0.254
LAB_CLI_NET=198.18.250		# router .1, client .2
LAB_SRC_NET=198.18.251		# client source addresses .1 .. .$LAB_NSRC
LAB_NSRC=16
LAB_VIP=198.18.200.10
# IPv6, from fd00::/8: the segment (node i is ::i, the router ::fe), the client's link,
# its sources, the VIP. On the l3 fabric node i has 198.19.i.0/24 and fd00:5f:i::/64
# with the router (node .1 / ::1, router .254 / ::fe).
LAB_SEG6=fd00:5e9:
LAB_RTR6=fd00:5e9::fe
LAB_CLI_NET6=fd00:5ec:
LAB_SRC_NET6=fd00:5ed:
LAB_VIP6=fd00:5ee::10
LAB_HTTP_PORT=80
LAB_STREAM_PORT=9000
LAB_SEED=6c61622d73686f616c2d736565642121	# fixed, so runs are comparable
LAB_MAX_NODES=16

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() { lab_log "error: $*"; return 1; }

# The running lab's layout, as lab_up wrote it down. Read again after lab_up when that
# ran in a subshell (a pipeline), or a shell sourcing this would keep the old layout.
lab_layout_load() {
	LAB_FABRIC=$(cat "$LAB_RUN/fabric" 2>/dev/null || echo l2)
	LAB_IPV=$(cat "$LAB_RUN/ipv" 2>/dev/null || echo 4)
	LAB_HASH=$(cat "$LAB_RUN/hash" 2>/dev/null || echo software)
}
lab_layout_load

lab_node_ns() { echo "shl-n$1"; }
lab_node_name() { echo "n$1"; }
lab_node_mac() { printf '02:5b:00:00:00:%02x' "$1"; }
lab_node_ip() { if [ "$LAB_FABRIC" = l3 ]; then echo "198.19.$1.1"; else echo "$LAB_SEG.$1"; fi; }
lab_node_ip6() { if [ "$LAB_FABRIC" = l3 ]; then echo "fd00:5f:$1::1"; else echo "$LAB_SEG6:$1"; fi; }
# The node's address in the cluster config: heartbeats, table hand-over, GUE.
lab_node_addr() { if [ "$LAB_IPV" = 6 ]; then lab_node_ip6 "$1"; else lab_node_ip "$1"; fi; }
# The router on the node's link, and the router's interface toward it.
lab_node_gw() { if [ "$LAB_FABRIC" = l3 ]; then echo "198.19.$1.254"; else echo "$LAB_RTR"; fi; }
lab_node_gw6() { if [ "$LAB_FABRIC" = l3 ]; then echo "fd00:5f:$1::fe"; else echo "$LAB_RTR6"; fi; }
lab_node_rdev() { if [ "$LAB_FABRIC" = l3 ]; then echo "r-$(lab_node_name "$1")"; else echo r-seg; fi; }
# The VIP and client sources of the family tests ask for: LAB_AF=4 (default) or 6.
lab_vip() { if [ "${LAB_AF:-4}" = 6 ]; then echo "$LAB_VIP6"; else echo "$LAB_VIP"; fi; }
lab_vip_url() { if [ "${LAB_AF:-4}" = 6 ]; then echo "[$LAB_VIP6]"; else echo "$LAB_VIP"; fi; }
lab_src() { if [ "${LAB_AF:-4}" = 6 ]; then echo "$LAB_SRC_NET6:$1"; else echo "$LAB_SRC_NET.$1"; fi; }

lab_exec() { # NS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}
lab_node_exec() { local i=$1; shift; ip netns exec "$(lab_node_ns "$i")" "$@"; }
lab_client() { ip netns exec "$NS_CLIENT" "$@"; }
lab_router() { ip netns exec "$NS_ROUTER" "$@"; }
lab_node_dir() { echo "$LAB_RUN/$(lab_node_name "$1")"; }
lab_shoalctl() {
	local i=$1
	shift
	# Bounded like everything in the lab: a stuck daemon must not hang a test.
	lab_node_exec "$i" timeout --foreground -k 5 30 "$SHOALCTL" -P "$LAB_BPF/$(lab_node_name "$i")" \
		-S "$(lab_node_dir "$i")/shoald.sock" "$@"
}

# The lab's node list: "index weight state" lines; state is active, drained or removed.
lab_nodes_file() { echo "$LAB_RUN/nodes"; }
lab_nodes() { # indices of nodes in the cluster (not removed)
	awk '$3 != "removed" { print $1 }' "$(lab_nodes_file)" 2>/dev/null
}
lab_all_nodes() { awk '{ print $1 }' "$(lab_nodes_file)" 2>/dev/null; }
lab_node_field() { awk -v i="$1" -v f="$2" '$1 == i { print $f }' "$(lab_nodes_file)"; }
lab_node_set() { # INDEX FIELD VALUE
	local f
	f=$(lab_nodes_file)
	awk -v i="$1" -v k="$2" -v v="$3" '$1 == i { $k = v } { print }' "$f" >"$f.new" && mv "$f.new" "$f"
}

# ---- the veth settings real NICs do not need, all in one place ----

# A traffic source's own TCP stack leaves checksums to the NIC (CHECKSUM_PARTIAL). A
# frame shoal bounces with XDP_TX has lost that note, and the receiver would drop it
# for a bad checksum: sources compute checksums in software instead.
lab_veth_source() { # NS DEV
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
}

# XDP_TX on a veth is delivered only if the peer veth runs an XDP program too; the
# switch ports run one that passes everything. (Do not enable GRO there: with it the
# frames count as sent but never reach the bridge.)
lab_veth_xdp_peer() { # NS DEV
	ip -n "$1" link set dev "$2" xdpdrv obj "$LAB_XDP_PASS" sec xdp
}

# ---- pieces ----

lab_bpffs() {
	mkdir -p "$LAB_BPF"
	mountpoint -q "$LAB_BPF" || mount -t bpf -o mode=0700 bpf "$LAB_BPF"
}

lab_port() { # NAME(ns-side dev) NS PEER_NAME: a veth whose other end is a switch port
	local dev=$1 ns=$2 port=$3 mac=${4:-}
	ip link add "$port" netns "$NS_SW" type veth peer name "$dev" netns "$ns" ${mac:+address $mac} || return
	ip -n "$NS_SW" link set "$port" master br0 up || return
	lab_veth_xdp_peer "$NS_SW" "$port" || return
	ip -n "$ns" link set "$dev" up
}

lab_nginx_conf() { # INDEX
	local i=$1 name dir
	name=$(lab_node_name "$i")
	dir=$LAB_RUN/$name
	cat <<EOF
# nginx for lab node $name: answers every request with the node's name.
# (root: the lab's files are root-only)
user root;
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx.error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	keepalive_requests 1000000;
	server {
		listen $LAB_HTTP_PORT reuseport backlog=4096;
		listen [::]:$LAB_HTTP_PORT reuseport backlog=4096 ipv6only=on;
		location / {
			add_header X-Node $name always;
			default_type text/plain;
			return 200 "$name\n";
		}
		# 1 MB of the same bytes on every node: downloads that span many full-size segments.
		location = /big {
			add_header X-Node $name always;
			default_type application/octet-stream;
			alias $LAB_RUN/big;
		}
	}
}
EOF
}

lab_node_services() { # INDEX: nginx and the echo service
	local i=$1 name dir
	name=$(lab_node_name "$i")
	dir=$LAB_RUN/$name
	mkdir -p "$dir"
	lab_nginx_conf "$i" >"$dir/nginx.conf"
	# Daemons must not hold the caller's stdout (it may be a pipe someone reads to EOF),
	# and are started as simple commands so that no subshell lingers waiting on them.
	ip netns exec "$(lab_node_ns "$i")" nginx -c "$dir/nginx.conf" </dev/null >/dev/null 2>&1 ||
		return
	# The stream service greets with the node's name, then echoes.
	# One listener, one process, both families (IPv4 arrives as mapped addresses).
	ip netns exec "$(lab_node_ns "$i")" setsid "$LAB_ECHO" "$LAB_STREAM_PORT" "$name" \
		</dev/null >>"$dir/echo.log" 2>&1 &
	# Ready when both listen; bounded.
	local n=0
	until lab_node_exec "$i" ss -Hltn "sport = :$LAB_STREAM_PORT" | grep -q LISTEN &&
		lab_node_exec "$i" ss -Hltn "sport = :$LAB_HTTP_PORT" | grep -q LISTEN; do
		n=$((n + 1))
		[ $n -gt 100 ] && { lab_die "node $name: services did not start"; return 1; }
		sleep 0.05
	done
}

# The router's side of node i's own link (the l3 fabric).
lab_router_port() { # INDEX
	local i=$1 rdev
	rdev=$(lab_node_rdev "$i")
	ip -n "$NS_ROUTER" link set "$rdev" up &&
		ip -n "$NS_ROUTER" addr add "$(lab_node_gw "$i")/24" dev "$rdev" &&
		ip -n "$NS_ROUTER" addr add "$(lab_node_gw6 "$i")/64" dev "$rdev" nodad &&
		lab_router sysctl -qw "net.ipv4.conf.$rdev.rp_filter=0" &&
		lab_veth_source "$NS_ROUTER" "$rdev" &&
		lab_veth_xdp_peer "$NS_ROUTER" "$rdev"
}

lab_node_create() { # INDEX
	local i=$1 ns name
	ns=$(lab_node_ns "$i")
	name=$(lab_node_name "$i")
	ip netns add "$ns" || return
	if [ "$LAB_FABRIC" = l3 ]; then
		ip link add "$(lab_node_rdev "$i")" netns "$NS_ROUTER" type veth peer name eth0 \
			netns "$ns" address "$(lab_node_mac "$i")" || return
		lab_router_port "$i" || return
		ip -n "$ns" link set eth0 up
	else
		lab_port eth0 "$ns" "sw-$name" "$(lab_node_mac "$i")" || return
	fi
	ip -n "$ns" link set lo up
	lab_node_exec "$i" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0 \
		net.ipv6.conf.eth0.accept_ra=0 || return
	ip -n "$ns" addr add "$(lab_node_ip "$i")/24" dev eth0
	ip -n "$ns" addr add "$(lab_node_ip6 "$i")/64" dev eth0 nodad
	ip -n "$ns" route add default via "$(lab_node_gw "$i")"
	ip -n "$ns" -6 route add default via "$(lab_node_gw6 "$i")"
	# The VIPs on loopback; the node must not answer ARP for them (IPVS "DR" style).
	# (IPv6 answers neighbour solicitations only for the receiving interface's addresses.)
	ip -n "$ns" addr add "$LAB_VIP/32" dev lo
	ip -n "$ns" addr add "$LAB_VIP6/128" dev lo nodad
	lab_node_exec "$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
		net.ipv4.tcp_syncookies=1 net.core.somaxconn=4096 || return
	lab_veth_source "$ns" eth0
	lab_node_services "$i"
}

lab_router_nexthops() { # MODE INDICES...: the VIPs' routes over these nodes
	local mode=$1 i args="" args6="" group="" group6=""
	shift
	[ $# -gt 0 ] || { lab_die "no next hops"; return 1; }
	if [ "$mode" = resilient ]; then
		for i in "$@"; do
			ip -n "$NS_ROUTER" nexthop replace id "$i" via "$(lab_node_ip "$i")" \
				dev "$(lab_node_rdev "$i")" || return
			ip -n "$NS_ROUTER" nexthop replace id "$((100 + i))" via "$(lab_node_ip6 "$i")" \
				dev "$(lab_node_rdev "$i")" || return
			group="$group${group:+/}$i"
			group6="$group6${group6:+/}$((100 + i))"
		done
		ip -n "$NS_ROUTER" nexthop replace id 1000 group "$group" type resilient buckets 128 &&
			ip -n "$NS_ROUTER" nexthop replace id 1001 group "$group6" type resilient \
				buckets 128 || return
		ip -n "$NS_ROUTER" route replace "$LAB_VIP/32" nhid 1000 &&
			ip -n "$NS_ROUTER" -6 route replace "$LAB_VIP6/128" nhid 1001
	else
		for i in "$@"; do
			args="$args nexthop via $(lab_node_ip "$i") dev $(lab_node_rdev "$i")"
			args6="$args6 nexthop via $(lab_node_ip6 "$i") dev $(lab_node_rdev "$i")"
		done
		# shellcheck disable=SC2086
		ip -n "$NS_ROUTER" route replace "$LAB_VIP/32" $args &&
			ip -n "$NS_ROUTER" -6 route replace "$LAB_VIP6/128" $args6
	fi
}

# The cluster config, from the node list.
lab_config() {
	local i w s
	cat <<EOF
# Generated by lab/lab.sh for the lab's current membership ($LAB_FABRIC fabric).
cluster:
  seed: $LAB_SEED
  buckets: 65537
  drain: 10m
  forwarding: $([ "$LAB_FABRIC" = l3 ] && echo gue || echo l2)
  flow_hash: $LAB_HASH
nodes:
EOF
	while read -r i w s; do
		[ "$s" = removed ] && continue
		printf '  - { name: %s, id: %d, mac: "%s", address: "%s", weight: %s, state: %s }\n' \
			"$(lab_node_name "$i")" "$i" "$(lab_node_mac "$i")" "$(lab_node_addr "$i")" "$w" "$s"
	done <"$(lab_nodes_file)"
	cat <<EOF
daemon:
  heartbeat: 500ms
  dead_after: 2s
  hold_down: 2s
vips:
  - address: $LAB_VIP
    port: $LAB_HTTP_PORT
    protocol: tcp
    health: { type: http, path: /, expect: 200, interval: 500ms, timeout: 400ms, rise: 2, fall: 2 }
  - address: $LAB_VIP
    port: $LAB_STREAM_PORT
    protocol: tcp
    health: ${LAB_STREAM_HEALTH:-{ type: tcp, interval: 500ms, timeout: 400ms, rise: 2, fall: 2 \}}
  - address: "$LAB_VIP6"
    port: $LAB_HTTP_PORT
    protocol: tcp
    health: { type: http, path: /, expect: 200, interval: 500ms, timeout: 400ms, rise: 2, fall: 2 }
  - address: "$LAB_VIP6"
    port: $LAB_STREAM_PORT
    protocol: tcp
    health: ${LAB_STREAM_HEALTH:-{ type: tcp, interval: 500ms, timeout: 400ms, rise: 2, fall: 2 \}}
EOF
}

# Each node's shoald reads its own copy of the cluster config and reloads when it
# changes (written whole, then renamed into place). With an index argument, that node's
# copy is left alone: it keeps a stale table.
lab_write_configs() { # [SKIP_INDEX]
	local skip=${1:-} i f
	# Root-only, as in production: the file holds the cluster's secret seed.
	(umask 077 && lab_config >"$LAB_RUN/cluster.yaml")
	for i in $(lab_all_nodes); do
		[ "$i" = "$skip" ] && continue
		f="$(lab_node_dir "$i")/cluster.yaml"
		[ -d "$(dirname "$f")" ] || continue
		(umask 077 && cp "$LAB_RUN/cluster.yaml" "$f.new") && mv "$f.new" "$f"
	done
}

lab_start_daemon() { # INDEX
	local i=$1 dir
	dir=$(lab_node_dir "$i")
	# A simple command: no subshell lingers, and the log is the daemon's own.
	ip netns exec "$(lab_node_ns "$i")" setsid "$SHOALD" -c "$dir/cluster.yaml" \
		-P "$LAB_BPF/$(lab_node_name "$i")" -s "$dir/shoald.sock" -d eth0 \
		</dev/null >>"$dir/shoald.log" 2>&1 &
	echo $! >"$dir/shoald.pid"
}

lab_stop_daemon() { # INDEX [SIGNAL]
	local pid n=0
	pid=$(cat "$(lab_node_dir "$1")/shoald.pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	# Gone, or a zombie that our shell has not reaped yet (kill -0 still succeeds on it).
	while kill -0 "$pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
		[ $n -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}

# shoald's status on a node (JSON), or nothing.
lab_daemon_status() { lab_shoalctl "$1" -j status 2>/dev/null | jq -c '.daemon // empty'; }

# Wait (bounded) until every live node's shoald serves the same config and tables.
lab_wait_converged() { # [MAX_SECONDS] [EXCLUDED_INDICES...]
	local max=${1:-30} t=0 i st digests configs bad
	[ $# -gt 0 ] && shift
	while :; do
		digests="" configs="" bad=0
		for i in $(lab_nodes); do
			case " $* " in *" $i "*) continue ;; esac
			st=$(lab_daemon_status "$i")
			if [ -z "$st" ] || [ "$(echo "$st" | jq -r '.state')" != serving ] ||
				[ "$(echo "$st" | jq -r '.reload_error')" != null ]; then
				bad=1
				break
			fi
			digests="$digests $(echo "$st" | jq -r .table_digest)"
			configs="$configs $(echo "$st" | jq -r .config_digest)"
		done
		if [ $bad = 0 ] && [ "$(echo "$digests" | tr ' ' '\n' | sort -u | grep -c .)" = 1 ] &&
			[ "$(echo "$configs" | tr ' ' '\n' | sort -u | grep -c .)" = 1 ]; then
			return 0
		fi
		t=$((t + 1))
		[ $t -ge $((max * 4)) ] && { lab_die "nodes did not converge within ${max}s"; return 1; }
		sleep 0.25
	done
}

# Push the current node list to every node's shoald and wait until they agree.
lab_push() { # [SKIP_INDEX]
	lab_write_configs "$@" || return
	if [ -n "${1:-}" ]; then
		sleep 1 # the skipped node's tables differ on purpose: nothing to wait for
		return 0
	fi
	lab_wait_converged 30
}

lab_router_sync() { # the router's next hops = the cluster's nodes (not removed)
	# shellcheck disable=SC2046
	lab_router_nexthops "$(cat "$LAB_RUN/mode")" $(lab_nodes)
}

# ---- up, down ----

lab_check_tools() {
	local t missing=""
	for t in ip ethtool nginx socat curl ss jq bpftool; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	for t in "$SHOALCTL" "$SHOALD" "$LAB_STREAM" "$LAB_ECHO" "$LAB_XDP_PASS"; do
		[ -e "$t" ] || missing="$missing $t"
	done
	[ -z "$missing" ] || { lab_die "missing:$missing (run: make deps && make)"; return 1; }
}

lab_up() { # [NODES] [ecmp|resilient] [l2|l3] [4|6] [software|nic|auto]
	local n=${1:-4} mode=${2:-ecmp} fabric=${3:-l2} ipv=${4:-4} hash=${5:-software} i s
	case "$n" in '' | *[!0-9]*) lab_die "nodes: '$n' is not a number"; return 1 ;; esac
	[ "$n" -ge 2 ] && [ "$n" -le "$LAB_MAX_NODES" ] || {
		lab_die "nodes: 2 to $LAB_MAX_NODES"
		return 1
	}
	case "$mode" in ecmp | resilient) ;; *) lab_die "nexthops: ecmp or resilient"; return 1 ;; esac
	case "$fabric" in l2 | l3) ;; *) lab_die "fabric: l2 or l3"; return 1 ;; esac
	case "$ipv" in 4 | 6) ;; *) lab_die "ip: 4 or 6"; return 1 ;; esac
	case "$hash" in software | nic | auto) ;; *) lab_die "hash: software, nic or auto"; return 1 ;; esac
	lab_check_tools || return
	lab_down
	mkdir -p "$LAB_RUN" && chmod 0700 "$LAB_RUN" || return
	echo "$mode" >"$LAB_RUN/mode"
	echo "$fabric" >"$LAB_RUN/fabric"
	echo "$ipv" >"$LAB_RUN/ipv"
	echo "$hash" >"$LAB_RUN/hash"
	LAB_FABRIC=$fabric
	LAB_IPV=$ipv
	LAB_HASH=$hash
	: >"$(lab_nodes_file)"
	head -c 1048576 /dev/urandom >"$LAB_RUN/big" || return
	lab_bpffs || { lab_down; return 1; }

	if ! {
		ip netns add "$NS_ROUTER" && ip netns add "$NS_CLIENT" &&
			ip link add r-cli netns "$NS_ROUTER" type veth peer name c-up netns "$NS_CLIENT" &&
			ip -n "$NS_ROUTER" link set lo up && ip -n "$NS_ROUTER" link set r-cli up &&
			ip -n "$NS_CLIENT" link set lo up && ip -n "$NS_CLIENT" link set c-up up &&
			lab_router sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 &&
			lab_client sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 &&
			ip -n "$NS_ROUTER" addr add "$LAB_CLI_NET.1/24" dev r-cli &&
			ip -n "$NS_ROUTER" addr add "$LAB_CLI_NET6:1/64" dev r-cli nodad &&
			ip -n "$NS_CLIENT" addr add "$LAB_CLI_NET.2/24" dev c-up &&
			ip -n "$NS_CLIENT" addr add "$LAB_CLI_NET6:2/64" dev c-up nodad &&
			ip -n "$NS_CLIENT" route add default via "$LAB_CLI_NET.1" &&
			ip -n "$NS_CLIENT" -6 route add default via "$LAB_CLI_NET6:1" &&
			ip -n "$NS_ROUTER" route add "$LAB_SRC_NET.0/24" via "$LAB_CLI_NET.2" &&
			ip -n "$NS_ROUTER" -6 route add "$LAB_SRC_NET6:/64" via "$LAB_CLI_NET6:2" &&
			lab_router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
				net.ipv6.conf.all.forwarding=1 net.ipv6.fib_multipath_hash_policy=1 \
				net.ipv4.conf.all.rp_filter=0 &&
			# Every ICMP error about a VIP flow goes to one destination, the VIP: the
			# per-destination limit (one a second) would make tests wait on TCP timers.
			lab_router sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 &&
			lab_client sysctl -qw net.ipv4.ip_local_port_range="20000 60999" &&
			lab_veth_source "$NS_CLIENT" c-up && lab_veth_source "$NS_ROUTER" r-cli
	}; then
		lab_die "building the client and the router failed"
		lab_down
		return 1
	fi
	# On one segment, the router and the nodes meet at a switch.
	if [ "$fabric" = l2 ] && ! {
		ip netns add "$NS_SW" && ip -n "$NS_SW" link add br0 type bridge &&
			ip -n "$NS_SW" link set br0 up && ip -n "$NS_SW" link set lo up &&
			lab_port r-seg "$NS_ROUTER" sw-router &&
			ip -n "$NS_ROUTER" addr add "$LAB_RTR/24" dev r-seg &&
			ip -n "$NS_ROUTER" addr add "$LAB_RTR6/64" dev r-seg nodad &&
			lab_router sysctl -qw net.ipv4.conf.r-seg.rp_filter=0 &&
			lab_veth_source "$NS_ROUTER" r-seg
	}; then
		lab_die "building the switch failed"
		lab_down
		return 1
	fi
	for s in $(seq 1 "$LAB_NSRC"); do
		ip -n "$NS_CLIENT" addr add "$LAB_SRC_NET.$s/32" dev lo
		ip -n "$NS_CLIENT" addr add "$LAB_SRC_NET6:$s/128" dev lo nodad
	done
	for i in $(seq 1 "$n"); do
		echo "$i 100 active" >>"$(lab_nodes_file)"
		lab_node_create "$i" || { lab_die "node $i failed"; lab_down; return 1; }
	done
	lab_write_configs
	for i in $(seq 1 "$n"); do lab_start_daemon "$i"; done
	lab_wait_converged 30 || { lab_down; return 1; }
	lab_router_sync || { lab_down; return 1; }
	lab_wait_vip || { lab_down; return 1; }
	lab_log "up: $n nodes, $mode next hops, $fabric fabric ($([ "$fabric" = l3 ] && echo GUE || echo L2) forwarding, IPv$ipv node addresses), VIPs $LAB_VIP and $LAB_VIP6 (http :$LAB_HTTP_PORT, stream :$LAB_STREAM_PORT)"
}

# The cluster serves when a request through the router is answered (bounded).
lab_wait_vip() {
	local n=0 v
	for v in "$LAB_VIP" "[$LAB_VIP6]"; do
		until lab_client curl -s -o /dev/null --max-time 2 "http://$v:$LAB_HTTP_PORT/"; do
			n=$((n + 1))
			[ $n -gt 50 ] && { lab_die "the VIP $v does not answer"; return 1; }
			sleep 0.1
		done
	done
}

lab_down() {
	local ns pid i
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^shl-'); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	# Give them a moment, bounded, then insist.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pid=""
		for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^shl-'); do
			pid="$pid$(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -z "$pid" ] && break
		sleep 0.1
	done
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^shl-'); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
	done
	if [ -d "$LAB_BPF" ]; then
		for i in "$LAB_BPF"/*; do
			[ -d "$i" ] && SHOAL_PIN="$i" "$SHOALCTL" detach >/dev/null 2>&1
		done
		umount "$LAB_BPF" 2>/dev/null
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^shl-'); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$LAB_RUN"
	return 0
}

lab_status() {
	local i
	[ -f "$(lab_nodes_file)" ] || { echo "lab: down"; return 0; }
	echo "lab: up, $(cat "$LAB_RUN/mode") next hops, $LAB_FABRIC fabric, IPv$LAB_IPV node addresses, VIPs $LAB_VIP $LAB_VIP6"
	while read -r i w s; do
		printf '  %-4s %-15s %-18s weight %-5s %s\n' "$(lab_node_name "$i")" "$(lab_node_ip "$i")" \
			"$(lab_node_ip6 "$i")" "$w" "$s"
	done <"$(lab_nodes_file)"
	lab_router ip route show "$LAB_VIP"
	lab_router ip -6 route show "$LAB_VIP6"
}

# ---- changes to a running cluster (each keeps every connection) ----

lab_drain() { lab_node_set "$1" 3 drained && lab_push; }
lab_undrain() { lab_node_set "$1" 3 active && lab_push; }
lab_set_weight() { lab_node_set "$1" 2 "$2" && lab_push; }

# Add a node: its peers learn of it first (it counts only once they hear it), then its
# shoald starts, takes the leader's tables and is heard; once all agree, the router
# sends it traffic.
lab_add_node() {
	local i
	i=$(($(lab_all_nodes | sort -n | tail -1) + 1))
	[ "$i" -le "$LAB_MAX_NODES" ] || { lab_die "at most $LAB_MAX_NODES nodes"; return 1; }
	lab_node_create "$i" || return
	echo "$i 100 active" >>"$(lab_nodes_file)"
	lab_write_configs
	lab_start_daemon "$i"
	lab_wait_converged 30 && lab_router_sync && echo "$i"
}

# Remove a node: the router stops sending it traffic first; then the cluster hands its
# buckets over, keeping it as their previous owner while its connections drain.
lab_remove_node() {
	lab_node_set "$1" 3 removed || return
	lab_router_sync && lab_push
}

# A node dies abruptly: its link goes down.
lab_crash_link() { # INDEX up|down: the node's link at the switch, or at the router (l3)
	if [ "$LAB_FABRIC" = l3 ]; then
		ip -n "$NS_ROUTER" link set "$(lab_node_rdev "$1")" "$2"
	else
		ip -n "$NS_SW" link set "sw-$(lab_node_name "$1")" "$2"
	fi
}
lab_crash_node() { lab_crash_link "$1" down; }
lab_revive_node() {
	lab_crash_link "$1" up || return
	# The router's addresses on a link that went down and up are back at once (no DAD),
	# but its routes over the link must be restored.
	[ "$LAB_FABRIC" = l3 ] && lab_router_sync
	return 0
}

# ---- clients ----

# N HTTP requests, each on a new connection, spread over the client's source addresses.
# Prints one line per request: "<http code> <node>"; failures print "000 -".
lab_http() { # N
	local n=${1:-100} per s i pids="" out
	per=$(((n + LAB_NSRC - 1) / LAB_NSRC))
	out=$(mktemp -d)
	for s in $(seq 1 "$LAB_NSRC"); do
		[ $(((s - 1) * per)) -ge "$n" ] && break
		i=$per
		[ $((s * per)) -gt "$n" ] && i=$((n - (s - 1) * per))
		(
			set --
			for _ in $(seq 1 "$i"); do set -- "$@" -o /dev/null "http://$(lab_vip_url):$LAB_HTTP_PORT/"; done
			lab_client curl -s --interface "$(lab_src "$s")" -H 'Connection: close' \
				--connect-timeout 3 --max-time 6 -w '%{http_code} %header{x-node}\n' "$@"
		) >"$out/$s" 2>/dev/null &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
	cat "$out"/* | awk '{ if ($2 == "") $2 = "-"; print $1, $2 }'
	rm -rf "$out"
}

# Summarise lab_http output: "total ok failed node=count ...".
lab_http_summary() {
	awk '{ t++; if ($1 == 200) { ok++; c[$2]++ } else f++ }
	     END { printf "%d %d %d", t, ok, f; for (k in c) printf " %s=%d", k, c[k]; printf "\n" }'
}

# Long-lived streams: started in the background, status in $LAB_RUN/stream<AF>.json.
# One set per family (LAB_AF); every lab_stream_* call acts on its family's set.
lab_stream_file() { echo "$LAB_RUN/stream${LAB_AF:-4}.${1:-json}"; }

lab_stream_start() { # CONNS [extra shoal-stream options]
	local n=${1:-200} s args=""
	shift
	for s in $(seq 1 "$LAB_NSRC"); do args="$args -s $(lab_src "$s")"; done
	rm -f "$(lab_stream_file)"
	# A simple command, not a function: $! must be the client itself (ip netns exec execs it).
	# shellcheck disable=SC2086
	ip netns exec "$NS_CLIENT" "$LAB_STREAM" -n "$n" $args -o "$(lab_stream_file)" "$@" \
		"$(lab_vip_url):$LAB_STREAM_PORT" >/dev/null 2>&1 &
	echo $! >"$(lab_stream_file pid)"
}

lab_stream_status() { # refreshes and prints the status JSON
	local pid n=0 before f
	f=$(lab_stream_file)
	pid=$(cat "$(lab_stream_file pid)" 2>/dev/null) || return 1
	# The client writes its first status once all connections are started.
	while [ ! -s "$f" ] && [ $n -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
		n=$((n + 1))
	done
	n=0
	before=$(stat -c %y "$f" 2>/dev/null)
	kill -USR1 "$pid" 2>/dev/null || { cat "$f"; return; }
	while [ "$(stat -c %y "$f" 2>/dev/null)" = "$before" ] && [ $n -lt 50 ]; do
		sleep 0.02
		n=$((n + 1))
	done
	cat "$f"
}

# Wait until every live stream has made `more` further round trips (bounded by tries).
lab_stream_progress() { # MORE [MAX_SECONDS]
	local more=${1:-5} max=${2:-60} base cur t=0
	base=$(lab_stream_status | jq .echoes)
	while :; do
		sleep 0.5
		t=$((t + 1))
		cur=$(lab_stream_status)
		# Every live connection advanced: the slowest's count grew by `more` since base/alive.
		[ "$(echo "$cur" | jq --argjson b "$base" --argjson m "$more" \
			'.echoes - $b >= .alive * $m and .alive > 0')" = true ] && return 0
		[ $t -ge $((max * 2)) ] && return 1
	done
}

# Wait until all streams are established and greeted (bounded).
lab_stream_ready() { # CONNS [MAX_SECONDS]
	local n=$1 max=${2:-30} t=0 st
	while :; do
		st=$(lab_stream_status)
		[ "$(echo "$st" | jq --argjson n "$n" '.established + .failed_connect >= $n and .min_echoes_alive > 0')" = true ] &&
			return 0
		t=$((t + 1))
		[ $t -ge $((max * 5)) ] && return 1
		sleep 0.2
	done
}

lab_stream_stop() {
	local pid n=0
	pid=$(cat "$(lab_stream_file pid)" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$(lab_stream_file pid)"
	cat "$(lab_stream_file)" 2>/dev/null
}

# ---- command line ----

lab_usage() {
	cat <<EOF
Usage: lab/lab.sh up [--nodes N] [--nexthops ecmp|resilient] [--fabric l2|l3] [--ip 4|6]
                     [--hash software|nic|auto]
                                                         build the lab (N = 2..$LAB_MAX_NODES, default 4;
                                                         l2: one segment, L2 forwarding; l3: a subnet per
                                                         node, GUE forwarding; --ip: the nodes' own
                                                         address family; VIPs are always dual stack;
                                                         --hash: the flow key, nic needs l3)
       lab/lab.sh down                                          remove everything (idempotent)
       lab/lab.sh status                                        nodes and the router's route
       lab/lab.sh config                                        the cluster config the nodes run
       lab/lab.sh exec NODE|client|router CMD...                run a command in a namespace
       lab/lab.sh shoalctl NODE ARGS...                         shoalctl on node NODE (1..N)
Needs root, and the build (make).
EOF
}

lab_main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case "$cmd" in
	up)
		local n=4 mode=ecmp fabric=l2 ipv=4 hash=software
		while [ $# -gt 0 ]; do
			[ $# -ge 2 ] || { lab_usage >&2; return 2; }
			case "$1" in
			--nodes) n=$2; shift 2 ;;
			--nexthops) mode=$2; shift 2 ;;
			--fabric) fabric=$2; shift 2 ;;
			--ip) ipv=$2; shift 2 ;;
			--hash) hash=$2; shift 2 ;;
			*) lab_usage >&2; return 2 ;;
			esac
		done
		lab_up "$n" "$mode" "$fabric" "$ipv" "$hash"
		;;
	down) lab_down ;;
	status) lab_status ;;
	config) lab_config ;;
	exec)
		local who=$1
		shift
		case "$who" in
		client) lab_client "$@" ;;
		router) lab_router "$@" ;;
		*) lab_node_exec "$who" "$@" ;;
		esac
		;;
	shoalctl) lab_shoalctl "$@" ;;
	-h | --help | help) lab_usage ;;
	*) lab_usage >&2; return 2 ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ "$(id -u)" = 0 ] || { echo "lab: needs root" >&2; exit 1; }
	lab_main "$@"
fi
