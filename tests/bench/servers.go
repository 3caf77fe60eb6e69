package bench

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kurier/pkg/imapsession"
	"kurier/pkg/maildir"
	"kurier/tests/oracle"
)

// sharedEnv is the IMAP configuration Kurier and Courier get. IMAP_ACL=0
// and an empty IMAP_EMPTYTRASH keep Courier from doing work Kurier does not
// (MYRIGHTS, the trash purge).
var sharedEnv = []string{
	"TZ=UTC",
	"IMAP_CAPABILITY=IMAP4rev1 UIDPLUS CHILDREN NAMESPACE IDLE",
	"IMAP_KEYWORDS=1",
	"IMAP_USELOCKS=1",
	"IMAP_MAILBOX_SANITY_CHECK=0",
	"IMAP_ACL=0",
	"IMAP_EMPTYTRASH=",
}

// courierExtraEnv is added for Courier only: enhanced IDLE, without which
// Courier polls and announces a delivery only after tens of seconds (see
// package oracle). MOVE is not named: Debian's Courier 5.0.13 has no MOVE
// command (it answers NO even when IMAP_CAPABILITY lists it), so the MOVE
// scenario skips it for want of the capability.
var courierExtraEnv = []string{
	"IMAP_ENHANCEDIDLE=1",
}

// A kind is one server implementation the harness can run.
type kind struct {
	name   string
	layout Layout
	// version describes the server; "" with skip set when it is
	// unavailable (skip says why).
	version string
	skip    string
	// prepareHome adapts a new home to the server (ownership; see
	// chownHome).
	prepareHome func(home string) error
	// start runs one session on home.
	start func(home string) (*Server, error)
}

// env is the harness's run-wide state: where servers are built and run.
type env struct {
	workDir string

	buildOnce sync.Once
	imapd     string
	buildErr  error
}

// kurierImapd returns Kurier's imapd: $KURIER_IMAPD, else built once.
func (e *env) kurierImapd() (string, error) {
	if p := os.Getenv("KURIER_IMAPD"); p != "" {
		return p, nil
	}
	e.buildOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		e.imapd = filepath.Join(e.workDir, "imapd")
		out, err := exec.Command(gobin, "build", "-o", e.imapd, "kurier/imapd").CombinedOutput()
		if err != nil {
			e.buildErr = fmt.Errorf("bench: go build kurier/imapd: %v\n%s", err, out)
		}
	})
	return e.imapd, e.buildErr
}

func noPrepare(string) error { return nil }

// kurierKind runs Kurier's imapd binary, or with KURIER_BENCH_INPROC=1 its
// session in the test process (for go test -cpuprofile; CPU and memory
// figures are then not measured).
func (e *env) kurierKind() kind {
	k := kind{name: "kurier", layout: CourierLayout, prepareHome: noPrepare, version: kurierVersion()}
	if os.Getenv("KURIER_BENCH_INPROC") == "1" {
		k.version += " (in-process)"
		k.start = func(home string) (*Server, error) {
			vars := map[string]string{}
			for _, kv := range sharedEnv {
				key, v, _ := strings.Cut(kv, "=")
				vars[key] = v
			}
			cfg, _ := imapsession.ConfigFromEnv(func(key string) string { return vars[key] })
			opts := imapsession.Options{
				Config:  cfg,
				Maildir: maildir.Maildir{Root: filepath.Join(home, "Maildir")},
				User:    "bench",
				Log:     slog.New(slog.DiscardHandler),
			}
			return StartFunc("kurier", func(r io.Reader, w io.Writer) { imapsession.Serve(r, w, opts) })
		}
		return k
	}
	k.start = func(home string) (*Server, error) {
		imapd, err := e.kurierImapd()
		if err != nil {
			return nil, err
		}
		env := append([]string{"PATH=/usr/bin:/bin", "HOME=" + home}, sharedEnv...)
		path, args := wrap(imapd, "./Maildir")
		return Start("kurier", path, args, home, env)
	}
	return k
}

// kurierVersion describes the source tree: its git commit, if known.
func kurierVersion() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "imapd (this tree)"
	}
	return "imapd " + strings.TrimSpace(string(out))
}

// courierKind runs Debian's Courier imapd found by package oracle. probe
// must be a test whose skip or failure stands for "Courier unavailable"
// (oracle.Imapd skips, or fails with CI=true).
func courierKind(t *testing.T) kind {
	k := kind{name: "courier", layout: CourierLayout, prepareHome: noPrepare}
	var c *oracle.Courier
	t.Run("find-courier", func(t *testing.T) { c = oracle.Imapd(t) })
	if c == nil {
		k.skip = "Debian's Courier is unavailable (scripts/fetch-courier.sh; see the find-courier subtest)"
		return k
	}
	k.version = c.Version
	k.start = func(home string) (*Server, error) {
		env := c.Environ(append(append([]string{"HOME=" + home}, sharedEnv...), courierExtraEnv...)...)
		path, args := wrap(c.ImapdPath, "./Maildir")
		return Start("courier", path, args, home, env)
	}
	return k
}

// dovecotInfo is what scripts/fetch-dovecot.sh wrote in dovecot.env.
type dovecotInfo struct {
	dir, version            string
	imap, doveconf, modules string
	libDirs                 []string
}

// findDovecot reads dovecot.env from $KURIER_DOVECOT_DIR, else
// ${XDG_CACHE_HOME:-~/.cache}/kurier/dovecot.
func findDovecot() (*dovecotInfo, error) {
	dir := os.Getenv("KURIER_DOVECOT_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory: %v", err)
		}
		dir = filepath.Join(cache, "kurier", "dovecot")
	}
	f, err := os.Open(filepath.Join(dir, "dovecot.env"))
	if err != nil {
		return nil, fmt.Errorf("%v (run scripts/fetch-dovecot.sh)", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	d := &dovecotInfo{
		dir:      dir,
		version:  "Dovecot " + vars["DOVECOT_VERSION"],
		imap:     filepath.Join(dir, vars["DOVECOT_IMAP"]),
		doveconf: filepath.Join(dir, vars["DOVECOT_DOVECONF"]),
		modules:  filepath.Join(dir, vars["DOVECOT_MODULEDIR"]),
	}
	for _, l := range filepath.SplitList(vars["DOVECOT_LIBDIRS"]) {
		d.libDirs = append(d.libDirs, filepath.Join(dir, l))
	}
	for _, p := range []string{d.imap, d.doveconf} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%v (run scripts/fetch-dovecot.sh again)", err)
		}
	}
	return d, nil
}

// dovecotNobody is the uid and gid Dovecot drops to when the harness runs
// as root: Dovecot refuses mail access as root.
const dovecotNobody = 65534

// dovecotKind runs Debian's Dovecot imap in PREAUTH mode over pipes, as
// scripts/fetch-dovecot.sh explains: doveconf reads a private
// configuration (written into the work directory, logging to stderr, every
// state and temporary path inside the work directory) and execs imap. The
// Maildir++ layout and namespace mirror Courier's (INBOX. prefix, "."
// separator); everything else is Dovecot's default, indexes included.
func (e *env) dovecotKind() kind {
	k := kind{name: "dovecot", layout: DovecotLayout, prepareHome: noPrepare}
	d, err := findDovecot()
	if err != nil {
		k.skip = "Debian's Dovecot is not fetched: " + err.Error()
		return k
	}
	k.version = d.version
	uid, gid, userName := os.Getuid(), os.Getgid(), ""
	if uid == 0 {
		uid, gid, userName = dovecotNobody, dovecotNobody, "nobody"
		k.prepareHome = func(home string) error { return chownHome(home, uid, gid) }
	} else if u, err := user.Current(); err == nil {
		userName = u.Username
	} else {
		userName = strconv.Itoa(uid)
	}
	run := filepath.Join(e.workDir, "dovecot")
	conf := filepath.Join(run, "dovecot.conf")
	text := fmt.Sprintf(`# Written by kurier tests/bench: Dovecot's imap in PREAUTH mode for the benchmarks.
base_dir = %[1]s/run
state_dir = %[1]s/state
mail_temp_dir = %[1]s/tmp
log_path = /dev/stderr
info_log_path = /dev/stderr
protocols = imap
ssl = no
mail_plugin_dir = %[2]s
mail_location = maildir:~/Maildir
mail_uid = %[3]d
mail_gid = %[4]d
first_valid_uid = 1
first_valid_gid = 1
namespace inbox {
  inbox = yes
  prefix = INBOX.
  separator = .
}
`, run, d.modules, uid, gid)
	for _, dir := range []string{"run", "state", "tmp"} {
		if err := os.MkdirAll(filepath.Join(run, dir), 0o777); err != nil {
			k.skip = err.Error()
			return k
		}
		os.Chmod(filepath.Join(run, dir), 0o1777) // Dovecot writes as mail_uid
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		k.skip = err.Error()
		return k
	}
	k.start = func(home string) (*Server, error) {
		env := []string{"PATH=/usr/bin:/bin", "TZ=UTC", "HOME=" + home, "USER=" + userName,
			"LD_LIBRARY_PATH=" + strings.Join(d.libDirs, ":")}
		path, args := wrap(d.doveconf, "-c", conf, "-f", "service=imap", "-m", "imap", "-e", d.imap)
		return Start("dovecot", path, args, home, env)
	}
	return k
}

// chownHome gives home and everything in it to uid:gid. Hard-linked
// message files, shared with the cached corpus, are first replaced by
// private copies (same content and time): with fs.protected_hardlinks=1,
// as on Debian, Dovecot running as uid could not hard-link another user's
// files on COPY and would fall back to copying them, a cost Courier and
// Kurier (running as the files' owner) do not pay.
func chownHome(home string, uid, gid int) error {
	return filepath.Walk(home, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() && nlink(fi) > 1 {
			own := path + ".own"
			if err := copyFile(path, own); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if err := os.Rename(own, path); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
		return os.Lchown(path, uid, gid)
	})
}

// wrap returns the command line of a server: path and args, after the
// words of $KURIER_BENCH_WRAP (e.g. "strace -f -c -o /tmp/trace"), if set.
func wrap(path string, args ...string) (string, []string) {
	w := strings.Fields(os.Getenv("KURIER_BENCH_WRAP"))
	if len(w) == 0 {
		return path, args
	}
	return w[0], append(append(w[1:], path), args...)
}
