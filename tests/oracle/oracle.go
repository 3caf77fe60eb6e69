// Package oracle runs Debian's Courier-IMAP binaries, the reference that Kurier must match
// (spec/courier-compat.md §0), for the differential tests of other packages.
//
// Imapd finds the binaries that scripts/fetch-courier.sh unpacked (running the script when
// they are missing) and skips the calling test when they cannot be had. With CI=true or
// KURIER_REQUIRE_ORACLE=1 it fails the test instead, so that CI cannot lose the
// differential tests without notice. Courier.Start runs imapd in PREAUTH mode (§4.5) over
// pipes and returns a Session that sends commands and returns the server's lines, with
// literals inline. Courier.MaildirMake and Courier.Command run the other tools.
//
// Environment:
//
//	KURIER_COURIER_DIR      absolute path of the directory holding courier.env, as written
//	                        by fetch-courier.sh (default: $XDG_CACHE_HOME, else ~/.cache,
//	                        then kurier/courier); may also name the root of a system where
//	                        Courier is installed, such as "/"
//	CI=true                 fail, not skip, when the oracle is unavailable
//	KURIER_REQUIRE_ORACLE=1 the same, outside CI
//
// Quirks of Debian's imapd 5.0.13 that the package handles or that callers must respect:
//
//   - It must run under a uid that has a passwd entry, else it prints
//     "ERR: uid N not found in passwd file" and exits 1 with no greeting; Start then
//     skips. Running as root is fine: the shared/fixtures Maildir was made that way.
//   - The Maildir must be owned by the process's uid and gid (§4.4 step 10,
//     IMAP_MAILBOX_SANITY_CHECK, left on), and the home directory must not have the
//     sticky bit (§4.4 step 5), so /tmp itself cannot be a home. A Maildir the test made,
//     as NewHome does, passes both checks.
//   - It is built with FAM/Gamin. Without gam_server it prints
//     "* OK [ALERT] Filesystem notification initialization error ..." before its greeting
//     and logs errors on every SELECT. The environment points GAMIN_DEBUG_SERVER at the
//     unpacked gam_server, which libgamin starts on first use; it detaches, serves all
//     sessions of the user and exits by itself once idle (seen: within two minutes).
//   - IDLE announces changes at once only with IMAP_ENHANCEDIDLE=1 ("+ entering ENHANCED
//     idle mode"); Debian's default, 0, polls ("+ entering idle mode", nothing seen
//     within 30 s of an APPEND by another session).
//   - It reads no configuration file: the settings Debian keeps in /etc/courier/imapd
//     reach it only through the environment that Start builds.
//
// The package is test support: it imports testing and is used only from _test.go files.
package oracle

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment variables the package reads.
const (
	envDir     = "KURIER_COURIER_DIR"
	envRequire = "KURIER_REQUIRE_ORACLE"
	envCI      = "CI"
)

// envFormat is the courier.env format this package reads; fetch-courier.sh's $format.
const envFormat = "1"

// fetchTimeout bounds one run of scripts/fetch-courier.sh (apt-get may wait on a dead
// network).
const fetchTimeout = 10 * time.Minute

// Courier is one unpacked (or installed) copy of Debian's Courier-IMAP. Its fields must
// not be changed; a Courier may be shared by parallel tests.
type Courier struct {
	// Dir is the directory the binaries were found in (DEST of fetch-courier.sh).
	Dir string
	// Version is the first line of `imapd --version`, e.g.
	// "Courier 1.0.16 (Courier-IMAP 5.0.13)/x86_64-pc-linux-gnu/2023-03-23 08:10:59".
	Version string
	// Packages lists the Debian packages as name=version, separated by spaces.
	Packages string
	// ImapdPath is the imapd binary (Debian's /usr/bin/imapd).
	ImapdPath string
	// MaildirMakePath is the maildirmake.courier binary.
	MaildirMakePath string

	root      string   // the unpacked file system tree, "/" for an installed Courier
	libDirs   []string // for LD_LIBRARY_PATH; empty for an installed Courier
	gamServer string   // for GAMIN_DEBUG_SERVER; empty for an installed Courier
}

// lookup is the memoised result of locate for one directory.
type lookup struct {
	once sync.Once
	c    *Courier
	err  error
}

// located memoises locate per directory for the life of the test binary, so that a fetch
// that cannot succeed (no network, not root) is tried once, not once per test. It is the
// package's only mutable state; locate is idempotent, so sharing its result is safe.
var located sync.Map // string → *lookup

// Imapd returns Debian's Courier-IMAP for the test, fetching it with
// scripts/fetch-courier.sh when it is not there yet. When it cannot be had, Imapd skips
// the test with the reason, or fails it when CI=true or KURIER_REQUIRE_ORACLE=1. It is
// safe for parallel tests.
func Imapd(tb testing.TB) *Courier {
	tb.Helper()
	dir := os.Getenv(envDir)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			unavailable(tb, "oracle: no cache directory (%v): set %s", err, envDir)
		}
		dir = filepath.Join(cache, "kurier", "courier")
	}
	v, _ := located.LoadOrStore(dir, &lookup{})
	l := v.(*lookup)
	l.once.Do(func() { l.c, l.err = locate(dir) })
	if l.err != nil {
		unavailable(tb, "%v", l.err)
	}
	return l.c
}

// Required reports whether a missing oracle fails tests rather than skipping them:
// CI=true (any true value of strconv.ParseBool) or KURIER_REQUIRE_ORACLE=1.
func Required() bool {
	ci, _ := strconv.ParseBool(os.Getenv(envCI))
	req, _ := strconv.ParseBool(os.Getenv(envRequire))
	return ci || req
}

// unavailable skips or, when Required, fails the test.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatal("Debian's Courier-IMAP (the test oracle) is required, as " + envCI + "=true or " +
			envRequire + "=1, but unavailable: " + msg)
	}
	tb.Skip("Debian's Courier-IMAP (the test oracle) is unavailable: " + msg)
}

// locate loads the Courier in dir, running fetch-courier.sh first when dir holds neither
// a courier.env nor an installed usr/bin/imapd.
func locate(dir string) (*Courier, error) {
	envFile := filepath.Join(dir, "courier.env")
	if _, err := os.Stat(envFile); err == nil {
		c, err := load(dir)
		if err == nil {
			return c, nil
		}
		// An older format or a damaged tree: let the script rebuild it.
	} else if _, err := os.Stat(filepath.Join(dir, "usr", "bin", "imapd")); err == nil {
		return installed(dir)
	}
	if err := fetch(dir); err != nil {
		return nil, err
	}
	return load(dir)
}

// load reads DIR/courier.env.
func load(dir string) (*Courier, error) {
	name := filepath.Join(dir, "courier.env")
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("oracle: %s: bad line %q", name, line)
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("oracle: read %s: %w", name, err)
	}
	if vars["COURIER_ENV_FORMAT"] != envFormat {
		return nil, fmt.Errorf("oracle: %s: format %q, want %q", name, vars["COURIER_ENV_FORMAT"], envFormat)
	}
	c := &Courier{
		Dir:             dir,
		root:            filepath.Join(dir, "root"),
		Version:         vars["COURIER_VERSION"],
		Packages:        vars["COURIER_PACKAGES"],
		ImapdPath:       filepath.Join(dir, vars["COURIER_IMAPD"]),
		MaildirMakePath: filepath.Join(dir, vars["COURIER_MAILDIRMAKE"]),
		gamServer:       filepath.Join(dir, vars["COURIER_GAM_SERVER"]),
	}
	for _, d := range filepath.SplitList(vars["COURIER_LIBDIRS"]) {
		c.libDirs = append(c.libDirs, filepath.Join(dir, d))
	}
	for _, p := range []string{c.ImapdPath, c.MaildirMakePath} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("oracle: %s: %w", name, err)
		}
	}
	return c, nil
}

// installed describes a Courier installed under root (such as "/"), which needs no
// library path and whose libgamin finds gam_server by itself.
func installed(root string) (*Courier, error) {
	c := &Courier{
		Dir:             root,
		root:            root,
		ImapdPath:       filepath.Join(root, "usr", "bin", "imapd"),
		MaildirMakePath: filepath.Join(root, "usr", "bin", "maildirmake.courier"),
	}
	out, err := exec.Command(c.ImapdPath, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("oracle: %s --version: %w", c.ImapdPath, err)
	}
	c.Version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return c, nil
}

// fetch runs scripts/fetch-courier.sh DIR.
func fetch(dir string) error {
	script, err := fetchScript()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, dir)
	cmd.WaitDelay = 10 * time.Second // apt-get may outlive a killed bash
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("oracle: %s %s: %w\n%s", script, dir, err, tail(string(out), 20))
	}
	return nil
}

// fetchScript finds scripts/fetch-courier.sh in the module: from this source file's path
// when it is known (not built with -trimpath), else from the working directory up, which
// go test sets to the tested package's directory.
func fetchScript() (string, error) {
	const rel = "scripts/fetch-courier.sh"
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), "..", "..", rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("oracle: find %s: %w", rel, err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("oracle: %s not found above %s", rel, wd)
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Environ returns the environment for running a Courier binary: PATH=/usr/bin:/bin,
// TZ=UTC (so that INTERNALDATE does not depend on the host), LD_LIBRARY_PATH and
// GAMIN_DEBUG_SERVER for the unpacked tree, then extra. Each "KEY=value" of extra replaces
// an earlier KEY; a bare "KEY" removes it. Nothing is inherited from the test's own
// environment.
func (c *Courier) Environ(extra ...string) []string {
	env := []string{"PATH=/usr/bin:/bin", "TZ=UTC"}
	if len(c.libDirs) > 0 {
		env = append(env, "LD_LIBRARY_PATH="+strings.Join(c.libDirs, string(filepath.ListSeparator)))
	}
	if c.gamServer != "" {
		env = append(env, "GAMIN_DEBUG_SERVER="+c.gamServer)
	}
	return mergeEnv(env, extra)
}

// mergeEnv applies extra to env: "KEY=value" replaces KEY, a bare "KEY" removes it.
func mergeEnv(env, extra []string) []string {
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		out := env[:0:0]
		for _, old := range env {
			if k, _, _ := strings.Cut(old, "="); k != key {
				out = append(out, old)
			}
		}
		if strings.Contains(e, "=") {
			out = append(out, e)
		}
		env = out
	}
	return env
}

// Command returns an exec.Cmd running the Courier program name (e.g. "maildirkw",
// "maildiracl", "deliverquota.courier", "couriertcpd", "imaplogin") with args and
// Environ(). The caller may set Dir, Stdin and the rest before running it. An unknown
// name gives a command whose Run fails with an error naming it.
func (c *Courier) Command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.root, "usr", "bin", name)
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib/courier/courier", "usr/lib/courier", "usr/libexec"} {
		p := filepath.Join(c.root, d, name)
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	cmd := exec.Command(path, args...)
	cmd.Env = c.Environ()
	return cmd
}

// MaildirMake runs maildirmake.courier with args (spec §7.1: "[options] maildir") and
// returns its combined output. It runs in the test's working directory, which is the
// package's source directory: pass absolute paths. A non-zero exit gives an
// *exec.ExitError, with the output still returned, so tests can compare failures too.
func (c *Courier) MaildirMake(args ...string) (string, error) {
	cmd := exec.Command(c.MaildirMakePath, args...)
	cmd.Env = c.Environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// NewHome returns a new home directory (under tb.TempDir) holding an empty Maildir made
// by maildirmake.courier, ready for Start. It fails the test on error.
func (c *Courier) NewHome(tb testing.TB) string {
	tb.Helper()
	home := tb.TempDir()
	if out, err := c.MaildirMake(filepath.Join(home, "Maildir")); err != nil {
		tb.Fatalf("oracle: maildirmake.courier %s/Maildir: %v\n%s", home, err, out)
	}
	return home
}
