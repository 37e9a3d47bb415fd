#!/bin/sh
# Run test suites and print one closing line "N passed, N failed" (N skipped when any).
# Usage: tests/run.sh unit|e2e|all [unit test binaries...]
# Unit binaries speak TAP (cmocka); e2e scripts print "ok"/"not ok" lines the same way.
set -u
layer=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Every suite is bounded: one that hangs is killed (with its process group; e2e suites
# then tear their lab down from their EXIT trap) and counted as a failure, so the run
# always ends and says where it stuck.
limit=${SHOAL_SUITE_TIMEOUT:-420}

run_tap() { # name, command...
	name=$1
	shift
	echo "== $name"
	t0=$(date +%s)
	CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 30 "$limit" "$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log" | tr -d ' ')
	s=$(grep -c '^ok .*# *SKIP' "$log" | tr -d ' ')
	f=$(grep -c '^not ok ' "$log" | tr -d ' ')
	p=$((p - s))
	# A whole suite that says "1..0 # SKIP why" counts as one skip.
	s=$((s + $(grep -c '^1\.\.0 *# *SKIP' "$log" | tr -d ' ')))
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok - $name did not finish within $limit s (killed)"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	echo "# $name: $(($(date +%s) - t0)) s"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

if [ "$(id -u)" != 0 ]; then
	echo "tests need root (BPF and network namespaces): run as root" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

case "$layer" in
unit | all)
	for t in "$@"; do
		run_tap "unit/$(basename "$t")" "$t"
	done
	for t in "$root"/tests/cli/test_*.sh; do
		[ -e "$t" ] || continue
		run_tap "cli/$(basename "$t")" "$t"
	done
	;;
esac
case "$layer" in
e2e | all)
	for t in "$root"/tests/e2e/test_*.sh; do
		[ -e "$t" ] || continue
		run_tap "e2e/$(basename "$t")" "$t"
	done
	;;
esac

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
