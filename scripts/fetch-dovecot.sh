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
dest_var=KURIER_DOVECOT_DIR
cache_name=dovecot
envfile=dovecot.env

# shellcheck source-path=SCRIPTDIR source=lib/debtree.sh
. "$(dirname -- "$0")/lib/debtree.sh"

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

parse_args "$@"
if ready; then
	report
	exit 0
fi
begin_tree
fetch_closure

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
finish_tree
report
