package keywords

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	courierfixture "kurier/pkg/fixture"
	"kurier/pkg/maildir"
)

// The fixture (kurier/pkg/fixture, a copy of shared/fixtures) is a
// Maildir written by Courier-IMAP 5.0.13 together with the IMAP transcript
// that produced it. Its merged update files carry slot 5984374, that is
// T+1 for the time it was made.
const fixtureTime = 1795311984 + 60

type fixture struct {
	t    *testing.T
	root string
}

// extractFixture unpacks the fixture into a new temporary directory.
func extractFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t, courierfixture.Courier(t)}
}

func (fx *fixture) folder(rel string) *fixtureFolder {
	return &fixtureFolder{fx.t, filepath.Join(fx.root, filepath.FromSlash(rel))}
}

type fixtureFolder struct {
	t   *testing.T
	dir string
}

func (ff *fixtureFolder) store(now time.Time) *Store {
	s := Open(ff.dir, maildir.NewNamer("test"))
	s.Now = func() time.Time { return now }
	return s
}

func (ff *fixtureFolder) readKW(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(ff.dir, Dir, name))
	return string(b), err
}

// bases returns the base names of the messages in cur/ and new/.
func (ff *fixtureFolder) bases() map[string]bool {
	ff.t.Helper()
	set := map[string]bool{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(ff.dir, sub))
		if err != nil {
			ff.t.Fatal(err)
		}
		for _, e := range ents {
			set[maildir.ParseName(e.Name()).Base] = true
		}
	}
	return set
}

func (ff *fixtureFolder) exists() func(string) bool {
	set := ff.bases()
	return func(b string) bool { return set[b] }
}

// uids maps UIDs to base names from courierimapuiddb.
func (ff *fixtureFolder) uids() map[int]string {
	ff.t.Helper()
	b, err := os.ReadFile(filepath.Join(ff.dir, "courierimapuiddb"))
	if err != nil {
		ff.t.Fatal(err)
	}
	m := map[int]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		uid, base, ok := strings.Cut(line, " ")
		n, err := strconv.Atoi(uid)
		if i == 0 || !ok || err != nil {
			continue
		}
		m[n] = base
	}
	return m
}

var fetchFlags = regexp.MustCompile(`^S: \* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)`)

// transcriptKeywords returns, per UID, the keywords (flags without '\') of
// the FETCH responses answering the command with the given tag.
func (fx *fixture) transcriptKeywords(tag string) map[int][]string {
	fx.t.Helper()
	b, err := os.ReadFile(filepath.Join(fx.root, "transcript.txt"))
	if err != nil {
		fx.t.Fatal(err)
	}
	m := map[int][]string{}
	in := false
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "C: "+tag+" "):
			in = true
		case strings.HasPrefix(line, "S: "+tag+" "):
			in = false
		case in:
			sm := fetchFlags.FindStringSubmatch(line)
			if sm == nil {
				continue
			}
			uid, _ := strconv.Atoi(sm[1])
			var kws []string
			for f := range strings.FieldsSeq(sm[2]) {
				if !strings.HasPrefix(f, `\`) {
					kws = append(kws, f)
				}
			}
			m[uid] = kws
		}
	}
	if len(m) == 0 {
		fx.t.Fatalf("no FETCH responses for %s in the transcript", tag)
	}
	return m
}

// transcriptFlags returns the keywords of the last "* FLAGS" response
// before the command with the given tag completes.
func (fx *fixture) transcriptFlags(tag string) []string {
	fx.t.Helper()
	b, err := os.ReadFile(filepath.Join(fx.root, "transcript.txt"))
	if err != nil {
		fx.t.Fatal(err)
	}
	var kws []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "S: * FLAGS ("); ok {
			kws = nil
			for f := range strings.FieldsSeq(strings.TrimSuffix(rest, ")")) {
				if !strings.HasPrefix(f, `\`) {
					kws = append(kws, f)
				}
			}
		}
		if strings.HasPrefix(line, "S: "+tag+" ") {
			return kws
		}
	}
	fx.t.Fatalf("no response to %s in the transcript", tag)
	return nil
}

// TestCourierFixture reads the keyword stores Courier wrote and checks the
// keywords against the ones Courier reported in its transcript, at the
// time the store was written and half an hour later (when the merged update
// files have expired and are removed, leaving :list unchanged).
func TestCourierFixture(t *testing.T) {
	t.Parallel()
	folders := []struct {
		dir, fetchTag, flagsTag string
	}{
		{"Maildir", "a31", "a25"},
		{"Maildir/.Projects.Kurier", "a37", "a36"},
	}
	for _, tt := range folders {
		for _, after := range []time.Duration{0, 30 * time.Minute} {
			t.Run(tt.dir+"/"+after.String(), func(t *testing.T) {
				t.Parallel()
				fx := extractFixture(t)
				ff := fx.folder(tt.dir)
				uids := ff.uids()
				want := map[string][]string{}
				for uid, kws := range fx.transcriptKeywords(tt.fetchTag) {
					if len(kws) > 0 {
						want[uids[uid]] = kws
					}
				}
				listBefore, err := ff.readKW(ListName)
				if err != nil {
					t.Fatal(err)
				}
				ro, err := ff.store(time.Unix(fixtureTime, 0).Add(after)).LoadReadOnly(ff.exists())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(ro, want) {
					t.Errorf("LoadReadOnly = %q\nwant (transcript) %q", ro, want)
				}

				s := ff.store(time.Unix(fixtureTime, 0).Add(after))
				got, err := s.Load(ff.exists())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Load = %q\nwant (transcript) %q", got, want)
				}
				if flags := fx.transcriptFlags(tt.flagsTag); !reflect.DeepEqual(s.Keywords(), flags) {
					t.Errorf("Keywords = %q, want FLAGS order %q", s.Keywords(), flags)
				}

				listAfter, err := ff.readKW(ListName)
				if err != nil {
					t.Fatal(err)
				}
				if listAfter != listBefore {
					t.Errorf(":list changed:\n%s\nwas\n%s", listAfter, listBefore)
				}
				files, err := os.ReadDir(filepath.Join(ff.dir, Dir))
				if err != nil {
					t.Fatal(err)
				}
				wantFiles := len(want) + 1
				if after > 0 {
					wantFiles = 1 // the expired .N. files are gone
				}
				if len(files) != wantFiles {
					t.Errorf("%d files in %s, want %d", len(files), Dir, wantFiles)
				}
			})
		}
	}
}
