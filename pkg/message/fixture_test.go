package message

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"kurier/pkg/fixture"
)

// TestFixtureSizes checks RFC822.SIZE against the values Courier sent for
// the fixture Maildir (transcript.txt, command a31), reading each file
// through an *os.File as imapd does.
func TestFixtureSizes(t *testing.T) {
	t.Parallel()
	dir := fixture.Courier(t)
	// UID → file name, from courierimapuiddb.
	files := map[string]string{}
	db, err := os.ReadFile(filepath.Join(dir, "Maildir", "courierimapuiddb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(db)), "\n")[1:] {
		uid, name, _ := strings.Cut(line, " ")
		files[uid] = name
	}
	cur, err := os.ReadDir(filepath.Join(dir, "Maildir", "cur"))
	if err != nil {
		t.Fatal(err)
	}
	path := func(base string) string {
		for _, e := range cur {
			if strings.HasPrefix(e.Name(), base) {
				return filepath.Join(dir, "Maildir", "cur", e.Name())
			}
		}
		t.Fatalf("no file for %s", base)
		return ""
	}
	tr, err := os.Open(filepath.Join(dir, "transcript.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	re := regexp.MustCompile(`^S: \* \d+ FETCH \(UID (\d+) .*RFC822\.SIZE (\d+) `)
	n := 0
	sc := bufio.NewScanner(tr)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		want, _ := strconv.ParseInt(m[2], 10, 64)
		f, err := os.Open(path(files[m[1]]))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		got, err := New(f, fi.Size()).Size()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("UID %s (%d bytes stored): RFC822.SIZE %d, Courier said %d", m[1], fi.Size(), got, want)
		}
		n++
	}
	if n != 12 {
		t.Errorf("checked %d sizes, want the transcript's 12", n)
	}
}
