#!/usr/bin/env bash
# demo.sh - what `make run` does until the IMAP server lands: fill ./demo/Maildir
# through Kurier's store and show what Kurier reads back.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo
go run ./tools/demo-maildir demo
echo
echo "Inspect it with: ls -la demo/Maildir demo/Maildir/cur; cat demo/Maildir/courierimapuiddb"
