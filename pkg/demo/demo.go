// Package demo makes demonstration mail: a Maildir with folders, messages,
// flags, keywords and a quota, written through Kurier's store exactly as a
// client's APPEND and COPY would write it. Used by tools/demo-maildir
// (`make run`) and, later, to seed the demo account.
package demo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/quota"
)

// Folders are the folders the demo Maildir gets besides INBOX.
var Folders = []string{"INBOX.Sent", "INBOX.Drafts", "INBOX.Trash", "INBOX.Projects", "INBOX.Projects.Kurier"}

// Populate creates (or adds to) home/Maildir and writes a summary of every
// folder to w.
func Populate(home string, w io.Writer) error {
	md := maildir.Maildir{Root: filepath.Join(home, "Maildir")}
	for _, d := range []string{"", maildir.Tmp, maildir.New, maildir.Cur} {
		if err := os.MkdirAll(filepath.Join(md.Root, d), 0o700); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	q, err := quota.New(md.Root, quota.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := os.Stat(q.Path()); errors.Is(err, os.ErrNotExist) {
		if _, err := q.Set(quota.Definition{Bytes: 100_000_000, Messages: 10_000}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	for _, f := range Folders {
		if err := md.Create(f); err != nil && !errors.Is(err, maildir.ErrExists) {
			return fmt.Errorf("demo: %w", err)
		}
	}
	opts := mailbox.Options{Keywords: true, UseLocks: true, Quota: &mailbox.QuotaConfig{}}
	inbox, err := mailbox.Open(md, maildir.Inbox, opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	now := time.Now()
	_, uids, err := inbox.Target().Append([]mailbox.NewMessage{
		{Body: message("Welcome to Kurier", "Your mail lives in a Courier-compatible Maildir."), Flags: maildir.FlagSeen, Date: now.Add(-72 * time.Hour)},
		{Body: message("Quarterly report", "Numbers attached (not really)."), Flags: maildir.FlagFlagged, Keywords: []string{"$Label1", "Work"}, Date: now.Add(-48 * time.Hour)},
		{Body: message("You won a prize", "Click here."), Keywords: []string{"Junk"}, Date: now.Add(-24 * time.Hour)},
		{Body: message("Lunch?", "12:30 at the usual place?")},
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := inbox.Rescan(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	projects, err := mailbox.OpenTarget(md, "INBOX.Projects.Kurier", opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, _, err := inbox.Copy([]*mailbox.Message{inbox.ByUID(uids[1])}, projects); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sent, err := mailbox.OpenTarget(md, "INBOX.Sent", opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, _, err := sent.Append([]mailbox.NewMessage{{Body: message("Re: Lunch?", "Sure."), Flags: maildir.FlagSeen}}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return Summarize(md, w)
}

// Summarize writes each folder's UIDVALIDITY, UIDNEXT and messages to w,
// opening the folders read-only.
func Summarize(md maildir.Maildir, w io.Writer) error {
	names, err := md.List()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "Maildir %s\n", md.Root)
	for _, name := range names {
		f, err := mailbox.Open(md, name, mailbox.Options{ReadOnly: true, Keywords: true, UseLocks: true})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(w, "%-24s UIDVALIDITY %d UIDNEXT %d, %d messages\n", name, f.UIDValidity(), f.UIDNext(), len(f.Messages()))
		for _, m := range f.Messages() {
			flags := strings.Join(append(m.Flags.IMAPNames(), m.Keywords...), " ")
			fmt.Fprintf(w, "  UID %-4d (%s)\n", m.UID, flags)
		}
	}
	q, err := quota.New(md.Root, quota.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	st, err := q.Status()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, r := range st.Resources() {
		fmt.Fprintf(w, "quota %s %d of %d\n", r.Name, r.Usage, r.Limit)
	}
	return nil
}

func message(subject, body string) io.Reader {
	return strings.NewReader(fmt.Sprintf("From: Demo <demo@example.org>\nTo: you@example.org\nSubject: %s\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		subject, time.Now().Format(time.RFC1123Z), body))
}
