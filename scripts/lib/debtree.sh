# shellcheck shell=bash disable=SC2154,SC2034 # the settings come from the sourcing script
# debtree.sh - shared by fetch-courier.sh and fetch-dovecot.sh: fetch Debian packages
# with `apt-get download`, unpack them with `dpkg -x` into a private tree, and fetch the
# package of every shared library their binaries miss, until none is missing. Nothing is
# installed and no service is started. Sourced, not run.
#
# The sourcing script sets, before calling parse_args:
#   prog         its name, for messages
#   dest_var     the variable naming DEST (KURIER_COURIER_DIR), cache_name its default
#                directory under ~/.cache/kurier
#   envfile      the name of the KEY=VALUE file inside DEST that marks a finished tree
#   base_pkgs    packages fetched first; check_bins: binaries (inside root/) whose
#                libraries must all resolve
# and defines ready (DEST complete and current?) and report (print where things are),
# and optionally special_lib SONAME (print the package of a library the naming rules
# get wrong). Then:
#   parse_args "$@"; ready && { report; exit 0; }; begin_tree; fetch_closure
#   ... write $work/bin, $work/$envfile ...; finish_tree; report

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "$*"
	exit 1
}

# parse_args [DEST] sets dest; -h prints the sourcing script's header comment.
parse_args() {
	case ${1:-} in
	-h | --help)
		sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	-*) die "unknown option $1 (usage: $0 [DEST])" ;;
	esac
	if [ -n "${1:-}" ]; then
		dest=$1
	elif [ -n "${!dest_var:-}" ]; then
		dest=${!dest_var}
	else
		local cache=${XDG_CACHE_HOME:-}
		if [ -z "$cache" ]; then
			[ -n "${HOME:-}" ] || die "neither HOME nor XDG_CACHE_HOME is set; give DEST as argument"
			cache=$HOME/.cache
		fi
		dest=$cache/kurier/$cache_name
	fi
	case $dest in /*) ;; *) dest=$PWD/$dest ;; esac
	dest=${dest%/}
	[ -n "$dest" ] || die "DEST must not be /"
}

# begin_tree checks the host, takes DEST.lock (serialising concurrent runs; another run
# may finish the tree meanwhile, then this one reports and exits) and makes the work
# directory $work with debs/ and root/, removed on exit unless finish_tree moves it.
begin_tree() {
	# Never replace a directory this script did not write (say DEST=/usr).
	if [ -e "$dest" ] && [ ! -f "$dest/$envfile" ] && [ -n "$(ls -A -- "$dest" 2>/dev/null)" ]; then
		die "$dest exists but holds no $envfile, so it was not written by this script; refusing to replace it"
	fi
	local tool
	for tool in apt-get dpkg-deb ldd; do
		command -v "$tool" >/dev/null || die "$tool not found: a Debian (bookworm) host with apt and dpkg is needed"
	done
	local parent
	parent=$(dirname -- "$dest")
	mkdir -p -- "$parent" 2>/dev/null || die "cannot create $parent (set $dest_var or give DEST)"
	[ -w "$parent" ] || die "$parent is not writable (set $dest_var or give DEST)"
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
	# shellcheck disable=SC2064 # $work is meant to be expanded now
	trap "rm -rf -- '$work'" EXIT
	mkdir "$work/debs" "$work/root"
	apt_opts=(-q)
	if [ "$(id -u)" = 0 ]; then
		# Downloading into a root-only directory: let apt fetch as root rather than
		# warn that its _apt sandbox user cannot write there.
		apt_opts+=(-o APT::Sandbox::User=root)
	fi
	updated=0
}

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
		die "apt-get download $* failed and the package lists look missing or stale; only root can refresh them: run 'apt-get update' as root, or let root run this script with a DEST readable by $(id -un) and set $dest_var=DEST"
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
	if declare -F special_lib >/dev/null; then
		local pkg
		pkg=$(special_lib "$so")
		if [ -n "$pkg" ]; then
			echo "$pkg"
			return
		fi
	fi
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
# (by name: lib*.so and lib*.so.N, not a file such as dovecot.socket).
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

# fetch_closure downloads and unpacks base_pkgs, then the packages of the libraries
# check_bins miss, round after round; it sets packages (name=version of every .deb) and
# libpath (the library directories, relative to DEST).
fetch_closure() {
	start=$SECONDS
	say "downloading ${base_pkgs[*]} into $dest"
	download "${base_pkgs[@]}"
	local fetched=" ${base_pkgs[*]} " round libs so pkg
	unpack
	for round in 1 2 3 4 5 6; do
		libs=$(missing)
		[ -n "$libs" ] || break
		[ "$round" -lt 6 ] || die "libraries still missing after $round rounds: $libs"
		local pkgs=()
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
	# shellcheck disable=SC2016 # ${Package} is dpkg-deb's, not the shell's
	packages=$(for deb in "$work"/debs/*.deb; do dpkg-deb --showformat='${Package}=${Version}\n' -W "$deb"; done | paste -sd' ')
	libpath=$(libdirs)
}

# finish_tree replaces an incomplete or outdated DEST with the work directory.
finish_tree() {
	rm -f -- "$work/apt.log"
	chmod 755 "$work" # mktemp made it 0700; let other users run the binaries too
	if [ -e "$dest" ]; then
		local old
		old=$(mktemp -d "$dest.old.XXXXXX")
		mv -- "$dest" "$old/"
		rm -rf -- "$old"
	fi
	mv -- "$work" "$dest"
	trap - EXIT
	say "fetched in $((SECONDS - start))s: $packages"
}
