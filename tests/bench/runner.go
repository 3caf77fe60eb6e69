package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Config is one run of the harness.
type Config struct {
	// Set names the run in the report: "quick", "full" or "smoke".
	Set string
	// Scenarios to run, in order.
	Scenarios []scenario
	// Reps is the number of recorded repetitions per scenario and server.
	Reps int
	// Warmup adds one unrecorded repetition per scenario and server first
	// (it also warms the page cache the servers share: their folders
	// hard-link the same message files).
	Warmup bool
	// Only, if set, keeps the scenarios whose "name (size)" it matches.
	Only *regexp.Regexp
	// Seed and CorpusParent: corpora come from Generate(CorpusParent, n,
	// Seed); an empty CorpusParent is os.TempDir(), shared between runs.
	Seed         uint64
	CorpusParent string
}

// Run measures every scenario of cfg on Kurier, Courier and Dovecot (those
// available; the others are listed as skipped) and returns the report.
// Repetitions rotate the order of the servers, so that none always runs
// first. A server that fails a scenario fails t (with t.Errorf) and the
// run goes on.
func Run(t *testing.T, cfg Config) *Report {
	// The homes live in os.TempDir(), which other users can traverse
	// (Dovecot reaches its home as nobody when the harness runs as root).
	work, err := os.MkdirTemp("", "kurier-bench-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	// Dovecot runs as nobody under root: let it reach its home below.
	if err := os.Chmod(work, 0o711); err != nil {
		t.Fatal(err)
	}
	e := &env{workDir: work}
	kinds := []kind{e.kurierKind(), courierKind(t), e.dovecotKind()}
	rep := &Report{
		Started: time.Now(), Set: cfg.Set, Reps: cfg.Reps, Warmup: cfg.Warmup,
		Machine: ThisMachine(), Servers: map[string]string{}, RatioConvention: ratioConvention,
	}
	for _, k := range kinds {
		rep.Servers[k.name] = k.version
		if k.skip != "" {
			rep.Servers[k.name] = "unavailable: " + k.skip
			t.Logf("bench: %s skipped: %s", k.name, k.skip)
		}
		if k.name != "kurier" {
			rep.Peers = append(rep.Peers, k.name)
		}
	}
	if kinds[0].skip != "" {
		t.Fatalf("bench: kurier unavailable: %s", kinds[0].skip)
	}
	corpora := map[int]*Corpus{}
	caps := map[string]map[string]bool{}
	for _, sc := range cfg.Scenarios {
		label := fmt.Sprintf("%s (%s)", sc.name, sizeName(sc.size))
		if cfg.Only != nil && !cfg.Only.MatchString(label) {
			continue
		}
		c := corpora[sc.size]
		if c == nil {
			start := time.Now()
			if c, err = Generate(cfg.CorpusParent, sc.size, cfg.Seed); err != nil {
				t.Fatal(err)
			}
			corpora[sc.size] = c
			if d := time.Since(start); d > time.Second {
				t.Logf("bench: generated %d messages (%d MB) in %s in %v", sc.size, c.Bytes>>20, c.Dir, d.Round(time.Millisecond))
			}
		}
		row := &Row{Scenario: sc.name, Messages: sc.size, Metric: sc.metric, Results: map[string]*Result{}, Ratio: map[string]float64{}}
		if row.Metric == "" {
			row.Metric = WallTime
		}
		rep.Rows = append(rep.Rows, row)
		var insts []*instance
		for _, k := range kinds {
			res := &Result{}
			row.Results[k.name] = res
			switch {
			case k.skip != "":
				res.Skipped = "server unavailable"
			case sc.needs != "" && !capable(t, k, c, work, caps, sc.needs):
				res.Skipped = "no " + sc.needs + " capability"
			default:
				insts = append(insts, &instance{k: k, sc: sc, c: c, work: work, res: res})
			}
		}
		started := time.Now()
		measureRow(t, cfg, insts)
		kr := row.Results["kurier"]
		for _, p := range rep.Peers {
			if r := Ratio(kr.Value, row.Results[p].Value); r > 0 {
				row.Ratio[p] = r
			}
		}
		t.Logf("bench: %-72s %s", label, rowSummary(row, rep.Peers, time.Since(started)))
	}
	rep.Duration = time.Since(rep.Started).Round(time.Second).String()
	return rep
}

// rowSummary is the progress line of one row.
func rowSummary(row *Row, peers []string, took time.Duration) string {
	s := "kurier " + cell(row.Results["kurier"], row.Metric)
	for _, p := range peers {
		s += fmt.Sprintf("; %s %s ratio %s", p, cell(row.Results[p], row.Metric), ratioText(row.Ratio[p]))
	}
	return s + fmt.Sprintf(" (%v)", took.Round(100*time.Millisecond))
}

// capable reports whether k announces capability cap, asking once per run
// in a session on a fresh home of c.
func capable(t *testing.T, k kind, c *Corpus, work string, cache map[string]map[string]bool, capability string) bool {
	if cache[k.name] == nil {
		cache[k.name] = map[string]bool{}
		home, err := c.NewHome(work, k.layout)
		if err == nil {
			defer os.RemoveAll(home)
			err = k.prepareHome(home)
		}
		var s *Server
		if err == nil {
			s, err = k.start(home)
		}
		if err == nil {
			cache[k.name], err = s.Capabilities()
			if lerr := s.Logout(); err == nil {
				err = lerr
			}
		}
		if err != nil {
			t.Errorf("bench: %s: CAPABILITY: %v", k.name, err)
		}
	}
	return cache[k.name][capability]
}

// instance is one server's state during one scenario: its home and, for
// scenarios that keep them, its session.
type instance struct {
	k    kind
	sc   scenario
	c    *Corpus
	work string
	res  *Result

	home   string
	srv    *Server
	failed bool
	wall   []float64
	cpu    []float64
	peak   []float64
	value  []float64
}

// measureRow runs the warm-up and the repetitions of one row, rotating the
// servers' order, then closes every instance.
func measureRow(t *testing.T, cfg Config, insts []*instance) {
	defer func() {
		for _, in := range insts {
			in.close()
		}
	}()
	total := cfg.Reps
	if cfg.Warmup {
		total++
	}
	for r := range total {
		recorded := !cfg.Warmup || r > 0
		for j := range insts {
			in := insts[(j+r)%len(insts)]
			if in.failed {
				continue
			}
			if err := in.once(recorded); err != nil {
				in.failed = true
				in.res.Skipped = "failed: " + firstLine(err.Error())
				t.Errorf("bench: %s (%d) on %s: %v", in.sc.name, in.sc.size, in.k.name, err)
			}
		}
	}
	for _, in := range insts {
		if in.failed {
			continue
		}
		in.res.WallMS = Summarize(in.wall)
		in.res.CPUMS = Summarize(in.cpu)
		in.res.PeakKiB = Summarize(in.peak)
		if in.sc.metric == "" || in.sc.metric == WallTime {
			in.res.Value = in.res.WallMS
		} else {
			in.res.Value = Summarize(in.value)
		}
	}
}

// once runs one repetition, recording its figures when recorded.
func (in *instance) once(recorded bool) error {
	sc := in.sc
	if in.home == "" || sc.fresh {
		if err := in.newHome(); err != nil {
			return err
		}
	}
	if in.srv == nil || sc.fresh || sc.freshSession {
		if err := in.newSession(); err != nil {
			return err
		}
	}
	cpu0, err := in.srv.CPUTime()
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := sc.run(in.srv, in.home)
	wall := time.Since(start)
	if err != nil {
		return err
	}
	cpu1, err := in.srv.CPUTime()
	if err != nil {
		return err
	}
	peak, err := in.srv.PeakRSS()
	if err != nil {
		return err
	}
	if recorded {
		in.wall = append(in.wall, float64(wall)/float64(time.Millisecond))
		in.cpu = append(in.cpu, float64(cpu1-cpu0)/float64(time.Millisecond))
		in.peak = append(in.peak, float64(peak))
		in.value = append(in.value, out.value)
		in.res.Note = out.note
	}
	if sc.fresh || sc.freshSession {
		err = in.srv.Logout()
		in.srv = nil
	}
	return err
}

// newHome replaces the instance's home by a fresh copy of the corpus, and
// runs the scenario's prepare commands in a session of their own.
func (in *instance) newHome() error {
	in.close()
	home, err := in.c.NewHome(in.work, in.k.layout)
	if err != nil {
		return err
	}
	in.home = home
	if err := in.k.prepareHome(home); err != nil {
		return err
	}
	if len(in.sc.prepare) == 0 {
		return nil
	}
	s, err := in.k.start(home)
	if err != nil {
		return err
	}
	for _, cmd := range in.sc.prepare {
		if _, err := s.Do(cmd); err != nil {
			s.Kill()
			return err
		}
	}
	return s.Logout()
}

// newSession starts a session and runs the scenario's setup commands.
func (in *instance) newSession() error {
	if in.srv != nil {
		in.srv.Kill()
		in.srv = nil
	}
	s, err := in.k.start(in.home)
	if err != nil {
		return err
	}
	for _, cmd := range in.sc.setup {
		if _, err := s.Do(cmd); err != nil {
			s.Kill()
			return err
		}
	}
	in.srv = s
	return nil
}

// close ends the session, if any, and removes the home.
func (in *instance) close() {
	if in.srv != nil {
		in.srv.Logout() // kills the server if it does not exit
		in.srv = nil
	}
	if in.home != "" {
		os.RemoveAll(in.home)
		in.home = ""
	}
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// resultsDir returns the directory of this run's files: $KURIER_BENCH_OUT
// (default: bench-results in the module root), then the start time.
func resultsDir(started time.Time) string {
	base := os.Getenv("KURIER_BENCH_OUT")
	if base == "" {
		base = filepath.Join("..", "..", "bench-results") // go test runs in tests/bench
	}
	return filepath.Join(base, started.UTC().Format("20060102-150405"))
}
