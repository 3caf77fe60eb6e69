#!/usr/bin/env bash
# demo.sh - what `make run` does until tcpd and imaplogin land: fill
# ./demo/Maildir through Kurier's store, then run Kurier's imapd on it in
# PREAUTH mode on this terminal, as `imapd ./Maildir` runs from a shell.
# Type IMAP commands (a1 LIST "" "*", a2 SELECT INBOX, a3 FETCH 1:* FLAGS,
# a4 LOGOUT). With no terminal (CI, a pipe) it runs a short scripted session.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo
bin/demo-maildir demo
cd demo
export IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE IDLE" IMAP_KEYWORDS=1 IMAP_USELOCKS=1
echo
if [ -t 0 ]; then
	echo "Kurier imapd on demo/Maildir; type IMAP commands, end with: a LOGOUT"
	exec ../bin/imapd ./Maildir
fi
printf 'a1 LIST "" "*"\r\na2 SELECT INBOX\r\na3 FETCH 1:* (FLAGS ENVELOPE)\r\na4 LOGOUT\r\n' | ../bin/imapd ./Maildir
