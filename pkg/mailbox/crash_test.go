package mailbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kurier/pkg/maildir"
)

// The crash test runs a worker process that changes a Maildir through this
// package as fast as it can (APPEND, COPY, flag and keyword changes,
// EXPUNGE), kills it with SIGKILL at a random instant, then checks the
// invariants of the package comment on what is left, and starts again on
// the same Maildir. The worker reports each operation before it starts
// ("begin") and after it completes ("ack"), so the checker knows what was
// promised to a client and what may or may not have happened.

const crashWorkerEnv = "KURIER_CRASH_WORKER"

// crashTrials is how many kills `go test` makes; -short makes fewer.
const crashTrials = 200

// crashEvent is one line of the worker's report.
type crashEvent struct {
	Kind   string            `json:"k"` // begin or ack
	Op     string            `json:"op"`
	Folder string            `json:"f,omitempty"`
	UIDs   []uint32          `json:"u,omitempty"`   // messages operated on
	IDs    []string          `json:"ids,omitempty"` // with UIDs, for append/copy acks
	Flags  []string          `json:"fl,omitempty"`  // per UID: flag letters and keywords, "FS|Junk,$Label1"
	Extra  map[string]string `json:"x,omitempty"`
}

var crashFolders = []string{"INBOX", "INBOX.Archive"}

// TestCrashWorker is the worker; it does nothing unless started by
// TestCrashConsistency.
func TestCrashWorker(t *testing.T) {
	root := os.Getenv(crashWorkerEnv)
	if root == "" {
		t.Skip("run by TestCrashConsistency")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashWorkerEnv+"_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	out := bufio.NewWriter(os.Stdout)
	emit := func(e crashEvent) {
		b, _ := json.Marshal(e)
		out.Write(append(b, '\n'))
		out.Flush() // the line must be out before the next step can crash
	}
	md := maildir.Maildir{Root: root}
	o := Options{Keywords: true, UseLocks: true, Quota: &QuotaConfig{}}
	inbox, err := Open(md, "INBOX", o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	archive, err := OpenTarget(md, "INBOX.Archive", o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	n := 0
	for {
		if _, err := inbox.Rescan(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(2)
		}
		msgs := inbox.Messages()
		pick := func(max int) []*Message {
			var out []*Message
			for range 1 + rng.IntN(max) {
				if len(msgs) == 0 {
					break
				}
				m := msgs[rng.IntN(len(msgs))]
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
			return out
		}
		switch op := rng.IntN(10); {
		case op < 4 || len(msgs) < 3:
			count := 1 + rng.IntN(3)
			var nm []NewMessage
			var ids []string
			for range count {
				n++
				id := fmt.Sprintf("%d-%d", os.Getpid(), n)
				ids = append(ids, id)
				nm = append(nm, NewMessage{Body: strings.NewReader(crashBody(id, rng.IntN(20000))),
					Flags: maildir.Flag(rng.IntN(32)), Keywords: randomKeywords(rng)})
			}
			emit(crashEvent{Kind: "begin", Op: "append", Folder: "INBOX", IDs: ids})
			_, uids, err := inbox.Target().Append(nm)
			if err != nil {
				fmt.Fprintln(os.Stderr, "worker: append:", err)
				os.Exit(2)
			}
			var states []string
			for i := range nm {
				states = append(states, stateString(nm[i].Flags, nm[i].Keywords))
			}
			emit(crashEvent{Kind: "ack", Op: "append", Folder: "INBOX", UIDs: uids, IDs: ids, Flags: states})
		case op < 6:
			sel := pick(5)
			emit(crashEvent{Kind: "begin", Op: "copy", Folder: "INBOX.Archive", UIDs: uidList(sel)})
			_, uids, err := inbox.Copy(sel, archive)
			if err != nil {
				fmt.Fprintln(os.Stderr, "worker: copy:", err)
				os.Exit(2)
			}
			emit(crashEvent{Kind: "ack", Op: "copy", Folder: "INBOX.Archive", UIDs: uids, Extra: map[string]string{"src": fmt.Sprint(uidList(sel))}})
		case op < 9:
			sel := pick(20)
			var changes []FlagChange
			var states []string
			for _, m := range sel {
				c := FlagChange{Msg: m, Flags: maildir.Flag(rng.IntN(32))}
				if rng.IntN(2) == 0 {
					c.SetKeywords, c.Keywords = true, randomKeywords(rng)
				} else {
					c.Keywords = m.Keywords
				}
				changes = append(changes, c)
				states = append(states, stateString(c.Flags, c.Keywords))
			}
			emit(crashEvent{Kind: "begin", Op: "store", Folder: "INBOX", UIDs: uidList(sel), Flags: states})
			if _, err := inbox.Store(changes); err != nil {
				fmt.Fprintln(os.Stderr, "worker: store:", err)
				os.Exit(2)
			}
			emit(crashEvent{Kind: "ack", Op: "store", Folder: "INBOX", UIDs: uidList(sel), Flags: states})
		default:
			sel := pick(3)
			emit(crashEvent{Kind: "begin", Op: "expunge", Folder: "INBOX", UIDs: uidList(sel)})
			if _, err := inbox.Expunge(sel); err != nil {
				fmt.Fprintln(os.Stderr, "worker: expunge:", err)
				os.Exit(2)
			}
			emit(crashEvent{Kind: "ack", Op: "expunge", Folder: "INBOX", UIDs: uidList(sel)})
		}
	}
}

func uidList(msgs []*Message) []uint32 {
	out := make([]uint32, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

var crashKeywords = []string{"Junk", "NonJunk", "$Label1", "$Forwarded", "Work"}

func randomKeywords(rng *rand.Rand) []string {
	var kw []string
	for _, k := range crashKeywords {
		if rng.IntN(3) == 0 {
			kw = append(kw, k)
		}
	}
	return kw
}

// stateString renders flags and keywords canonically for comparison.
func stateString(f maildir.Flag, kw []string) string {
	k := slices.Clone(kw)
	slices.Sort(k)
	return f.String() + "|" + strings.Join(k, ",")
}

// crashBody makes a message that carries its own identity and checksum, so
// the checker can tell a complete file from a torn one.
func crashBody(id string, pad int) string {
	payload := fmt.Sprintf("Subject: crash %s\n\n%s\n", id, strings.Repeat("x", pad))
	sum := sha256.Sum256([]byte(payload))
	return "X-Crash-Check: " + hex.EncodeToString(sum[:]) + "\n" + payload
}

// parseCrashBody returns the id of a complete message, or an error.
func parseCrashBody(b []byte) (string, error) {
	head, payload, ok := strings.Cut(string(b), "\n")
	sum, ok2 := strings.CutPrefix(head, "X-Crash-Check: ")
	if !ok || !ok2 {
		return "", fmt.Errorf("no checksum line")
	}
	got := sha256.Sum256([]byte(payload))
	if hex.EncodeToString(got[:]) != sum {
		return "", fmt.Errorf("torn message (checksum mismatch)")
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(payload, "Subject: crash "), "\n")
	return id, nil
}

// known is what the checker knows of one message that has had a UID.
type known struct {
	id      string
	states  []string // acceptable flag/keyword states
	mayGone bool     // an expunge of it began
	gone    bool     // an expunge of it was acknowledged
}

func TestCrashConsistency(t *testing.T) {
	trials := crashTrials
	if testing.Short() {
		trials = 40
	}
	md := newMaildir(t, "INBOX.Archive")
	if err := os.WriteFile(filepath.Join(md.Root, "maildirsize"), []byte("1000000000S,1000000C\n           0            0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[uint32]*known{"INBOX": {}, "INBOX.Archive": {}}
	maxUID := map[string]uint32{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	acks, midOp, started := map[string]int{}, 0, 0
	for trial := range trials {
		events := runCrashWorker(t, md.Root, uint64(trial), time.Duration(rng.IntN(40_000))*time.Microsecond)
		for _, e := range events {
			if e.Kind == "ack" {
				acks[e.Op]++
			}
		}
		if n := len(events); n > 0 {
			started++
			if events[n-1].Kind == "begin" {
				midOp++
			}
		}
		applyEvents(seen, events)
		for _, folder := range crashFolders {
			checkCrashFolder(t, trial, md, folder, seen[folder], maxUID)
		}
		if t.Failed() {
			t.Fatalf("trial %d: invariants broken after kill; last events: %s", trial, lastEvents(events, 4))
		}
	}
	// Kills outside an operation land in the worker's start-up scan or in
	// the rescan between operations, which write metadata too.
	t.Logf("%d kills: %d before the first operation, %d inside one, %d between two; operations completed: %v",
		trials, trials-started, midOp, started-midOp, acks)
	// A test whose kills all land before the worker starts, or between
	// operations, would prove nothing.
	for _, op := range []string{"append", "copy", "store", "expunge"} {
		if acks[op] == 0 {
			t.Errorf("no %s ever completed: the worker did not get to work", op)
		}
	}
	if midOp < trials/5 {
		t.Errorf("only %d of %d kills hit an operation in progress", midOp, trials)
	}
}

func runCrashWorker(t *testing.T, root string, seed uint64, after time.Duration) []crashEvent {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashWorkerEnv+"="+root, fmt.Sprintf("%s_SEED=%d", crashWorkerEnv, seed))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var events []crashEvent
	done := make(chan struct{})
	working := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e crashEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind != "" {
				if len(events) == 0 {
					close(working)
				}
				events = append(events, e)
			}
		}
	}()
	// Most kills are timed from the worker's first operation, so that a
	// slow start on a loaded machine does not make them all land in
	// start-up; one in ten is timed from the process start, to cover the
	// start-up scan too.
	if seed%10 != 0 {
		select {
		case <-working:
		case <-done:
		case <-time.After(30 * time.Second):
		}
	}
	time.Sleep(after)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("worker ended by itself (%v): %s", err, stderr.String())
	}
	return events
}

// applyEvents updates the checker's knowledge with a worker's report.
func applyEvents(seen map[string]map[uint32]*known, events []crashEvent) {
	for _, e := range events {
		msgs := seen[e.Folder]
		switch {
		case e.Op == "append" && e.Kind == "ack":
			for i, uid := range e.UIDs {
				msgs[uid] = &known{id: e.IDs[i], states: []string{e.Flags[i]}}
			}
		case e.Op == "copy" && e.Kind == "ack":
			for _, uid := range e.UIDs {
				if msgs[uid] == nil {
					msgs[uid] = &known{} // id and state learnt at the next check
				}
			}
		case e.Op == "store":
			for i, uid := range e.UIDs {
				k := seen["INBOX"][uid]
				if k == nil {
					continue
				}
				if e.Kind == "begin" {
					k.states = append(k.states, e.Flags[i])
				} else {
					k.states = []string{e.Flags[i]}
				}
			}
		case e.Op == "expunge":
			for _, uid := range e.UIDs {
				if k := seen["INBOX"][uid]; k != nil {
					k.mayGone = true
					k.gone = k.gone || e.Kind == "ack"
				}
			}
		}
	}
}

// checkCrashFolder opens a folder as the next session would and checks it
// against everything known so far.
func checkCrashFolder(t *testing.T, trial int, md maildir.Maildir, folder string, msgs map[uint32]*known, maxUID map[string]uint32) {
	t.Helper()
	f, err := Open(md, folder, Options{Keywords: true, UseLocks: true})
	if err != nil {
		t.Errorf("trial %d: open %s: %v", trial, folder, err)
		return
	}
	ids := map[string]uint32{}
	present := map[uint32]bool{}
	for _, m := range f.Messages() {
		present[m.UID] = true
		b, err := os.ReadFile(f.Path(m))
		if err != nil {
			t.Errorf("trial %d: %s UID %d: %v", trial, folder, m.UID, err)
			continue
		}
		id, err := parseCrashBody(b)
		if err != nil {
			t.Errorf("trial %d: %s UID %d (%s): %v", trial, folder, m.UID, m.File, err)
			continue
		}
		if sz := maildir.SizeFromBase(m.Base); sz >= 0 && sz != int64(len(b)) {
			t.Errorf("trial %d: %s UID %d: ,S=%d but %d bytes", trial, folder, m.UID, sz, len(b))
		}
		if folder == "INBOX" {
			if other, dup := ids[id]; dup {
				t.Errorf("trial %d: message %s duplicated as UIDs %d and %d", trial, id, other, m.UID)
			}
		}
		ids[id] = m.UID
		state := stateString(m.Flags, m.Keywords)
		k := msgs[m.UID]
		switch {
		case k == nil:
			// A message whose delivery was cut short after its rename:
			// it must have a UID above every UID seen before.
			if m.UID <= maxUID[folder] {
				t.Errorf("trial %d: %s: unacknowledged message got old UID %d (max seen %d)", trial, folder, m.UID, maxUID[folder])
			}
			msgs[m.UID] = &known{id: id, states: []string{state}}
		case k.id == "":
			k.id, k.states = id, []string{state}
		case k.id != id:
			t.Errorf("trial %d: %s UID %d reused: was %s, now %s", trial, folder, m.UID, k.id, id)
		case k.gone:
			t.Errorf("trial %d: %s UID %d still present after an acknowledged expunge", trial, folder, m.UID)
		case !stateAllowed(k.states, state):
			t.Errorf("trial %d: %s UID %d state %q, want one of %q", trial, folder, m.UID, state, k.states)
		default:
			k.states = []string{state}
		}
		maxUID[folder] = max(maxUID[folder], m.UID)
	}
	for uid, k := range msgs {
		if present[uid] {
			continue
		}
		if !k.mayGone && !k.gone {
			t.Errorf("trial %d: %s UID %d (%s) lost", trial, folder, uid, k.id)
		}
		k.gone = true
	}
	if n := f.UIDNext(); n <= maxUID[folder] {
		t.Errorf("trial %d: %s UIDNEXT %d not above seen UID %d", trial, folder, n, maxUID[folder])
	}
}

// stateAllowed reports whether state is acceptable: flags (in the file name)
// and keywords (in courierimapkeywords/) are written separately, so after a
// crash mid-STORE each may independently be the old or the new value.
func stateAllowed(states []string, state string) bool {
	flags, kw, _ := strings.Cut(state, "|")
	var flagsOK, kwOK bool
	for _, s := range states {
		f, k, _ := strings.Cut(s, "|")
		flagsOK = flagsOK || f == flags
		kwOK = kwOK || k == kw
	}
	return flagsOK && kwOK
}

func lastEvents(events []crashEvent, n int) string {
	if len(events) > n {
		events = events[len(events)-n:]
	}
	b, _ := json.Marshal(events)
	return string(b)
}
