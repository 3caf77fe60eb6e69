#!/usr/bin/env bash
# install-test-deps.sh - everything `make test` needs beyond Go itself, installed
# by the project so that a fresh Debian machine (and CI, which runs as root in a
# fresh clone) passes with nothing done by hand.
#
# That is the C headers authd's cgo modules build against (below), and
# Debian's Courier-IMAP, unpacked into a private directory by fetch-courier.sh
# (no service is installed or started): the oracle that the differential tests
# compare Kurier against. Run as an ordinary user without
# the package lists, the fetch fails; the differential tests then skip, unless
# CI=true, where they fail rather than pass without their oracle.
set -uo pipefail
cd "$(dirname "$0")/.."

# authd's cgo modules need libpam's and libcrypt's headers to build (authpam,
# and crypt(3) for authshadow and userdb hashes). Installed with apt-get only
# when missing, and only as root; otherwise the missing packages are named.
missing=()
[ -e /usr/include/security/pam_appl.h ] || missing+=(libpam0g-dev)
[ -e /usr/include/crypt.h ] || missing+=(libcrypt-dev)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
			{ apt-get -q update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; } ||
			{ echo "install-test-deps: cannot install ${missing[*]}" >&2; exit 1; }
	else
		echo "install-test-deps: missing ${missing[*]} (needed to build authd with cgo); as root: apt-get install ${missing[*]}" >&2
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
