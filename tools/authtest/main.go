// Authtest asks authd (or Courier's authdaemond) about one account, with
// Courier's authtest command line and output.
//
// Usage:
//
//	authtest [-s service] userid [password [newpassword]]
//
// With only userid it looks the account up (PRE); with a password it
// authenticates (AUTH login); with a new password it changes the password
// (PASSWD). The service defaults to "login", as Courier's. On success the
// account is printed on standard output:
//
//	Authentication succeeded.
//
//	     Authenticated: alice  (uid 1001, gid 1001)
//	    Home Directory: /home/alice
//	           Maildir: (none)
//	             Quota: (none)
//	Encrypted Password: $y$…
//	Cleartext Password: secret
//	           Options: (none)
//
// and the exit status is 0. A refusal prints "Authentication FAILED:
// Operation not permitted" on standard error (the text Courier's authtest
// gets from errno EPERM) and exits 1; a temporary failure (no daemon,
// timeout) prints the cause and exits 1.
//
// Environment: KURIER_CONFDIR locates authdaemonrc, whose authdaemonvar
// gives the socket (default /run/courier/authdaemon/socket).
//
// See also: authd(8).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"

	"kurier/pkg/authclient"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("authtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	service := fs.String("s", "login", "service")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 3 {
		fmt.Fprintln(stderr, "Usage: authtest [-s service] userid [ password [ newpassword ] ]")
		return 1
	}
	c, err := authclient.Default()
	if err != nil {
		fmt.Fprintln(stderr, "Authentication FAILED:", err)
		return 1
	}
	ctx := context.Background()
	userid := fs.Arg(0)
	var acct *authclient.Account
	switch fs.NArg() {
	case 1:
		acct, err = c.Pre(ctx, *service, userid)
	case 2:
		acct, err = c.Login(ctx, *service, userid, fs.Arg(1), "")
	case 3:
		err = c.Passwd(ctx, *service, userid, fs.Arg(1), fs.Arg(2))
		if err == nil {
			fmt.Fprintln(stderr, "Password change succeeded.")
			return 0
		}
	}
	if errors.Is(err, authclient.ErrRejected) {
		fmt.Fprintln(stderr, "Authentication FAILED: Operation not permitted")
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "Authentication FAILED:", err)
		return 1
	}
	printAccount(stdout, acct)
	return 0
}

// printAccount prints acct as Courier's authtest does. An account given by
// USERNAME= (authpam) is resolved to its uid through the passwd database,
// as libcourierauth does.
func printAccount(w io.Writer, a *authclient.Account) {
	uid := strconv.Itoa(a.UID)
	if a.UID < 0 {
		uid = "?"
		if u, err := user.Lookup(a.Username); err == nil {
			uid = u.Uid
		}
	}
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	fmt.Fprintf(w, "Authentication succeeded.\n\n")
	fmt.Fprintf(w, "     Authenticated: %s  (uid %s, gid %d)\n", a.Address, uid, a.GID)
	fmt.Fprintf(w, "    Home Directory: %s\n", a.Home)
	fmt.Fprintf(w, "           Maildir: %s\n", orNone(a.Maildir))
	fmt.Fprintf(w, "             Quota: %s\n", orNone(a.Quota))
	fmt.Fprintf(w, "Encrypted Password: %s\n", orNone(a.Passwd))
	fmt.Fprintf(w, "Cleartext Password: %s\n", orNone(a.Passwd2))
	fmt.Fprintf(w, "           Options: %s\n", orNone(a.Options))
}
