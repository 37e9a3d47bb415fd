#!/bin/sh
# shoald as an operator starts it, on one node in private network and mount namespaces:
# usage and config errors with their exit codes, start, status over the control socket,
# reload, metrics, stop leaving the data plane serving, and a restart that adopts it.
# Prints TAP.
set -u
if [ "${SHOAL_CLI_INNER:-}" != 1 ]; then
	exec env SHOAL_CLI_INNER=1 unshare --net --mount --propagation private "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
D="$root/build/shoald"
S="$root/build/shoalctl"
JQT="$root/tests/jq-true"
pid=""
CLI_CLEANUP='[ -n "$pid" ] && kill -9 $pid 2>/dev/null'

mount -t bpf bpf /sys/fs/bpf || { echo "1..0 # SKIP cannot mount bpffs"; exit 0; }
ip link set lo up
ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:99
ip link set v0 up && ip link set v1 up
ip addr add 198.18.10.1/24 dev v0
ip addr add 198.51.100.10/32 dev lo

cat >"$tmp/ok.yaml" <<YAML
cluster:
  seed: 00112233445566778899aabbccddeeff
  buckets: 251
nodes:
  - { name: a, id: 1, mac: "02:00:00:00:00:01", address: 198.18.10.1 }
daemon:
  heartbeat: 100ms
  dead_after: 300ms
  metrics: 127.0.0.1:9469
vips:
  - address: 198.51.100.10
    port: 8080
    protocol: tcp
    health: { type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }
YAML
chmod 600 "$tmp/ok.yaml"
sock="$tmp/shoald.sock"
pin=/sys/fs/bpf/shoal-test
ctl() { "$S" -P "$pin" -S "$sock" "$@"; }

check "--help exits 0 and explains" sh -c "$D --help | grep -q 'Usage: shoald'"
check "--version names the program" sh -c "$D --version | grep -q '^shoald '"
check "an unknown option is a usage error (2)" rc_is 2 "$D" --frobnicate
check "a stray argument is a usage error (2)" rc_is 2 "$D" extra
check "a missing config fails to start (1) and says which file" \
	sh -c "rc=0; $D -c $tmp/none.yaml -P $pin -s $sock >$tmp/o 2>&1 || rc=\$?; [ \$rc = 1 ] && grep -q none.yaml $tmp/o"
printf 'cluster:\n  seed: 42\n' >"$tmp/bad.yaml"
check "a bad config fails to start (1) with file, line and field" \
	sh -c "rc=0; $D -c $tmp/bad.yaml -P $pin -s $sock >$tmp/o 2>&1 || rc=\$?; [ \$rc = 1 ] && grep -q 'bad.yaml:2: cluster.seed' $tmp/o"
check "a node name not in the config fails to start (1)" \
	sh -c "rc=0; $D -c $tmp/ok.yaml -n zz -P $pin -s $sock >$tmp/o 2>&1 || rc=\$?; [ \$rc = 1 ] && grep -q zz $tmp/o"
check "nothing was left behind by the failed starts" sh -c "[ ! -e $pin ] && [ ! -e $sock ]"

# ---- start ----
# Started directly, not through a function: $! must be shoald itself.
"$D" -c "$tmp/ok.yaml" -P "$pin" -s "$sock" >>"$tmp/log" 2>&1 &
pid=$!
check "shoald starts and serves (alone, after dead_after)" \
	wait_for sh -c "$S -P $pin -S $sock -j status | $JQT '.daemon.state == \"serving\"'"
check "the program is attached to the node's uplink" sh -c "ctl() { $S -P $pin -S $sock \"\$@\"; }; ctl -j status | $JQT '.attached == true or .dev == \"v0\" or (.attachment.dev // \"\") == \"v0\"' || ip link show v0 | grep -q xdp"
check "the control socket is root-only (0600)" sh -c "[ \$(stat -c %a $sock) = 600 ]"
check "a second shoald on the same socket refuses to start (1)" \
	sh -c "rc=0; $D -c $tmp/ok.yaml -P $pin -s $sock >$tmp/o 2>&1 || rc=\$?; [ \$rc = 1 ] && grep -q 'another shoald' $tmp/o"
check "status shows the daemon, its check and no config error" \
	sh -c "$S -P $pin -S $sock status | grep -q 'shoald    serving' && $S -P $pin -S $sock status | grep -q 'check tcp 198.51.100.10:8080'"
# Nothing listens on 8080: the check fails, the node drains itself.
check "the failing check drains the node" \
	wait_for sh -c "$S -P $pin -S $sock -j status | $JQT '.daemon.healthy == false'"
socat TCP-LISTEN:8080,bind=198.51.100.10,fork,reuseaddr /dev/null >/dev/null 2>&1 &
sp=$!
check "a listening service brings it back" \
	wait_for sh -c "$S -P $pin -S $sock -j status | $JQT '.daemon.healthy == true'"
kill $sp 2>/dev/null
check "metrics answer on loopback with HELP/TYPE" \
	sh -c "curl -s --max-time 3 http://127.0.0.1:9469/metrics | grep -q '^# TYPE shoal_packets_total counter'"

# ---- reload ----
sed 's/port: 8080/port: 8081/' "$tmp/ok.yaml" >"$tmp/new.yaml" && chmod 600 "$tmp/new.yaml"
cp "$tmp/ok.yaml" "$tmp/orig.yaml"
mv "$tmp/new.yaml" "$tmp/ok.yaml"
check "a changed file is reloaded (inotify)" \
	wait_for sh -c "$S -P $pin vip list | grep -q 8081"
printf 'cluster: [\n' >"$tmp/ok.yaml"
kill -HUP $pid
check "a broken file on SIGHUP is refused; the error shows in status" \
	wait_for sh -c "$S -P $pin -S $sock status | grep -q 'config error'"
check "and the last good config still serves" sh -c "$S -P $pin vip list | grep -q 8081"
check "the daemon is still running" kill -0 $pid
mv "$tmp/orig.yaml" "$tmp/ok.yaml"
check "the good file back: the error clears" \
	wait_for sh -c "! $S -P $pin -S $sock status | grep -q 'config error'"

# ---- stop and restart ----
prog=$(ctl -j status | jq .daemon.prog_id)
kill -TERM $pid
check "SIGTERM stops shoald with status 0" sh -c "wait $pid 2>/dev/null; true"
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "it logged its stop" grep -q "stopping on signal" "$tmp/log"
pid=""
check "the data plane keeps serving without it (still attached)" sh -c "ip link show v0 | grep -q xdp"
check "status without the daemon says so, and is not an error" \
	sh -c "$S -P $pin -S $sock status >$tmp/o 2>&1; ! grep -q 'shoald    serving' $tmp/o"
"$D" -c "$tmp/ok.yaml" -P "$pin" -s "$sock" >>"$tmp/log" 2>&1 &
pid=$!
check "a new shoald adopts the running data plane" \
	wait_for grep -q "adopted the running data plane" "$tmp/log"
check "with the same program (nothing to swap)" \
	wait_for sh -c "[ \"\$($S -P $pin -S $sock -j status | jq .daemon.prog_id)\" = '$prog' ]"
kill -9 $pid
sleep 0.2
pid=""
check "after kill -9 the program is still attached" sh -c "ip link show v0 | grep -q xdp"
check "and the socket file left behind does not stop the next start" \
	sh -c "($D -c $tmp/ok.yaml -P $pin -s $sock >>$tmp/log 2>&1 &) ; i=0; while [ \$i -lt 50 ]; do $S -P $pin -S $sock -j status 2>/dev/null | $JQT '.daemon.state' >/dev/null && exit 0; i=\$((i+1)); sleep 0.1; done; exit 1"
pkill -TERM -f "shoald -c $tmp/ok.yaml" 2>/dev/null
sleep 0.3
"$S" -P "$pin" detach >/dev/null 2>&1

[ "$failed" = 0 ] || sed 's/^/# log: /' "$tmp/log"
cli_done
