#!/usr/bin/env bash
# fetch-dovecot.sh - put Debian's Dovecot 2.3 binaries in a private directory, as the
# second peer of the benchmarks (tests/bench). Nothing is installed and no service is
# started: the .debs are fetched with `apt-get download` and unpacked with `dpkg -x`.
#
# Usage: scripts/fetch-dovecot.sh [DEST]
#
# DEST defaults to $KURIER_DOVECOT_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/kurier/dovecot
# (per user and outside the work tree, so every clone on a machine shares it).
#
# Downloads dovecot-core and dovecot-imapd, then runs ldd on the binaries below and
# fetches the package of every library reported "not found", until none is (on a Go
# bookworm machine none is: the libraries dovecot-core depends on are already there).
#
# Layout of DEST, written atomically (built in DEST.tmp.*, then renamed):
#   root/            the unpacked packages (root/usr/lib/dovecot/imap, root/usr/bin/doveconf, ...)
#   debs/            the downloaded .deb files
#   bin/NAME         wrappers that set LD_LIBRARY_PATH and exec root/.../NAME
#   dovecot.env      KEY=VALUE lines read by kurier/tests/bench; paths relative to DEST
#
# How the benchmarks run Dovecot's imap in PREAUTH mode over pipes (no master process):
#   doveconf -c PRIVATE.conf -f service=imap -m imap -e DEST/root/usr/lib/dovecot/imap
# with USER and HOME in the environment; doveconf parses the private configuration,
# exports it into the environment and execs imap, which is what imap itself does when
# run directly (it would exec the compiled-in /usr/bin/doveconf, absent here).
#
# When DEST/dovecot.env exists (same format version) the script prints it and exits: a
# fast no-op. `apt-get update` is run only when a download fails, and only as root;
# without root and without usable package lists the script exits 1 with a message.
# Concurrent runs are serialised with flock(1) on DEST.lock, which is left in place. A
# DEST that exists without a dovecot.env is never replaced. Progress goes to standard
# error; standard output gets only the summary of where things are.
#
# Exit status: 0 when DEST holds a working imap and doveconf, 1 otherwise.
set -euo pipefail

prog=fetch-dovecot
format=2 # bump when the layout of DEST or dovecot.env changes; older trees are rebuilt

# Packages fetched first; libraries follow from ldd.
base_pkgs=(dovecot-core dovecot-imapd)
# Binaries whose libraries must all resolve (paths inside root/): imap and doveconf for
# PREAUTH mode, the master and its services for the network mode to come.
check_bins=(usr/lib/dovecot/imap usr/bin/doveconf usr/sbin/dovecot usr/bin/doveadm
	usr/lib/dovecot/imap-login usr/lib/dovecot/auth usr/lib/dovecot/config
	usr/lib/dovecot/log usr/lib/dovecot/anvil)
# Binaries that get a wrapper in bin/.
wrap_bins=(usr/lib/dovecot/imap usr/bin/doveconf usr/sbin/dovecot usr/bin/doveadm)

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
elif [ -n "${KURIER_DOVECOT_DIR:-}" ]; then
	dest=$KURIER_DOVECOT_DIR
else
	cache=${XDG_CACHE_HOME:-}
	if [ -z "$cache" ]; then
		[ -n "${HOME:-}" ] || die "neither HOME nor XDG_CACHE_HOME is set; give DEST as argument"
		cache=$HOME/.cache
	fi
	dest=$cache/kurier/dovecot
fi
case $dest in /*) ;; *) dest=$PWD/$dest ;; esac
dest=${dest%/}
[ -n "$dest" ] || die "DEST must not be /"

# report prints where things are, from an existing DEST.
report() {
	local imap doveconf version
	imap=$(sed -n 's/^DOVECOT_IMAP=//p' "$dest/dovecot.env")
	doveconf=$(sed -n 's/^DOVECOT_DOVECONF=//p' "$dest/dovecot.env")
	version=$(sed -n 's/^DOVECOT_VERSION=//p' "$dest/dovecot.env")
	printf 'dovecot: %s\n' "$version"
	printf 'dovecot dir: %s\n' "$dest"
	printf 'imap: %s/%s\n' "$dest" "$imap"
	printf 'doveconf: %s/%s\n' "$dest" "$doveconf"
	printf 'wrappers: %s/bin\n' "$dest"
	printf 'env: %s/dovecot.env\n' "$dest"
}

# ready reports whether DEST is complete and of the current format.
ready() {
	[ -f "$dest/dovecot.env" ] &&
		grep -qx "DOVECOT_ENV_FORMAT=$format" "$dest/dovecot.env" &&
		[ -x "$dest/root/usr/lib/dovecot/imap" ] && [ -x "$dest/root/usr/bin/doveconf" ]
}

if ready; then
	report
	exit 0
fi

# Never replace a directory this script did not write (say KURIER_DOVECOT_DIR=/usr).
if [ -e "$dest" ] && [ ! -f "$dest/dovecot.env" ] && [ -n "$(ls -A -- "$dest" 2>/dev/null)" ]; then
	die "$dest exists but holds no dovecot.env, so it was not written by this script; refusing to replace it"
fi

for tool in apt-get dpkg-deb ldd; do
	command -v "$tool" >/dev/null || die "$tool not found: a Debian (bookworm) host with apt and dpkg is needed"
done

parent=$(dirname -- "$dest")
mkdir -p -- "$parent" 2>/dev/null || die "cannot create $parent (set KURIER_DOVECOT_DIR or give DEST)"
[ -w "$parent" ] || die "$parent is not writable (set KURIER_DOVECOT_DIR or give DEST)"

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
		die "apt-get download $* failed and the package lists look missing or stale; only root can refresh them: run 'apt-get update' as root, or let root run this script with a DEST readable by $(id -un) and set KURIER_DOVECOT_DIR=DEST"
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

# libdirs prints the directories of root/ that hold shared libraries, relative to DEST
# (by name: lib*.so and lib*.so.N, not dovecot.socket).
libdirs() {
	(cd "$work" && find root \( -type f -o -type l \) \( -name '*.so' -o -name '*.so.*' \) -printf '%h\n' | sort -u | paste -sd:)
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
version=$(LD_LIBRARY_PATH=$(prefixed "$work" "$libpath") "$work/root/usr/sbin/dovecot" --version 2>&1 | head -n1) ||
	die "dovecot --version failed: $version"

mkdir "$work/bin"
for bin in "${wrap_bins[@]}"; do
	name=$(basename -- "$bin")
	# shellcheck disable=SC2016 # $top is expanded by the wrapper
	cat >"$work/bin/$name" <<EOF
#!/bin/sh
# Written by kurier scripts/fetch-dovecot.sh: runs Debian's $name from this private tree.
top=\$(cd -- "\$(dirname -- "\$0")/.." && pwd -P) || exit 1
LD_LIBRARY_PATH="$(prefixed '$top' "$libpath")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "\$top/root/$bin" "\$@"
EOF
	chmod 755 "$work/bin/$name"
done

cat >"$work/dovecot.env" <<EOF
# Debian's Dovecot for Kurier's benchmarks, written by scripts/fetch-dovecot.sh.
# Paths are relative to this file's directory. Read by kurier/tests/bench.
DOVECOT_ENV_FORMAT=$format
DOVECOT_VERSION=$version
DOVECOT_PACKAGES=$packages
DOVECOT_LIBDIRS=$libpath
DOVECOT_IMAP=root/usr/lib/dovecot/imap
DOVECOT_DOVECONF=root/usr/bin/doveconf
DOVECOT_MASTER=root/usr/sbin/dovecot
DOVECOT_MODULEDIR=root/usr/lib/dovecot/modules
EOF
rm -f -- "$work/apt.log"
chmod 755 "$work" # mktemp made it 0700; let other users run it too

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
