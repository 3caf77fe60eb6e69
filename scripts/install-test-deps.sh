#!/usr/bin/env bash
# install-test-deps.sh - everything `make test` needs beyond Go itself, installed
# by the project so that a fresh Debian machine (and CI, which runs as root in a
# fresh clone) passes with nothing done by hand.
#
# That is the build's C headers (install-build-deps.sh), the real clients the
# end-to-end tests drive (curl, openssl s_client, python3's imaplib), and
# Debian's Courier-IMAP, unpacked into a private directory by
# fetch-courier.sh (no service is installed or started): the oracle that the
# differential tests compare Kurier against. Run as an ordinary user without
# the package lists, what is missing is named and the tests that need it
# skip, unless CI=true, where they fail rather than pass without it.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-build-deps.sh || exit 1

clients=()
command -v curl >/dev/null || clients+=(curl)
command -v openssl >/dev/null || clients+=(openssl)
command -v python3 >/dev/null || clients+=(python3)
if [ ${#clients[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q "${clients[@]}" >&2 ||
			{ apt-get -q update >&2 && apt-get install -y -q "${clients[@]}" >&2; } ||
			{ echo "install-test-deps: cannot install ${clients[*]}" >&2; exit 1; }
	else
		echo "install-test-deps: missing ${clients[*]}; the end-to-end tests that use them skip" >&2
		[ "${CI:-}" = true ] && exit 1
	fi
fi

if ! bash scripts/fetch-courier.sh >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "install-test-deps: cannot fetch Courier's binaries, needed in CI" >&2
		exit 1
	fi
	echo "install-test-deps: Courier's binaries unavailable; differential tests will skip" >&2
fi
exit 0
