// Makeuserdb checks the userdb source and tells authd to re-read it: the
// step Courier's makeuserdb performs by compiling userdb.dat and
// userdbshadow.dat. Kurier's authuserdb reads the text source directly, so
// there is nothing to compile; this command keeps the admin's habit
// (`userdb … set …; makeuserdb`) working and catches mistakes early.
//
// Usage:
//
//	makeuserdb [-f file]
//
// It loads $KURIER_CONFDIR/userdb (or file; a file or a directory), reports
// each line authd would skip (with file and line), refuses a source that
// group or others can access, notes Courier's userdb.dat if one is there
// (Kurier does not read it; it matters only if you switch back to Courier,
// which then needs its own makeuserdb), and sends SIGHUP to the authd named
// by <authdaemonvar>/pid so that the change takes effect now.
//
// Exit status: 0 when the source is clean, 1 when it has problems (authd is
// then not signalled) or cannot be read.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"kurier/pkg/authd"
	"kurier/pkg/authmod/userdb"
	"kurier/pkg/courierconf"
)

func main() {
	file := flag.String("f", courierconf.Path("userdb"), "userdb source (file or directory)")
	flag.Parse()
	db, problems, err := userdb.Load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "makeuserdb:", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "makeuserdb:", p)
	}
	fmt.Printf("makeuserdb: %s: %d accounts\n", *file, len(db.Records))
	if dat, err := os.Stat(*file + ".dat"); err == nil {
		src, _ := os.Stat(*file)
		rel := "newer than"
		if src != nil && dat.ModTime().Before(src.ModTime()) {
			rel = "older than"
		}
		fmt.Printf("makeuserdb: note: %s.dat (Courier's compiled copy) is %s the source; Kurier reads the source and ignores it\n", *file, rel)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "makeuserdb: %d problem(s); authd skips those lines. Fix them and run makeuserdb again.\n", len(problems))
		os.Exit(1)
	}
	if err := signalAuthd(); err != nil {
		fmt.Fprintln(os.Stderr, "makeuserdb: authd not told to reload:", err)
		return
	}
	fmt.Println("makeuserdb: authd told to reload")
}

func signalAuthd() error {
	cfg, err := authd.LoadConfig(courierconf.Path("authdaemonrc"), func(string, ...any) {})
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(cfg.Var, "pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s: no pid", filepath.Join(cfg.Var, "pid"))
	}
	return syscall.Kill(pid, syscall.SIGHUP)
}
