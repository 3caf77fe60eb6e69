package mailbox

import (
	"kurier/pkg/keywords"
)

// keywordStore is what a Folder needs of courierimapkeywords/: the effective
// keywords of existing messages, and batched replacement of message sets.
// Both run under the folder lock.
type keywordStore interface {
	Load(exists func(base string) bool) (map[string][]string, error)
	LoadReadOnly(exists func(base string) bool) (map[string][]string, error)
	Set(changes map[string][]string) error
	Keywords() []string
}

// newKeywordStore opens a folder's keyword store. Without the dot-lock the
// store writes one update file per message, as Courier does, since its
// batched :list rewrite relies on merges being serialised by the lock.
func newKeywordStore(dir string, opts Options) keywordStore {
	s := keywords.Open(dir, opts.Namer)
	s.NoLock = !opts.UseLocks
	s.Now = opts.Now
	s.Log = opts.Log
	return s
}
