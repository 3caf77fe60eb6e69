// Package keywords reads and writes Courier's per-folder keyword store, the
// directory courierimapkeywords/ that holds the custom IMAP keywords ($Label1,
// Junk, …) of a folder's messages (spec/courier-compat.md §6.6). Its users are
// the mailbox layer (SELECT, EXAMINE, NOOP, IDLE polls, STORE, COPY, APPEND)
// and admin tools; it knows nothing of IMAP beyond keyword case rules.
//
// # On-disk format
//
// The store is the compatibility contract with Courier and is kept exactly:
//
//	:list                  keyword table, an empty line, then
//	                       "<base>:<idx> <idx> …" for each message with keywords
//	<base>                 update file: the complete new set of one message,
//	                       one keyword per line (empty file: no keywords)
//	.<N>.<base>            update file already merged into :list in time
//	                       slot N-1 (a slot is 300 s of Unix time)
//
// A message's base is its file name up to the first ':'. Every file is
// written in the folder's tmp/ and renamed into place, mode 0666 filtered by
// the umask; the directory is created 0700 on demand. Nothing is fsynced,
// as in Courier: the files can be rebuilt from nothing but the user's
// keywords.
//
// The effective keywords of a message are those of its plain update file if
// there is one, else those of its .N. file with the largest N, else those in
// :list. [Store.Load] runs Courier's merge (§6.6 steps 1–6): it folds update
// files into a rewritten :list, renames merged plain files to .N. names,
// deletes .N. files once their slot has passed and removes the update files
// of vanished messages after 15 minutes.
//
// Courier's own choices are reproduced where they show in files or
// responses: the keyword table is ordered the way Courier's keyword hash
// table enumerates (see [Store.Keywords]), which makes a :list written here
// byte-identical to Courier's for the same keywords, and a message's
// keywords are kept sorted bytewise, as Courier stores and reports them.
//
// # Speed
//
// Courier writes one update file per changed message and re-reads :list and
// the directory at every folder open (§8 row 1). A Store instead caches the
// parsed :list and the directory listing, keyed by device, inode, size and
// time stamps, so a re-Load of an unchanged folder costs two stat calls and
// one existence check per message. [Store.Set] applies a large batch by
// rewriting :list once; see its documentation for why that is safe next to
// Courier processes.
//
// # Concurrency
//
// A Store serves one folder in one process; its methods are safe for
// concurrent use (they are serialized). Between processes, the callers of
// Load and Set must hold the folder's dot-lock (§6.9) whenever IMAP_USELOCKS
// is on, as Courier holds it around its own keyword merges and +FLAGS/-FLAGS
// updates; with IMAP_USELOCKS off, set [Store.NoLock] so that Set never
// depends on it. Plain update files may appear at any moment (Courier writes
// some without the lock) and are never lost: a merge renames them, never
// deletes them, and Set only replaces one that it saw, for a message whose
// keywords it is setting, as any later writer would.
//
// Maps and slices returned by a Store are shared and read-only: the Store
// never changes them after returning them, and callers must not change them
// either.
package keywords
