# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the CLI tests (POSIX sh): TAP output, checks that keep what a command said,
# and a scratch directory removed however the test ends. Source it after `set -u`;
# a test that needs its own cleanup sets CLI_CLEANUP to a command run before the
# scratch directory goes.

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
CLI_CLEANUP=:
trap 'eval "$CLI_CLEANUP"; rm -rf "$tmp"' EXIT
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && echo "# $2"; }
# check NAME COMMAND...: the command must succeed; its output explains a failure.
check() {
	name=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$name"; else
		not_ok "$name" "$(head -c 600 "$tmp/err" "$tmp/out" | tr '\n' ' ')"
	fi
}
# rc_is RC COMMAND...: the command exits with RC; its output stays in $tmp/out, $tmp/err.
rc_is() { want=$1; shift; "$@" >"$tmp/out" 2>"$tmp/err"; [ $? -eq "$want" ]; }
# says TEXT: the last command's output (either stream) contains TEXT.
says() { grep -q -- "$1" "$tmp/err" "$tmp/out"; }
# wait_for COMMAND...: until it succeeds, 10 s at most.
wait_for() { i=0; while ! "$@" >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge 100 ] && return 1; sleep 0.1; done; }
# The plan, and the exit status the runner counts.
cli_done() { echo "1..$n"; [ "$failed" -eq 0 ]; }
