package imapsession

import (
	"strings"

	"kurier/pkg/imapwire"
)

// idle is IDLE (RFC 2177). While the client idles, changes to the selected
// folder are reported as they happen: the folder's watcher (inotify, or
// polling every IMAP_IDLE_TIMEOUT seconds without it) triggers a rescan,
// and the updates are flushed at once. DONE, in any case, ends it.
func (s *session) idle(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	s.encMu.Lock()
	s.enc.Continuation("entering idle mode")
	err := s.enc.Flush()
	s.encMu.Unlock()
	if err != nil {
		return err
	}

	type line struct {
		text string
		err  error
	}
	lines := make(chan line, 1)
	go func() {
		t, err := s.dec.ReadLine()
		lines <- line{t, err}
	}()

	// IDLE in the authenticated state has nothing to report but must
	// still wait for DONE: a nil channel never delivers.
	var changes <-chan struct{}
	if s.sel != nil {
		changes = s.sel.watcher.C
	}
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				// The client is gone: nobody to answer, nothing failed
				// on our side.
				s.state = stateLogout
				s.log.Info("disconnected during IDLE", "err", l.err)
				return nil
			}
			if !strings.EqualFold(strings.TrimSpace(l.text), "DONE") {
				return bad("Expected DONE.")
			}
			return ok("IDLE completed")
		case <-changes:
			if s.sel.watcher.Settle() == s.sel.seen {
				continue // only this session's own earlier changes
			}
			if err := s.rescan(); err != nil {
				continue
			}
			s.encMu.Lock()
			s.writeUpdates(s.sel.flush(true))
			err := s.enc.Flush()
			s.encMu.Unlock()
			if err != nil {
				return err
			}
		}
	}
}
