#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shoald under traffic. 200 long-lived streams and bursts of new requests run while:
# shoald is killed (-9) and restarted, stopped (TERM) and restarted, and the BPF program
# is upgraded on every node: no connection may break and no request fail. A node whose
# service fails drains (no new connection lands there, its open ones go on) and comes
# back; when every node's does, none drains (the pool would serve nobody). A bad config keeps the last good one serving, with the error in status and
# metrics. Garbage on the control socket and the peer port gets an error or a count,
# never a change. Metrics move with traffic; shoalctl list shows the VIPs and nodes.
. "$(dirname "$0")/lib.sh"

CONNS=200
e2e_up 4 ecmp
lab_stream_start $CONNS -S 8
if ! lab_stream_ready $CONNS 30; then
	not_ok "$CONNS streams established" "$(lab_stream_status)"
	e2e_done
fi
expect "$CONNS streams established" test "$(stream_field .alive)" = $CONNS

# TCP segments retransmitted, summed over the client and every node: what lost
# packets cost. Reported per change against a window with no change.
retrans() {
	local t=0 ns
	for ns in "$NS_CLIENT" $(for i in $(lab_nodes); do lab_node_ns "$i"; done); do
		t=$((t + $(ip netns exec "$ns" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++)
			if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)))
	done
	echo "$t"
}

daemon_pid() { cat "$(lab_node_dir "$1")/shoald.pid"; }
prog_id() { lab_daemon_status "$1" | jq '.prog_id // empty'; }
counter() { lab_shoalctl "$1" -j stats | jq "[.[].packets] | add"; }
metrics() { lab_node_exec "$1" curl -s --max-time 3 http://127.0.0.1:9469/metrics; }
# The sum of the metric lines matching a pattern.
contains() { printf '%s\n' "$1" | grep -qi -- "$2"; } # TEXT PATTERN
metric_sum() { metrics "$1" | awk -v p="$2" '$0 ~ p && !/^#/ { s += $NF } END { print s + 0 }'; }

# One operation under load: requests during it, then every stream must make progress.
under_load() { # NAME COMMAND...
	local name=$1 before r0 reqs st summary total okc failed
	shift
	before=$(stream_field .broken)
	r0=$(retrans)
	lab_http 300 >"$LAB_RUN/during" &
	reqs=$!
	"$@" || not_ok "$name: the operation itself failed"
	wait "$reqs"
	lab_stream_progress 5 60 || not_ok "$name: streams made progress afterwards" "$(lab_stream_status | jq -c .)"
	st=$(lab_stream_status)
	summary=$(lab_http_summary <"$LAB_RUN/during")
	echo "# $name: streams $(echo "$st" | jq -c '{alive, broken}'), requests during it: $summary," \
		"TCP retransmissions: $(($(retrans) - r0))"
	expect "$name: 0 of $CONNS connections broken" test "$(echo "$st" | jq '.broken')" = "$before"
	read -r total okc failed _ <<<"$summary"
	expect "$name: all $total requests made during it answered" test "$failed" = 0 -a "$okc" = 300
}

quiet() { sleep 2; }
under_load "no operation (baseline)" quiet

# ---- kill -9 and restart ----
pid0=$(daemon_pid 2)
prog0=$(prog_id 2)
kill9_restart() {
	lab_stop_daemon 2 KILL
	lab_start_daemon 2
	lab_wait_converged 30
}
under_load "kill -9 shoald on n2, start it again" kill9_restart
expect "a new shoald runs on n2" test "$(daemon_pid 2)" != "$pid0" -a -n "$(lab_daemon_status 2)"
expect "the program stayed attached (same program id $prog0)" test "$(prog_id 2)" = "$prog0"
expect "it adopted the pinned data plane" grep -q "adopted the running data plane" "$(lab_node_dir 2)/shoald.log"
flaps=$(for i in 1 3 4; do lab_daemon_status "$i" | jq '.peers[] | select(.name == "n2") | .state'; done | sort -u)
expect "its peers never declared it dead (state: $(echo $flaps))" test "$flaps" = '"alive"'

# ---- SIGTERM and a restart slower than dead_after: the goodbye buys it grace ----
term_restart() {
	lab_stop_daemon 3 TERM
	sleep 3		# longer than dead_after (2 s)
	st=$(lab_daemon_status 1 | jq -c '.peers[] | select(.name == "n3")')
	echo "# n1's view of n3 while its shoald is down: $(echo "$st" | jq -c '{state, counts, restart_grace_ms}')"
	lab_start_daemon 3
	lab_wait_converged 30
}
under_load "stop shoald on n3 (TERM), start it 3 s later" term_restart
expect "n3 said goodbye and its peers allowed it grace" grep -q "n3 restarts its daemon" "$(lab_node_dir 1)/shoald.log"
expect "nobody declared n3 dead" sh -c "! grep -q 'peer n3 .*-> dead' $LAB_RUN/n?/shoald.log"

# ---- upgrade the program on every node ----
declare -A before_prog before_count
for i in $(lab_nodes); do before_prog[$i]=$(prog_id "$i"); before_count[$i]=$(counter "$i"); done
upgrade_all() {
	local i
	for i in $(lab_nodes); do lab_shoalctl "$i" upgrade "$E2E_ROOT/build/shoal.bpf.o" >/dev/null || return 1; done
}
under_load "upgrade the BPF program on every node" upgrade_all
sleep 1.2	# each shoald looks for an upgraded program once a second
changed=0 kept=0
for i in $(lab_nodes); do
	p=$(prog_id "$i")
	[ -n "$p" ] && [ "$p" != "${before_prog[$i]}" ] && changed=$((changed + 1))
	[ "$(counter "$i")" -ge "${before_count[$i]}" ] && kept=$((kept + 1))
done
expect "every node runs a new program, and its shoald knows" test "$changed" = 4
expect "its counters carried over (none went back)" test "$kept" = 4

# ---- a failing service drains its node ----
on_n3=$(lab_stream_status | jq '.by_node.n3.alive')
lab_node_exec 3 nginx -c "$(lab_node_dir 3)/nginx.conf" -s stop
wait_peer_health() { # NODE true|false
	local n=0 i ok
	while [ $n -lt 100 ]; do
		ok=1
		for i in $(lab_nodes); do
			[ "$i" = "$1" ] && continue
			[ "$(lab_daemon_status "$i" | jq ".peers[] | select(.name == \"n$1\") | .healthy")" = "$2" ] || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}
expect "nginx stopped on n3: every peer learns its service fails" wait_peer_health 3 false
lab_wait_converged 20
expect "n3 reports itself unhealthy in metrics" test "$(metric_sum 3 '^shoal_healthy')" = 0
summary=$(lab_http 400 | lab_http_summary)
echo "# n3 drained: $summary"
read -r total okc failed _ <<<"$summary"
expect "no new connection lands on n3; all 400 answered elsewhere" \
	test "$okc" = 400 -a "$(echo "$summary" | grep -c 'n3=')" = 0
lab_stream_progress 3 60
expect "n3's $on_n3 open streams go on" test "$(lab_stream_status | jq '.by_node.n3.alive')" = "$on_n3"
lab_node_exec 3 nginx -c "$(lab_node_dir 3)/nginx.conf"
expect "nginx back on n3: every peer learns it is healthy" wait_peer_health 3 true
lab_wait_converged 20
summary=$(lab_http 400 | lab_http_summary)
echo "# n3 back: $summary"
expect "n3 takes new connections again" test "$(echo "$summary" | grep -c 'n3=')" = 1

# ---- an exec check: a maintenance file drains a node ----
# fall 2 and a timeout as long as the interval: one fork that a loaded machine
# delays must not drain a node (with fall 1 and 250 ms, it did, on every node).
export LAB_STREAM_HEALTH="{ type: exec, command: \"test ! -e $LAB_RUN/maintenance.\$SHOAL_NODE\", interval: 500ms, timeout: 500ms, rise: 1, fall: 2 }"
expect "a config with an exec check is taken by every node" lab_push
touch "$LAB_RUN/maintenance.n4"
expect "maintenance file on n4: every peer learns it fails" wait_peer_health 4 false
lab_wait_converged 20
summary=$(lab_http 300 | lab_http_summary)
echo "# n4 in maintenance: $summary"
expect "no new connection lands on n4" test "$(echo "$summary" | grep -c 'n4=')" = 0

rm -f "$LAB_RUN/maintenance.n4"
expect "maintenance file gone: n4 healthy again" wait_peer_health 4 true
unset LAB_STREAM_HEALTH
expect "and the lab's own config again" lab_push

# ---- every node drained: none is, or nobody would be served ----
ownerless() { local i t=0; for i in $(lab_nodes); do
	t=$((t + $(lab_shoalctl "$i" -j stats | jq '.pass_no_table.packets // 0'))); done; echo $t; }
all_drained_on() { local i c=0; for i in $(lab_nodes); do
	[ "$(lab_daemon_status "$i" | jq -c .pools_all_drained)" = "$1" ] && c=$((c + 1)); done; echo $c; }
nt0=$(ownerless)
digest0=$(lab_daemon_status 1 | jq -r .table_digest)
drain_all() { local i; for i in $(lab_nodes); do lab_node_set "$i" 3 drained; done; lab_push; }
under_load "drain every node at once (config)" drain_all
summary=$(lab_http 300 | lab_http_summary)
echo "# every node drained: $summary"
expect "every node says every member of its pool is drained, so none is" test "$(all_drained_on '["default"]')" = 4
expect "the tables did not change" test "$(lab_daemon_status 1 | jq -r .table_digest)" = "$digest0"
expect "new connections are spread over every node (all 4 answered)" \
	test "$(echo "$summary" | grep -o 'n[0-9]=' | wc -l)" = 4
expect "no packet was passed for want of an owner ($nt0 -> $(ownerless))" test "$(ownerless)" = "$nt0"
expect "shoalctl status says so" contains "$(lab_shoalctl 1 status)" "EVERY MEMBER DRAINED"
n=0	# metrics are rendered once a second
while [ "$(metric_sum 1 '^shoal_pool_all_drained')" != 1 ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
expect "and metrics say so" test "$(metric_sum 1 '^shoal_pool_all_drained')" = 1
undrain_most() { local i; for i in 1 2 3; do lab_node_set "$i" 3 active; done; lab_push; }
under_load "n1-n3 undrained, n4 still drained" undrain_most
expect "drains apply again" test "$(all_drained_on '[]')" = 4
summary=$(lab_http 300 | lab_http_summary)
echo "# n4 alone drained: $summary"
expect "no new connection lands on n4" test "$(echo "$summary" | grep -c 'n4=')" = 0
lab_node_set 4 3 active
expect "n4 undrained" lab_push

# ---- a bad config ----
cfg=$(lab_node_dir 1)/cluster.yaml
digest0=$(lab_daemon_status 1 | jq -r .config_digest)
fail0=$(lab_daemon_status 1 | jq .reload_failures)
cp "$cfg" "$LAB_RUN/good.yaml"
printf 'cluster:\n  seed: [oops\n' >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
n=0
while [ "$(lab_daemon_status 1 | jq -r .reload_error)" = null ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
st=$(lab_daemon_status 1)
echo "# status after a broken file: $(echo "$st" | jq -c '{reload_error, reload_failures}')"
expect "the file change was noticed and refused, with the reason in status" \
	test "$(echo "$st" | jq -r .reload_error)" != null -a "$(echo "$st" | jq .reload_failures)" -gt "$fail0"
expect "shoalctl status shows the error" contains "$(lab_shoalctl 1 status)" "config error: "
expect "the old config still serves (same digest)" test "$(echo "$st" | jq -r .config_digest)" = "$digest0"
# Metrics are rendered once a second.
n=0
while [ "$(metric_sum 1 '^shoal_config_last_reload_ok')" != 0 ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
expect "metrics say the last reload failed" test "$(metric_sum 1 '^shoal_config_last_reload_ok')" = 0
summary=$(lab_http 300 | lab_http_summary)
read -r total okc failed _ <<<"$summary"
expect "requests are still answered: $summary" test "$okc" = 300
kill -HUP "$(daemon_pid 1)"
n=0
while [ "$(lab_daemon_status 1 | jq .reload_failures)" -le "$(echo "$st" | jq .reload_failures)" ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
expect "SIGHUP with the same bad file is refused again" \
	test "$(lab_daemon_status 1 | jq .reload_failures)" -gt "$(echo "$st" | jq .reload_failures)"
# Valid YAML that would remap every flow: refused with the reason.
sed 's/buckets: 65537/buckets: 4099/' "$LAB_RUN/good.yaml" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
n=0
while ! contains "$(lab_daemon_status 1 | jq -r .reload_error)" bucket && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
err=$(lab_daemon_status 1 | jq -r .reload_error)
echo "# $err"
expect "a config that changes the table size is refused with the reason" contains "$err" bucket
cp "$LAB_RUN/good.yaml" "$cfg.tmp" && mv "$cfg.tmp" "$cfg"
n=0
while [ "$(lab_daemon_status 1 | jq -r .reload_error)" != null ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
expect "the good file back: the error clears" test "$(lab_daemon_status 1 | jq -r .reload_error)" = null
n=0
while [ "$(metric_sum 1 '^shoal_config_last_reload_ok')" != 1 ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
expect "metrics say the last reload succeeded" test "$(metric_sum 1 '^shoal_config_last_reload_ok')" = 1

# ---- garbage on the control socket ----
sock=$(lab_node_dir 2)/shoald.sock
pid2=$(daemon_pid 2)
ctl_send() { lab_node_exec 2 socat -t 2 -T 2 - "UNIX-CONNECT:$sock" 2>/dev/null; }
errors=0 total=0
for msg in 'hello' '{' '[]' '42' '{"cmd": 7}' '{"cmd": "nuke"}' '{"cmd": "status"' \
	"$(printf '\x01\x02\xff')" "$(head -c 10000 /dev/zero | tr '\0' 'x')" ''; do
	total=$((total + 1))
	r=$(printf '%s\n' "$msg" | ctl_send)
	if [ "$(echo "$r" | jq -r '.error // empty' 2>/dev/null)" != "" ]; then
		errors=$((errors + 1))
	else
		echo "# no error reply to '${msg:0:40}': '$r'"
	fi
done
echo "# control socket: $errors of $total malformed requests answered with an error"
expect "every malformed request gets an error reply" test "$errors" = "$total"
# A client that connects and says nothing, and one that hangs up at once.
(lab_node_exec 2 socat -T 5 "UNIX-CONNECT:$sock" EXEC:'sleep 3' >/dev/null 2>&1 &)
lab_node_exec 2 socat -T 1 "UNIX-CONNECT:$sock" /dev/null </dev/null >/dev/null 2>&1
expect "a silent client does not block others: status still answers" test -n "$(lab_daemon_status 2)"
expect "the daemon is unaffected (same pid, still serving)" \
	test "$(daemon_pid 2)" = "$pid2" -a "$(lab_daemon_status 2 | jq -r .state)" = serving
expect "the control socket is root-only (mode 0600)" test "$(stat -c %a "$sock")" = 600

# ---- garbage on the peer port ----
rej0=$(lab_daemon_status 1 | jq .heartbeats_rejected)
for _ in 1 2 3 4 5; do
	printf 'SHHBnot-a-heartbeat-at-all-but-forty-eight-bytes!' |
		lab_client socat -u - "UDP:$(lab_node_ip 1):7946" 2>/dev/null
	head -c 48 /dev/urandom | lab_node_exec 2 socat -u - "UDP:$(lab_node_ip 1):7946" 2>/dev/null
done
sleep 0.5
rej=$(($(lab_daemon_status 1 | jq .heartbeats_rejected) - rej0))
expect "forged heartbeats, from a stranger or a peer's address, are rejected ($rej counted)" test "$rej" -ge 10
expect "and change nothing: n2 still counts" \
	test "$(lab_daemon_status 1 | jq '.peers[] | select(.name == "n2") | .counts')" = true
tbl=$(echo "" | lab_client socat -T 2 - "TCP:$(lab_node_ip 1):7946" 2>/dev/null | wc -c)
expect "the table hand-over refuses an address that is no peer" test "$tbl" = 0

# ---- metrics ----
m=$(metrics 1)
fam=0
for f in shoal_packets_total shoal_bytes_total shoal_vip_packets_total shoal_vip_bytes_total \
	shoal_table_generation shoal_table_bucket_share shoal_peer_up shoal_healthy shoal_check_up \
	shoal_config_reload_errors_total shoal_heartbeats_total; do
	echo "$m" | grep -q "^# HELP $f " && echo "$m" | grep -q "^# TYPE $f " && fam=$((fam + 1))
done
expect "metrics carry every family with HELP and TYPE lines ($fam of 11)" test "$fam" = 11
p0=$(metric_sum 1 '^shoal_vip_packets_total')
lab_http 200 >/dev/null
sleep 1.2
p1=$(metric_sum 1 '^shoal_vip_packets_total')
expect "VIP packet counters move with traffic ($p0 -> $p1)" test "$p1" -gt "$p0"
share=$(metrics 1 | awk '/^shoal_table_bucket_share/ { s += $NF } END { printf "%.3f", s }')
expect "bucket shares of the pool add up to 1 ($share)" test "$share" = 1.000
expect "the metrics address is loopback only" \
	sh -c "! ip netns exec $(lab_node_ns 1) curl -s --max-time 2 http://$(lab_node_ip 1):9469/metrics >/dev/null"

# ---- listings ----
l=$(lab_shoalctl 1 list)
echo "$l" | sed 's/^/# /'
expect "list shows each VIP (2 IPv4, 2 IPv6) with its 4 nodes" \
	test "$(echo "$l" | grep -c "^TCP  $LAB_VIP")" = 2 -a "$(echo "$l" | grep -c "^TCP  \[\?$LAB_VIP6")" = 2 \
	-a "$(echo "$l" | grep -c '^  -> [0-9[]')" = 16
expect "list --stats adds packet and byte columns" contains "$(lab_shoalctl 1 list --stats)" "Pkts *Bytes"
expect "list --rate adds rate columns" contains "$(lab_shoalctl 1 list --rate)" "PPS *BPS"
js=$(lab_shoalctl 1 -j list --stats)
expect "-j list --stats gives VIPs with packets and nodes" \
	test "$(echo "$js" | jq '[.[] | select(.packets > 0)] | length')" -ge 1 -a "$(echo "$js" | jq '.[0].nodes | length')" = 4
expect "-j list --rate gives rates" test "$(lab_shoalctl 1 -j list --rate | jq '.[0] | has("pps")')" = true

lab_stream_stop >/dev/null
e2e_done
