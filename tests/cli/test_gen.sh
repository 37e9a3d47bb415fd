#!/bin/sh
# shoal-gen, the traffic generator of the benchmarks, on a veth pair in a private network
# namespace: usage errors and their exit codes, every frame sent arriving at the sink, and
# frames that are right on the wire (distinct 5-tuples, checksums tcpdump calls correct)
# for IPv4 TCP, IPv6 UDP, SYN and established, minimal and padded sizes. Prints TAP.
set -u
if [ "${SHOAL_CLI_INNER:-}" != 1 ]; then
	exec env SHOAL_CLI_INNER=1 unshare --net --mount --propagation private "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
G="$root/build/bench/shoal-gen"
PASS_OBJ="$root/build/lab/xdp_pass.bpf.o"
usage_error() { rc_is 2 "$G" "$@" && says "$MSG"; }

[ -x "$G" ] || { echo "1..0 # SKIP $G not built (make build/bench/shoal-gen)"; exit 0; }
command -v tcpdump >/dev/null 2>&1 || { echo "1..0 # SKIP tcpdump missing (make deps)"; exit 0; }
ip link set lo up
ip link add ga address 02:00:00:00:0a:01 type veth peer name gb address 02:00:00:00:0b:01
ip link set ga up && ip link set gb up
# No IPv6 chatter on the pair: every frame on it is the generator's.
sysctl -qw net.ipv6.conf.ga.disable_ipv6=1 net.ipv6.conf.gb.disable_ipv6=1

# ---- usage ----
check "--help prints the usage and exits 0" sh -c "'$G' --help | grep -q 'shoal-gen send'"
check "no arguments: usage on stderr, exit 2" rc_is 2 "$G"
MSG="unknown command"; check "an unknown command: exit 2, named" usage_error frob
MSG="needs --dev, --src and --dst"; check "send without --src: exit 2, says what is missing" usage_error send --dev ga --dst 198.18.4.1
MSG="--flows"; check "--flows 0: exit 2" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --flows 0
MSG="--flows"; check "--flows past 2^24: exit 2" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --flows 16777217
MSG="one family"; check "IPv6 source with an IPv4 destination: exit 2" usage_error send --dev ga --src fd00::1 --dst 198.18.4.1 --sink gb
MSG="frame size"; check "--size below the headers: exit 2, says the range" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --size 40 --sink gb
MSG="--tcp"; check "--tcp fin: exit 2" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --tcp fin
MSG="not a MAC"; check "a bad --dst-mac: exit 2" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --dst-mac 02:00
MSG="--dst-mac, or --sink"; check "no destination MAC and no sink: exit 2" usage_error send --dev ga --src 198.18.3.1 --dst 198.18.4.1
MSG="would wrap"; check "more flows than the source address's last 16 bits hold: exit 2" usage_error send --dev ga --src 198.18.3.255 --dst 198.18.4.1 --sport 65535 --flows 65536 --sink gb
check "an interface that is not there: exit 1, named" sh -c "
	'$G' send --dev nope0 --src 198.18.3.1 --dst 198.18.4.1 --sink gb 2>'$tmp/e' >/dev/null
	[ \$? = 1 ] && grep -q \"'nope0': no such interface\" '$tmp/e'"
MSG="unexpected argument"; check "a stray argument: exit 2" usage_error sink --dev gb extra

# ---- every frame arrives ----
sent_all() { # COUNT ARGS...: JSON says sent == received == COUNT
	c=$1
	shift
	"$G" send --dev ga --sink gb --count "$c" -j "$@" >"$tmp/j" || return 1
	jq -e --argjson c "$c" '.frames_sent == $c and .frames_received == $c' "$tmp/j" >/dev/null ||
		{ cat "$tmp/j" >&2; return 1; }
}
check "200,000 IPv4 TCP frames over 100,000 flows: all arrive at the XDP sink" \
	sent_all 200000 --src 198.18.3.1 --dst 198.18.4.1 --flows 100000
check "100,000 IPv6 UDP frames of 1,500 bytes: all arrive" \
	sent_all 100000 --src fd00::1 --dst fd00::2 --proto udp --dport 53 --size 1500
check "the JSON gives the rate and the frame size" \
	sh -c "jq -e '.sent_pps > 0 and .received_pps > 0 and .frame_bytes == 1500' '$tmp/j' >/dev/null"

# ---- the frames on the wire ----
# gb passes what arrives to its stack, where tcpdump sees it (bounded by count and time).
ip link set dev gb xdpdrv obj "$PASS_OBJ" sec xdp
capture() { # COUNT FILE GEN_ARGS...
	c=$1 f=$2
	shift 2
	timeout 10 tcpdump -i gb -nn -vv -c "$c" -l >"$f" 2>/dev/null &
	tp=$!
	# tcpdump is ready once the interface is in promiscuous mode... or shortly after: poll.
	i=0
	while ! ip link show gb | grep -q PROMISC && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.3
	"$G" send --dev ga --dst-mac 02:00:00:00:0b:01 --count "$c" "$@" >/dev/null || return 1
	wait $tp
	[ "$(grep -c ' > ' "$f")" -ge "$c" ]
}
check "64 IPv4 TCP ACKs over 16 flows are captured" \
	capture 64 "$tmp/t4" --src 198.18.3.1 --dst 198.18.4.1 --sport 40000 --flows 16 --tcp ack
check "... with 16 distinct source ports, 40000 .. 40015" \
	sh -c "[ \$(grep -o '198\.18\.3\.1\.[0-9]* >' '$tmp/t4' | sort -u | wc -l) = 16 ] && grep -q '198.18.3.1.40015 >' '$tmp/t4' && ! grep -q '198.18.3.1.40016 >' '$tmp/t4'"
check "... every TCP checksum correct, flags ACK" \
	sh -c "[ \$(grep -c 'cksum 0x[0-9a-f]* (correct)' '$tmp/t4') -ge 64 ] && ! grep -q -e incorrect -e 'bad cksum' '$tmp/t4' && grep -q 'Flags \[\.\]' '$tmp/t4'"
check "past port 65535 the next source address: 12 flows from 198.18.3.1:65530" \
	capture 24 "$tmp/w4" --src 198.18.3.1 --dst 198.18.4.1 --sport 65530 --flows 12 --tcp syn
check "... 6 ports on each of 198.18.3.1 and 198.18.3.2, all checksums correct, SYNs" \
	sh -c "[ \$(grep -o '198\.18\.3\.[12]\.[0-9]* >' '$tmp/w4' | sort -u | wc -l) = 12 ] && grep -q '198.18.3.2.65535 >' '$tmp/w4' && ! grep -q -e incorrect -e 'bad cksum' '$tmp/w4' && grep -q 'Flags \[S\]' '$tmp/w4'"
check "32 IPv6 UDP datagrams of 200 bytes over 8 flows are captured" \
	capture 32 "$tmp/u6" --src fd00::1 --dst fd00::2 --proto udp --dport 9 --sport 5000 --flows 8 --size 200
check "... 8 distinct source ports, UDP checksums correct, 200-byte frames" \
	sh -c "[ \$(grep -o 'fd00::1\.[0-9]* >' '$tmp/u6' | sort -u | wc -l) = 8 ] && [ \$(grep -c 'udp sum ok' '$tmp/u6') -ge 32 ] && grep -q 'payload length: 146' '$tmp/u6'"
check "a sink where an XDP program runs already is refused (exit 1), and that program stays" sh -c "
	'$G' send --dev ga --src 198.18.3.1 --dst 198.18.4.1 --sink gb --count 10 2>'$tmp/e' >/dev/null
	[ \$? = 1 ] && grep -q 'runs there already' '$tmp/e' && ip link show gb | grep -q 'prog/xdp'"
ip link set dev gb xdpdrv off

# ---- the sink command ----
check "sink --seconds 3 counts what a sender sends meanwhile" sh -c "
	'$G' sink --dev gb --seconds 3 -j >'$tmp/s' &
	sp=\$!
	i=0
	until ip link show gb | grep -q 'prog/xdp'; do i=\$((i + 1)); [ \$i -gt 50 ] && exit 1; sleep 0.05; done
	'$G' send --dev ga --dst-mac 02:00:00:00:0b:01 --src 198.18.3.1 --dst 198.18.4.1 --count 50000 >/dev/null
	wait \$sp
	jq -e '.frames_received == 50000' '$tmp/s' >/dev/null"

cli_done
