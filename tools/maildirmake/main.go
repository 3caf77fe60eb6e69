// Maildirmake creates maildirs and maildir folders, sets their quota, links
// sharable maildirs, and converts pre-5.0 maildirs to UTF-8 folder names.
// It takes the command line of Courier's maildirmake (maildirmake.courier
// on Debian) and leaves the same files behind (spec/courier-compat.md §7.1).
//
// Usage:
//
//	maildirmake [-S] [-q quota] [-f folder | -F folder] [-s read|write[,group]] maildir
//	maildirmake --add nick=/path/to/sharable/maildir maildir
//	maildirmake --del nick maildir
//	maildirmake --checkutf8 | --convutf8 maildir [mailfilter]
//
// Options come before the maildir. -f, -F, -q and -s take their value in the
// same argument (-fDrafts) or in the next one; "--" ends the options.
//
// With no option, maildirmake creates the directory maildir with tmp/, new/
// and cur/, all mode 0700. The parent directory must exist, and maildir
// must not.
//
//	-S        Make a sharable maildir: the maildir itself is 0755, so that
//	          others can reach its folders; tmp/, new/ and cur/ stay 0700.
//	-f folder Create the folder instead, inside the existing main maildir:
//	          the directory maildir/.folder with tmp/, new/, cur/ (0700) and an
//	          empty maildirfolder file (0600). The name is UTF-8, without
//	          "INBOX.", with '.' between hierarchy levels: -f Drafts.Urgent
//	          makes IMAP's INBOX.Drafts.Urgent. Parent levels need not exist.
//	-F folder Like -f, but the name is in the console's character set
//	          ($MM_CHARSET, $CHARSET or the locale's codeset). Only UTF-8 and
//	          ISO-8859-1 can be converted; a plain ASCII name always works.
//	-s mode   With -f, create a shared folder in a sharable maildir. mode is
//	          read or write, optionally with group, separated by a comma:
//	          read makes the folder and its tmp/new/cur 0755 (0750 with group);
//	          write makes the folder 01755 and tmp/new/cur 01777 (01750 and
//	          01770 with group), so that others can add messages and remove
//	          their own. -S with -f (and no -s) is the same as -s read.
//	-q quota  Install a Maildir++ quota: <bytes>S, <messages>C or both, such
//	          as 5000000S,1000C. maildirsize is written in the main maildir
//	          with the limit and the current usage, replacing any earlier
//	          quota. A missing maildir (or, with -f, folder) is created first.
//
//	--add nick=path  Make the sharable maildir at the absolute path visible
//	          as shared.nick in this maildir: append "nick<TAB>path" to
//	          maildir/shared-maildirs. The nick may not contain '.', '/', '#'
//	          or white space, and must not be defined already here or in
//	          $KURIER_CONFDIR/maildirshared.
//	--del nick       Remove nick from maildir/shared-maildirs.
//	--checkutf8      Check that a maildir made by Courier-IMAP before 5.0
//	          (folder directories named in IMAP's modified UTF-7, such as
//	          .R&AOk-sum&AOk-) can be converted to UTF-8 names; print what
//	          would be renamed and change nothing.
//	--convutf8       Convert it: rename the folder directories and rewrite
//	          the names in courierimapsubscribed. Run it once, with the mail
//	          server stopped. Nothing is changed when any folder or
//	          subscription is not valid modified UTF-7; rename those by hand.
//	          A mailfilter operand (SqWebMail's maildrop filter) is ignored
//	          when the file does not exist and refused when it does: Kurier
//	          cannot convert mail filters.
//
// Differences from Courier's maildirmake: where Courier silently ignores
// part of a command line, maildirmake refuses it (exit 1, nothing done):
// arguments after the maildir, options given twice, -s words other than
// read, write and group, other options with --add, --del or the UTF-8
// conversion, -q values that set no limit or contain anything but
// <n>S and <n>C, folder names with an empty level ("a..b", "a."), '/' or
// control characters, -f on a folder directory instead of a maildir, and
// nicks that shared-maildirs cannot hold. -s group applies wherever it
// stands. -q with -f makes a proper folder (Courier makes one without
// maildirfolder holding its own maildirsize) and sets the maildir's quota;
// -q with -S leaves tmp/new/cur 0700. --del keeps the file's mode and
// owner, and leaves it untouched when the nick is missing. --checkutf8
// leaves no courierimapsubscribed.new behind, and a missing maildir is an
// error for the conversion. The conversion accepts only canonical modified
// UTF-7 (Courier also takes adjacent encoded runs and encoded ASCII), and
// leaves names that are already UTF-8 as they are (Courier garbles them).
// -F names are not escaped into one level ("a.b" is a sub-folder, not
// "a\056b"). Messages are Kurier's own words, all on standard error
// (Courier prints the usage and "invalid folder name" on standard output).
//
// Environment:
//
//	KURIER_CONFDIR   configuration directory (default /etc/courier), for
//	                 the system-wide list of sharable maildirs
//	MM_CHARSET, CHARSET, LC_ALL, LC_CTYPE, LANG
//	                 the console's character set, for -F only
//	HOSTNAME         host part of temporary file names (default: the
//	                 kernel's host name)
//
// Files:
//
//	maildir/maildirsize           quota (-q)
//	maildir/shared-maildirs       sharable maildirs of this maildir (--add, --del)
//	maildir/courierimapsubscribed subscriptions (--convutf8)
//	$KURIER_CONFDIR/maildirshared system-wide sharable maildirs (read by --add)
//
// Files are replaced through the maildir's tmp/ and a rename. New files get
// mode 0666 (maildirsize 0644) less the umask; directories and maildirfolder
// get exactly the modes above, whatever the umask, as with Courier.
//
// Security: maildirmake runs as the invoking user and creates everything
// as that user: run it as the mail user, or chown the result. It never
// changes its umask; modes are set with chmod. Folder names cannot reach
// outside the maildir ('/', empty levels and control characters are
// refused). Run as root, --del and --convutf8 keep the owner and group of
// the files they rewrite.
//
// Diagnostics: errors go to standard error as "maildirmake: <message>";
// --checkutf8 and --convutf8 report their progress on standard output.
// Exit status 0 on success; 2 when --add finds the nick already defined;
// 1 for every other error and for a bad command line (with the usage).
//
// See also: imapd, deliverquota(8), maildirquota(7); spec/courier-compat.md
// §6.1, §6.7, §6.10, §6.11, §7.1.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// defaultConfDir is the configuration directory without KURIER_CONFDIR.
const defaultConfDir = "/etc/courier"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run carries out one command line and returns the exit status. getenv
// supplies the environment.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	r, err := parseArgs(args)
	if err != nil {
		return fail(stderr, err)
	}
	switch r.act {
	case actAdd:
		confDir := getenv("KURIER_CONFDIR")
		if confDir == "" {
			confDir = defaultConfDir
		}
		err = addShared(r.maildir, r.nick, r.sharedPath, confDir)
	case actDel:
		if r.nick == "" {
			err = errors.New("--del needs a nick")
		} else {
			err = delShared(r.maildir, r.nick)
		}
	case actCheckUTF8, actConvUTF8:
		err = convertUTF8(r.maildir, r.mailfilter, r.act == actConvUTF8, stdout, stderr)
	default:
		err = makeRequest(r, getenv)
	}
	return fail(stderr, err)
}

// fail prints err and returns its exit status (0 for nil).
func fail(stderr io.Writer, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "maildirmake: %v\n%s\n", err, usage)
		return 1
	case errors.Is(err, errDefined):
		fmt.Fprintf(stderr, "maildirmake: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "maildirmake: %v\n", err)
		return 1
	}
}
