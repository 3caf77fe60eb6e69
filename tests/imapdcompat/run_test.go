package imapdcompat

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"kurier/pkg/fixture"
	"kurier/tests/oracle"
)

// step is one command of a script: a command line without its tag, or an
// APPEND (when msg is set) of msg to mailbox with flags and date as
// oracle.Session.Append takes them.
type step struct {
	cmd                  string
	mailbox, flags, date string
	msg                  string
	note                 string // shown after the command, for the allow-list
}

func (s step) String() string {
	c := s.cmd
	if s.msg != "" {
		c = fmt.Sprintf("APPEND %s %s %q {%d}", s.mailbox, s.flags, s.date, len(s.msg))
	}
	if s.note != "" {
		c += " (" + s.note + ")"
	}
	return c
}

// cmds makes steps of command lines.
func cmds(lines ...string) []step {
	out := make([]step, len(lines))
	for i, l := range lines {
		out[i] = step{cmd: l}
	}
	return out
}

// appendStep makes an APPEND step; msg is given with LF line ends and sent
// with CRLF.
func appendStep(mailbox, flags, date, msg string) step {
	return step{mailbox: mailbox, flags: flags, date: date, msg: strings.ReplaceAll(msg, "\n", "\r\n")}
}

// exchange is what a server answered to one step: untagged lines and the
// tagged one, or the error that ended the session.
type exchange struct {
	lines []string
	err   error
}

// play runs steps on p. A failed exchange (EOF, timeout) ends the script:
// its error is recorded and the remaining steps get nothing.
func play(p *proc, steps []step) []exchange {
	out := make([]exchange, len(steps))
	for i, st := range steps {
		var untagged []string
		var tagged string
		var err error
		if st.msg != "" {
			untagged, tagged, err = p.Append(st.mailbox, st.flags, st.date, []byte(st.msg))
		} else {
			untagged, tagged, err = p.Cmd(st.cmd)
		}
		out[i] = exchange{lines: append(untagged, tagged), err: err}
		if err != nil {
			for j := i + 1; j < len(steps); j++ {
				out[j].err = fmt.Errorf("not run: %v", err)
			}
			break
		}
	}
	return out
}

// transcript is one session's result.
type transcript struct {
	server string
	home   string
	x      []exchange
	log    []string // C: and S: lines
	stderr string
	err    error // start-up or LOGOUT failure
}

// session runs steps in one imapd session of sv on home.
func session(sv server, home string, steps []step) transcript {
	tr := transcript{server: sv.name, home: home}
	p, err := sv.start(home)
	if err != nil {
		tr.err = err
		return tr
	}
	tr.x = play(p, steps)
	tr.err = p.Close()
	tr.log, tr.stderr = p.Transcript(), p.stderr.String()
	return tr
}

// env is what a differential test needs: both servers.
type env struct {
	courier, kurier server
}

func setup(t *testing.T) env {
	t.Helper()
	c := oracle.Imapd(t)
	return env{courier: courierServer(t, c), kurier: kurierServer(t)}
}

// home returns a new copy of the fixture: a home directory with Maildir/.
func home(t *testing.T) string {
	t.Helper()
	return fixture.Courier(t)
}

// fixtureValidities returns the UIDVALIDITY values in the fixture's
// courierimapuiddb files: values the servers must report unchanged, unlike
// those of folders a session creates or renames.
func fixtureValidities(t *testing.T, home string) map[string]bool {
	t.Helper()
	v := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(home, "Maildir"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "courierimapuiddb" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(line); len(f) == 3 {
			v[f[1]] = true
		}
		return nil
	})
	if err != nil || len(v) == 0 {
		t.Fatalf("fixture UIDVALIDITY: %v (found %v)", err, v)
	}
	return v
}

// parallel runs the functions at once and waits for them.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	wg.Wait()
}

// run plays steps on both servers at once, each on its own copy of the
// fixture, compares the answers and returns the two homes (Courier's,
// Kurier's) for a read-back.
func run(t *testing.T, e env, steps []step) (courierHome, kurierHome string) {
	t.Helper()
	courierHome, kurierHome = home(t), home(t)
	known := fixtureValidities(t, courierHome)
	var c, k transcript
	parallel(
		func() { c = session(e.courier, courierHome, steps) },
		func() { k = session(e.kurier, kurierHome, steps) },
	)
	compare(t, "", steps, c, k, known, true)
	return courierHome, kurierHome
}

// readBack opens both written homes with both servers, runs steps (which
// must only read) and compares: Kurier's reading of each home with
// Courier's, and Courier's reading of Kurier's writes with its reading of
// its own.
func readBack(t *testing.T, e env, courierHome, kurierHome string, steps []step) {
	t.Helper()
	known := fixtureValidities(t, home(t))
	var cc, kc, ck, kk transcript
	parallel(
		func() {
			cc = session(e.courier, courierHome, steps)
			kc = session(e.kurier, courierHome, steps)
		},
		func() {
			ck = session(e.courier, kurierHome, steps)
			kk = session(e.kurier, kurierHome, steps)
		},
	)
	compare(t, "read-back of Courier's writes: ", steps, cc, kc, known, true)
	compare(t, "read-back of Kurier's writes: ", steps, ck, kk, known, true)
	cc.server, ck.server = "courier on Courier's writes", "courier on Kurier's writes"
	compare(t, "read-back by Courier: ", steps, cc, ck, known, false)
}

// compare reports every step whose normalised answers differ. With
// allowList, b is Kurier's and the allow-list applies.
func compare(t *testing.T, prefix string, steps []step, a, b transcript, known map[string]bool, allowList bool) {
	t.Helper()
	for _, tr := range []transcript{a, b} {
		if tr.err != nil {
			t.Errorf("%s%s: %v", prefix, tr.server, tr.err)
		}
	}
	if a.x == nil || b.x == nil {
		return
	}
	failed := false
	for i, st := range steps {
		na, nb := normalise(a.x[i], known), normalise(b.x[i], known)
		if allowList {
			na, nb = allow(st, a.x[i].lines, na, nb)
		}
		na, nb = finish(na), finish(nb)
		if !slices.Equal(na, nb) {
			failed = true
			t.Errorf("%sC: %s\n%s", prefix, st, diff(a, b, i, na, nb))
		}
	}
	if failed && testing.Verbose() {
		for _, tr := range []transcript{a, b} {
			t.Logf("%s%s transcript (%s):\n%s\nstderr:\n%s", prefix, tr.server, tr.home,
				strings.Join(tr.log, "\n"), tr.stderr)
		}
	}
}

// diff shows both answers to step i, raw, and the normalised lines that
// only one side has.
func diff(a, b transcript, i int, na, nb []string) string {
	var s strings.Builder
	show := func(tr transcript, mine, other []string) {
		fmt.Fprintf(&s, "  %s:\n", tr.server)
		x := tr.x[i]
		if x.err != nil {
			fmt.Fprintf(&s, "    <error: %v>\n", x.err)
		}
		for _, l := range x.lines {
			fmt.Fprintf(&s, "    %s\n", quoteLine(l))
		}
		for _, l := range mine {
			if !slices.Contains(other, l) {
				fmt.Fprintf(&s, "    ! only %s (normalised): %s\n", tr.server, quoteLine(l))
			}
		}
	}
	show(a, na, nb)
	show(b, nb, na)
	return s.String()
}

// quoteLine shows a response with its literals' line breaks escaped, cut at
// 1000 bytes.
func quoteLine(l string) string {
	l = strings.ReplaceAll(l, "\r\n", `\r\n`)
	if len(l) > 1000 {
		l = l[:1000] + "…"
	}
	return l
}
