# Shared by Kurier's maintainer scripts: debian/rules puts this text in place
# of the "#KURIER_CONF#" line of each of them.
#
# Why not conffiles: /etc/courier/imapd, imapd-ssl, authdaemonrc and
# /etc/pam.d/imap are conffiles of Courier's packages.  An admin who moves to
# Kurier keeps Courier's copies (the packages are removed, not purged), and one
# who moves back gets them again; if Kurier shipped the same paths as
# conffiles, dpkg would hand them from package to package and a purge of either
# side would delete the admin's settings.  So Kurier ships its defaults under
# /usr/share/kurier and postinst copies one in only where no file exists.  What
# it created is listed in /var/lib/kurier/<package>.created as "sha256  path"
# lines; purge removes a listed file only while it is unchanged and no package
# claims it, so the admin's edits and Courier's files always stay.

kurier_state=/var/lib/kurier
# Owner of the directories kurier_default creates (tests run as other users).
kurier_dir_owner=root:root
# The packages that share the state directory.
kurier_packages="kurier-imap kurier-authd"

# kurier_sum FILE prints FILE's SHA-256.
kurier_sum() {
	sha256sum <"$1" | cut -d' ' -f1
}

# kurier_record PACKAGE PATH notes that PACKAGE's scripts created PATH.
kurier_record() {
	mkdir -p "$kurier_state"
	_list="$kurier_state/$1.created"
	touch "$_list"
	while read -r _s _p; do
		[ "$_p" = "$2" ] || printf '%s  %s\n' "$_s" "$_p"
	done <"$_list" >"$_list.new"
	printf '%s  %s\n' "$(kurier_sum "$2")" "$2" >>"$_list.new"
	mv "$_list.new" "$_list"
}

# kurier_recorded PACKAGE PATH succeeds when PACKAGE created PATH before.  A
# recorded file that is gone was deleted by the admin: it is not put back.
kurier_recorded() {
	[ -f "$kurier_state/$1.created" ] || return 1
	while read -r _s _p; do
		[ "$_p" = "$2" ] && return 0
	done <"$kurier_state/$1.created"
	return 1
}

# kurier_mkdir DIR MODE OWNER:GROUP creates DIR when missing and notes it in
# the shared list of directories, which the last purge removes if empty.
kurier_mkdir() {
	[ -d "$1" ] && return 0
	mkdir -p "$1"
	chown "$3" "$1"
	chmod "$2" "$1"
	mkdir -p "$kurier_state"
	grep -q -F -x -e "$1" "$kurier_state/dirs" 2>/dev/null || echo "$1" >>"$kurier_state/dirs"
}

# kurier_default PACKAGE SOURCE DEST MODE OWNER:GROUP installs SOURCE as DEST
# unless DEST exists or was installed before.
kurier_default() {
	if [ -e "$3" ] || [ -L "$3" ] || kurier_recorded "$1" "$3"; then
		return 0
	fi
	kurier_mkdir "$(dirname "$3")" 0755 "$kurier_dir_owner"
	cp "$2" "$3.kurier-new"
	chown "$5" "$3.kurier-new"
	chmod "$4" "$3.kurier-new"
	mv "$3.kurier-new" "$3"
	kurier_record "$1" "$3"
}

# kurier_others_present PACKAGE succeeds when another Kurier package is still
# installed or has configuration left.
kurier_others_present() {
	for _other in $kurier_packages; do
		[ "$_other" = "$1" ] && continue
		case $(dpkg-query -W -f='${Status}' "$_other" 2>/dev/null || true) in
		"" | *not-installed) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# kurier_purge PACKAGE removes what PACKAGE's scripts created and nobody has
# changed or taken over since.
kurier_purge() {
	_list="$kurier_state/$1.created"
	if [ -f "$_list" ]; then
		while read -r _sum _path; do
			[ -f "$_path" ] || continue
			if dpkg-query -S "$_path" >/dev/null 2>&1; then
				echo "$1: leaving $_path, which a package now owns"
			elif [ "$(kurier_sum "$_path")" = "$_sum" ]; then
				rm -f "$_path"
			else
				echo "$1: leaving $_path, which was changed after installation"
			fi
		done <"$_list"
		rm -f "$_list"
	fi
	if [ -f "$kurier_state/dirs" ]; then
		# Deepest first, so that a parent can go once its children have.
		sort -r "$kurier_state/dirs" | while read -r _dir; do
			rmdir "$_dir" 2>/dev/null || true
		done
		sort "$kurier_state/dirs" | while read -r _dir; do
			[ -d "$_dir" ] && echo "$_dir"
		done >"$kurier_state/dirs.new" || true
		mv "$kurier_state/dirs.new" "$kurier_state/dirs"
		# The last Kurier package to go forgets the directories that still
		# hold someone's files: they are no longer Kurier's to remove.
		if [ ! -s "$kurier_state/dirs" ] || ! kurier_others_present "$1"; then
			rm -f "$kurier_state/dirs"
		fi
	fi
	rmdir "$kurier_state" 2>/dev/null || true
}

# kurier_user creates the system user and group "courier", as Courier's
# packages do, unless it exists.  It is never removed: files may belong to it.
kurier_user() {
	if ! getent passwd courier >/dev/null; then
		adduser --quiet --system --group --no-create-home --home /var/lib/courier courier
	fi
}

# kurier_rundirs makes the runtime directories where systemd-tmpfiles is not
# there to read the package's tmpfiles.d entry.
kurier_rundirs() {
	command -v systemd-tmpfiles >/dev/null 2>&1 && return 0
	while [ $# -ge 3 ]; do
		[ -d "$1" ] || mkdir -p "$1"
		chown "$3" "$1"
		chmod "$2" "$1"
		shift 3
	done
}
