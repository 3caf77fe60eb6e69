package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Corpus sizes of the sets: make bench runs quickSizes, make bench-full
// adds largeSize; the scenarios that change or search a folder run on
// workSize.
const (
	workSize  = 10_000
	largeSize = 100_000
)

var quickSizes = []int{1_000, workSize}

// TestBench is the harness behind make bench and make bench-full: it runs
// only when KURIER_BENCH is "quick" or "full" (see doc.go) and writes its
// report into a new directory under $KURIER_BENCH_OUT.
func TestBench(t *testing.T) {
	set := os.Getenv("KURIER_BENCH")
	var sizes []int
	reps := 5
	switch set {
	case "":
		t.Skip("the benchmark harness runs with KURIER_BENCH=quick or full (make bench, make bench-full)")
	case "quick":
		sizes = quickSizes
	case "full":
		sizes = append(quickSizes, largeSize)
		reps = 3
	default:
		t.Fatalf("KURIER_BENCH=%q: want quick or full", set)
	}
	if v := os.Getenv("KURIER_BENCH_REPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KURIER_BENCH_REPS=%q: want a positive number", v)
		}
		reps = n
	}
	cfg := Config{Set: set, Scenarios: scenarios(sizes, workSize), Reps: reps, Warmup: true, Seed: seed}
	if v := os.Getenv("KURIER_BENCH_ONLY"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			t.Fatalf("KURIER_BENCH_ONLY: %v", err)
		}
		cfg.Only = re
	}
	// The network modes are TestBenchNetwork (network.go), which make
	// bench runs after this one.
	rep := Run(t, cfg)
	dir := resultsDir(rep.Started)
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	fmt.Printf("\nbench: report in %s (report.md, report.json, ratios.svg)\n\n", abs)
	rep.WriteMarkdown(os.Stdout)
}

// TestSmoke runs every scenario once on a corpus of 50 messages, on Kurier
// and Courier (and Dovecot when scripts/fetch-dovecot.sh has fetched it),
// so that the harness cannot rot unnoticed; it checks the report's files.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke run of the benchmark harness: off with -short")
	}
	const n = 50
	start := time.Now()
	rep := Run(t, Config{Set: "smoke", Scenarios: scenarios([]int{n}, n), Reps: 1, Seed: seed, CorpusParent: t.TempDir()})
	t.Logf("smoke run took %v", time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}
	if got, want := len(rep.Rows), len(scenarios([]int{n}, n)); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for _, row := range rep.Rows {
		k := row.Results["kurier"]
		if k == nil || k.Skipped != "" || k.Value.N != 1 || k.Value.Median <= 0 {
			t.Errorf("%s: kurier result %+v", row.Scenario, k)
		}
		for _, p := range rep.Peers {
			r := row.Results[p]
			if r.Skipped != "" {
				continue
			}
			if r.Value.N != 1 || row.Ratio[p] <= 0 {
				t.Errorf("%s: %s result %+v, ratio %v", row.Scenario, p, r, row.Ratio[p])
			}
			// The servers did the same work.
			if p == "courier" && r.Note != k.Note && !strings.HasPrefix(row.Scenario, "one session") {
				t.Logf("%s: kurier %q, courier %q", row.Scenario, k.Note, r.Note)
			}
		}
	}
	dir := t.TempDir()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != len(rep.Rows) || back.Rows[0].Results["kurier"].Value.Median != rep.Rows[0].Results["kurier"].Value.Median {
		t.Errorf("report.json does not round-trip")
	}
	for _, name := range []string{"report.md", "ratios.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
