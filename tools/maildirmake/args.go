package main

import (
	"fmt"
	"strings"
)

// action is what one invocation does.
type action int

const (
	actMake      action = iota // create a maildir or a folder, or set a quota
	actAdd                     // --add: append to shared-maildirs
	actDel                     // --del: remove from shared-maildirs
	actCheckUTF8               // --checkutf8: dry run of the UTF-8 conversion
	actConvUTF8                // --convutf8: the UTF-8 conversion
)

// request is a parsed command line.
type request struct {
	act     action
	maildir string

	folder      string // -f or -F argument, as given
	hasFolder   bool
	localFolder bool // the folder came with -F: in the locale's charset

	quota    string // -q argument
	hasQuota bool

	sharable bool   // -S
	share    *share // -s; nil without it

	nick       string // --add, --del
	sharedPath string // --add
	mailfilter string // optional second operand of --checkutf8/--convutf8
}

// share is the access of a shared folder (-s).
type share struct {
	write bool // anyone (or the group) may add messages
	group bool // the owner's group instead of everyone
}

// usageError is a command line that cannot be carried out. It is reported
// with the usage text and exit status 1, as Courier does.
type usageError string

func (e usageError) Error() string { return string(e) }

func usagef(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// usage is the synopsis printed after a usage error.
const usage = `usage: maildirmake [-S] [-q quota] [-f folder | -F folder] [-s read|write[,group]] maildir
       maildirmake --add nick=/path/to/sharable/maildir maildir
       maildirmake --del nick maildir
       maildirmake --checkutf8 | --convutf8 maildir [mailfilter]`

// parseArgs parses Courier's command line (spec/courier-compat.md §7.1).
// Options come first; the first argument that does not start with '-'
// (or is "-") is the maildir. Like Courier, -f, -F, -q and -s take their
// value attached ("-fDrafts") or as the next argument. Unlike Courier,
// which ignores them, parseArgs refuses what it cannot honour: arguments
// after the maildir, options given twice, unknown -s words, and options
// that --add and --del would ignore. "--" ends the options.
func parseArgs(args []string) (request, error) {
	var r request
	seen := map[string]bool{}
	once := func(opt string) error {
		key := opt
		if opt == "-F" {
			key = "-f"
		}
		if seen[key] {
			return usagef("%s given twice", opt)
		}
		seen[key] = true
		return nil
	}
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if arg == "-" || !strings.HasPrefix(arg, "-") {
			break
		}
		switch {
		case arg == "--add" || arg == "--del":
			if err := once("--add/--del"); err != nil {
				return r, err
			}
			if i+1 >= len(args) {
				return r, usagef("%s needs an argument", arg)
			}
			i++
			if arg == "--del" {
				r.act, r.nick = actDel, args[i]
				continue
			}
			nick, path, ok := strings.Cut(args[i], "=")
			if !ok || !strings.HasPrefix(path, "/") {
				return r, usagef("--add needs nick=/absolute/path, not %q", args[i])
			}
			r.act, r.nick, r.sharedPath = actAdd, nick, path
		case arg == "--checkutf8" || arg == "--convutf8":
			return parseConvert(r, seen, arg, args[i+1:])
		case arg == "-S":
			if err := once(arg); err != nil {
				return r, err
			}
			r.sharable = true
		case len(arg) >= 2 && strings.Contains("fFqs", arg[1:2]) && !strings.HasPrefix(arg, "--"):
			opt := arg[:2]
			if err := once(opt); err != nil {
				return r, err
			}
			val := arg[2:]
			if val == "" {
				if i+1 >= len(args) {
					return r, usagef("%s needs a value", opt)
				}
				i++
				val = args[i]
			}
			switch opt {
			case "-f", "-F":
				r.folder, r.hasFolder, r.localFolder = val, true, opt == "-F"
			case "-q":
				r.quota, r.hasQuota = val, true
			case "-s":
				s, err := parseShare(val)
				if err != nil {
					return r, err
				}
				r.share = &s
			}
		default:
			return r, usagef("unknown option %s", arg)
		}
	}
	switch rest := args[i:]; {
	case len(rest) == 0:
		return r, usagef("no maildir given")
	case len(rest) > 1:
		return r, usagef("only one maildir may be given; %q follows %s", rest[1], rest[0])
	default:
		r.maildir = rest[0]
	}
	if r.act == actAdd || r.act == actDel {
		if len(seen) > 1 {
			return r, usagef("--add and --del take no other options")
		}
		return r, nil
	}
	if r.share != nil && !r.hasFolder {
		return r, usagef("-s needs -f: it makes a shared folder")
	}
	return r, nil
}

// parseConvert parses what follows --checkutf8 or --convutf8: the maildir
// and an optional mail filter, and nothing else.
func parseConvert(r request, seen map[string]bool, opt string, rest []string) (request, error) {
	if len(seen) > 0 {
		return r, usagef("%s takes no other options", opt)
	}
	switch len(rest) {
	case 0:
		return r, usagef("%s needs a maildir", opt)
	case 1, 2:
	default:
		return r, usagef("%s takes a maildir and at most one mail filter", opt)
	}
	r.act = actCheckUTF8
	if opt == "--convutf8" {
		r.act = actConvUTF8
	}
	r.maildir = rest[0]
	if len(rest) == 2 {
		r.mailfilter = rest[1]
	}
	return r, nil
}

// parseShare parses the -s argument: words separated by commas or white
// space. As in Courier only the first letter of a word counts (r[ead],
// w[rite], g[roup]) and of read and write the last one given wins. Unlike
// Courier, group applies wherever it stands ("group,write" is write for
// the group, where Courier would quietly make the folder world-writable),
// and words that mean nothing are refused instead of ignored.
func parseShare(arg string) (share, error) {
	var s share
	words := strings.FieldsFunc(arg, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
	})
	if len(words) == 0 {
		return s, usagef("-s needs read or write, optionally with group")
	}
	for _, w := range words {
		switch w[0] {
		case 'r':
			s.write = false
		case 'w':
			s.write = true
		case 'g':
			s.group = true
		default:
			return s, usagef("-s: unknown access %q (use read, write and group)", w)
		}
	}
	return s, nil
}
