package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// seed is the corpus seed of every run.
const seed = 1

// scenario is one measured operation on a corpus of size messages.
type scenario struct {
	name   string
	size   int
	metric Metric // WallTime unless set
	// needs names a capability the server must announce, else it skips.
	needs string
	// prepare runs once per home, in a session of its own, before the
	// measured sessions (to build the UID database or indexes for a
	// second SELECT).
	prepare []string
	// setup runs, unmeasured, at the start of every measured session.
	setup []string
	// fresh gives every repetition a new home and session (for operations
	// that change the folder); else one home serves all repetitions.
	fresh bool
	// freshSession gives every repetition a new session on the same home;
	// else one session serves all repetitions.
	freshSession bool
	// run is the measured operation on the session s whose home is home.
	run func(s *Server, home string) (outcome, error)
}

// outcome is what one measured run reports besides its times.
type outcome struct {
	note  string  // a short summary of the responses, compared in the table
	value float64 // the primary metric when it is not WallTime
}

// do returns a run function for commands, noted by the untagged count of
// the last.
func do(cmds ...string) func(*Server, string) (outcome, error) {
	return func(s *Server, _ string) (outcome, error) {
		var r Response
		var err error
		for _, c := range cmds {
			if r, err = s.Do(c); err != nil {
				return outcome{}, err
			}
		}
		return outcome{note: fmt.Sprintf("%d untagged", r.Untagged)}, nil
	}
}

// search returns a run function for a SEARCH command, noted by its hits.
func search(cmd string) func(*Server, string) (outcome, error) {
	return func(s *Server, _ string) (outcome, error) {
		r, err := s.Collect(cmd)
		return outcome{note: fmt.Sprintf("%d hits", searchHits(r.Lines))}, err
	}
}

// searchHits counts the numbers of "* SEARCH" responses.
func searchHits(lines []string) int {
	hits := 0
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
			hits += len(strings.Fields(rest))
		}
	}
	return hits
}

// selectRun is SELECT INBOX, noted by EXISTS.
func selectRun(s *Server, _ string) (outcome, error) {
	r, err := s.Collect("SELECT INBOX")
	for _, l := range r.Lines {
		if k, ok := existsCount([]byte(l)); ok {
			return outcome{note: strconv.FormatInt(k, 10) + " exists"}, err
		}
	}
	return outcome{note: "no EXISTS"}, err
}

// idleDeliveries is how many messages one IDLE sample delivers; the
// sample is their median latency.
const idleDeliveries = 5

// idleTimeout bounds the wait for one IDLE announcement.
const idleTimeout = 10 * time.Second

// idleRun measures IDLE notification latency: a second writer delivers a
// message into new/ (written in tmp/, renamed into new/, as an MDA does)
// while the session is in IDLE.
func idleRun(s *Server, home string) (outcome, error) {
	msg := SmallMessages(1, seed)[0]
	lat, err := s.IdleLatency(idleDeliveries, idleTimeout, func(int) error {
		return deliver(filepath.Join(home, "Maildir"), msg)
	})
	if err != nil {
		return outcome{}, err
	}
	ms := make([]float64, len(lat))
	for i, d := range lat {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	return outcome{note: fmt.Sprintf("%d deliveries", len(lat)), value: Summarize(ms).Median}, nil
}

// deliveries numbers the messages deliver writes, for unique names.
var deliveries atomic.Int64

// deliver writes msg into md's new/ as a Maildir MDA does.
func deliver(md string, msg []byte) error {
	name := fmt.Sprintf("%d.M%dP%d.bench-mda", time.Now().Unix(), deliveries.Add(1), os.Getpid())
	tmp := filepath.Join(md, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o644); err != nil {
		return fmt.Errorf("bench: deliver: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(md, "new", name)); err != nil {
		return fmt.Errorf("bench: deliver: %w", err)
	}
	return nil
}

// memoryRun is the session whose peak memory is its own row: SELECT, the
// metadata of every message, and a full-text SEARCH.
func memoryRun(s *Server, _ string) (outcome, error) {
	for _, c := range []string{"SELECT INBOX", "FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
		"SEARCH TEXT " + TextWord} {
		if _, err := s.Do(c); err != nil {
			return outcome{}, err
		}
	}
	peak, err := s.PeakRSS()
	return outcome{note: "SELECT, FETCH ENVELOPE, SEARCH TEXT", value: float64(peak)}, err
}

// scenarios returns the scenarios of a set: SELECT and FETCH of metadata
// on every size of sizes, the rest on a folder of work messages (10,000 in
// the quick and full sets), with their counts scaled down when work is
// smaller (the smoke test).
func scenarios(sizes []int, work int) []scenario {
	var list []scenario
	for _, n := range sizes {
		list = append(list, scenario{name: "SELECT (first, no uid db or index)", size: n, fresh: true, run: selectRun})
	}
	for _, n := range sizes {
		list = append(list, scenario{name: "SELECT (second)", size: n, prepare: []string{"SELECT INBOX"},
			freshSession: true, run: selectRun})
	}
	for _, n := range sizes {
		list = append(list, scenario{name: "FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)", size: n,
			setup: []string{"SELECT INBOX"}, run: do("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")})
	}
	half := max(1, work/2)
	bodies := min(1000, work)
	appends := min(2000, work)
	list = append(list,
		scenario{name: fmt.Sprintf("FETCH 1:%d BODY.PEEK[]", bodies), size: work, setup: []string{"SELECT INBOX"},
			run: do(fmt.Sprintf("FETCH 1:%d BODY.PEEK[]", bodies))},
		scenario{name: "SEARCH HEADER Subject " + SubjectWord, size: work, setup: []string{"SELECT INBOX"},
			run: search("SEARCH HEADER Subject " + SubjectWord)},
		scenario{name: "SEARCH TEXT " + TextWord, size: work, setup: []string{"SELECT INBOX"},
			run: search("SEARCH TEXT " + TextWord)},
		scenario{name: fmt.Sprintf(`STORE 1:%d +FLAGS (\Seen)`, work), size: work, fresh: true,
			setup: []string{"SELECT INBOX"}, run: do(fmt.Sprintf(`STORE 1:%d +FLAGS (\Seen)`, work))},
		scenario{name: fmt.Sprintf("COPY 1:%d (keyworded)", half), size: work, fresh: true,
			setup: []string{"SELECT INBOX", "CREATE INBOX.Target"}, run: do(fmt.Sprintf("COPY 1:%d INBOX.Target", half))},
		scenario{name: fmt.Sprintf("UID MOVE 1:%d (keyworded)", half), size: work, fresh: true, needs: "MOVE",
			setup: []string{"SELECT INBOX", "CREATE INBOX.Target"},
			run:   do(fmt.Sprintf("UID MOVE 1:%d INBOX.Target", half), "STATUS INBOX.Target (MESSAGES)")},
		scenario{name: fmt.Sprintf("APPEND %d small, one at a time", appends), size: work, fresh: true,
			setup: []string{"SELECT INBOX", "CREATE INBOX.Sent"}, run: appendRun(SmallMessages(appends, seed))},
		scenario{name: fmt.Sprintf("EXPUNGE %d", half), size: work, fresh: true,
			setup: []string{"SELECT INBOX", fmt.Sprintf(`STORE 1:%d +FLAGS.SILENT (\Deleted)`, half)}, run: do("EXPUNGE")},
		scenario{name: fmt.Sprintf("IDLE latency of a delivery to new/ (median of %d)", idleDeliveries), size: work,
			metric: Latency, needs: "IDLE", setup: []string{"SELECT INBOX"}, run: idleRun},
		scenario{name: "one session's peak RSS (SELECT, FETCH ENVELOPE, SEARCH TEXT)", size: work,
			metric: PeakMemory, freshSession: true, run: memoryRun},
	)
	return list
}

// appendRun APPENDs msgs to INBOX.Sent one at a time, noted by STATUS.
func appendRun(msgs [][]byte) func(*Server, string) (outcome, error) {
	return func(s *Server, _ string) (outcome, error) {
		for _, m := range msgs {
			if _, err := s.Append("INBOX.Sent", m); err != nil {
				return outcome{}, err
			}
		}
		r, err := s.Collect("STATUS INBOX.Sent (MESSAGES)")
		if len(r.Lines) > 0 {
			return outcome{note: strings.TrimPrefix(r.Lines[0], "* STATUS ")}, err
		}
		return outcome{}, err
	}
}

// sizesOf lists the distinct corpus sizes of list, in order.
func sizesOf(list []scenario) []int {
	var out []int
	for _, sc := range list {
		if !slices.Contains(out, sc.size) {
			out = append(out, sc.size)
		}
	}
	return out
}

func sizeName(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
