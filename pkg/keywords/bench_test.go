package keywords

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchFolder makes a folder of n messages (names as Courier makes them)
// and returns their base names and an exists function.
func benchFolder(b *testing.B, n int) (*testFolder, []string, func(string) bool) {
	b.Helper()
	dir := b.TempDir()
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	bases := make([]string, n)
	set := make(map[string]bool, n)
	for i := range bases {
		bases[i] = fmt.Sprintf("1795311984.M%dP19401V000000000000FE00I%016X_%d.vm,S=%d", 100000+i, 0x988000+i, i, 250+i%100)
		set[bases[i]] = true
	}
	return &testFolder{dir: dir}, bases, func(b string) bool { return set[b] }
}

// keywordSets cycles through a few keyword sets, as a real folder has.
var keywordSets = [][]string{
	{"$NotJunk"}, {"$Junk", "Junk"}, {"$Label1", "$NotJunk"}, {"$Forwarded", "$NotJunk"}, {"NonJunk"},
}

// benchSet measures a STORE or COPY of 5000 messages in a folder of size
// messages: Set, then the Load that follows it.
func benchSet(b *testing.B, size int, noLock bool) {
	f, bases, exists := benchFolder(b, size)
	s := Open(f.dir, nil)
	s.NoLock = noLock
	all := map[string][]string{}
	for i, base := range bases {
		all[base] = keywordSets[i%len(keywordSets)]
	}
	if err := s.Set(all); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Load(exists); err != nil {
		b.Fatal(err)
	}
	batches := make([]map[string][]string, 2)
	for j := range batches {
		batches[j] = map[string][]string{}
		for i := range 5000 {
			batches[j][bases[i]] = keywordSets[(i+j+1)%len(keywordSets)]
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Set(batches[i%2]); err != nil {
			b.Fatal(err)
		}
		m, err := s.Load(exists)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != size {
			b.Fatalf("%d messages with keywords, want %d", len(m), size)
		}
	}
}

// BenchmarkSet5000 is Set of 5000 messages (batch path) plus the next Load.
func BenchmarkSet5000(b *testing.B) { benchSet(b, 5000, false) }

// BenchmarkSet5000Files is the same with one update file per message
// (NoLock, Courier's way), merged by the Load.
func BenchmarkSet5000Files(b *testing.B) { benchSet(b, 5000, true) }

// BenchmarkSet5000Of100000 is Set of 5000 messages in a folder of 100,000
// keyworded messages, plus the next Load.
func BenchmarkSet5000Of100000(b *testing.B) { benchSet(b, 100000, false) }

// writeBenchList writes a :list for 100,000 messages as another process
// would, and returns the folder and its exists function.
func writeBenchList(b *testing.B) (*testFolder, func(string) bool) {
	f, bases, exists := benchFolder(b, 100000)
	sets := make([][]string, len(bases))
	for i := range bases {
		sets[i] = keywordSets[i%len(keywordSets)]
	}
	data, _, _, _ := formatList(bases, sets)
	if err := os.Mkdir(filepath.Join(f.dir, Dir), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, Dir, ListName), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return f, exists
}

// BenchmarkLoad100000 is the first Load of a folder of 100,000 keyworded
// messages by a new Store (a new process).
func BenchmarkLoad100000(b *testing.B) {
	f, exists := writeBenchList(b)
	for b.Loop() {
		m, err := Open(f.dir, nil).Load(exists)
		if err != nil || len(m) != 100000 {
			b.Fatal(len(m), err)
		}
	}
}

// BenchmarkReload100000 is a later Load of the same unchanged folder by the
// same Store (a re-SELECT, a NOOP or an IDLE poll).
func BenchmarkReload100000(b *testing.B) {
	f, exists := writeBenchList(b)
	s := Open(f.dir, nil)
	s.Now = func() time.Time { return time.Now() }
	// Let the Store own the :list (its own write is trusted at once), as
	// after any merge; a :list older than two seconds is trusted too.
	if _, err := s.Load(func(b string) bool { return exists(b) && b[len(b)-1] != '0' }); err != nil {
		b.Fatal(err)
	}
	want := len(mustLoad(b, s, exists))
	for b.Loop() {
		m, err := s.Load(exists)
		if err != nil || len(m) != want {
			b.Fatal(len(m), err)
		}
	}
}

func mustLoad(b *testing.B, s *Store, exists func(string) bool) map[string][]string {
	b.Helper()
	m, err := s.Load(exists)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
