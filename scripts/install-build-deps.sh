#!/usr/bin/env bash
# install-build-deps.sh - the C headers `make build` needs beyond Go: authd's
# cgo modules link libpam (authpam) and libcrypt (crypt(3) for authshadow and
# userdb hashes). Installed with apt-get only when missing and only as root;
# as an ordinary user the missing packages are named and the script fails,
# since the build would fail right after.
set -uo pipefail

missing=()
[ -e /usr/include/security/pam_appl.h ] || missing+=(libpam0g-dev)
[ -e /usr/include/crypt.h ] || missing+=(libcrypt-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-build-deps: missing ${missing[*]} (authd's PAM and crypt modules); as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >&2 ||
	{ apt-get -q update >&2 && apt-get install -y -q "${missing[@]}" >&2; } ||
	{ echo "install-build-deps: cannot install ${missing[*]}" >&2; exit 1; }
