#!/usr/bin/env bash
# fetch-courier.sh - put Debian's Courier-IMAP binaries in a private directory, for use as
# the test oracle (spec/courier-compat.md §0). Nothing is installed and no service is
# started: the .debs are fetched with `apt-get download` and unpacked with `dpkg -x`.
#
# Usage: scripts/fetch-courier.sh [DEST]
#
# DEST defaults to $KURIER_COURIER_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/kurier/courier
# (per user and outside the work tree, so every clone and CI run on a machine shares it).
#
# Downloads courier-imap, courier-base, libcourier-unicode4 and gamin (gam_server: Debian's
# imapd is built with FAM/Gamin and, without the server, prints an extra
# "* OK [ALERT] Filesystem notification initialization error" before its greeting), and
# courier-authdaemon and courier-authlib-userdb (authdaemond's modules, authtest, userdbpw:
# the oracle of tests/authdcompat), then
# runs ldd on the binaries below and fetches the package of every library reported
# "not found", until none is. Which ones that is depends on the host; on a Go bookworm
# machine it is libidn12, libgamin0 (libfam.so.0), courier-authlib (libcourierauth.so.0)
# and libpcre3; libgdbm6 and libglib2.0-0 are added where the host lacks them.
#
# Layout of DEST, written atomically (built in DEST.tmp.*, then renamed):
#   root/            the unpacked packages (root/usr/bin/imapd, root/usr/bin/maildirmake.courier, ...)
#   debs/            the downloaded .deb files
#   bin/NAME         wrappers that set LD_LIBRARY_PATH and GAMIN_DEBUG_SERVER and exec root/.../NAME;
#                    e.g. COURIER_IMAPD=DEST/bin/imapd for shared/fixtures/make-courier-fixture.py
#   courier.env      KEY=VALUE lines read by kurier/tests/oracle and tests/authdcompat;
#                    paths relative to DEST
#
# The authdaemon part was added without bumping the format (tests/oracle accepts only its
# own format number): a tree that lacks it fails the readiness check and is rebuilt, and
# its courier.env gains keys, which older readers ignore.
#
# When DEST/courier.env exists (same format version) the script prints it and exits: a
# fast no-op. `apt-get update` is run only when a download fails, and only as root;
# without root and without usable package lists the script exits 1 with a message.
# Concurrent runs (parallel `go test` packages) are serialised with flock(1) on DEST.lock,
# which is left in place. A DEST that exists without a courier.env is never replaced.
# Progress goes to standard error; standard output gets only the summary of where things are.
#
# Exit status: 0 when DEST holds a working imapd and maildirmake.courier, 1 otherwise.
set -euo pipefail

prog=fetch-courier
format=1 # bump when the layout of DEST or courier.env changes; older trees are rebuilt

# Packages fetched first; libraries follow from ldd.
base_pkgs=(courier-imap courier-base libcourier-unicode4 gamin courier-authlib courier-authdaemon
	courier-authlib-userdb)
# Binaries whose libraries must all resolve (paths inside root/).
check_bins=(usr/bin/imapd usr/bin/maildirmake.courier usr/bin/maildirkw usr/bin/maildiracl
	usr/bin/deliverquota.courier usr/sbin/couriertcpd usr/lib/courier/courier/imaplogin
	usr/libexec/gam_server usr/lib/courier/courier-authlib/authdaemond usr/sbin/authtest
	usr/sbin/userdbpw usr/lib/courier-authlib/libauthpam.so
	usr/lib/courier-authlib/libauthuserdb.so)
# Binaries that get a wrapper in bin/.
wrap_bins=(usr/bin/imapd usr/bin/maildirmake.courier usr/bin/maildirkw usr/bin/maildiracl
	usr/bin/deliverquota.courier usr/sbin/couriertcpd usr/lib/courier/courier/imaplogin
	usr/lib/courier/courier-authlib/authdaemond usr/sbin/authtest usr/sbin/userdbpw)
dest_var=KURIER_COURIER_DIR
cache_name=courier
envfile=courier.env

# shellcheck source-path=SCRIPTDIR source=lib/debtree.sh
. "$(dirname -- "$0")/lib/debtree.sh"

# report prints where things are, from an existing DEST.
report() {
	local imapd maildirmake version
	imapd=$(sed -n 's/^COURIER_IMAPD=//p' "$dest/courier.env")
	maildirmake=$(sed -n 's/^COURIER_MAILDIRMAKE=//p' "$dest/courier.env")
	version=$(sed -n 's/^COURIER_VERSION=//p' "$dest/courier.env")
	printf 'courier: %s\n' "$version"
	printf 'courier dir: %s\n' "$dest"
	printf 'imapd: %s/%s\n' "$dest" "$imapd"
	printf 'maildirmake: %s/%s\n' "$dest" "$maildirmake"
	printf 'wrappers: %s/bin (e.g. COURIER_IMAPD=%s/bin/imapd)\n' "$dest" "$dest"
	printf 'env: %s/courier.env\n' "$dest"
}

# ready reports whether DEST is complete and of the current format.
ready() {
	[ -f "$dest/courier.env" ] &&
		grep -qx "COURIER_ENV_FORMAT=$format" "$dest/courier.env" &&
		[ -x "$dest/root/usr/bin/imapd" ] && [ -x "$dest/root/usr/bin/maildirmake.courier" ] &&
		grep -q '^COURIER_AUTHDAEMOND=' "$dest/courier.env" && [ -x "$dest/root/usr/sbin/authtest" ]
}

# special_lib prints the package of a library Debian's naming rules do not find.
special_lib() {
	case $1 in
	libcourierauth*.so.*) echo courier-authlib ;;
	libfam.so.0) echo libgamin0 ;; # libfam0 is virtual, provided by libgamin0
	esac
}

parse_args "$@"
if ready; then
	report
	exit 0
fi
begin_tree
fetch_closure

version=$(LD_LIBRARY_PATH=$(prefixed "$work" "$libpath") "$work/root/usr/bin/imapd" --version 2>&1 | head -n1) ||
	die "imapd --version failed: $version"

mkdir "$work/bin"
for bin in "${wrap_bins[@]}"; do
	name=$(basename -- "$bin")
	# shellcheck disable=SC2016 # $top is expanded by the wrapper
	cat >"$work/bin/$name" <<EOF
#!/bin/sh
# Written by kurier scripts/fetch-courier.sh: runs Debian's $name from this private tree.
top=\$(cd -- "\$(dirname -- "\$0")/.." && pwd -P) || exit 1
LD_LIBRARY_PATH="$(prefixed '$top' "$libpath")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
GAMIN_DEBUG_SERVER="\${GAMIN_DEBUG_SERVER:-\$top/root/usr/libexec/gam_server}"
export LD_LIBRARY_PATH GAMIN_DEBUG_SERVER
exec "\$top/root/$bin" "\$@"
EOF
	chmod 755 "$work/bin/$name"
done

cat >"$work/courier.env" <<EOF
# Debian's Courier-IMAP for Kurier's tests, written by scripts/fetch-courier.sh.
# Paths are relative to this file's directory. Read by kurier/tests/oracle.
COURIER_ENV_FORMAT=$format
COURIER_VERSION=$version
COURIER_PACKAGES=$packages
COURIER_LIBDIRS=$libpath
COURIER_IMAPD=root/usr/bin/imapd
COURIER_MAILDIRMAKE=root/usr/bin/maildirmake.courier
COURIER_GAM_SERVER=root/usr/libexec/gam_server
COURIER_AUTHDAEMOND=root/usr/lib/courier/courier-authlib/authdaemond
COURIER_AUTHLIBDIR=root/usr/lib/courier-authlib
COURIER_AUTHTEST=root/usr/sbin/authtest
COURIER_USERDBPW=root/usr/sbin/userdbpw
EOF
finish_tree
report
