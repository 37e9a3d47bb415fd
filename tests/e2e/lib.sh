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

# What explains a failure: every node's verdict counters that moved.
e2e_counters() {
	local i
	for i in $(lab_all_nodes); do
		echo "# $(lab_node_name "$i"): $(lab_shoalctl "$i" -j stats 2>/dev/null |
			jq -c 'with_entries(select(.value.packets > 0)) | map_values(.packets)')"
	done
}

e2e_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

e2e_up() { # NODES MODE
	[ "$(id -u)" = 0 ] || e2e_skip_all "needs root"
	lab_check_tools >/dev/null 2>&1 || e2e_skip_all "lab tools missing (make deps && make)"
	trap 'lab_stream_stop >/dev/null 2>&1; lab_down' EXIT
	trap 'exit 1' INT TERM
	lab_up "$@" 2>&1 | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ] || { not_ok "the lab comes up"; e2e_done; }
}

e2e_done() {
	echo "1..$e2e_n"
	[ "$e2e_failed" = 0 ]
	exit $?
}

# JSON field of the stream client's status.
stream_field() { lab_stream_status | jq -r "$1"; }
