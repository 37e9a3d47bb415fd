#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The lab itself: up twice and down twice are fine, a failed up leaves nothing
# behind, eight nodes work, and `down` removes every namespace, mount and file.
. "$(dirname "$0")/lib.sh"

left_behind() {
	ip netns list | grep -c '^shl-'
}

e2e_up 3 ecmp
lab_up 3 ecmp >/dev/null 2>&1
expect "up on a running lab rebuilds it" test "$(ip netns list | grep -c '^shl-n')" = 3
lab_down
lab_down
expect "down twice leaves no namespace behind" test "$(left_behind)" = 0
expect "down leaves no state directory or mount behind" \
	sh -c "! test -e '$LAB_RUN' && ! grep -q '$LAB_RUN' /proc/mounts"

lab_up 99 ecmp >/dev/null 2>&1
expect "a bad node count is refused" test $? -ne 0
# A failure half-way (here: the second node's services do not start) tears it all down.
(
	lab_node_services() { [ "$1" != 2 ]; }
	lab_up 3 ecmp >/dev/null 2>&1
)
rc=$?
expect "an up that fails half-way says so" test "$rc" -ne 0
expect "an up that fails half-way leaves nothing behind" test "$(left_behind)" = 0

e2e_up 8 ecmp
summary=$(lab_http 800 | lab_http_summary)
echo "# 8 nodes: $summary"
read -r total okc failed rest <<<"$summary"
expect "eight nodes serve: 800 requests answered" test "$okc" = 800
expect "all eight answered some" test "$(echo "$rest" | wc -w)" = 8
e2e_done
