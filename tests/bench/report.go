package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Metric is what a scenario's primary figure measures.
type Metric string

const (
	// WallTime is the time the client waited for the measured commands, in
	// milliseconds.
	WallTime Metric = "wall-ms"
	// Latency is the time from a delivery to the server's announcement of
	// it, in milliseconds (IDLE).
	Latency Metric = "latency-ms"
	// PeakMemory is the server's peak resident set size (VmHWM), in KiB.
	PeakMemory Metric = "peak-KiB"
)

// Report is the outcome of one run of the harness: what ran where, and one
// Row per scenario. It is written as JSON, markdown and SVG.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Set      string    `json:"set"` // "quick", "full" or "smoke"
	Reps     int       `json:"repetitions"`
	Warmup   bool      `json:"warmup"`
	Machine  Machine   `json:"machine"`
	// Servers maps each server's name to its version or build.
	Servers map[string]string `json:"servers"`
	// Peers lists the servers Kurier is compared with, in column order.
	Peers []string `json:"peers"`
	// RatioConvention states how to read Row.Ratio.
	RatioConvention string `json:"ratio_convention"`
	Rows            []*Row `json:"rows"`
}

// ratioConvention is Report.RatioConvention.
const ratioConvention = "kurier/peer of the medians of the primary metric: below 1 = Kurier faster (or smaller)"

// Row is one scenario on one corpus size, measured on every server.
type Row struct {
	Scenario string `json:"scenario"`
	Messages int    `json:"messages"`
	Metric   Metric `json:"metric"`
	// Results maps a server's name to its measurements.
	Results map[string]*Result `json:"results"`
	// Ratio maps a peer's name to Ratio(kurier, peer) of the primary
	// metric; a peer without a measurement has no entry.
	Ratio map[string]float64 `json:"ratio"`
}

// Result is one server's measurements of one scenario: each Summary has a
// sample per repetition.
type Result struct {
	// Value is the primary metric (the Row's Metric).
	Value Summary `json:"value"`
	// WallMS is the client's wall time of the measured part, ms.
	WallMS Summary `json:"wall_ms"`
	// CPUMS is the server process's user+system CPU time over the measured
	// part, ms (10 ms resolution).
	CPUMS Summary `json:"cpu_ms"`
	// PeakKiB is the server process's VmHWM at the end of the measured
	// part (since the session started), KiB.
	PeakKiB Summary `json:"peak_kib"`
	// Note summarises the server's answer (e.g. "5000 hits"), to compare
	// the servers' work.
	Note string `json:"note,omitempty"`
	// Skipped is why the server did not run the scenario; the rest is
	// then empty.
	Skipped string `json:"skipped,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	Cores      int    `json:"cores"`
	CPU        string `json:"cpu"`
	MemoryKiB  int64  `json:"memory_kib"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	GoVersion  string `json:"go"`
	LoadAtOpen string `json:"loadavg_at_start"`
}

// ThisMachine reads the machine's description from /proc and /etc; fields
// it cannot read are left empty.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					m.MemoryKiB, _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(data))
		if len(f) >= 3 {
			m.LoadAtOpen = strings.Join(f[:3], " ")
		}
	}
	return m
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: read report: %w", err)
	}
	return &r, nil
}

// servers returns "kurier" followed by the peers.
func (r *Report) servers() []string { return append([]string{"kurier"}, r.Peers...) }

// WriteMarkdown writes the report as markdown: the machine, the main table
// (primary metric, median with min–max, and the ratios), then a table of
// CPU time and peak memory.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m := r.Machine
	fmt.Fprintf(bw, "# Kurier benchmark (%s set)\n\n", r.Set)
	fmt.Fprintf(bw, "- Started %s, took %s; %d repetitions per scenario and server (median, [min–max])",
		r.Started.UTC().Format(time.RFC3339), r.Duration, r.Reps)
	if r.Warmup {
		fmt.Fprint(bw, " after one unrecorded warm-up")
	}
	fmt.Fprint(bw, ".\n")
	fmt.Fprintf(bw, "- Machine: %d cores, %s, %.1f GiB RAM, kernel %s, %s, %s, load average at start %s.\n",
		m.Cores, orDash(m.CPU), float64(m.MemoryKiB)/(1<<20), orDash(m.Kernel), orDash(m.OS), m.GoVersion, orDash(m.LoadAtOpen))
	for _, s := range r.servers() {
		fmt.Fprintf(bw, "- %s: %s\n", s, orDash(r.Servers[s]))
	}
	fmt.Fprintf(bw, "- Ratios are %s. All servers run in PREAUTH mode over pipes on copies of the same corpus.\n\n", ratioConvention)

	fmt.Fprint(bw, "| scenario | msgs |")
	for _, s := range r.servers() {
		fmt.Fprintf(bw, " %s |", s)
	}
	for _, p := range r.Peers {
		fmt.Fprintf(bw, " kurier/%s |", p)
	}
	fmt.Fprint(bw, "\n|---|--:|")
	for range len(r.servers()) + len(r.Peers) {
		fmt.Fprint(bw, "--:|")
	}
	fmt.Fprint(bw, "\n")
	for _, row := range r.Rows {
		fmt.Fprintf(bw, "| %s | %d |", mdEscape(row.Scenario), row.Messages)
		for _, s := range r.servers() {
			fmt.Fprintf(bw, " %s |", cell(row.Results[s], row.Metric))
		}
		for _, p := range r.Peers {
			fmt.Fprintf(bw, " %s |", ratioText(row.Ratio[p]))
		}
		fmt.Fprint(bw, "\n")
	}

	fmt.Fprint(bw, "\nServer CPU time (user+system, ms, median) and peak RSS (VmHWM, MiB, median) over the same runs:\n\n| scenario | msgs |")
	for _, s := range r.servers() {
		fmt.Fprintf(bw, " CPU %s |", s)
	}
	for _, s := range r.servers() {
		fmt.Fprintf(bw, " RSS %s |", s)
	}
	fmt.Fprint(bw, "\n|---|--:|")
	for range 2 * len(r.servers()) {
		fmt.Fprint(bw, "--:|")
	}
	fmt.Fprint(bw, "\n")
	for _, row := range r.Rows {
		fmt.Fprintf(bw, "| %s | %d |", mdEscape(row.Scenario), row.Messages)
		for _, s := range r.servers() {
			res := row.Results[s]
			if res == nil || res.CPUMS.N == 0 {
				fmt.Fprint(bw, " - |")
				continue
			}
			fmt.Fprintf(bw, " %s |", num(res.CPUMS.Median))
		}
		for _, s := range r.servers() {
			res := row.Results[s]
			if res == nil || res.PeakKiB.N == 0 || res.PeakKiB.Median == 0 {
				fmt.Fprint(bw, " - |")
				continue
			}
			fmt.Fprintf(bw, " %.1f |", res.PeakKiB.Median/1024)
		}
		fmt.Fprint(bw, "\n")
	}
	var notes []string
	for _, row := range r.Rows {
		for _, s := range r.servers() {
			if res := row.Results[s]; res != nil && res.Skipped != "" {
				notes = append(notes, fmt.Sprintf("- %s (%d), %s: skipped: %s", row.Scenario, row.Messages, s, res.Skipped))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(bw, "\n%s\n", strings.Join(notes, "\n"))
	}
	return bw.Flush()
}

// cell formats one server's primary figure: "median [min–max] unit".
func cell(res *Result, m Metric) string {
	if res == nil {
		return "-"
	}
	if res.Skipped != "" {
		return "skipped"
	}
	v := res.Value
	if v.N == 0 {
		return "-"
	}
	scale, unit := 1.0, " ms"
	if m == PeakMemory {
		scale, unit = 1.0/1024, " MiB"
	}
	if v.N == 1 {
		return num(v.Median*scale) + unit
	}
	return fmt.Sprintf("%s [%s–%s]%s", num(v.Median*scale), num(v.Min*scale), num(v.Max*scale), unit)
}

// num formats a figure with about three significant digits.
func num(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

// ratioText formats a ratio in bold for the table, "-" when there is none.
func ratioText(x float64) string {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return "**" + ratioNum(x) + "**"
}

// ratioNum formats a ratio with two decimals, three below 0.1.
func ratioNum(x float64) string {
	if x < 0.1 {
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdEscape keeps a scenario name from breaking the table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", `\`, `\\`, "*", `\*`, "_", `\_`).Replace(s)
}

// SVG layout, in pixels: bars on a log scale from 1/svgSpan to svgSpan.
const (
	svgSpan   = 100.0
	svgLabelW = 400
	svgPlotW  = 460
	svgRightW = 70
	svgBarH   = 14
	svgGap    = 6
	svgTop    = 64
)

// svgColors are the bar colours of the peers, in order.
var svgColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"}

// WriteSVG draws the ratios as one chart: a group of horizontal bars per
// row (one bar per peer), on a log scale centred on 1, so that a bar to
// the left of the centre line means Kurier is faster. Ratios beyond the
// scale are clipped and marked "(clipped)".
func (r *Report) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	groupH := max(1, len(r.Peers))*(svgBarH+2) + svgGap
	height := svgTop + len(r.Rows)*groupH + 40
	width := svgLabelW + svgPlotW + svgRightW
	x0 := float64(svgLabelW)
	xOf := func(ratio float64) float64 {
		l := math.Log10(ratio) / math.Log10(svgSpan) // -1 … 1
		l = math.Max(-1, math.Min(1, l))
		return x0 + (l+1)/2*svgPlotW
	}
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="10" y="20" font-size="15" font-weight="bold">Kurier / peer (%s set, median of %d): left of 1 = Kurier faster</text>`+"\n",
		xmlEscape(r.Set), r.Reps)
	lx := 10
	for i, p := range r.Peers {
		fmt.Fprintf(bw, `<rect x="%d" y="30" width="12" height="12" fill="%s"/><text x="%d" y="40">kurier/%s</text>`+"\n",
			lx, svgColors[i%len(svgColors)], lx+16, xmlEscape(p))
		lx += 130
	}
	// Grid: 1/100 … 100.
	for _, g := range []float64{0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100} {
		x := xOf(g)
		stroke, sw := "#ddd", 1
		if g == 1 {
			stroke, sw = "#000", 2
		}
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%d"/>`+"\n",
			x, svgTop-6, x, height-30, stroke, sw)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n",
			x, height-14, strconv.FormatFloat(g, 'g', -1, 64)+"×")
	}
	for i, row := range r.Rows {
		y := svgTop + i*groupH
		label := fmt.Sprintf("%s (%s)", row.Scenario, sizeName(row.Messages))
		if len(label) > 62 {
			label = label[:59] + "..."
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
			svgLabelW-8, y+svgBarH-2, xmlEscape(label))
		for j, p := range r.Peers {
			by := y + j*(svgBarH+2)
			ratio, ok := row.Ratio[p]
			if !ok || ratio <= 0 {
				fmt.Fprintf(bw, `<text x="%.1f" y="%d" fill="#999">%s: -</text>`+"\n", x0+svgPlotW/2+4, by+svgBarH-3, xmlEscape(p))
				continue
			}
			xa, xb := xOf(1), xOf(ratio)
			left := math.Min(xa, xb)
			fmt.Fprintf(bw, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s (%d) kurier/%s = %.3f</title></rect>`+"\n",
				left, by, math.Max(1, math.Abs(xb-xa)), svgBarH, svgColors[j%len(svgColors)],
				xmlEscape(row.Scenario), row.Messages, xmlEscape(p), ratio)
			text := ratioNum(ratio)
			if ratio < 1/svgSpan || ratio > svgSpan {
				text += " (clipped)"
			}
			fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#333">%s</text>`+"\n", svgLabelW+svgPlotW+6, by+svgBarH-3, text)
		}
	}
	fmt.Fprint(bw, "</svg>\n")
	return bw.Flush()
}

// WriteFiles writes report.json, report.md and ratios.svg into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{
		"report.json": r.WriteJSON, "report.md": r.WriteMarkdown, "ratios.svg": r.WriteSVG,
	} {
		f, err := os.Create(dir + "/" + name)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("bench: write %s: %w", name, err)
		}
	}
	return nil
}

// xmlEscape escapes text for SVG.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
