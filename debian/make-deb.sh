#!/usr/bin/env bash
# make-deb.sh - build Kurier's Debian packages; `make deb` runs it.
#
# Usage: debian/make-deb.sh [OUTDIR]      (OUTDIR defaults to .cache/deb)
#
# The build runs in a copy of the working tree (tracked files and new ones
# that git does not ignore) under OUTDIR/build, so that `debian/rules clean`
# never touches the developer's bin/ and dpkg-buildpackage's output does not
# land in the checkout's parent directory.  The .deb files end up in OUTDIR.
#
# Build tools: as root, the missing ones among debhelper, dpkg-dev,
# libpam0g-dev and libcrypt-dev are installed with apt-get; as another user
# the script names them and exits 1.  Go is not a Debian package on the
# project's machines (/usr/local/go), so this script checks for a usable `go`
# itself and runs dpkg-buildpackage with -d (see debian/README.source).
#
# KURIER_DEB_REQUIRE_ALL=1 fails the build when a program is missing from
# `make build`'s output (tests/deb sets it).
set -euo pipefail

prog=make-deb
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "$*"
	exit 1
}

top=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-$top/.cache/deb}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# --- build dependencies -------------------------------------------------------
needed=(debhelper dpkg-dev libpam0g-dev libcrypt-dev)
missing=()
for pkg in "${needed[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		die "missing build dependencies: ${missing[*]} (as root: apt-get install ${missing[*]})"
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
fi

go=$(command -v go || true)
if [[ -z $go ]]; then
	go=$(printf "%s\n" /usr/lib/go-1.*/bin/go | grep -v "\*" | sort -V | tail -n1 || true)
fi
[[ -n $go ]] || die "no Go toolchain: put go (>= the version in go.mod, or >= 1.21 with network access) on PATH"
say "Go: $("$go" version)"

# --- a clean copy of the tree -------------------------------------------------
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
build=$outdir/build
src=$build/kurier-$version
rm -rf "$build"
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	tar -C "$top" --exclude=./.cache --exclude=./bin --exclude=./demo --exclude='*.test' \
		-cf - . | tar -xf - -C "$src"
fi

# --- build --------------------------------------------------------------------
(cd "$src" && PATH=$(dirname "$go"):$PATH dpkg-buildpackage -us -uc -b -d)

rm -f "$outdir"/*.deb
cp "$build"/*.deb "$outdir"/
say "packages in $outdir:"
ls -1 "$outdir"/*.deb
