#!/bin/sh
# shoalctl as an operator uses it, in private network and mount namespaces:
# exit codes, messages, JSON, apply/attach/detach, and `flow` answering for a
# local and a remote flow the same way the bucket table does. Prints TAP.
set -u
if [ "${SHOAL_CLI_INNER:-}" != 1 ]; then
	# Re-run inside fresh namespaces; they vanish with the process, whatever happens.
	exec env SHOAL_CLI_INNER=1 unshare --net --mount --propagation private "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
S="$root/build/shoalctl"
JQT="$root/tests/jq-true"
cfg="$root/docs/examples/cluster.yaml"

mount -t bpf bpf /sys/fs/bpf || { echo "1..0 # SKIP cannot mount bpffs"; exit 0; }
ip link set lo up
ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:99
ip link set v0 up && ip link set v1 up

check "help exits 0 and explains" sh -c "$S --help | grep -q 'Usage: shoalctl'"
check "no arguments is a usage error (2)" rc_is 2 "$S"
check "unknown object is a usage error (2)" rc_is 2 "$S" frobnicate
check "every object has help" sh -c "for o in apply detach status node vip table stats flow; do $S \$o help | grep -q Usage || exit 1; done"
check "status before apply fails (1) and says why" sh -c "! $S status 2>&1 && $S status 2>&1 | grep -q 'no shoal data plane'"

sed 's/mac: "02:00:00:00:00:02"/mac: "02:00:00:00:00:0z"/' "$cfg" >"$tmp/bad.yaml"
check "bad config is refused naming file, line and field" sh -c \
	"! $S apply $tmp/bad.yaml 2>$tmp/e; grep -q 'bad.yaml:12: nodes\[1\].mac' $tmp/e"
check "bad config leaves nothing behind" sh -c "! ls /sys/fs/bpf/shoal >/dev/null 2>&1"
check "apply check validates without touching anything" sh -c \
	"$S apply $cfg check | grep -q valid && ! ls /sys/fs/bpf/shoal >/dev/null 2>&1"
check "apply finds node-a by MAC and attaches natively to v0" sh -c \
	"$S apply $cfg | grep -q 'node-a (id 1), attached to v0' && ip link show v0 | grep -q 'xdp'"
check "status -j reports the identity" sh -c "$S -j status | $JQT '.self == 1 and .attached and .dev == \"v0\"'"
check "prefix matching: 'n l' lists nodes" sh -c "$S n l | grep -q 'node-c'"
check "table shares follow weights (node-c has 200 of 400)" sh -c \
	"$S -j table show | $JQT '.[0].nodes[] | select(.node == \"node-c\") | .share > 0.49 and .share < 0.51'"

# flow: find a flow this node owns and one it does not; the answers must match the table.
local_port="" remote_port=""
for p in $(seq 40000 40200); do
	$S -j flow tcp 198.18.0.5:$p 198.51.100.10:80 >"$tmp/f" || break
	owner=$(jq -r .owner "$tmp/f")
	if [ "$owner" = node-a ] && [ -z "$local_port" ]; then local_port=$p; cp "$tmp/f" "$tmp/local"; fi
	if [ "$owner" != node-a ] && [ -z "$remote_port" ]; then remote_port=$p; cp "$tmp/f" "$tmp/remote"; fi
	[ -n "$local_port" ] && [ -n "$remote_port" ] && break
done
check "flow: a local flow's SYN is passed here" "$JQT" \
	'.packets[0].action == "PASS" and .packets[0].reason == "pass_syn"' "$tmp/local"
check "flow: a local flow's ACK is passed without a lookup" "$JQT" \
	'.packets[1].action == "PASS" and .packets[1].socket_lookup == false' "$tmp/local"
check "flow: a remote flow is forwarded to its owner" "$JQT" \
	'.packets[0].action == "TX" and .packets[0].reason == "tx_owner" and .packets[0].to == .owner' "$tmp/remote"
bucket=$(jq -r .bucket "$tmp/remote" 2>/dev/null)
owner=$(jq -r .owner "$tmp/remote" 2>/dev/null)
check "flow: the owner is the bucket table's owner" sh -c \
	"$S table show buckets $bucket | grep -Eq '^$bucket +$owner'"
check "flow: a non-VIP destination passes untouched" sh -c \
	"$S flow tcp 198.18.0.5:1 198.51.100.99:80 | grep -q 'not a VIP flow'"
check "flow: bad endpoint is a usage error" rc_is 2 "$S" flow tcp 1.2.3.4 198.51.100.10:80
check "flow from a peer on hop 2 is always passed" sh -c \
	"$S -j flow tcp 198.18.0.5:$remote_port 198.51.100.10:80 from node-b hop 2 | $JQT '.packets[0].reason == \"pass_hop_limit\"'"
# (The interface's own chatter - IPv6 router solicitations - may move the non-IP and
# non-VIP counters meanwhile; a probe would move VIP ones.)
check "flow does not move counters" sh -c \
	"a=\$($S -j stats | jq '[to_entries[] | select(.key != \"pass_not_ip\" and .key != \"pass_not_vip\") | .value.packets] | add'); $S flow tcp 198.18.0.5:1 198.51.100.10:80 >/dev/null; b=\$($S -j stats | jq '[to_entries[] | select(.key != \"pass_not_ip\" and .key != \"pass_not_vip\") | .value.packets] | add'); [ \"\$a\" = \"\$b\" ]"

check "drain moves node-b's buckets away and keeps it as previous owner" sh -c \
	"$S node drain node-b >/dev/null && $S -j table show | $JQT '.[0].nodes[] | select(.node == \"node-b\") | .buckets == 0 and .previous_owner_of > 0'"
check "undrain gives node-b buckets back" sh -c \
	"$S node undrain node-b >/dev/null && $S -j table show | $JQT '.[0].nodes[] | select(.node == \"node-b\") | .buckets > 0'"
check "weight out of range is a usage error" rc_is 2 "$S" node set node-c weight 70000
check "unknown node is an error (1)" rc_is 1 "$S" node drain node-zz
check "vip add and list" sh -c \
	"$S vip add 198.51.100.20:8080/tcp >/dev/null && $S -j vip list | $JQT 'map(.vip) | index(\"198.51.100.20:8080/tcp\") != null'"
check "vip add twice is refused" rc_is 1 "$S" vip add 198.51.100.20:8080/tcp
check "vip del" sh -c \
	"$S vip del 198.51.100.20:8080/tcp >/dev/null && ! $S vip list | grep -q 8080"
check "malformed vip is a usage error" rc_is 2 "$S" vip add 198.51.100.20/tcp
check "an IPv6 VIP needs brackets" rc_is 2 "$S" vip add 2001:db8::1:443/tcp
check "a bad bucket range is a usage error" rc_is 2 "$S" table show buckets abc
check "hop without from is a usage error" rc_is 2 "$S" flow tcp 198.18.0.5:1 198.51.100.10:80 hop 2
check "concurrent edits are all kept" sh -c \
	"for p in 8001 8002 8003 8004; do $S vip add 198.51.100.30:\$p/tcp >/dev/null & done; wait;
	 [ \$($S -j vip list | jq '[.[] | select(.address == \"198.51.100.30\")] | length') -eq 4 ]"
check "table export names the format, the owners and the nodes" sh -c \
	"$S table export $tmp/export.json && $JQT '.format == \"shoal-tables\" and (.pools[0].owners | length) == 65537 and (.nodes | length) >= 4' $tmp/export.json"
check "JSON errors go to stderr as {\"error\": ...}" sh -c \
	"$S -j vip del 203.0.113.1:1/udp 2>&1 >/dev/null | $JQT '.error | test(\"not a VIP\")'"
check "stats names every reason" sh -c "$S -j stats | $JQT 'has(\"tx_owner\") and has(\"drop_peer\") and has(\"pass_not_vip\")'"
check "remove keeps the node while it drains" sh -c \
	"$S node remove node-d >/dev/null; $S node list | grep -q node-c"
# The uplink disappears and comes back: apply attaches to it again.
ip link del v0 2>/dev/null
ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:99
ip link set v0 up && ip link set v1 up
check "after the uplink came back, apply re-attaches" sh -c \
	"$S apply $cfg >/dev/null && $S -j status | $JQT '.attached and .dev == \"v0\"' >/dev/null && ip link show v0 | grep -q xdp"
# A writer stuck holding the state's lock: an edit gives up after a bounded wait and says
# why, rather than hanging the operator's shell; reading needs no lock.
flock /sys/fs/bpf/shoal sleep 15 &
lk=$!
sleep 0.3
check "reading while another writer holds the lock works" sh -c "$S node list | grep -q node-b"
check "an edit while another writer holds the lock fails within 10 s, saying why" sh -c \
	"! timeout 25 $S node drain node-b 2>$tmp/e; grep -q 'has held it for 10 s' $tmp/e"
kill $lk 2>/dev/null
wait $lk 2>/dev/null
check "once the lock is free, the edit goes through" sh -c "$S node drain node-b >/dev/null && $S node undrain node-b >/dev/null"
# Every node drained: none is (a table with no owner would serve nobody), and apply and
# table show say so.
sed 's/, state: drained//; s/address: 198.18.10.[0-9]*/&, state: drained/' "$cfg" >"$tmp/all-drained.yaml"
check "apply of a config with every node drained says none is" sh -c \
	"$S apply $tmp/all-drained.yaml | grep -q 'every member is drained, so none is'"
check "table show says so, and every node owns buckets" sh -c \
	"$S -j table show | $JQT '.[0].all_drained and ([.[0].nodes[] | select(.buckets > 0)] | length) == 4' &&
	 $S table show | grep -q 'every member is drained'"
check "apply -j reports it per pool" sh -c "$S -j apply $tmp/all-drained.yaml | $JQT '.pools[0].all_drained'"
check "the config back: node-d alone drained, and owns nothing" sh -c \
	"$S -j apply $cfg | $JQT '.pools[0].all_drained | not' >/dev/null &&
	 $S -j table show | $JQT '.[0].nodes[] | select(.node == \"node-d\") | .buckets == 0'"
check "non-root is refused" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups $S status 2>&1 | grep -q 'needs root' && exit 1 || exit 0"
check "detach removes the program and the state" sh -c \
	"$S detach >/dev/null && ! ip link show v0 | grep -q xdp && ! ls /sys/fs/bpf/shoal >/dev/null 2>&1"

# State left by another shoal version (here: its ABI number changed) is refused, not misread,
# and detach still removes it.
$S apply "$cfg" >/dev/null 2>&1
conf_hex=$(bpftool -j map lookup pinned /sys/fs/bpf/shoal/conf key 0 0 0 0 | jq -r '.value | map(.[2:]) | join(" ")')
set -- $conf_hex
i=0 new=""
for b in "$@"; do
	if [ $i -eq 36 ]; then b=63; fi
	new="$new 0x$b"
	i=$((i + 1))
done
bpftool map update pinned /sys/fs/bpf/shoal/conf key 0 0 0 0 value $new 2>/dev/null
check "state from another version is refused with the reason" sh -c \
	"! $S status 2>$tmp/e; grep -q 'another shoal version' $tmp/e"
check "detach removes another version's state" sh -c \
	"$S detach >/dev/null && ! ip link show v0 | grep -q xdp && ! ls /sys/fs/bpf/shoal >/dev/null 2>&1"

cli_done
