package mailbox

import (
	"kurier/pkg/keywords"
	"kurier/pkg/maildir"
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

func newKeywordStore(dir string, namer *maildir.Namer) keywordStore {
	return keywords.Open(dir, namer)
}
