// Demo-maildir fills a Maildir with demonstration mail through Kurier's
// store and prints what Kurier reads back from it.
//
// Usage:
//
//	demo-maildir DIR
//
// DIR/Maildir is created if missing (with tmp/, new/, cur/), given a quota
// of 100 MB and 10,000 messages unless it has one, and the folders
// INBOX.Sent, INBOX.Drafts, INBOX.Trash and INBOX.Projects.Kurier. A
// handful of messages with flags and keywords are appended, one is copied,
// and the result is listed folder by folder: UIDVALIDITY, UIDNEXT, and each
// message's UID, flags and keywords. Running it again adds more messages:
// UIDs keep growing.
//
// It is what `make run` shows until the IMAP server lands; the same data
// seeds the demo account later.
//
// Exit status: 0 on success, 1 on any error (printed to stderr).
package main

import (
	"fmt"
	"os"

	"kurier/pkg/demo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demo-maildir DIR")
		os.Exit(2)
	}
	if err := demo.Populate(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo-maildir:", err)
		os.Exit(1)
	}
}
