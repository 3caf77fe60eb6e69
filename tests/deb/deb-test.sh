#!/usr/bin/env bash
# deb-test.sh - end-to-end test of Kurier's Debian packages on this machine.
#
# Builds kurier-imap and kurier-authd (every program required), installs them
# with dpkg -i, starts the services as their units' ExecStart lines say (CI has
# no systemd as PID 1; notifyrun plays systemd's part for Type=notify and the
# test waits for each service's READY=1), logs in with curl over plain IMAP,
# STARTTLS and IMAPS with a userdb account and with a system account checked
# by PAM, repeats the logins through systemd-socket-activate as the .socket
# units would, then purges the packages and checks that nothing of theirs is
# left running or installed, and that a configuration file that existed
# before was neither changed nor removed.
#
# It installs packages and uses ports 143 and 993: run it only on a throwaway
# machine or CI, as root.  `KURIER_DEB_TEST=1 go test ./tests/deb/` runs it
# (and `go test` as root with CI=true).
# KURIER_DEB_DIR=dir uses the .deb files already in dir instead of building.
# The package build shares the caller's Go module and build caches (go env
# GOMODCACHE, GOCACHE) unless GOMODCACHE/GOCACHE say otherwise.
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
# A system account, checked by PAM, and a userdb account mapped onto its uid.
test_user=kdebtest
password='Deb-test-pw-1'
vuser=deb-virtual@example.test
vpassword='Deb-userdb-pw-2'

cleanup() {
	local rc=$?
	set +e
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	sleep 1
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	# Undo the test's edit first, so that purge sees Kurier's own file.
	[[ -f $work/authdaemonrc.orig ]] && cp -p "$work/authdaemonrc.orig" /etc/courier/authdaemonrc
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
trap "exit 143" TERM INT

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
owner_mode() { stat -c '%U:%G %a' "$1"; }
expect_eq() { [[ $1 == "$2" ]] || die "$3: got '$1', want '$2'"; }

# --- refuse to run where it would clobber something --------------------------
for p in courier-imap courier-authdaemon courier-authlib-userdb kurier-imap kurier-authd; do
	installed "$p" && die "package $p is installed; run this test on a clean machine"
done
for f in imapd-ssl authdaemonrc imapd.pem userdb imapaccess; do
	[[ -e /etc/courier/$f ]] && die "/etc/courier/$f exists; run this test on a clean machine"
done
for port in 143 993; do port_open $port && die "port $port is in use"; done
getent passwd "$test_user" >/dev/null && die "user $test_user exists; remove it or use a clean machine"
courier_existed=no
getent passwd courier >/dev/null && courier_existed=yes

# notifyrun stands in for systemd's Type=notify handling.
command -v go >/dev/null || die "go is not on PATH"
(cd "$top" && go build -o "$work/notifyrun" ./tests/deb/notifyrun) || die "cannot build notifyrun"

# --- build ---------------------------------------------------------------------
debdir=${KURIER_DEB_DIR:-}
if [[ -z $debdir ]]; then
	debdir=$work/debs
	say "building the packages"
	GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)} GOCACHE=${GOCACHE:-$(go env GOCACHE)} \
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
run_existed=no
[[ -e /run/courier ]] && run_existed=yes

# --- install -------------------------------------------------------------------
say "installing"
if ! dpkg -i "$authd_deb" "$imap_deb" >"$work/install.log" 2>&1; then
	say "dpkg -i failed; trying apt-get install -f for missing dependencies"
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y >>"$work/install.log" 2>&1 ||
		die "dpkg -i failed (see install.log)"
fi
{ installed kurier-imap && installed kurier-authd; } || die "packages not installed"
grep -i -E 'warning|error|no certificate' "$work/install.log" >&2 && die "the installation complained (see install.log)"

expect_eq "$(sha256sum </etc/courier/imapd)" "$imapd_sum" "pre-existing /etc/courier/imapd"
getent passwd courier >/dev/null || die "no user courier"
cmp -s /etc/courier/imapd-ssl /usr/share/kurier/etc/imapd-ssl || die "imapd-ssl is not the default"
expect_eq "$(owner_mode /etc/courier/authdaemonrc)" "root:courier 640" "authdaemonrc owner and mode"
expect_eq "$(owner_mode /etc/courier/imapd.pem)" "root:courier 640" "imapd.pem owner and mode"
expect_eq "$(owner_mode /run/courier)" "root:courier 775" "/run/courier"
expect_eq "$(owner_mode /run/courier/authdaemon)" "courier:courier 750" "/run/courier/authdaemon"
[[ -d /etc/courier/imapaccess ]] || die "no /etc/courier/imapaccess directory (IMAPACCESSFILE)"
[[ -e /etc/pam.d/imap ]] || die "no /etc/pam.d/imap"
expect_eq "$(readlink -f /usr/bin/maildirmake)" /usr/bin/maildirmake.kurier "maildirmake alternative"
[[ $(readlink -f /usr/bin/imapd) == /usr/lib/kurier/imapd ]] || die "/usr/bin/imapd is not Kurier's"
for f in kurier-tcpd kurier-authd authtest userdbpw makeuserdb mkimapdcert; do
	command -v "$f" >/dev/null || die "$f not on PATH"
done
for page in imapd.8 imapd.5 imapd-ssl.5 authdaemonrc.5 kurier-tcpd.8 kurier-authd.8; do
	[[ -e /usr/share/man/man${page##*.}/$page.gz ]] || die "man page $page missing"
done

# --- test accounts -----------------------------------------------------------------
useradd -m -d "$work/home" -s /bin/sh "$test_user"
echo "$test_user:$password" | chpasswd
uid=$(id -u "$test_user") gid=$(id -g "$test_user")
su -s /bin/sh "$test_user" -c "maildirmake $work/home/Maildir"
hash=$(userdbpw -sha512 <<<"$vpassword")
printf '%s\tuid=%s|gid=%s|home=%s|systempw=%s\n' "$vuser" "$uid" "$gid" "$work/home" "$hash" >/etc/courier/userdb
chmod 0600 /etc/courier/userdb
makeuserdb >"$work/makeuserdb.log" 2>&1 || die "makeuserdb rejected the userdb (see makeuserdb.log)"
cp -p /etc/courier/authdaemonrc "$work/authdaemonrc.orig"
sed -i 's/^authmodulelist=.*/authmodulelist="authuserdb authpam"/' /etc/courier/authdaemonrc

# --- start the services as their units say ---------------------------------------
# exec_start UNIT prints the unit's ExecStart command line.
exec_start() {
	sed -n 's/^ExecStart=[-@:+!]*//p' "/lib/systemd/system/$1"
}
launch() { # launch NAME COMMAND...: as systemd starts a Type=notify unit
	local name=$1
	shift
	rm -f "$work/$name.notify"
	setsid "$work/notifyrun" -state "$work/$name.notify" -- "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}
ready() { wait_for "$1's READY=1" grep -q -s -x READY=1 "$work/$1.notify"; }
start() { # start NAME COMMAND...: launch, and wait until it is ready
	launch "$@"
	ready "$1"
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
test -S /run/courier/authdaemon/socket || die "authd is ready but has no socket"
# shellcheck disable=SC2046
start imap $(exec_start kurier-imap.service)
# shellcheck disable=SC2046
start imaps $(exec_start kurier-imaps.service)
port_open 143 || die "kurier-imap is ready but port 143 is closed"
port_open 993 || die "kurier-imaps is ready but port 993 is closed"
# kurier_users prints the owners of the running kurier-tcpd processes.
kurier_users() {
	local p
	for p in /proc/[0-9]*; do
		if [[ $(readlink "$p/exe" 2>/dev/null) == /usr/sbin/kurier-tcpd ]]; then stat -c %U "$p"; fi
	done | sort -u | tr '\n' ' '
}
# The TLS services (one per listener) run as courier, not root.
tls_users=$(kurier_users)
[[ $tls_users == *courier* ]] || die "no kurier-tcpd process runs as courier (owners: $tls_users)"

# --- log in ----------------------------------------------------------------------
for acct in "$vuser:$vpassword" "$test_user:$password"; do
	authtest -s imap "${acct%%:*}" "${acct#*:}" >"$work/authtest.log" 2>&1 ||
		die "authtest ${acct%%:*} failed (see authtest.log)"
done
login() { # login NAME USER:PASSWORD URL [curl options]
	local name=$1 acct=$2 url=$3
	shift 3
	curl -sS --max-time 30 -k -u "$acct" "$@" "$url" -X 'LIST "" "*"' >"$work/curl-$name.log" 2>&1 ||
		die "curl $name login failed (see curl-$name.log)"
	grep -q INBOX "$work/curl-$name.log" || die "curl $name: no INBOX in the listing"
	say "login ok: $name"
}
logins() { # logins SUFFIX IMAP-PORT IMAPS-PORT: every account on every kind of port
	login "userdb-starttls$1" "$vuser:$vpassword" "imap://localhost:$2/" --ssl-reqd
	login "userdb-imaps$1" "$vuser:$vpassword" "imaps://localhost:$3/"
	login "pam-starttls$1" "$test_user:$password" "imap://localhost:$2/" --ssl-reqd
	login "pam-imaps$1" "$test_user:$password" "imaps://localhost:$3/"
}
login userdb-plain "$vuser:$vpassword" imap://localhost:143/
login pam-plain "$test_user:$password" imap://localhost:143/
logins "" 143 993
for acct in "$vuser:wrong-password" "$test_user:wrong-password" "$test_user:$vpassword"; do
	if curl -sS --max-time 30 -k -u "$acct" imaps://localhost:993/ -X NOOP >/dev/null 2>&1; then
		die "a wrong password was accepted for ${acct%%:*}"
	fi
done
# Each account was checked by the module meant for it.
grep -q "user=$vuser .*module=authuserdb result=ok" "$work/authd.log" || die "authd.log: no authuserdb login of $vuser"
grep -q "user=$test_user .*module=authpam result=ok" "$work/authd.log" || die "authd.log: no authpam login of $test_user"

# The socket units: systemd opens ListenStream and hands it to the service
# (Accept=no).  systemd-socket-activate passes on only the variables -E
# names, so NOTIFY_SOCKET is named, as systemd would set it.
if command -v systemd-socket-activate >/dev/null; then
	for i in 1 2; do kill -TERM "${pids[$i]}"; done
	for i in 1 2; do wait "${pids[$i]}" 2>/dev/null || true; done
	for unit in kurier-imap kurier-imaps; do
		listen=$(sed -n 's/^ListenStream=//p' "/lib/systemd/system/$unit.socket")
		# shellcheck disable=SC2046
		launch "$unit-socket" systemd-socket-activate -l "$listen" -E NOTIFY_SOCKET $(exec_start "$(sed -n 's/^Service=//p' "/lib/systemd/system/$unit.socket")")
		# The service starts on the first connection, as under systemd.
		wait_for "$unit.socket's port $listen" port_open "$listen"
		ready "$unit-socket"
		grep -q "listening on sockets from systemd" "$work/$unit-socket.log" ||
			die "$unit.socket: kurier-tcpd did not take systemd's socket (see $unit-socket.log)"
	done
	logins -socket 143 993
else
	say "systemd-socket-activate not installed: socket units not exercised"
fi

# authtest prints the password it was given; the services must not.
for log in "$work"/authd.log "$work"/imap*.log "$work"/kurier-*.log; do
	[[ -f $log ]] || continue
	grep -q -F -e "$password" -e "$vpassword" "$log" && die "a password appears in $log"
done

# --- stop, purge, check ------------------------------------------------------------
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()
cp -p "$work/authdaemonrc.orig" /etc/courier/authdaemonrc
rm -f "$work/authdaemonrc.orig" /etc/courier/userdb
userdel -r "$test_user" >/dev/null 2>&1 || true

say "purging"
dpkg --purge kurier-imap kurier-authd >"$work/purge.log" 2>&1 || die "purge failed (see purge.log)"
for p in kurier-imap kurier-authd; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ -z $status || $status == *not-installed ]] || die "$p still known to dpkg: $status"
done
for f in /usr/lib/kurier /usr/share/kurier /usr/sbin/kurier-tcpd /usr/sbin/kurier-authd /usr/bin/imapd \
	/etc/courier/imapd-ssl /etc/courier/authdaemonrc /etc/courier/imapd.pem /etc/courier/imapaccess /var/lib/kurier \
	/lib/systemd/system/kurier-imap.service /usr/lib/tmpfiles.d/kurier-imap.conf; do
	[[ -e $f || -L $f ]] && die "$f left after purge"
done
[[ $pam_existed == no && -e /etc/pam.d/imap ]] && die "/etc/pam.d/imap left after purge"
for link in /etc/systemd/system/*/kurier-*; do
	[[ -e $link || -L $link ]] && die "$link left after purge"
done
if [[ $run_existed == no && -e /run/courier ]]; then
	die "/run/courier left after purge: $(find /run/courier | tr '\n' ' ')"
fi
[[ -e /usr/bin/maildirmake ]] && [[ $(readlink -f /usr/bin/maildirmake) == *kurier* ]] && die "maildirmake alternative left"
expect_eq "$(sha256sum </etc/courier/imapd)" "$imapd_sum" "pre-existing /etc/courier/imapd after purge"
for exe in /proc/[0-9]*/exe; do
	target=$(readlink "$exe" 2>/dev/null || true)
	case $target in
	/usr/lib/kurier/* | /usr/sbin/kurier-* | *"(deleted)"*kurier*) die "still running: $target (${exe%/exe})" ;;
	esac
done
getent passwd "$test_user" >/dev/null && die "test user $test_user left"
if [[ $courier_existed == no ]]; then
	say "left on purpose: the system user and group courier, created by postinst (as Courier's packages leave them)"
fi
say "PASS"
