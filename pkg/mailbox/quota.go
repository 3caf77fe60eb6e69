package mailbox

import (
	"log/slog"

	"kurier/pkg/quota"
)

// QuotaConfig enables Maildir++ quota accounting (maildirsize) for
// deliveries and expunges. Without a maildirsize file (and without
// Override) there is no quota and nothing is written.
type QuotaConfig struct {
	// Override replaces the definition in maildirsize (MAILDIRQUOTA,
	// spec/courier-compat.md §4.6); the zero value uses the file's.
	Override quota.Definition
	// Trash is the folder name (without "INBOX.") whose messages do not
	// count, "Trash" by default (IMAP_TRASHFOLDERNAME).
	Trash string
}

// quotaHandle accounts one folder's deliveries and expunges in the
// maildirsize of its Maildir root. The zero value does nothing.
type quotaHandle struct {
	q   *quota.Quota
	log *slog.Logger
}

func (t *Target) quota() quotaHandle { return newQuotaHandle(t.Dir, t.opts) }
func (f *Folder) quota() quotaHandle { return newQuotaHandle(f.Dir, f.opts) }

func newQuotaHandle(dir string, opts Options) quotaHandle {
	if opts.Quota == nil {
		return quotaHandle{}
	}
	q, err := quota.New(dir, quota.Options{Trash: opts.Quota.Trash, Override: opts.Quota.Override, Namer: opts.Namer, Now: opts.Now})
	if err != nil || !q.CountsFolder(dir) {
		if err != nil {
			opts.Log.Warn("quota unavailable", "file", dir, "err", err)
		}
		return quotaHandle{}
	}
	return quotaHandle{q: q, log: opts.Log}
}

// check returns an error wrapping quota.ErrOverQuota if adding bytes in n
// messages would go over the quota. It runs before the messages become
// visible, as pkg/quota requires.
func (h quotaHandle) check(bytes int64, n int) error {
	if h.q == nil {
		return nil
	}
	_, err := h.q.Check(quota.Usage{Bytes: bytes, Messages: int64(n)})
	return err
}

// add records a delivery (positive) or an expunge (negative) as Courier
// does: one delta line per operation. A failure is logged, not returned:
// the operation itself succeeded, and a wrong maildirsize is rebuilt by the
// next check that finds it over quota or too long.
func (h quotaHandle) add(bytes int64, n int) {
	if h.q == nil || n == 0 {
		return
	}
	if err := h.q.Add(quota.Usage{Bytes: bytes, Messages: int64(n)}); err != nil {
		h.log.Warn("quota update failed", "file", h.q.Path(), "err", err)
	}
}
