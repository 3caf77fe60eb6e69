package bench

import (
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kurier/pkg/keywords"
	"kurier/pkg/maildir"
)

// Corpus describes a generated folder: N messages made from Seed. The same
// (N, Seed) always gives the same files, byte for byte and name for name.
type Corpus struct {
	N    int
	Seed uint64
	// Dir is the cached home directory; Dir/Maildir is the folder (INBOX).
	Dir string
	// Keyworded is how many messages, from the first, all carry keywords
	// (COPY 1:Keyworded copies only keyworded messages).
	Keyworded int
	// Bytes is the total size of the message files.
	Bytes int64
}

// Words planted in the corpus for the SEARCH scenarios: SubjectWord is in
// about 5% of subjects, TextWord in about 3% of plain-text bodies.
const (
	SubjectWord = "invoice"
	TextWord    = "kumquat"
)

// corpusHost is the host part of the generated file names.
const corpusHost = "bench.example"

// corpusFormat is bumped whenever the generator's output changes, so that a
// stale cache is not reused. Format 3: message files are 0644 (Dovecot reads
// its hard links as an unprivileged user) and keywordFile lists the keywords.
const corpusFormat = 3

// keywordFile, in Corpus.Dir beside Maildir, holds one line per keyworded
// message: its file name's base (before ":2,") and its keywords, separated
// by spaces. NewHome(…, DovecotLayout) turns it into Dovecot's format.
const keywordFile = "keywords.txt"

// CorpusDir is where Generate caches the corpus of n messages from seed
// under parent ("" for os.TempDir()).
func CorpusDir(parent string, n int, seed uint64) string {
	if parent == "" {
		parent = os.TempDir()
	}
	return filepath.Join(parent, fmt.Sprintf("kurier-bench-corpus-%d-%d-v%d", n, seed, corpusFormat))
}

// Generate returns the corpus of n messages made from seed, writing it into
// CorpusDir(parent, n, seed) the first time. The cache is complete once its
// "complete" file exists; an incomplete one is removed and rebuilt.
func Generate(parent string, n int, seed uint64) (*Corpus, error) {
	dir := CorpusDir(parent, n, seed)
	c := &Corpus{N: n, Seed: seed, Dir: dir, Keyworded: n / 2}
	if data, err := os.ReadFile(filepath.Join(dir, "complete")); err == nil {
		if _, err := fmt.Sscan(string(data), &c.Bytes); err == nil {
			return c, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("bench: remove stale corpus: %w", err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := c.write(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), fmt.Appendf(nil, "%d\n", c.Bytes), 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return c, nil
}

func (c *Corpus) write(home string) error {
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	g := newGenerator(c.Seed, c.N)
	kw := map[string][]string{}
	for i := range c.N {
		m := g.message(i)
		name := filepath.Join(md, "cur", m.name)
		if err := os.WriteFile(name, m.data, 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := os.Chtimes(name, m.date, m.date); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		c.Bytes += int64(len(m.data))
		if i < c.Keyworded || g.r.IntN(10) == 0 {
			base, _, _ := strings.Cut(m.name, ":")
			kw[base] = g.keywords()
		}
	}
	st := keywords.Open(md, maildir.NewNamer(corpusHost))
	if err := st.Set(kw); err != nil {
		return fmt.Errorf("bench: keywords: %w", err)
	}
	var list strings.Builder
	for _, base := range slices.Sorted(maps.Keys(kw)) {
		list.WriteString(base + " " + strings.Join(kw[base], " ") + "\n")
	}
	if err := os.WriteFile(filepath.Join(home, keywordFile), []byte(list.String()), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// generator makes the messages of one corpus in order.
type generator struct {
	r      *rand.Rand
	t      time.Time
	people []string
	recent []thread // recent messages, for replies
}

type thread struct {
	subject string
	id      string
	refs    []string
}

type genMessage struct {
	name string
	date time.Time
	data []byte
}

func newGenerator(seed uint64, n int) *generator {
	g := &generator{
		r: rand.New(rand.NewPCG(seed, uint64(n))),
		t: time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC),
	}
	for range 300 {
		first := firstNames[g.r.IntN(len(firstNames))]
		last := lastNames[g.r.IntN(len(lastNames))]
		dom := domains[g.r.IntN(len(domains))]
		g.people = append(g.people, fmt.Sprintf("%s %s <%s.%s@%s>", first, last,
			strings.ToLower(first), strings.ToLower(last), dom))
	}
	return g
}

var zones = []*time.Location{
	time.UTC,
	time.FixedZone("", -5*3600),
	time.FixedZone("", 1*3600),
	time.FixedZone("", 2*3600),
	time.FixedZone("", -8*3600),
	time.FixedZone("", 5*3600+1800),
}

// logNormal returns exp(N(ln median, sigma)) clamped to [lo, hi].
func (g *generator) logNormal(median, sigma float64, lo, hi int) int {
	v := int(math.Exp(math.Log(median) + sigma*g.r.NormFloat64()))
	return min(max(v, lo), hi)
}

func (g *generator) message(i int) genMessage {
	g.t = g.t.Add(time.Duration(1+g.r.IntN(300)) * time.Second)
	date := g.t
	var b strings.Builder
	from := g.people[g.r.IntN(len(g.people))]
	to := g.people[g.r.IntN(len(g.people))]
	id := fmt.Sprintf("<%d.%08x@%s>", date.Unix(), g.r.Uint32(), domains[g.r.IntN(len(domains))])

	th := thread{id: id}
	var parent *thread
	if len(g.recent) > 0 && g.r.IntN(10) < 4 {
		parent = &g.recent[g.r.IntN(len(g.recent))]
		th.subject = parent.subject
		th.refs = append(append([]string{}, parent.refs...), parent.id)
		if len(th.refs) > 10 {
			th.refs = th.refs[len(th.refs)-10:]
		}
	} else {
		th.subject = g.subject()
	}
	if len(g.recent) < 200 {
		g.recent = append(g.recent, th)
	} else {
		g.recent[g.r.IntN(200)] = th
	}

	fmt.Fprintf(&b, "Return-Path: <%s>\n", addrOf(from))
	fmt.Fprintf(&b, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail.bench.example with ESMTPS id %08X\n\tfor <%s>; %s\n",
		g.r.IntN(9), domains[g.r.IntN(len(domains))], g.r.IntN(9), domains[g.r.IntN(len(domains))],
		1+g.r.IntN(250), g.r.Uint32(), addrOf(to), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\n", id)
	fmt.Fprintf(&b, "Date: %s\n", date.In(zones[g.r.IntN(len(zones))]).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\n", from)
	fmt.Fprintf(&b, "To: %s\n", to)
	if g.r.IntN(4) == 0 {
		fmt.Fprintf(&b, "Cc: %s, %s\n", g.people[g.r.IntN(len(g.people))], g.people[g.r.IntN(len(g.people))])
	}
	subj := th.subject
	if parent != nil {
		subj = "Re: " + subj
		fmt.Fprintf(&b, "In-Reply-To: %s\n", parent.id)
		fmt.Fprintf(&b, "References: %s\n", strings.Join(th.refs, "\n "))
	}
	fmt.Fprintf(&b, "Subject: %s\n", subj)
	b.WriteString("MIME-Version: 1.0\n")

	text := g.text(g.logNormal(4000, 0.8, 800, 60000))
	switch k := g.r.IntN(100); {
	case k < 60:
		b.WriteString("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
		b.WriteString(text)
	case k < 92:
		bd := fmt.Sprintf("=_alt_%08x", g.r.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\n\nThis is a MIME message.\n\n", bd)
		fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n", bd, text)
		fmt.Fprintf(&b, "--%s\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n", bd, html(text))
		fmt.Fprintf(&b, "--%s--\n", bd)
	default:
		bd := fmt.Sprintf("=_mix_%08x", g.r.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\nThis is a MIME message.\n\n", bd)
		fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n", bd, text)
		size := g.logNormal(40000, 1.2, 4000, 1<<20)
		ext, ctype := "pdf", "application/pdf"
		if g.r.IntN(2) == 0 {
			ext, ctype = "jpg", "image/jpeg"
		}
		fmt.Fprintf(&b, "--%s\nContent-Type: %s; name=\"file%d.%s\"\nContent-Disposition: attachment; filename=\"file%d.%s\"\nContent-Transfer-Encoding: base64\n\n",
			bd, ctype, i, ext, i, ext)
		b.WriteString(g.base64(size))
		fmt.Fprintf(&b, "--%s--\n", bd)
	}
	data := []byte(b.String())

	flags := ""
	if g.r.IntN(100) < 2 {
		flags += "D"
	}
	if g.r.IntN(100) < 5 {
		flags += "F"
	}
	if g.r.IntN(100) < 15 {
		flags += "R"
	}
	if g.r.IntN(100) < 80 {
		flags += "S"
	}
	name := fmt.Sprintf("%d.M%dP%dV%016XI%016X_%d.%s,S=%d:2,%s",
		date.Unix(), g.r.IntN(1000000), 1000+g.r.IntN(60000), 0x803, 0x100000+i, 0,
		corpusHost, len(data), flags)
	return genMessage{name: name, date: date, data: data}
}

var keywordPool = []string{"$Label1", "$Label2", "$Label3", "$Label4", "$Label5", "Junk", "NonJunk", "$Forwarded", "Work", "Todo"}

func (g *generator) keywords() []string {
	n := 1 + g.r.IntN(3)
	var kws []string
	for _, p := range g.r.Perm(len(keywordPool))[:n] {
		kws = append(kws, keywordPool[p])
	}
	return kws
}

func (g *generator) subject() string {
	n := 2 + g.r.IntN(6)
	w := make([]string, n)
	for i := range w {
		w[i] = vocabulary[g.r.IntN(len(vocabulary))]
	}
	if g.r.IntN(20) == 0 {
		w[g.r.IntN(n)] = SubjectWord
	}
	w[0] = strings.ToUpper(w[0][:1]) + w[0][1:]
	return strings.Join(w, " ")
}

// text returns about size bytes of prose, wrapped at 72 columns.
func (g *generator) text(size int) string {
	var b strings.Builder
	b.Grow(size + 100)
	planted := g.r.IntN(33) == 0
	col := 0
	for b.Len() < size {
		w := vocabulary[g.r.IntN(len(vocabulary))]
		if planted && g.r.IntN(200) == 0 {
			w, planted = TextWord, false
		}
		if col+len(w)+1 > 72 {
			b.WriteByte('\n')
			col = 0
			if g.r.IntN(8) == 0 {
				b.WriteByte('\n')
			}
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	if planted {
		b.WriteString(" " + TextWord)
	}
	b.WriteString("\n")
	return b.String()
}

func html(text string) string {
	var b strings.Builder
	b.WriteString("<html><body>\n")
	for p := range strings.SplitSeq(text, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(p, "\n", "<br>\n"))
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>")
	return b.String()
}

// base64 returns size random bytes in base64, 76 columns.
func (g *generator) base64(size int) string {
	raw := make([]byte, size)
	for i := 0; i < size; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8 && i+j < size; j++ {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.Grow(len(enc) + len(enc)/76 + 1)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}

func addrOf(person string) string {
	_, a, _ := strings.Cut(person, "<")
	return strings.TrimSuffix(a, ">")
}

// SmallMessages returns n small messages (2–4 KB) for the APPEND scenario.
func SmallMessages(n int, seed uint64) [][]byte {
	g := newGenerator(seed^0x5eed, n)
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(strings.ReplaceAll(fmt.Sprintf(
			"From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <append.%d@bench.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s",
			g.people[g.r.IntN(len(g.people))], g.people[g.r.IntN(len(g.people))], g.subject(),
			g.t.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), i, g.text(2000+g.r.IntN(2000))), "\n", "\r\n"))
	}
	return out
}

// Layout is how a home's Maildir stores keywords.
type Layout int

const (
	// CourierLayout keeps the corpus as generated: keywords in
	// courierimapkeywords/ (Courier and Kurier).
	CourierLayout Layout = iota
	// DovecotLayout stores the same keywords as Dovecot does: letters a–z
	// after the flags in the file names, their names in dovecot-keywords.
	DovecotLayout
)

// NewHome makes a private copy of the corpus for one server under parent:
// a new home directory whose Maildir hard-links the cached message files
// (no server changes a message file in place; renames and unlinks only
// touch the copy's directory entries) and copies everything else. With
// DovecotLayout the keywords are converted (see Layout).
func (c *Corpus) NewHome(parent string, layout Layout) (string, error) {
	home, err := c.newHome(parent)
	if err != nil || layout == CourierLayout {
		return home, err
	}
	if err := c.toDovecot(filepath.Join(home, "Maildir")); err != nil {
		os.RemoveAll(home)
		return "", err
	}
	return home, nil
}

// toDovecot replaces courierimapkeywords/ in md by Dovecot's keyword
// letters: keywordPool[i] is letter 'a'+i, listed in dovecot-keywords as
// "i name" lines.
func (c *Corpus) toDovecot(md string) error {
	data, err := os.ReadFile(filepath.Join(c.Dir, keywordFile))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	letter := map[string]byte{}
	var list strings.Builder
	for i, k := range keywordPool {
		letter[k] = byte('a' + i)
		fmt.Fprintf(&list, "%d %s\n", i, k)
	}
	kw := map[string][]byte{}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, k := range f[1:] {
			l, ok := letter[k]
			if !ok {
				return fmt.Errorf("bench: %s: keyword %q not in the pool", keywordFile, k)
			}
			kw[f[0]] = append(kw[f[0]], l)
		}
	}
	cur := filepath.Join(md, "cur")
	ents, err := os.ReadDir(cur)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, e := range ents {
		base, flags, _ := strings.Cut(e.Name(), ":2,")
		letters, ok := kw[base]
		if !ok {
			continue
		}
		all := []byte(flags + string(letters))
		slices.Sort(all)
		if err := os.Rename(filepath.Join(cur, e.Name()), filepath.Join(cur, base+":2,"+string(all))); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if err := os.RemoveAll(filepath.Join(md, "courierimapkeywords")); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(md, "dovecot-keywords"), []byte(list.String()), 0o600); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

func (c *Corpus) newHome(parent string) (string, error) {
	home, err := os.MkdirTemp(parent, "home-")
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	src := filepath.Join(c.Dir, "Maildir")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(home, "Maildir", rel)
		switch {
		case d.IsDir():
			return os.Mkdir(dst, 0o700)
		case filepath.Base(filepath.Dir(path)) == "cur":
			if os.Link(path, dst) == nil {
				return nil
			}
			return copyFile(path, dst) // another file system
		default:
			return copyFile(path, dst)
		}
	})
	if err != nil {
		os.RemoveAll(home)
		return "", fmt.Errorf("bench: copy corpus: %w", err)
	}
	return home, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

var firstNames = []string{"Anna", "Bernd", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
	"Karin", "Lukas", "Maria", "Nils", "Olga", "Paul", "Quentin", "Rosa", "Stefan", "Tina", "Uwe", "Vera",
	"Walter", "Xenia", "Yusuf", "Zoe", "Ahmed", "Mei", "Priya", "Kenji"}

var lastNames = []string{"Schmidt", "Müller", "Meyer", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann",
	"Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Smith", "Jones", "Garcia", "Martin",
	"Rossi", "Dubois", "Novak", "Kowalski", "Tanaka", "Singh", "Okafor"}

var domains = []string{"example.com", "example.org", "example.net", "mail.example.de", "corp.example",
	"lists.example.org", "shop.example", "uni.example.edu"}

var vocabulary = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if
meeting report project budget schedule review draft contract delivery order payment account server
update release version build test deploy issue ticket customer support quarter revenue forecast
team office travel conference agenda minutes proposal approval deadline feedback document attached
please thanks regards hello question answer monday tuesday wednesday thursday friday weekend
morning afternoon evening tomorrow yesterday week month year plan change request status summary
network database backup storage migration security password access login config cluster node`)
