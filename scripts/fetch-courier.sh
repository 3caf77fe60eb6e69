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

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "$*"
	exit 1
}

case ${1:-} in
-h | --help)
	sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
-*) die "unknown option $1 (usage: $0 [DEST])" ;;
esac

if [ -n "${1:-}" ]; then
	dest=$1
elif [ -n "${KURIER_COURIER_DIR:-}" ]; then
	dest=$KURIER_COURIER_DIR
else
	cache=${XDG_CACHE_HOME:-}
	if [ -z "$cache" ]; then
		[ -n "${HOME:-}" ] || die "neither HOME nor XDG_CACHE_HOME is set; give DEST as argument"
		cache=$HOME/.cache
	fi
	dest=$cache/kurier/courier
fi
case $dest in /*) ;; *) dest=$PWD/$dest ;; esac
dest=${dest%/}
[ -n "$dest" ] || die "DEST must not be /"

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

if ready; then
	report
	exit 0
fi

# Never replace a directory this script did not write (say KURIER_COURIER_DIR=/usr).
if [ -e "$dest" ] && [ ! -f "$dest/courier.env" ] && [ -n "$(ls -A -- "$dest" 2>/dev/null)" ]; then
	die "$dest exists but holds no courier.env, so it was not written by this script; refusing to replace it"
fi

for tool in apt-get dpkg-deb ldd; do
	command -v "$tool" >/dev/null || die "$tool not found: a Debian (bookworm) host with apt and dpkg is needed"
done

parent=$(dirname -- "$dest")
mkdir -p -- "$parent" 2>/dev/null || die "cannot create $parent (set KURIER_COURIER_DIR or give DEST)"
[ -w "$parent" ] || die "$parent is not writable (set KURIER_COURIER_DIR or give DEST)"

if command -v flock >/dev/null; then
	exec 9>"$dest.lock"
	flock -w 600 9 || die "timed out waiting for $dest.lock"
	if ready; then # another run finished it while we waited
		report
		exit 0
	fi
	rm -rf -- "$dest".tmp.* "$dest".old.* # left by a run that was killed
fi

work=$(mktemp -d "$dest.tmp.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/debs" "$work/root"

apt_opts=(-q)
if [ "$(id -u)" = 0 ]; then
	# Downloading into a root-only directory: let apt fetch as root rather than warn that
	# its _apt sandbox user cannot write there.
	apt_opts+=(-o APT::Sandbox::User=root)
fi
updated=0

# download PKG... fetches the packages' .debs into debs/ (candidate versions), running
# apt-get update once if that fails.
download() {
	local log=$work/apt.log
	if (cd "$work/debs" && apt-get "${apt_opts[@]}" download "$@") >"$log" 2>&1; then
		cat "$log" >&2
		return 0
	fi
	if [ "$updated" = 1 ]; then
		cat "$log" >&2
		die "apt-get download $* failed"
	fi
	if [ "$(id -u)" != 0 ]; then
		cat "$log" >&2
		die "apt-get download $* failed and the package lists look missing or stale; only root can refresh them: run 'apt-get update' as root, or let root run this script with a DEST readable by $(id -un) and set KURIER_COURIER_DIR=DEST"
	fi
	say "apt-get download failed; running apt-get update"
	apt-get -q update >&2 || die "apt-get update failed"
	updated=1
	download "$@"
}

# norm prints a package or library name reduced to what Debian's naming keeps.
norm() { printf '%s' "$1" | tr -d -- '-._+' | tr '[:upper:]' '[:lower:]'; }

# depends lists the packages the downloaded .debs depend on (alternatives included).
depends() {
	local deb
	for deb in "$work"/debs/*.deb; do
		dpkg-deb -f "$deb" Depends Pre-Depends | sed 's/^[A-Za-z-]*: //'
	done | sed 's/([^)]*)//g; s/:[a-z0-9]*//g; s/[[:space:]]//g' | tr '|' ',' | tr ',' '\n' | grep -v '^$' | sort -u
}

# pkg_for SONAME prints the package that ships the library.
pkg_for() {
	local so=$1 stem ver want dep
	case $so in
	libcourierauth*.so.*) echo courier-authlib && return ;;
	libfam.so.0) echo libgamin0 && return ;; # libfam0 is virtual, provided by libgamin0
	libpam.so.0) echo libpam0g && return ;;
	esac
	stem=${so%%.so.*}
	ver=${so#*.so.}
	ver=${ver%%.*}
	want=$(norm "$stem$ver")
	for dep in $(depends); do
		if [ "$(norm "$dep")" = "$want" ]; then
			echo "$dep"
			return
		fi
	done
	# Debian policy 8.1: libfoo.so.N is in libfooN, libfoo2.so.N in libfoo2-N.
	stem=$(printf '%s' "$stem" | tr '_' '-' | tr '[:upper:]' '[:lower:]')
	case $stem in
	*[0-9]) echo "$stem-$ver" ;;
	*) echo "$stem$ver" ;;
	esac
}

unpack() {
	local deb
	for deb in "$work"/debs/*.deb; do
		dpkg -x "$deb" "$work/root"
	done
}

# libdirs prints the directories of root/ that hold shared libraries, relative to DEST.
libdirs() {
	(cd "$work" && find root \( -type f -o -type l \) -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
}

# prefixed PREFIX LIST prints the colon-separated LIST with PREFIX/ before each entry.
prefixed() {
	local out="" dir
	local IFS=:
	for dir in $2; do
		out+="${out:+:}$1/$dir"
	done
	printf '%s' "$out"
}

# missing prints the libraries of check_bins that do not resolve.
missing() {
	local path bin
	path=$(prefixed "$work" "$(libdirs)")
	for bin in "${check_bins[@]}"; do
		[ -e "$work/root/$bin" ] || die "$bin is not in the downloaded packages"
		LD_LIBRARY_PATH=$path ldd "$work/root/$bin" 2>/dev/null | awk '/=> not found/ { print $1 }' || true
	done | sort -u
}

start=$SECONDS
say "downloading ${base_pkgs[*]} into $dest"
download "${base_pkgs[@]}"
fetched=" ${base_pkgs[*]} "
unpack

for round in 1 2 3 4 5 6; do
	libs=$(missing)
	[ -n "$libs" ] || break
	[ "$round" -lt 6 ] || die "libraries still missing after $round rounds: $libs"
	pkgs=()
	for so in $libs; do
		pkg=$(pkg_for "$so")
		case $fetched in
		*" $pkg "*) die "$so is still missing although $pkg was fetched" ;;
		esac
		case " ${pkgs[*]} " in
		*" $pkg "*) ;;
		*) pkgs+=("$pkg") ;;
		esac
		say "missing $so: fetching $pkg"
	done
	download "${pkgs[@]}"
	fetched+="${pkgs[*]} "
	unpack
done

# The packages as downloaded, name=version.
# shellcheck disable=SC2016 # ${Package} is dpkg-deb's, not the shell's
packages=$(for deb in "$work"/debs/*.deb; do dpkg-deb --showformat='${Package}=${Version}\n' -W "$deb"; done | paste -sd' ')
libpath=$(libdirs)
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
rm -f -- "$work/apt.log"
chmod 755 "$work" # mktemp made it 0700; let other users run the oracle too

# Replace an incomplete or outdated tree with the new one.
if [ -e "$dest" ]; then
	old=$(mktemp -d "$dest.old.XXXXXX")
	mv -- "$dest" "$old/"
	rm -rf -- "$old"
fi
mv -- "$work" "$dest"
trap - EXIT
say "fetched in $((SECONDS - start))s: $packages"
report
