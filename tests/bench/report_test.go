package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleReport is a small report with every kind of cell: measured,
// skipped, a ratio below and above 1, one beyond the chart's scale.
func sampleReport() *Report {
	res := func(xs ...float64) *Result {
		s := Summarize(xs)
		return &Result{Value: s, WallMS: s, CPUMS: Summarize([]float64{10, 20}), PeakKiB: Summarize([]float64{2048}), Note: "n"}
	}
	r := &Report{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: "1m0s", Set: "quick", Reps: 3, Warmup: true,
		Machine: Machine{Cores: 2, CPU: "Test CPU", MemoryKiB: 8 << 20, Kernel: "6.1", OS: "Debian", GoVersion: "go1.26"},
		Servers: map[string]string{"kurier": "imapd x", "courier": "Courier 5", "dovecot": "Dovecot 2.3"},
		Peers:   []string{"courier", "dovecot"}, RatioConvention: ratioConvention,
	}
	add := func(name string, metric Metric, k, c, d *Result) {
		row := &Row{Scenario: name, Messages: 10000, Metric: metric,
			Results: map[string]*Result{"kurier": k, "courier": c, "dovecot": d}, Ratio: map[string]float64{}}
		for _, p := range r.Peers {
			if x := Ratio(k.Value, row.Results[p].Value); x > 0 {
				row.Ratio[p] = x
			}
		}
		r.Rows = append(r.Rows, row)
	}
	add("SELECT | pipe & <x>", WallTime, res(10, 12, 11), res(20, 22, 21), res(5, 5, 6))
	add("UID MOVE 1:5000", WallTime, res(100), &Result{Skipped: "no MOVE capability"}, res(50))
	add("IDLE", Latency, res(1), res(100), res(1000))
	add("peak", PeakMemory, res(10240), res(4096), res(5120))
	return r
}

func TestRatiosOfSample(t *testing.T) {
	r := sampleReport()
	if got := r.Rows[0].Ratio["courier"]; got != 11.0/21 {
		t.Errorf("ratio kurier/courier = %v, want %v", got, 11.0/21)
	}
	if _, ok := r.Rows[1].Ratio["courier"]; ok {
		t.Error("a skipped peer has a ratio")
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"2 cores, Test CPU, 8.0 GiB RAM, kernel 6.1",
		"| scenario | msgs | kurier | courier | dovecot | kurier/courier | kurier/dovecot |",
		`| SELECT \| pipe & <x> | 10000 | 11.0 [10.0–12.0] ms | 21.0 [20.0–22.0] ms | 5.00 [5.00–6.00] ms | **0.52** | **2.20** |`,
		"| UID MOVE 1:5000 | 10000 | 100 ms | skipped | 50.0 ms | - | **2.00** |",
		"| IDLE | 10000 | 1.00 ms | 100 ms | 1000 ms | **0.010** | **0.001** |",
		"| peak | 10000 | 10.0 MiB | 4.00 MiB | 5.00 MiB | **2.50** | **2.00** |",
		"- UID MOVE 1:5000 (10000), courier: skipped: no MOVE capability",
		"below 1 = Kurier faster",
		"| SELECT \\| pipe & <x> | 10000 | 15.0 | 15.0 | 15.0 | 2.0 | 2.0 | 2.0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table line has the same number of columns as its header.
	var cols int
	for line := range strings.Lines(md) {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("%d columns, header has %d: %s", n, cols, line)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != len(r.Rows) || back.Rows[0].Ratio["courier"] != r.Rows[0].Ratio["courier"] ||
		back.Rows[1].Results["courier"].Skipped != "no MOVE capability" || back.Machine != r.Machine ||
		back.Rows[3].Metric != PeakMemory || back.RatioConvention != ratioConvention {
		t.Errorf("round trip changed the report:\n%+v\n%+v", r, back)
	}
	if _, err := ReadJSON(strings.NewReader("{")); err == nil {
		t.Error("ReadJSON accepted truncated JSON")
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	// Well-formed XML.
	d := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// Background + 2 legend boxes + one bar per ratio (7).
	if rects != 1+2+7 {
		t.Errorf("%d rects, want 10", rects)
	}
	for _, want := range []string{"kurier/courier", "0.52", "0.001 (clipped)", "SELECT | pipe &amp; &lt;x&gt;"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestThisMachine(t *testing.T) {
	m := ThisMachine()
	if m.Cores < 1 || m.GoVersion == "" {
		t.Errorf("ThisMachine = %+v", m)
	}
}
