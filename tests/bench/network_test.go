package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchNetwork is the network part of make bench and make bench-full
// (issues #6 and #7): it runs when KURIER_BENCH is "quick" or "full", as
// root (Courier's chain needs a private mount namespace), and writes its
// report into bench-results/<time>-network/.
func TestBenchNetwork(t *testing.T) {
	set := os.Getenv("KURIER_BENCH")
	cfg := NetConfig{Set: set, Idle: 100, Seed: seed, ChainMessages: 1_000}
	switch set {
	case "":
		t.Skip("the network benchmarks run with KURIER_BENCH=quick or full (make bench, make bench-full)")
	case "quick":
		// About two minutes, most of it Courier's TLS handshakes.
		cfg.Reps, cfg.Duration, cfg.Idle = 3, time.Second, 50
	case "full":
		cfg.Reps, cfg.Duration = 5, 2*time.Second
	default:
		t.Fatalf("KURIER_BENCH=%q: want quick or full", set)
	}
	if v := os.Getenv("KURIER_BENCH_REPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KURIER_BENCH_REPS=%q: want a positive number", v)
		}
		cfg.Reps = n
	}
	if v := os.Getenv("KURIER_BENCH_NET_SECONDS"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 {
			t.Fatalf("KURIER_BENCH_NET_SECONDS=%q: want a positive number", v)
		}
		cfg.Duration = time.Duration(s * float64(time.Second))
	}
	if v := os.Getenv("KURIER_BENCH_ONLY"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			t.Fatalf("KURIER_BENCH_ONLY: %v", err)
		}
		cfg.Only = re
	}
	rep := RunNetwork(t, cfg)
	dir := resultsDir(rep.Started) + "-network"
	if err := rep.WriteNetworkFiles(dir); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	fmt.Printf("\nbench: network report in %s (report.md, report.json, ratios.svg)\n\n", abs)
	rep.WriteNetworkMarkdown(os.Stdout)
}

// TestNetworkSmoke runs every network row once, briefly, with a few idle
// connections, so that the network benchmarks cannot rot unnoticed; it
// needs root (else it skips, saying why) and checks every figure.
func TestNetworkSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke run of the network benchmarks: off with -short")
	}
	const idle = 4
	cfg := NetConfig{Set: "smoke", Reps: 1, Duration: 150 * time.Millisecond, Idle: idle, Seed: seed,
		CorpusParent: t.TempDir(), ChainMessages: 20}
	rep := RunNetwork(t, cfg)
	if t.Failed() {
		return
	}
	if got, want := len(rep.Rows), len(netScenarios(idle)); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for _, row := range rep.Rows {
		for _, s := range []string{"kurier", "courier"} {
			res := row.Results[s]
			if res == nil || res.Skipped != "" || res.Value.N != 1 {
				t.Errorf("%s: %s result %+v", row.Scenario, s, res)
				continue
			}
			switch row.Metric {
			case PerConnection:
				if res.Value.Median <= 0 || res.CPUMS.N != 1 {
					t.Errorf("%s: %s: %+v", row.Scenario, s, res)
				}
				if strings.HasPrefix(row.Scenario, "chain") && !strings.Contains(res.Note, "20 EXISTS") {
					t.Errorf("%s: %s: note %q, want the SELECT's 20 EXISTS", row.Scenario, s, res.Note)
				}
				if strings.Contains(row.Scenario, "TLS") && !strings.Contains(res.Note, "TLS") {
					t.Errorf("%s: %s: note %q, want the TLS version", row.Scenario, s, res.Note)
				}
			case MemoryPerConnection:
				// Every idle connection has at least one process of its own.
				if res.Value.Median <= 0 || !strings.Contains(res.Note, "processes per connection") {
					t.Errorf("%s: %s: %+v", row.Scenario, s, res)
				}
			default:
				t.Errorf("%s: metric %q", row.Scenario, row.Metric)
			}
		}
		if row.Ratio["courier"] <= 0 {
			t.Errorf("%s: no ratio", row.Scenario)
		}
	}
	dir := t.TempDir()
	if err := rep.WriteNetworkFiles(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("| tcpd: connections, TLS, 8 clients |")) {
		t.Errorf("report.md: %v\n%s", err, md)
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat string
		want       procStat
		bad        bool
	}{
		{name: "plain", stat: "42 (tcpd) S 7 42 42 0 -1 4194560 100 0 0 0 12 3 40 5 20 0 5 0 100 0 0",
			want: procStat{ppid: 7, cpu: 600 * time.Millisecond}},
		{name: "name with spaces and parens", stat: "9 (a) (b c)) R 1 9 9 0 -1 0 0 0 0 0 1 1 1 1 20 0 1 0",
			want: procStat{ppid: 1, cpu: 40 * time.Millisecond}},
		{name: "no name", stat: "9 a R 1", bad: true},
		{name: "short", stat: "9 (a) R 1 9 9 0 -1 0 0 0 0 0 1 1", bad: true},
		{name: "negative time", stat: "9 (a) R 1 9 9 0 -1 0 0 0 0 0 -1 1 1 1 20", bad: true},
		{name: "bad ppid", stat: "9 (a) R x 9 9 0 -1 0 0 0 0 0 1 1 1 1 20", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.stat)
			if tt.bad {
				if err == nil {
					t.Errorf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParsePss(t *testing.T) {
	rollup := "55d0c0a00000-7ffd1b1e6000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:                2048 kB\nPss:                 731 kB\nPss_Dirty:           120 kB\n"
	if got, err := parsePss(rollup); err != nil || got != 731 {
		t.Errorf("parsePss = %d, %v; want 731", got, err)
	}
	for _, bad := range []string{"", "Rss: 1 kB\n", "Pss: x kB\n", "Pss: 12 MB\n"} {
		if got, err := parsePss(bad); err == nil {
			t.Errorf("parsePss(%q) = %d, want an error", bad, got)
		}
	}
}

// TestTree: the process tree of this test includes a child it starts and
// that child's own child, and their memory and CPU are read.
func TestTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var pids []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if pids, err = treePids([]int{cmd.Process.Pid}); err != nil {
			t.Fatal(err)
		}
		if len(pids) == 2 {
			break
		}
	}
	if len(pids) != 2 || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("tree of sh: %v, want sh and sleep", pids)
	}
	defer func() {
		for _, p := range pids {
			if p != cmd.Process.Pid {
				exec.Command("kill", strconv.Itoa(p)).Run()
			}
		}
	}()
	// This process's CPU time shows, once it has used a tick's worth.
	var cpu time.Duration
	for deadline, x := time.Now().Add(3*time.Second), 0; time.Now().Before(deadline); x++ {
		if x%100_000 == 0 {
			var err error
			if cpu, err = treeCPU([]int{os.Getpid()}); err != nil {
				t.Fatal(err)
			}
			if cpu > 0 {
				break
			}
		}
	}
	if cpu <= 0 {
		t.Errorf("treeCPU(self) = %v after 3 s of work", cpu)
	}
	kib, n, err := treePSS([]int{cmd.Process.Pid})
	if err != nil || n != 2 || kib <= 0 {
		t.Errorf("treePSS = %d KiB over %d processes, %v", kib, n, err)
	}
	if gone, _ := treePids([]int{1 << 30}); len(gone) != 0 {
		t.Errorf("tree of a pid that does not exist: %v", gone)
	}
}

func TestNetCell(t *testing.T) {
	tests := []struct {
		res  *Result
		m    Metric
		want string
	}{
		{nil, PerConnection, "-"},
		{&Result{Skipped: "x"}, PerConnection, "skipped"},
		{&Result{Value: Summarize([]float64{2})}, PerConnection, "500/s"},
		{&Result{Value: Summarize([]float64{2, 4, 1})}, PerConnection, "500 [250–1000]/s"},
		{&Result{Value: Summarize([]float64{312.5, 300, 320})}, MemoryPerConnection, "312 [300–320] KiB"},
	}
	for _, tt := range tests {
		if got := netCell(tt.res, tt.m); got != tt.want {
			t.Errorf("netCell(%+v, %s) = %q, want %q", tt.res, tt.m, got, tt.want)
		}
	}
	if got := quoteIMAP(`a "b"\c`); got != `"a \"b\"\\c"` {
		t.Errorf("quoteIMAP = %s", got)
	}
}
