#!/bin/sh
# Install the Debian packages shoal's build, tests and demo need, when missing.
# Usage: scripts/deps.sh [build|test|bench|all]   (default: all; bench: all + what make bench-full compares with)
set -eu

build="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev libjson-c-dev libmicrohttpd-dev \
	libcmocka-dev pkg-config make gcc"
test="iproute2 ethtool jq util-linux nginx-light socat curl tcpdump iputils-ping procps groff-base"
bench="wrk haproxy nftables gnuplot-nox"
set -- ${1:-all}
case "$1" in
build) want="$build" ;;
test) want="$build $test" ;;
all) want="$build $test" ;;
bench) want="$build $test $bench" ;;
*) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
