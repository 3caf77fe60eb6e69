// Package couriermeta reads and writes the small per-maildir files of
// Courier-IMAP that are neither messages nor the UID database:
//
//   - courierimapsubscribed, the subscribed folder names
//     (spec/courier-compat.md §6.10);
//   - courierimapacl and courierimaphieracl/<name>, the access control lists
//     of folders and of hierarchy nodes without a directory (§5.5, §6.8).
//
// Folder names are IMAP names in UTF-8 ("INBOX", "INBOX.Sent"), checked with
// maildir.CanonicalName. Conversion from modified UTF-7 is the protocol
// layer's business.
//
// Users: imapd (SUBSCRIBE, LSUB, RENAME, DELETE, GETACL/SETACL/MYRIGHTS,
// CREATE) and tools/maildiracl.
//
// Invariants: every rewrite goes through a unique file in a tmp/ directory
// of the same maildir and a rename, so a reader sees the old or the new
// file, never a mix, and a crash leaves at most a stray tmp file. Nothing
// here locks: two sessions of one user that change the same file at the
// same moment may lose one change, as with Courier. Parsers accept any bytes
// and never fail; what Courier would skip is skipped.
package couriermeta

import (
	"kurier/pkg/maildir"
)

// File names in the maildir (or, for ACLFile, in a folder directory).
const (
	SubscriptionsFile = "courierimapsubscribed"
	ACLFile           = "courierimapacl"
	HierACLDir        = "courierimaphieracl"
)

// fileMode is the mode of the files written here before the umask, as for
// every Courier data file (spec/courier-compat.md §6.1).
const fileMode = 0o666

// hierDirMode is the mode Courier gives courierimaphieracl/.
const hierDirMode = 0o755

// Dir gives access to the metadata files of one maildir. The zero Namer is
// replaced by maildir.NewNamer("") on each write; a session should set one.
// A Dir holds no open files and may be copied and used concurrently.
type Dir struct {
	Root  string         // the main maildir (INBOX)
	Namer *maildir.Namer // names the temporary files of rewrites
}

func (d Dir) namer() *maildir.Namer {
	if d.Namer != nil {
		return d.Namer
	}
	return maildir.NewNamer("")
}
