#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The NIC's RX hash as the flow key (flow_hash: nic) on the L3 fabric: the program is
# loaded bound to each node's uplink and the first hop keys buckets on the hash the
# driver hands XDP (veth: the kernel's flow hash of the skb), never hashing the packet;
# GUE carries the bucket on. Requests answered and spread, 200 streams kept through
# the planned changes, no fallback to software, and the buckets in the GUE headers on
# the wire are not the software hash's - they came from the RX hash.
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp l3 4 nic
st=$(lab_shoalctl 1 -j status)
expect "every node keys flows on the NIC's RX hash" \
	test "$(for i in $(lab_nodes); do lab_shoalctl "$i" -j status | jq -r .flow_hash.source; done | sort -u)" = nic
expect "shoald found the driver implements the RX-hash hint" \
	grep -q "keyed on the NIC's RX hash on eth0 (the driver implements" "$(lab_node_dir 1)/shoald.log"
# A device-bound program cannot be test-run (EINVAL); its unbound twin serves traces.
head -c 64 /dev/zero >"$LAB_RUN/zero64"
bound() { ! bpftool prog run pinned "$LAB_BPF/n1/prog" data_in "$LAB_RUN/zero64" >/dev/null 2>&1 &&
	bpftool prog run pinned "$LAB_BPF/n1/prog_trace" data_in "$LAB_RUN/zero64" >/dev/null 2>&1; }
expect "the attached program is bound to the uplink; traces run on an unbound copy" bound
e2e_spread 1200
LAB_AF=6 e2e_spread 600

# The wire: n1's first-hop GUE packets carry buckets; the software hash of the inner
# 5-tuple (shoalctl flow without rxhash) would give others.
lab_router timeout 10 tcpdump -i "$(lab_node_rdev 1)" -nn -x -c 40 "udp dst port 7947 and src host $(lab_node_ip 1)" \
	>"$LAB_RUN/gue.hex" 2>/dev/null &
cap=$!
sleep 0.5
lab_http 200 >/dev/null
wait "$cap"
checked=0 same=0
while read -r hex; do
	# Outer IPv4 (20) + UDP (8) + GUE: hop at byte 33, bucket at 36; the inner IPv4 at 52.
	[ "${hex:66:2}" = 11 ] || continue
	[ "${hex:70:2}" = 06 ] || [ "${hex:122:2}" = 06 ] || continue
	bucket=$((16#${hex:72:8}))
	src=$(printf '%d.%d.%d.%d' $((16#${hex:128:2})) $((16#${hex:130:2})) $((16#${hex:132:2})) $((16#${hex:134:2})))
	dst=$(printf '%d.%d.%d.%d' $((16#${hex:136:2})) $((16#${hex:138:2})) $((16#${hex:140:2})) $((16#${hex:142:2})))
	sport=$((16#${hex:144:4}))
	dport=$((16#${hex:148:4}))
	sw=$(lab_shoalctl 1 -j flow tcp "$src:$sport" "$dst:$dport" | jq .bucket)
	checked=$((checked + 1))
	[ "$sw" = "$bucket" ] && same=$((same + 1))
done < <(awk '/^[0-9]/ { if (hex != "") print hex; hex = "" }
	/0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) hex = hex $i } END { if (hex != "") print hex }' "$LAB_RUN/gue.hex")
echo "# first-hop GUE packets from n1 checked: $checked; carried bucket equal to the software hash's: $same"
expect "the buckets on the wire came from the RX hash, not a rehash ($checked checked, $same equal)" \
	test "$checked" -ge 10 -a "$same" = 0

# Every node tells how it keys flows; all alike here (veth has no RSS settings: the
# hash is the one kernel's flow hash for every node).
sleep 1
hc=$(lab_shoalctl 1 hash check)
echo "$hc" | sed 's/^/# /'
hash_alike() { lab_shoalctl 1 hash check >/dev/null && [ "$(lab_shoalctl 1 -j hash check | jq 'length')" = 4 ]; }
expect "shoalctl hash check finds all 4 nodes keying flows alike" hash_alike

e2e_continuity 200
fb=0
for i in $(lab_all_nodes); do
	fb=$((fb + $(lab_shoalctl "$i" -j status | jq '[.flow_hash.fallbacks[]] | add')))
done
expect "no packet fell back to the software hash ($fb)" test "$fb" = 0
m=$(lab_node_exec 2 curl -s --max-time 3 http://127.0.0.1:9469/metrics)
metrics_say() { grep -q '^shoal_flow_hash_nic{node="n2"} 1$' <<<"$m" &&
	grep -q '^shoal_hash_fallbacks_total{node="n2",why="hash_no_nic"} 0$' <<<"$m"; }
expect "metrics say so: shoal_flow_hash_nic 1, fallbacks by why" metrics_say
e2e_done
