package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// netCell formats one server's figure of a network row: connections per
// second for PerConnection (1000 over the median time per connection; the
// bracket is the range over repetitions), KiB for MemoryPerConnection.
func netCell(res *Result, m Metric) string {
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
	if m == MemoryPerConnection {
		if v.N == 1 {
			return num(v.Median) + " KiB"
		}
		return fmt.Sprintf("%s [%s–%s] KiB", num(v.Median), num(v.Min), num(v.Max))
	}
	rate := func(ms float64) string {
		if ms <= 0 {
			return "-"
		}
		return num(1000 / ms)
	}
	if v.N == 1 {
		return rate(v.Median) + "/s"
	}
	// The fastest repetition has the smallest time per connection.
	return fmt.Sprintf("%s [%s–%s]/s", rate(v.Median), rate(v.Max), rate(v.Min))
}

// WriteNetworkMarkdown writes a report of RunNetwork as markdown: the
// machine, the main table (throughput as connections or logins per second,
// memory in KiB per idle connection, each the median and range over the
// repetitions, and Kurier's ratio to Courier), then the server trees' CPU
// time per connection.
func (r *Report) WriteNetworkMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m := r.Machine
	fmt.Fprintf(bw, "# Kurier network benchmark (%s set)\n\n", r.Set)
	fmt.Fprintf(bw, "- Started %s, took %s; %d repetitions per row and server (median, [min–max]) after one unrecorded warm-up.\n",
		r.Started.UTC().Format(time.RFC3339), r.Duration, r.Reps)
	fmt.Fprintf(bw, "- Machine: %d cores, %s, %.1f GiB RAM, kernel %s, %s, %s, load average at start %s. The client runs on the same cores.\n",
		m.Cores, orDash(m.CPU), float64(m.MemoryKiB)/(1<<20), orDash(m.Kernel), orDash(m.OS), m.GoVersion, orDash(m.LoadAtOpen))
	for _, s := range r.servers() {
		fmt.Fprintf(bw, "- %s: %s\n", s, orDash(r.Servers[s]))
	}
	fmt.Fprint(bw, "- Throughput rows: transactions per second on loopback, each on a new connection (tcpd rows: connect, TLS handshake if any, read the greeting of a program that prints it and exits; chain rows: greeting, LOGIN, SELECT INBOX, LOGOUT). "+
		"Memory rows: growth of the summed proportional set size (Pss, /proc/PID/smaps_rollup) of every process of the server's tree per idle connection.\n")
	fmt.Fprint(bw, "- Ratio: kurier/courier of the medians of time per connection (or memory per connection): below 1 = Kurier faster (or smaller); 0.5 means twice Courier's throughput.\n\n")

	fmt.Fprint(bw, "| row | msgs | kurier | courier | kurier/courier |\n|---|--:|--:|--:|--:|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(bw, "| %s | %d | %s | %s | %s |\n", mdEscape(row.Scenario), row.Messages,
			netCell(row.Results["kurier"], row.Metric), netCell(row.Results["courier"], row.Metric), ratioText(row.Ratio["courier"]))
	}
	fmt.Fprint(bw, "\nCPU time of the server's whole process tree per transaction (ms, median; user+system, reaped children included, 10 ms ticks), and what the client saw:\n\n"+
		"| row | CPU kurier | CPU courier | kurier | courier |\n|---|--:|--:|---|---|\n")
	for _, row := range r.Rows {
		k, c := row.Results["kurier"], row.Results["courier"]
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", mdEscape(row.Scenario), cpuCell(k), cpuCell(c), mdEscape(noteOf(k)), mdEscape(noteOf(c)))
	}
	for _, row := range r.Rows {
		for _, s := range r.servers() {
			if res := row.Results[s]; res != nil && res.Skipped != "" {
				fmt.Fprintf(bw, "\n- %s, %s: %s", row.Scenario, s, res.Skipped)
			}
		}
	}
	fmt.Fprint(bw, "\n")
	return bw.Flush()
}

func cpuCell(res *Result) string {
	if res == nil || res.CPUMS.N == 0 {
		return "-"
	}
	return num(res.CPUMS.Median)
}

func noteOf(res *Result) string {
	if res == nil {
		return ""
	}
	return res.Note
}

// WriteNetworkFiles writes report.json, report.md (WriteNetworkMarkdown)
// and ratios.svg into dir.
func (r *Report) WriteNetworkFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{
		"report.json": r.WriteJSON, "report.md": r.WriteNetworkMarkdown, "ratios.svg": r.WriteSVG,
	} {
		f, err := os.Create(filepath.Join(dir, name))
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
