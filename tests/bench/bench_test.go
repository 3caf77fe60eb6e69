package bench

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kurier/pkg/imapsession"
	"kurier/pkg/maildir"
	"kurier/tests/oracle"
)

// Sizes of the two corpora and their seed.
const (
	small = 10_000
	large = 100_000
	seed  = 1
)

// sharedEnv is the IMAP configuration both servers get. IMAP_ACL=0 and an
// empty IMAP_EMPTYTRASH keep Courier from doing work Kurier does not
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

// workDir holds the servers' home directories for the run.
var workDir string

func TestMain(m *testing.M) {
	var err error
	workDir, err = os.MkdirTemp("", "kurier-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	results.print(os.Stdout)
	os.RemoveAll(workDir)
	os.Exit(code)
}

// skipLarge reports whether the 100,000-message scenarios are off: with
// -short or KURIER_BENCH_LARGE=0.
func skipLarge() bool {
	return testing.Short() || os.Getenv("KURIER_BENCH_LARGE") == "0"
}

var corpora sync.Map // int → *corpusOnce

type corpusOnce struct {
	once sync.Once
	c    *Corpus
	err  error
}

// corpus returns the cached corpus of n messages, generating it once.
func corpus(b *testing.B, n int) *Corpus {
	b.Helper()
	if n >= large && skipLarge() {
		b.Skip("100,000-message scenario: off with -short or KURIER_BENCH_LARGE=0")
	}
	v, _ := corpora.LoadOrStore(n, &corpusOnce{})
	co := v.(*corpusOnce)
	co.once.Do(func() {
		start := time.Now()
		co.c, co.err = Generate(n, seed)
		if co.err == nil && time.Since(start) > time.Second {
			fmt.Fprintf(os.Stderr, "bench: generated %d messages (%d MB) in %s in %v\n",
				n, co.c.Bytes>>20, co.c.Dir, time.Since(start).Round(time.Millisecond))
		}
	})
	if co.err != nil {
		b.Fatal(co.err)
	}
	return co.c
}

// A server kind starts one server on a home directory.
type kind struct {
	name  string
	start func(b *testing.B, home string) *Server
}

var kurierBuild struct {
	once sync.Once
	path string
	err  error
}

// kurierImapd returns Kurier's imapd: $KURIER_IMAPD, else built once.
func kurierImapd(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("KURIER_IMAPD"); p != "" {
		return p
	}
	kurierBuild.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		kurierBuild.path = filepath.Join(workDir, "imapd")
		out, err := exec.Command(gobin, "build", "-o", kurierBuild.path, "kurier/imapd").CombinedOutput()
		if err != nil {
			kurierBuild.err = fmt.Errorf("go build kurier/imapd: %v\n%s", err, out)
		}
	})
	if kurierBuild.err != nil {
		b.Fatal(kurierBuild.err)
	}
	return kurierBuild.path
}

var (
	kurierKind = kind{"kurier", func(b *testing.B, home string) *Server {
		b.Helper()
		env := append([]string{"PATH=/usr/bin:/bin", "HOME=" + home}, sharedEnv...)
		path, args := wrap(kurierImapd(b), "./Maildir")
		s, err := Start("kurier", path, args, home, env)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}}
	courierKind = kind{"courier", func(b *testing.B, home string) *Server {
		b.Helper()
		c := oracle.Imapd(b) // skips when Courier is unavailable
		env := c.Environ(append([]string{"HOME=" + home}, sharedEnv...)...)
		path, args := wrap(c.ImapdPath, "./Maildir")
		s, err := Start("courier", path, args, home, env)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}}
	// inprocKind serves Kurier's session in the test process, for
	// go test -cpuprofile; it runs only with KURIER_BENCH_INPROC=1.
	inprocKind = kind{"kurier-inproc", func(b *testing.B, home string) *Server {
		b.Helper()
		env := map[string]string{}
		for _, e := range sharedEnv {
			k, v, _ := strings.Cut(e, "=")
			env[k] = v
		}
		cfg, _ := imapsession.ConfigFromEnv(func(k string) string { return env[k] })
		opts := imapsession.Options{
			Config:  cfg,
			Maildir: maildir.Maildir{Root: filepath.Join(home, "Maildir")},
			User:    "bench",
			Log:     slog.New(slog.DiscardHandler),
		}
		s, err := StartFunc("kurier-inproc", func(r io.Reader, w io.Writer) {
			imapsession.Serve(r, w, opts)
		})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}}
)

// wrap returns the command line of a server: path and args, after the
// words of $KURIER_BENCH_WRAP (e.g. "strace -f -c -o /tmp/trace"), if set.
func wrap(path string, args ...string) (string, []string) {
	w := strings.Fields(os.Getenv("KURIER_BENCH_WRAP"))
	if len(w) == 0 {
		return path, args
	}
	return w[0], append(append(w[1:], path), args...)
}

func kinds() []kind {
	if os.Getenv("KURIER_BENCH_INPROC") == "1" {
		return []kind{inprocKind}
	}
	return []kind{kurierKind, courierKind}
}

// scenario is one measured operation on a corpus.
type scenario struct {
	name string
	size int
	// prepare runs once per home, in a session of its own, before the
	// measured sessions (to build the UID database for a second SELECT).
	prepare []string
	// setup runs, unmeasured, at the start of every measured session.
	setup []string
	// fresh gives every iteration a new home and session (for operations
	// that change the folder); else one session serves all iterations.
	fresh bool
	// freshSession gives every iteration a new session on the same home.
	freshSession bool
	// run is the measured operation; it returns a short note on the
	// responses (compared between the servers in the table).
	run func(s *Server) (string, error)
}

// do returns a run function for one command, noted by its untagged count.
func do(cmd string) func(s *Server) (string, error) {
	return func(s *Server) (string, error) {
		r, err := s.Do(cmd)
		return fmt.Sprintf("%d untagged", r.Untagged), err
	}
}

// search returns a run function for a SEARCH command, noted by its hits.
func search(cmd string) func(s *Server) (string, error) {
	return func(s *Server) (string, error) {
		r, err := s.Collect(cmd)
		hits := 0
		for _, l := range r.Lines {
			if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
				hits += len(strings.Fields(rest))
			}
		}
		return fmt.Sprintf("%d hits", hits), err
	}
}

// selectRun is SELECT INBOX, noted by EXISTS.
func selectRun(s *Server) (string, error) {
	r, err := s.Collect("SELECT INBOX")
	for _, l := range r.Lines {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "EXISTS" {
			return f[1] + " exists", err
		}
	}
	return "no EXISTS", err
}

// measure runs sc as kurier and courier sub-benchmarks of b.
func measure(b *testing.B, sc scenario) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) { measureOne(b, sc, k) })
	}
}

func measureOne(b *testing.B, sc scenario, k kind) {
	b.StopTimer()
	c := corpus(b, sc.size)
	var home string
	var srv *Server
	newHome := func() {
		if home != "" {
			os.RemoveAll(home)
		}
		var err error
		if home, err = c.NewHome(workDir); err != nil {
			b.Fatal(err)
		}
		if len(sc.prepare) > 0 {
			s := k.start(b, home)
			for _, cmd := range sc.prepare {
				if _, err := s.Do(cmd); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Logout(); err != nil {
				b.Fatal(err)
			}
		}
	}
	newSession := func() {
		srv = k.start(b, home)
		for _, cmd := range sc.setup {
			if _, err := srv.Do(cmd); err != nil {
				b.Fatal(err)
			}
		}
	}
	defer func() {
		if srv != nil {
			srv.Kill()
		}
		if home != "" {
			os.RemoveAll(home)
		}
	}()
	perSession := sc.fresh || sc.freshSession
	if !sc.fresh {
		newHome()
	}
	if !perSession {
		newSession()
	}
	var peak int64
	var note string
	for range b.N {
		if sc.fresh {
			newHome()
		}
		if perSession {
			newSession()
		}
		b.StartTimer()
		n, err := sc.run(srv)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		note = n
		if p, err := srv.PeakRSS(); err == nil {
			peak = max(peak, p)
		}
		if perSession {
			if err := srv.Logout(); err != nil {
				b.Fatal(err)
			}
			srv = nil
		}
	}
	if srv != nil {
		if err := srv.Logout(); err != nil {
			b.Fatal(err)
		}
		srv = nil
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	if peak > 0 {
		b.ReportMetric(float64(peak), "peak-KiB")
	}
	ratio := results.record(b.Name(), sc.name, sc.size, k.name, perOp, peak, note)
	if ratio > 0 {
		b.ReportMetric(ratio, "courier/kurier")
	}
}

func BenchmarkSelectFirst(b *testing.B) {
	for _, n := range []int{small, large} {
		b.Run(sizeName(n), func(b *testing.B) {
			measure(b, scenario{name: "SELECT (first, no uiddb)", size: n, fresh: true, run: selectRun})
		})
	}
}

func BenchmarkSelectSecond(b *testing.B) {
	for _, n := range []int{small, large} {
		b.Run(sizeName(n), func(b *testing.B) {
			measure(b, scenario{name: "SELECT (second)", size: n, prepare: []string{"SELECT INBOX"},
				freshSession: true, run: selectRun})
		})
	}
}

func BenchmarkFetchEnvelope(b *testing.B) {
	for _, n := range []int{small, large} {
		b.Run(sizeName(n), func(b *testing.B) {
			measure(b, scenario{name: "FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)", size: n,
				setup: []string{"SELECT INBOX"},
				run:   do("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")})
		})
	}
}

func BenchmarkFetchBody(b *testing.B) {
	measure(b, scenario{name: "FETCH 1:1000 BODY.PEEK[]", size: small, setup: []string{"SELECT INBOX"},
		run: do("FETCH 1:1000 BODY.PEEK[]")})
}

func BenchmarkSearchHeader(b *testing.B) {
	measure(b, scenario{name: "SEARCH HEADER Subject " + SubjectWord, size: small, setup: []string{"SELECT INBOX"},
		run: search("SEARCH HEADER Subject " + SubjectWord)})
}

func BenchmarkSearchText(b *testing.B) {
	measure(b, scenario{name: "SEARCH TEXT " + TextWord, size: small, setup: []string{"SELECT INBOX"},
		run: search("SEARCH TEXT " + TextWord)})
}

func BenchmarkStoreSeen(b *testing.B) {
	measure(b, scenario{name: `STORE 1:10000 +FLAGS (\Seen)`, size: small, fresh: true,
		setup: []string{"SELECT INBOX"}, run: do(`STORE 1:10000 +FLAGS (\Seen)`)})
}

func BenchmarkCopyKeywords(b *testing.B) {
	measure(b, scenario{name: "COPY 1:5000 (keyworded)", size: small, fresh: true,
		setup: []string{"SELECT INBOX", "CREATE INBOX.Target"}, run: do("COPY 1:5000 INBOX.Target")})
}

func BenchmarkAppend(b *testing.B) {
	msgs := SmallMessages(2000, seed)
	measure(b, scenario{name: "APPEND 2000 small, one at a time", size: small, fresh: true,
		setup: []string{"SELECT INBOX", "CREATE INBOX.Sent"},
		run: func(s *Server) (string, error) {
			for _, m := range msgs {
				if _, err := s.Append("INBOX.Sent", m); err != nil {
					return "", err
				}
			}
			r, err := s.Collect("STATUS INBOX.Sent (MESSAGES)")
			if len(r.Lines) > 0 {
				return strings.TrimPrefix(r.Lines[0], "* STATUS "), err
			}
			return "", err
		}})
}

func BenchmarkExpunge(b *testing.B) {
	measure(b, scenario{name: "EXPUNGE 5000", size: small, fresh: true,
		setup: []string{"SELECT INBOX", `STORE 1:5000 +FLAGS.SILENT (\Deleted)`}, run: do("EXPUNGE")})
}

func sizeName(n int) string {
	if n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// results collects the last measurement of every scenario and server for
// the table printed after the run.
var results = &table{}

type table struct {
	mu   sync.Mutex
	rows []*row
}

type row struct {
	key      string // the benchmark name without the server
	scenario string
	size     int
	by       map[string]measurement
}

type measurement struct {
	perOp time.Duration
	peak  int64
	note  string
}

// record stores one measurement and returns courier/kurier once both are
// known (0 before).
func (t *table) record(bench, scenario string, size int, server string, perOp time.Duration, peak int64, note string) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := bench[:strings.LastIndexByte(bench, '/')]
	var r *row
	for _, x := range t.rows {
		if x.key == key {
			r = x
		}
	}
	if r == nil {
		r = &row{key: key, scenario: scenario, size: size, by: map[string]measurement{}}
		t.rows = append(t.rows, r)
	}
	r.by[server] = measurement{perOp, peak, note}
	k, kok := r.by["kurier"]
	c, cok := r.by["courier"]
	if kok && cok && k.perOp > 0 {
		return float64(c.perOp) / float64(k.perOp)
	}
	return 0
}

func (t *table) print(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-58s %7s %10s %10s %7s %11s %11s  %s\n", "scenario", "msgs", "kurier", "courier",
		"c/k", "kurier-RSS", "courier-RSS", "responses (kurier | courier)")
	for _, r := range t.rows {
		k, c := r.by["kurier"], r.by["courier"]
		if ip, ok := r.by["kurier-inproc"]; ok {
			k = ip
		}
		ratio := "-"
		if k.perOp > 0 && c.perOp > 0 {
			ratio = fmt.Sprintf("%.2f", float64(c.perOp)/float64(k.perOp))
		}
		note := k.note
		if c.note != "" && c.note != k.note {
			note += " | " + c.note
		}
		fmt.Fprintf(w, "%-58s %7d %10s %10s %7s %11s %11s  %s\n", r.scenario, r.size, dur(k.perOp), dur(c.perOp),
			ratio, kib(k.peak), kib(c.peak), note)
	}
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func kib(k int64) string {
	if k == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(k)/1024)
}
