#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The benchmark report: DIR/report.md and DIR/*.png from the JSON the benchmarks wrote
# there (datapath, compare, scale, micro, live). A missing JSON is a section that says so.
#
#   bench/report.sh DIR
set -u
DIR=${1:?usage: bench/report.sh DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$DIR" || exit 1
R=report.md

have() { [ -s "$1.json" ] && jq -e . "$1.json" >/dev/null 2>&1; }
# jq for the report: a figure a benchmark did not write is "-", and a table that cannot
# be read says so and makes the report exit 1, instead of ending it.
ERR=0
J() {
	jq "$@" || { ERR=$((ERR + 1)); echo "(not readable: jq failed on this table)"; }
}
fmt_ratio() { awk -v v="$1" 'BEGIN { if (v == "" || v == "null") print "-"; else printf "%.2fx", v }'; }

plot() { # NAME SCRIPT: a PNG from a gnuplot script (data files beside it)
	gnuplot -e "set terminal pngcairo size 900,480 font 'sans,10' noenhanced; set output '$1.png'" \
		-e "$2" 2>"$1.plot.log" && rm -f "$1.plot.log" ||
		{ ERR=$((ERR + 1)); echo "report: plot $1 failed (see $DIR/$1.plot.log)" >&2; }
}

{
	echo "# shoal benchmark report"
	echo
	echo "Written by \`make bench-full\` ($(date -u '+%Y-%m-%d %H:%M UTC')), commit" \
		"\`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`."
	echo "Every figure comes with its ratio to a baseline measured in the same run; on this"
	echo "kind of machine (a VM whose speed changes from one second to the next) the ratios"
	echo "are the figures to compare across runs, not the absolute numbers."
	echo
	echo "## The machine"
	echo
	echo "- kernel: $(uname -sr), $(uname -m)"
	echo "- CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs online"
	echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- BPF JIT: $(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo unknown)"
	echo "- tools: $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'), $(haproxy -v 2>/dev/null | head -1 | awk '{ print $1, $3 }'), $(nft --version 2>/dev/null), $(nginx -v 2>&1 | sed 's/.*: //')"
	echo

	echo "## Headlines"
	echo
	if have compare; then
		J -r '
		  def ratio(a; b): if (a | type) == "number" and (b | type) == "number" and b != 0
		                   then "\((a / b * 100 | round) / 100)x" else "-" end;
		  def broken(d): if d then "\((d.broken_on_add // 0) + (d.broken_on_drain // 0))" else "-" end;
		  ((.variants // []) | map({key: .name, value: .}) | from_entries) as $v |
		  ["nftables", "haproxy", "ecmp"][] as $alt | select($v[$alt] and $v.shoal) |
		  "- shoal vs \($alt): \(ratio($v.shoal.close.rps; $v[$alt].close.rps)) the requests/s with a new connection each, \(ratio($v.shoal.keepalive.rps; $v[$alt].keepalive.rps)) with keep-alive; streams broken by one join and one drain: shoal \(broken($v.shoal.disruption)), \($alt) \(broken($v[$alt].disruption)) (of \($v[$alt].disruption.streams // "-"))."
		' compare.json
	else
		echo "- the comparison did not run (see compare.log)"
	fi
	if have datapath; then
		J -r '(.variants // [])[] | select(.name != "trivial_tx" and .name != "trivial_pass") |
		  "- \(.name): \(.mpps_per_core) Mpps per core, \(.cpu_ratio_to_trivial_tx)x the trivial XDP_TX program'"'"'s CPU time per frame" +
		  (if .cpu_ratio_to_trivial_pass then ", \(.cpu_ratio_to_trivial_pass)x the trivial XDP_PASS program'"'"'s" else "" end)' datapath.json
	fi
	echo

	echo "## 1. The data path, live on veth (bench/datapath.c)"
	echo
	if have datapath; then
		echo "One node under test on a veth. The generator (\`shoal-gen\`, BPF_PROG_TEST_RUN live"
		echo "frames) sends $(jq .flows datapath.json) flows of each path's frames into it from one"
		echo "core; what comes back by XDP_TX is counted by an XDP sink, what is passed by a tc"
		echo "ingress sink. Medians of $(jq .rounds datapath.json) rounds; each trial is paired"
		echo "with a trial of the reference program just before it."
		echo
		echo "| path | verdict | Mpps per core | CPU ns per frame | vs trivial XDP_TX | vs trivial XDP_PASS | program ns | description |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
		J -r '(.variants // [])[] | "| `\(.name)` | \(.verdict) \(.reason // "") | \(.mpps_per_core) | \(.cpu_ns_per_pkt) | \(.cpu_ratio_to_trivial_tx)x | \(if .cpu_ratio_to_trivial_pass then "\(.cpu_ratio_to_trivial_pass)x" else "" end) | \(.prog_ns_per_pkt) | \(.description) |"' datapath.json
		echo
		echo "![packets per second per core, by path](datapath.png)"
		J -r '(.variants // [])[] | "\(.name) \(.mpps_per_core) \(.cpu_ratio_to_trivial_tx)"' datapath.json >datapath.dat
		plot datapath "set style fill solid 0.6; set boxwidth 0.6; set yrange [0:*]; set ylabel 'Mpps per core'; set xtics rotate by -30; set grid ytics; set title 'Live veth: frames per second on one core (labels: CPU time per frame over the trivial XDP_TX program)'; plot 'datapath.dat' using 0:2:xtic(1) with boxes notitle, '' using 0:2:(sprintf('%.2fx', \$3)) with labels offset 0,1 notitle"
	else
		echo "Not run: see datapath.log."
	fi
	echo

	echo "## 2. shoal against the alternatives, on the same lab (bench/compare.sh)"
	echo
	if have compare; then
		echo "The lab of \`lab/lab.sh\` (client, ECMP router, switch, nginx on every node);"
		echo "wrk from the client for $(jq .duration_s compare.json) s per figure, $(jq .wrk.threads compare.json) threads, $(jq .wrk.connections compare.json) connections."
		echo "CPU is the whole machine's busy time per request (everything runs here);"
		echo "balancing CPU is that less plain ECMP's, which balances nothing."
		echo
		echo "| balancer | req/s, new conn. | vs ECMP | p50 ms | p99 ms | errors | CPU µs/req | balancing µs/req | req/s, keep-alive | vs ECMP | p50 ms | p99 ms | errors | balancing µs/req |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		J -r '(.variants // [])[] | "| \(.name) | \(.close.rps) | \(.rps_ratio_to_ecmp_close)x | \(.close.p50_ms) | \(.close.p99_ms) | \(.close.errors) | \(.close.cpu_us_per_req) | \(.balancer_cpu_us_per_req_close) | \(.keepalive.rps) | \(.rps_ratio_to_ecmp_keepalive)x | \(.keepalive.p50_ms) | \(.keepalive.p99_ms) | \(.keepalive.errors) | \(.balancer_cpu_us_per_req_keepalive) |"' compare.json
		J -r '(.references // [])[] | "| (reference) \(.name) | \(.close.rps) | \(.rps_ratio_to_ecmp_close)x | \(.close.p50_ms) | \(.close.p99_ms) | \(.close.errors) | \(.close.cpu_us_per_req) | | \(.keepalive.rps) | \(.rps_ratio_to_ecmp_keepalive)x | \(.keepalive.p50_ms) | \(.keepalive.p99_ms) | \(.keepalive.errors) | |"' compare.json
		echo
		echo "Reading it: client, router, switch, balancer and servers all share this machine's"
		echo "$(nproc) CPUs, and wrk keeps them busy ($(jq -r '[.variants[].close.machine_busy_cpus // empty] | max // "?"' compare.json) CPUs at the most), so CPU per request is"
		echo "mostly the CPUs over the request rate, and every extra software hop costs requests."
		echo "A dedicated balancer (nftables, HAProxy) would be a machine of its own; here its work"
		echo "competes with the servers'. shoal bounces each packet that ECMP sent to a node other"
		echo "than its owner (3 in 4 with 4 nodes) back through the lab's software switch, which a"
		echo "real fabric does in hardware; the reference row (ECMP with an XDP_PASS program on every"
		echo "node) shows what XDP on a veth costs by itself. Run to run, these rates vary by about"
		echo "15%: the lab is built afresh for each variant, so they cannot be interleaved."
		echo
		echo "Disruption: long-lived connections open while one serving node joins, then one is drained."
		echo
		echo "| balancer | streams | broken on join | broken on drain | new requests failed on join | on drain | how |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
		J -r '(.variants // [])[] | "| \(.name) | \(.disruption.streams) | \(.disruption.broken_on_add) | \(.disruption.broken_on_drain) | \(.disruption.http_failed_on_add) | \(.disruption.http_failed_on_drain) | \(.description) |"' compare.json
		echo
		echo "![requests per second](compare_rps.png) ![connections broken](compare_disruption.png)"
		J -r '(.variants // [])[] | "\(.name) \(.close.rps) \(.keepalive.rps) \(.disruption.broken_on_add) \(.disruption.broken_on_drain)"' compare.json >compare.dat
		plot compare_rps "set style data histograms; set style histogram clustered gap 1; set style fill solid 0.6; set yrange [0:*]; set ylabel 'requests/s'; set grid ytics; set title 'wrk through each balancer'; plot 'compare.dat' using 2:xtic(1) title 'new connection per request', '' using 3 title 'keep-alive'"
		plot compare_disruption "set style data histograms; set style histogram clustered gap 1; set style fill solid 0.6; set ylabel 'streams broken'; set yrange [0:*]; set grid ytics; set title 'Long-lived connections broken by a join and a drain'; plot 'compare.dat' using 4:xtic(1) title 'node joins', '' using 5 title 'node drained'"
	else
		echo "Not run: see compare.log."
	fi
	echo

	echo "## 3. Scale (bench/scale.c)"
	echo
	if have scale; then
		echo "Per-packet figures with BPF_PROG_TEST_RUN against the trivial program ($(jq .trivial_ns_per_pkt scale.json) ns/pkt in this run)."
		echo
		echo "Table build (\`maglev_build\`):"
		echo
		echo "| nodes | M | ms | ns per bucket | vs 10 nodes, M = 65537 |"
		echo "| ---: | ---: | ---: | ---: | ---: |"
		J -r '(.table_build // [])[] | "| \(.nodes) | \(.m) | \(.ms // "skipped") | \(.ns_per_bucket // "") | \(if .ratio_to_baseline then "\(.ratio_to_baseline)x" else "" end) |"' scale.json
		J -r '(.table_build_skipped // [])[] | "| \(.nodes // "?") | \(.m // "?") | skipped | | |"' scale.json
		echo
		echo "Per-packet cost against the number of VIPs and the pool size:"
		echo
		echo "| VIPs | ns/pkt | vs trivial | vs 1 VIP |"
		echo "| ---: | ---: | ---: | ---: |"
		J -r '(.pkt_cost_vips // [])[] | "| \(.vips) | \(.ns_per_pkt) | \(.ratio_to_trivial)x | \(.ratio_to_first)x |"' scale.json
		echo
		echo "| pool size | ns/pkt | vs trivial | vs 2 nodes |"
		echo "| ---: | ---: | ---: | ---: |"
		J -r '(.pkt_cost_pool // [])[] | "| \(.nodes) | \(.ns_per_pkt) | \(.ratio_to_trivial)x | \(.ratio_to_first)x |"' scale.json
		echo
		echo "Map memory (what the kernel charges for shoal's maps):"
		echo
		echo "| VIPs | pool size | bytes | vs the smallest |"
		echo "| ---: | ---: | ---: | ---: |"
		J -r '(.map_memory // [])[] | "| \(.vips) | \(.nodes) | \(.bytes) | \(.ratio_to_smallest)x |"' scale.json
		echo
		echo "Everything is preallocated, so only the table size M moves it:"
		echo
		echo "| M | bytes | vs M = 65537 |"
		echo "| ---: | ---: | ---: |"
		J -r '(.map_memory_by_m // [])[] | "| \(.m) | \(.bytes) | \(.ratio_to_smallest)x |"' scale.json
		echo
		echo "![table build time](scale_build.png) ![per-packet cost](scale_pkt.png)"
		ms=$(jq -r '[(.table_build // [])[].m] | unique | map(tostring) | join(" ")' scale.json)
		for m in $ms; do
			J -r --argjson m "$m" '(.table_build // [])[] | select(.m == $m and .ms != null) | "\(.nodes) \(.ms)"' \
				scale.json >"scale_build_$m.dat"
		done
		J -r '(.pkt_cost_vips // [])[] | "\(.vips) \(.ns_per_pkt)"' scale.json >scale_vips.dat
		J -r '(.pkt_cost_pool // [])[] | "\(.nodes) \(.ns_per_pkt)"' scale.json >scale_pool.dat
		plot scale_build "set logscale xy; set xlabel 'nodes in the pool'; set ylabel 'ms'; set grid; set key right bottom; set title 'Maglev table build time'; plot for [m in '$ms'] 'scale_build_'.m.'.dat' using 1:2 with linespoints title 'M = '.m"
		plot scale_pkt "set logscale x; set xlabel 'VIPs / nodes in the pool'; set ylabel 'ns per packet'; set yrange [0:*]; set grid; set title 'Per-packet cost (BPF_PROG_TEST_RUN)'; plot 'scale_vips.dat' using 1:2 with linespoints title 'against VIPs', 'scale_pool.dat' using 1:2 with linespoints title 'against pool size', $(jq '.trivial_ns_per_pkt // 0' scale.json) title 'trivial program' dashtype 2"
	else
		echo "Not run: see scale.log."
	fi
	echo

	echo "## 4. Every path with BPF_PROG_TEST_RUN (bench/micro.c)"
	echo
	if have micro; then
		echo "Trivial program: $(jq .floor_ns_per_pkt micro.json) ns/pkt in this run."
		echo
		echo "| path | ns/pkt | vs trivial | verdict | method |"
		echo "| --- | ---: | ---: | --- | --- |"
		J -r '(.paths // [])[] | "| `\(.name)` | \(.ns_per_pkt) | \(.ratio)x | \(.action) \(.reason) | \(.method) |"' micro.json
	else
		echo "Not run: see micro.log."
	fi
	echo

	echo "## 5. Flow hash sources, live on veth (bench/live.c)"
	echo
	if have live; then
		echo "| variant | Mpps per core | CPU ns per packet | vs trivial | program ns |"
		echo "| --- | ---: | ---: | ---: | ---: |"
		J -r '(.variants // [])[] | "| `\(.name)` | \(.mpps_per_core) | \(.cpu_ns_per_pkt) | \(.cpu_ratio_to_trivial)x | \(.prog_ns_per_pkt) |"' live.json
	else
		echo "Not run: see live.log."
	fi
	echo
	echo "Rerun: \`make bench-full\` (as root, on a quiet machine; about 6 minutes). The raw figures are in the JSON"
	echo "files beside this report; the method of each benchmark is in docs/benchmarks.md."
} >"$R"
echo "report: wrote $DIR/$R" >&2
if [ "$ERR" -gt 0 ]; then
	echo "report: $ERR table(s) or plot(s) could not be made" >&2
	exit 1
fi
