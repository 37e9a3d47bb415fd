#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench-full: every benchmark, then build/bench/report.md with PNG plots.
#
#   bench/full.sh [OUTDIR]        (default build/bench; as root, after make and
#                                  scripts/deps.sh bench)
#
# 1. datapath  shoal's paths live on veth against the trivial XDP_TX/XDP_PASS programs
# 2. compare   shoal vs nftables, HAProxy and plain ECMP on the same lab (wrk, disruption)
# 3. scale     table builds, map memory and per-packet cost against VIPs and pool size
# 4. micro     every path's cost with BPF_PROG_TEST_RUN, against the trivial program
# 5. live      the flow hash sources (software vs the NIC's RX hash), live on veth
# Then the report: every figure with its ratio to a baseline measured in the same run.
# A benchmark never fails on a timing; one that cannot run is reported as such, and the
# script exits 1 at the end if any did.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/build/bench}
BIN=${BENCH_BIN:-$ROOT/build/bench}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac

[ "$(id -u)" = 0 ] || { echo "bench-full: needs root" >&2; exit 1; }
for t in jq gnuplot wrk haproxy nft; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench-full: missing $t (run: scripts/deps.sh bench)" >&2; exit 1; }
done
for b in datapath scale micro live; do
	[ -x "$BIN/$b" ] || { echo "bench-full: missing $BIN/$b (run: make bench-full)" >&2; exit 1; }
done
mkdir -p "$OUT" || exit 1

START=$(date +%s)
FAILED=""
say() { printf 'bench-full: [%s +%ds] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - START))" "$*" >&2; }

# Each step's progress goes to the terminal and to its log; its table to OUT/NAME.txt.
step() { # N NAME CMD...
	local n=$1 name=$2 t0
	shift 2
	t0=$(date +%s)
	say "$n/5 $name: $*"
	if "$@" >"$OUT/$name.txt" 2> >(tee "$OUT/$name.log" >&2); then
		say "$n/5 $name: done in $(($(date +%s) - t0)) s"
	else
		say "$n/5 $name: FAILED after $(($(date +%s) - t0)) s (see $OUT/$name.log)"
		FAILED="$FAILED $name"
		rm -f "$OUT/$name.json"
	fi
}

step 1 datapath "$BIN/datapath" "$OUT/datapath.json"
step 2 compare "$ROOT/bench/compare.sh" "$OUT/compare.json"
step 3 scale "$BIN/scale" "$OUT/scale.json"
step 4 micro "$BIN/micro" "$OUT/micro.json"
step 5 live "$BIN/live" "$OUT/live.json"

say "report: $OUT/report.md and plots"
"$ROOT/bench/report.sh" "$OUT" || FAILED="$FAILED report"
say "all done in $(($(date +%s) - START)) s${FAILED:+; failed:$FAILED}"
[ -z "$FAILED" ]
