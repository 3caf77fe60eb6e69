#!/usr/bin/env bash
# deb-test.sh - end-to-end test of Kurier's Debian packages on this machine.
#
# Builds kurier-imap and kurier-authd (every program required), installs them
# with dpkg -i, starts the services as their units' ExecStart lines say (CI has
# no systemd as PID 1), logs in with curl over plain IMAP, STARTTLS and IMAPS
# with a userdb account, repeats the plain login through systemd-socket-activate
# as kurier-imap.socket would, then purges the packages and checks that nothing
# of theirs is left running or installed, and that a configuration file that
# existed before was neither changed nor removed.
#
# It installs packages and uses ports 143 and 993: run it only on a throwaway
# machine or CI, as root.  `KURIER_DEB_TEST=1 go test ./tests/deb/` runs it.
# KURIER_DEB_DIR=dir uses the .deb files already in dir instead of building.
set -euo pipefail

prog=deb-test
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}
[[ $(id -u) -eq 0 ]] || die "must run as root"

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/kurier-deb-test.XXXXXX)
chmod 0755 "$work"
pids=()
created_marker=""
test_user=kdebtest
password='Deb-test-pw-1'

cleanup() {
	local rc=$?
	set +e
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	sleep 1
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	if dpkg-query -W -f='${Status}' kurier-imap kurier-authd 2>/dev/null | grep -q installed; then
		dpkg --purge kurier-imap kurier-authd >/dev/null 2>&1
	fi
	getent passwd "$test_user" >/dev/null && userdel -r "$test_user" >/dev/null 2>&1
	[[ -n $created_marker ]] && rm -f "$created_marker"
	rm -f /etc/courier/userdb
	rmdir /etc/courier 2>/dev/null
	if ((rc != 0)); then
		for log in "$work"/*.log; do
			[[ -f $log ]] && { say "--- $log"; tail -n 40 "$log" >&2; }
		done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
owner_mode() { stat -c '%U:%G %a' "$1"; }
expect_eq() { [[ $1 == "$2" ]] || die "$3: got '$1', want '$2'"; }

# --- refuse to run where it would clobber something --------------------------
for p in courier-imap courier-authdaemon courier-authlib-userdb kurier-imap kurier-authd; do
	installed "$p" && die "package $p is installed; run this test on a clean machine"
done
for f in imapd-ssl authdaemonrc imapd.pem userdb; do
	[[ -e /etc/courier/$f ]] && die "/etc/courier/$f exists; run this test on a clean machine"
done
for port in 143 993; do port_open $port && die "port $port is in use"; done

# --- build ---------------------------------------------------------------------
debdir=${KURIER_DEB_DIR:-}
if [[ -z $debdir ]]; then
	debdir=$work/debs
	say "building the packages"
	KURIER_DEB_REQUIRE_ALL=1 bash "$top/debian/make-deb.sh" "$debdir" >"$work/build.log" 2>&1 ||
		die "make-deb failed (see $work/build.log)"
fi
imap_deb=$(ls "$debdir"/kurier-imap_*.deb)
authd_deb=$(ls "$debdir"/kurier-authd_*.deb)

# A configuration file that exists before installation (as Courier's would
# after courier-imap is removed): it must survive install and purge unchanged.
mkdir -p /etc/courier
if [[ ! -e /etc/courier/imapd ]]; then
	{ cat "$top/etc/imapd"; echo "# kept by deb-test"; } >/etc/courier/imapd
	created_marker=/etc/courier/imapd
fi
imapd_sum=$(sha256sum </etc/courier/imapd)
pam_existed=no
[[ -e /etc/pam.d/imap ]] && pam_existed=yes

# --- install -------------------------------------------------------------------
say "installing"
if ! dpkg -i "$authd_deb" "$imap_deb" >"$work/install.log" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y >>"$work/install.log" 2>&1 ||
		die "dpkg -i failed (see install.log)"
fi
{ installed kurier-imap && installed kurier-authd; } || die "packages not installed"

expect_eq "$(sha256sum </etc/courier/imapd)" "$imapd_sum" "pre-existing /etc/courier/imapd"
getent passwd courier >/dev/null || die "no user courier"
cmp -s /etc/courier/imapd-ssl /usr/share/kurier/etc/imapd-ssl || die "imapd-ssl is not the default"
expect_eq "$(owner_mode /etc/courier/authdaemonrc)" "root:courier 640" "authdaemonrc owner and mode"
expect_eq "$(owner_mode /etc/courier/imapd.pem)" "root:courier 640" "imapd.pem owner and mode"
expect_eq "$(owner_mode /run/courier)" "root:courier 775" "/run/courier"
expect_eq "$(owner_mode /run/courier/authdaemon)" "courier:courier 750" "/run/courier/authdaemon"
[[ -e /etc/pam.d/imap ]] || die "no /etc/pam.d/imap"
expect_eq "$(readlink -f /usr/bin/maildirmake)" /usr/bin/maildirmake.kurier "maildirmake alternative"
[[ $(readlink -f /usr/bin/imapd) == /usr/lib/kurier/imapd ]] || die "/usr/bin/imapd is not Kurier's"
for f in kurier-tcpd kurier-authd authtest userdbpw makeuserdb mkimapdcert; do
	command -v "$f" >/dev/null || die "$f not on PATH"
done
for page in imapd.8 imapd.5 imapd-ssl.5 authdaemonrc.5 kurier-tcpd.8 kurier-authd.8; do
	[[ -e /usr/share/man/man${page##*.}/$page.gz ]] || die "man page $page missing"
done

# --- a test account --------------------------------------------------------------
useradd -m -d "$work/home" "$test_user"
uid=$(id -u "$test_user") gid=$(id -g "$test_user")
su -s /bin/sh "$test_user" -c "maildirmake $work/home/Maildir"
hash=$(openssl passwd -6 "$password")
printf '%s\tuid=%s|gid=%s|home=%s|systempw=%s\n' "$test_user" "$uid" "$gid" "$work/home" "$hash" >/etc/courier/userdb
chmod 0600 /etc/courier/userdb
makeuserdb >"$work/makeuserdb.log" 2>&1 || die "makeuserdb rejected the userdb (see makeuserdb.log)"
cp -p /etc/courier/authdaemonrc "$work/authdaemonrc.orig"
sed -i 's/^authmodulelist=.*/authmodulelist="authuserdb"/' /etc/courier/authdaemonrc

# --- start the services as their units say ---------------------------------------
# exec_start UNIT prints the unit's ExecStart command line.
exec_start() {
	sed -n 's/^ExecStart=[-@:+!]*//p' "/lib/systemd/system/$1"
}
start() { # start NAME COMMAND...
	local name=$1
	shift
	setsid "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}
wait_for() { # wait_for WHAT TEST...
	local what=$1
	shift
	for _ in $(seq 1 100); do
		"$@" && return 0
		sleep 0.1
	done
	die "$what did not come up"
}
# shellcheck disable=SC2046 # ExecStart lines are split as systemd splits them (no quoting used)
start authd $(exec_start kurier-authd.service)
wait_for "authd's socket" test -S /run/courier/authdaemon/socket
# shellcheck disable=SC2046
start imap $(exec_start kurier-imap.service)
# shellcheck disable=SC2046
start imaps $(exec_start kurier-imaps.service)
wait_for "port 143" port_open 143
wait_for "port 993" port_open 993

# --- log in ----------------------------------------------------------------------
authtest "$test_user" "$password" >"$work/authtest.log" 2>&1 || die "authtest failed (see authtest.log)"
login() { # login NAME URL [curl options]
	local name=$1 url=$2
	shift 2
	curl -sS --max-time 30 -k -u "$test_user:$password" "$@" "$url" -X 'LIST "" "*"' >"$work/curl-$name.log" 2>&1 ||
		die "curl $name login failed (see curl-$name.log)"
	grep -q INBOX "$work/curl-$name.log" || die "curl $name: no INBOX in the listing"
	say "login ok: $name"
}
login plain imap://localhost:143/
login starttls imap://localhost:143/ --ssl-reqd
login imaps imaps://localhost:993/
if curl -sS --max-time 30 -u "$test_user:wrong-password" imap://localhost:143/ -X NOOP >/dev/null 2>&1; then
	die "a wrong password was accepted"
fi

# The socket unit: systemd opens ListenStream and hands it to the service.
if command -v systemd-socket-activate >/dev/null; then
	kill -TERM "${pids[1]}"
	wait "${pids[1]}" 2>/dev/null || true
	listen=$(sed -n 's/^ListenStream=//p' /lib/systemd/system/kurier-imap.socket)
	# shellcheck disable=SC2046
	start imap-socket systemd-socket-activate -l "$listen" $(exec_start kurier-imap.service)
	wait_for "socket-activated port $listen" port_open "$listen"
	login socket-activated "imap://localhost:$listen/"
else
	say "systemd-socket-activate not installed: socket unit not exercised"
fi

# --- stop, purge, check ------------------------------------------------------------
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()
cp -p "$work/authdaemonrc.orig" /etc/courier/authdaemonrc
rm -f /etc/courier/userdb
userdel -r "$test_user" >/dev/null 2>&1 || true

say "purging"
dpkg --purge kurier-imap kurier-authd >"$work/purge.log" 2>&1 || die "purge failed (see purge.log)"
for p in kurier-imap kurier-authd; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ -z $status || $status == *not-installed ]] || die "$p still known to dpkg: $status"
done
for f in /usr/lib/kurier /usr/share/kurier /usr/sbin/kurier-tcpd /usr/sbin/kurier-authd /usr/bin/imapd \
	/etc/courier/imapd-ssl /etc/courier/authdaemonrc /etc/courier/imapd.pem /var/lib/kurier \
	/lib/systemd/system/kurier-imap.service /usr/lib/tmpfiles.d/kurier-imap.conf; do
	[[ -e $f || -L $f ]] && die "$f left after purge"
done
[[ $pam_existed == no && -e /etc/pam.d/imap ]] && die "/etc/pam.d/imap left after purge"
[[ -e /usr/bin/maildirmake ]] && [[ $(readlink -f /usr/bin/maildirmake) == *kurier* ]] && die "maildirmake alternative left"
expect_eq "$(sha256sum </etc/courier/imapd)" "$imapd_sum" "pre-existing /etc/courier/imapd after purge"
for exe in /proc/[0-9]*/exe; do
	target=$(readlink "$exe" 2>/dev/null || true)
	case $target in
	/usr/lib/kurier/* | /usr/sbin/kurier-* | *"(deleted)"*kurier*) die "still running: $target (${exe%/exe})" ;;
	esac
done
say "PASS"
