package keywords

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestSetFiles(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := newTestFolder(t)
	f.write(":list", "Junk\n\nb:0\n")
	s := f.store(now)
	if _, err := s.Load(existsIn("a", "b")); err != nil {
		t.Fatal(err)
	}
	err := s.Set(map[string][]string{
		"a": {"junk", "$X", "JUNK"},
		"b": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{":list": "Junk\n\nb:0\n", "a": "$X\nJunk\n", "b": ""}
	if got := f.files(); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if tmp := f.tmpFiles(); len(tmp) > 0 {
		t.Errorf("tmp/ holds %q", tmp)
	}
	for i, s := range []*Store{s, f.store(now)} {
		got, err := s.Load(existsIn("a", "b"))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string][]string{"a": {"$X", "Junk"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("Load %d = %q, want %q", i, got, want)
		}
	}
}

func TestSetBatch(t *testing.T) {
	t.Parallel()
	now := time.Now()
	T := now.Unix() / 300
	f := newTestFolder(t)
	files := map[string]string{
		":list":            "Junk\nOld\n\nkeep:0\nn:1\np:1\nclear:0\n",
		slotName(T-4, "n"): "Older\n",
		slotName(T-3, "n"): "Old\n",
		slotName(T+1, "n"): "Newer\n",
		"p":                "Pending\n",
		"other":            "Other\n",
	}
	for name, content := range files {
		f.write(name, content)
	}
	s := f.store(now)
	s.BatchMin = 1
	err := s.Set(map[string][]string{
		"n":     {"New"},
		"p":     {"New", "Junk"},
		"clear": nil,
		"add":   {"Junk"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		// other's pending update is not merged by Set, and stays.
		":list": "New\nJunk\n\nkeep:1\nn:0\np:1 0\nadd:1\n",
		"p":     "Junk\nNew\n",
		"other": "Other\n",
	}
	if got := f.files(); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if tmp := f.tmpFiles(); len(tmp) > 0 {
		t.Errorf("tmp/ holds %q", tmp)
	}
	exists := existsIn("keep", "n", "p", "clear", "add", "other")
	wantKW := map[string][]string{
		"keep": {"Junk"}, "n": {"New"}, "p": {"Junk", "New"}, "add": {"Junk"}, "other": {"Other"},
	}
	for i, s := range []*Store{s, f.store(now)} {
		got, err := s.Load(exists)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantKW) {
			t.Errorf("Load %d = %q, want %q", i, got, wantKW)
		}
	}
}

// TestSetBatchCourierBytes sets the fixture's keywords in an empty folder:
// the :list written is byte for byte the one Courier wrote.
func TestSetBatchCourierBytes(t *testing.T) {
	t.Parallel()
	fx := extractFixture(t)
	for _, folder := range []string{"Maildir", "Maildir/.Projects.Kurier"} {
		t.Run(folder, func(t *testing.T) {
			t.Parallel()
			src := fx.folder(folder)
			want, err := src.readKW(ListName)
			if err != nil {
				t.Fatal(err)
			}
			kw, err := src.store(time.Unix(fixtureTime, 0)).LoadReadOnly(src.exists())
			if err != nil {
				t.Fatal(err)
			}
			f := newTestFolder(t)
			s := f.store(time.Now())
			s.BatchMin = 1
			if err := s.Set(kw); err != nil {
				t.Fatal(err)
			}
			if got := f.files()[ListName]; got != want {
				t.Errorf(":list =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestSetBatchConcurrentPlain stages Courier writing plain update files
// after Set listed the directory: the files survive, and win.
func TestSetBatchConcurrentPlain(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := newTestFolder(t)
	f.write(":list", "Junk\n\na:0\nb:0\n")
	s := f.store(now)
	s.BatchMin = 1
	s.hook = func(point string) {
		if point == "listed" {
			f.write("a", "Courier\n") // a message Set changes
			f.write("b", "Courier\n") // one it does not
		}
	}
	if err := s.Set(map[string][]string{"a": {"Kurier"}, "c": {"Kurier"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a": {"Courier"}, "b": {"Courier"}, "c": {"Kurier"}}
	for i, s := range []*Store{s, f.store(now)} {
		got, err := s.Load(existsIn("a", "b", "c"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load %d = %q, want %q", i, got, want)
		}
	}
}

func TestSetNoLock(t *testing.T) {
	t.Parallel()
	f := newTestFolder(t)
	s := f.store(time.Now())
	s.NoLock = true
	changes := map[string][]string{}
	for i := range 100 {
		changes[fmt.Sprintf("m%03d", i)] = []string{"Junk"}
	}
	if err := s.Set(changes); err != nil {
		t.Fatal(err)
	}
	files := f.files()
	if len(files) != 100 || files["m042"] != "Junk\n" {
		t.Errorf("files = %d (m042 %q), want 100 update files", len(files), files["m042"])
	}
}

func TestSetInvalid(t *testing.T) {
	t.Parallel()
	for _, changes := range []map[string][]string{
		{"": {"A"}},
		{".5.x": {"A"}},
		{"a/b": {"A"}},
		{"a:2,S": {"A"}},
		{"a\nb": {"A"}},
		{"a": {""}},
		{"a": {"A B"}},
		{"a": {"A\n"}},
		{"a": {"A\x00"}},
	} {
		for _, batch := range []int{1, 1000} {
			f := newTestFolder(t)
			s := f.store(time.Now())
			s.BatchMin = batch
			if err := s.Set(changes); !errors.Is(err, ErrInvalid) {
				t.Errorf("Set(%q) batch %d = %v, want ErrInvalid", changes, batch, err)
			}
			if files := f.files(); len(files) > 0 {
				t.Errorf("Set(%q) wrote %q", changes, files)
			}
		}
	}
}

// TestSetModel runs random Sets (both paths), Courier-style update files
// and expunges against a model of the keywords: after each step the Store,
// and a fresh Store acting as another process, must read the model.
func TestSetModel(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := newTestFolder(t)
	s := f.store(now)
	s.BatchMin = 8
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"Junk", "NonJunk", "$Label1", "$Label2", "$Forwarded", "Foo"}
	model := map[string][]string{}
	live := map[string]bool{}
	for i := range 40 {
		live[fmt.Sprintf("%d.M%dP1.h", 1000+i, i)] = true
	}
	bases := slices.Sorted(maps.Keys(live))
	randSet := func() []string {
		var kws []string
		for _, w := range words {
			if rng.IntN(3) == 0 {
				kws = append(kws, w)
			}
		}
		return normalize(kws)
	}
	for step := range 60 {
		switch op := rng.IntN(4); op {
		case 0, 1: // Set a random batch
			changes := map[string][]string{}
			for range 1 + rng.IntN(15) {
				b := bases[rng.IntN(len(bases))]
				if !live[b] {
					continue
				}
				kws := randSet()
				changes[b] = kws
				if len(kws) == 0 {
					delete(model, b)
				} else {
					model[b] = kws
				}
			}
			if err := s.Set(changes); err != nil {
				t.Fatal(err)
			}
		case 2: // Courier writes an update file
			b := bases[rng.IntN(len(bases))]
			if !live[b] {
				continue
			}
			kws := randSet()
			f.write(b, string(updateContent(kws)))
			if len(kws) == 0 {
				delete(model, b)
			} else {
				model[b] = kws
			}
		case 3: // expunge
			b := bases[rng.IntN(len(bases))]
			delete(live, b)
			delete(model, b)
		}
		exists := func(b string) bool { return live[b] }
		for i, st := range []*Store{s, f.store(now)} {
			got, err := st.Load(exists)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, model, slices.Equal) {
				t.Fatalf("step %d, store %d: Load = %q, want %q", step, i, got, model)
			}
		}
	}
}
