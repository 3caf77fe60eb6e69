package mailbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
)

// The store benchmarks of issue #2. Each reports its time against a floor
// measured in the same run on the same folder: one readdir of cur/ plus one
// read of courierimapuiddb, the least any server must do to open a folder
// with Courier's metadata. Run with `make bench`.

// makeBenchFolder fills dir (a new Maildir) with n small messages in cur/,
// named as Courier names them, and returns it.
func makeBenchFolder(b *testing.B, n int) maildir.Maildir {
	b.Helper()
	root := filepath.Join(b.TempDir(), "Maildir")
	for _, d := range []string{"", "tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	body := []byte("From: a@example.org\nSubject: bench\n\nbody\n")
	for i := range n {
		name := fmt.Sprintf("%d.M%dP4242V000000000000FE00I%016X_%d.bench,S=%d:2,S", 1795000000+i/50, i%1000000, i, i, len(body))
		if err := os.WriteFile(filepath.Join(root, "cur", name), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return maildir.Maildir{Root: root}
}

// floor is one readdir of cur/ and one read of the UID database.
func floor(b *testing.B, md maildir.Maildir) {
	names, err := readNames(filepath.Join(md.Root, "cur"))
	if err != nil || len(names) == 0 {
		b.Fatal(err)
	}
	if _, err := os.ReadFile(filepath.Join(md.Root, uiddb.FileName)); err != nil {
		b.Fatal(err)
	}
}

// timeFloor measures the floor once.
func timeFloor(b *testing.B, md maildir.Maildir) time.Duration {
	start := time.Now()
	floor(b, md)
	return time.Since(start)
}

// pairedFloor accumulates a floor measured right before each iteration, so
// that the ratio holds when the machine's speed drifts during the run.
type pairedFloor struct {
	md    maildir.Maildir
	total time.Duration
}

// measure times one floor with the benchmark timer stopped.
func (p *pairedFloor) measure(b *testing.B) {
	b.StopTimer()
	p.total += timeFloor(b, p.md)
	b.StartTimer()
}

// report gives the benchmark's time as a multiple of the floor.
func (p *pairedFloor) report(b *testing.B) {
	if p.total <= 0 {
		return
	}
	b.ReportMetric(float64(b.Elapsed())/float64(p.total), "x-floor")
	b.ReportMetric(float64(p.total.Microseconds())/1000/float64(b.N), "floor-ms")
}

var benchOpts = Options{Keywords: true, UseLocks: true}

func BenchmarkOpen100k(b *testing.B) {
	md := makeBenchFolder(b, 100_000)
	if _, err := Open(md, "INBOX", benchOpts); err != nil {
		b.Fatal(err)
	}
	b.Run("first", func(b *testing.B) {
		p := pairedFloor{md: md}
		for b.Loop() {
			p.measure(b)
			b.StopTimer()
			if err := os.Remove(filepath.Join(md.Root, uiddb.FileName)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := Open(md, "INBOX", benchOpts); err != nil {
				b.Fatal(err)
			}
		}
		p.report(b)
	})
	b.Run("again", func(b *testing.B) {
		p := pairedFloor{md: md}
		for b.Loop() {
			p.measure(b)
			f, err := Open(md, "INBOX", benchOpts)
			if err != nil || len(f.Messages()) != 100_000 {
				b.Fatal(err)
			}
		}
		p.report(b)
	})
}

// BenchmarkKeywords5000 sets a keyword on 5,000 messages, then copies the
// 5,000 keyworded messages to another folder, then opens that folder.
func BenchmarkKeywords5000(b *testing.B) {
	const n = 5000
	md := makeBenchFolder(b, n)
	f, err := Open(md, "INBOX", benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	copies := 0 // folder names stay unique however often b.Run calls us
	b.Run("store", func(b *testing.B) {
		p := pairedFloor{md: md}
		i := 0
		for b.Loop() {
			p.measure(b)
			i++
			kw := []string{fmt.Sprintf("$Label%d", i%5), "Junk"}
			changes := make([]FlagChange, 0, n)
			for _, m := range f.Messages() {
				changes = append(changes, FlagChange{Msg: m, Flags: m.Flags, Keywords: kw, SetKeywords: true})
			}
			if _, err := f.Store(changes); err != nil {
				b.Fatal(err)
			}
			// What the next command's rescan costs is part of the price.
			if _, err := f.Rescan(); err != nil {
				b.Fatal(err)
			}
		}
		p.report(b)
	})
	b.Run("copy", func(b *testing.B) {
		p := pairedFloor{md: md}
		for b.Loop() {
			p.measure(b)
			b.StopTimer()
			copies++
			name := fmt.Sprintf("INBOX.copy%d", copies)
			if err := md.Create(name); err != nil {
				b.Fatal(err)
			}
			dst, err := OpenTarget(md, name, benchOpts)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, uids, err := f.Copy(f.Messages(), dst); err != nil || len(uids) != n {
				b.Fatal(err)
			}
			df, err := Open(md, name, benchOpts)
			if err != nil || len(df.Messages()) != n || len(df.Messages()[n-1].Keywords) != 2 {
				b.Fatalf("copy result: %v", err)
			}
		}
		p.report(b)
	})
}

// BenchmarkAppend measures one APPEND of a 4 KiB message to a folder of
// 1,000 messages, including the fsyncs.
func BenchmarkAppend(b *testing.B) {
	md := makeBenchFolder(b, 1000)
	f, err := Open(md, "INBOX", benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	body := "Subject: x\n\n" + strings.Repeat("y", 4096)
	t := f.Target()
	for b.Loop() {
		if _, _, err := t.Append([]NewMessage{{Body: strings.NewReader(body)}}); err != nil {
			b.Fatal(err)
		}
	}
}
