// Package imapdcompat runs the same scripted IMAP sessions against Kurier's
// imapd and Debian's Courier imapd (through kurier/tests/oracle), both in
// PREAUTH mode over pipes on copies of the Courier-written fixture Maildir,
// and compares their answers after a normalisation that removes what may
// legitimately differ (normalise_test.go) and an explicit allow-list of
// Kurier's deliberate differences and of Courier bugs Kurier does not copy
// (allow_test.go). After the sessions that write, each server reads back
// what the other wrote (run_test.go).
//
// Kurier's imapd is built from this module (go build kurier/imapd) once per
// test binary; Courier's comes from kurier/tests/oracle, and the tests skip
// without it (fail with CI=true or KURIER_REQUIRE_ORACLE=1). Each
// difference is reported with the command and both servers' raw answers;
// go test -v adds the whole dialogues and the servers' logs.
package imapdcompat

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
