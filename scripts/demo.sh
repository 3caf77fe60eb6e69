#!/usr/bin/env bash
# demo.sh - `make run`: the whole Kurier chain on localhost with a demo
# account, from the binaries in bin/ (make build) and a private
# configuration tree in demo/etc (KURIER_CONFDIR), so nothing outside the
# checkout is touched and no root is needed:
#
#   authd                      userdb account "demo" (password "demo")
#   tcpd --config imapd        127.0.0.1:1143, IMAP with STARTTLS
#   tcpd --config imapd-ssl    127.0.0.1:1993, IMAPS
#
# with a self-signed certificate (mkimapdcert) and a Maildir with folders,
# messages and keywords (demo-maildir). The account maps to the invoking
# user; run as root, it maps to "nobody" (Kurier never serves a session as
# root) and the Maildir lives under /tmp, where nobody can reach it.
#
# On a terminal it runs until Ctrl-C, logging to the terminal. Without one
# (CI, a pipe) or with --check, it logs in once with curl over each port,
# prints what it got, and stops: exit 0 only if all logins worked. --serve
# serves until stopped even without a terminal.
#
# Environment: KURIER_DEMO_PORT (1143) and KURIER_DEMO_TLSPORT (1993).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bin=$top/bin
demo=$top/demo
conf=$demo/etc
run=$demo/run
port=${KURIER_DEMO_PORT:-1143}
tlsport=${KURIER_DEMO_TLSPORT:-1993}
check=false
case ${1:-} in
--check) check=true ;;
--serve) ;; # serve until stopped, terminal or not
*) [ -t 0 ] || check=true ;;
esac

pids=()
stop() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

rm -rf "$conf" "$run"
mkdir -p "$conf" "$run"

if [ "$(id -u)" = 0 ]; then
	user=nobody
	home=/tmp/kurier-demo-home
	tlsopt="-tlsuser=nobody"
else
	user=$(id -un)
	home=$demo/home
	tlsopt=""
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
if [ ! -d "$home/Maildir" ]; then
	mkdir -p "$home"
	"$bin/demo-maildir" "$home" >/dev/null
fi
if [ "$(id -u)" = 0 ]; then chown -R "$uid:$gid" "$home"; fi

# Kurier's default files, with the demo's settings appended: in these
# shell-style files the last assignment wins, as in Courier's.
cp etc/imapd etc/imapd-ssl etc/authdaemonrc "$conf/"
cat >>"$conf/imapd" <<EOF

# --- demo (scripts/demo.sh) ---
ADDRESS=127.0.0.1
PORT=$port
MAXDAEMONS=20
PIDFILE=$run/imapd.pid
IMAPACCESSFILE=$conf/imapaccess
TCPDOPTS="-nodnslookup -noidentlookup $tlsopt"
IMAP_EMPTYTRASH=""
EOF
cat >>"$conf/imapd-ssl" <<EOF

# --- demo (scripts/demo.sh) ---
SSLADDRESS=127.0.0.1
SSLPORT=$tlsport
SSLPIDFILE=$run/imapd-ssl.pid
TLS_CERTFILE=$conf/imapd.pem
TLS_CACHEFILE=""
EOF
cat >>"$conf/authdaemonrc" <<EOF

# --- demo (scripts/demo.sh) ---
authmodulelist="authuserdb"
authdaemonvar=$run/authdaemon
EOF
: >"$conf/imapaccess"
hash=$(printf 'demo\n' | "$bin/userdbpw")
printf 'demo\tuid=%s|gid=%s|home=%s|mail=%s/Maildir|imappw=%s\n' "$uid" "$gid" "$home" "$home" "$hash" >"$conf/userdb"
chmod 600 "$conf/userdb"
KURIER_CONFDIR=$conf "$bin/mkimapdcert" -cn localhost >/dev/null
if [ "$(id -u)" = 0 ]; then chown nobody "$conf/imapd.pem"; fi

export KURIER_CONFDIR=$conf
"$bin/authd" -private &
pids+=($!)
for _ in $(seq 50); do [ -S "$run/authdaemon/socket" ] && break; sleep 0.1; done
"$bin/tcpd" --config "$conf/imapd" --libexec "$bin" &
pids+=($!)
"$bin/tcpd" --config "$conf/imapd-ssl" --libexec "$bin" &
pids+=($!)
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port" && exec 4<>"/dev/tcp/127.0.0.1/$tlsport") 2>/dev/null && break
	sleep 0.1
done

cat <<EOF

Kurier is listening on 127.0.0.1:$port (IMAP, STARTTLS) and 127.0.0.1:$tlsport (IMAPS).
Account: demo   password: demo   (Maildir: $home/Maildir, served as $user)
Try:
  curl -u demo:demo imap://127.0.0.1:$port/INBOX -X 'FETCH 1:* (FLAGS ENVELOPE)'
  curl -k -u demo:demo imaps://127.0.0.1:$tlsport/ -X 'LIST "" "*"'
  openssl s_client -quiet -starttls imap -connect 127.0.0.1:$port      (then: a LOGIN demo demo)
or point a mail client at 127.0.0.1 port $tlsport (SSL/TLS) or $port (STARTTLS)
and accept the self-signed certificate. Configuration: $conf. Ctrl-C stops.

EOF

if $check; then
	ok=true
	echo "== curl imap:// with STARTTLS (--ssl-reqd)"
	curl -sS --max-time 20 -k --ssl-reqd -u demo:demo "imap://127.0.0.1:$port/INBOX" -X 'FETCH 1:* (FLAGS)' || ok=false
	echo "== curl imaps://"
	curl -sS --max-time 20 -k -u demo:demo "imaps://127.0.0.1:$tlsport/" -X 'LIST "" "*"' || ok=false
	echo "== wrong password"
	if curl -sS --max-time 20 -k -u demo:wrong "imap://127.0.0.1:$port/" 2>/dev/null; then ok=false; else echo "refused, as it should be"; fi
	$ok && echo "demo: all checks passed" || { echo "demo: a check failed" >&2; exit 1; }
	exit 0
fi
wait
