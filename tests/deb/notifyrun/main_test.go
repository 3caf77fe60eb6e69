package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// childEnv makes the test binary act as the service notifyrun starts:
// "ready:N" notifies READY=1 and a status, then exits with status N;
// "silent:N" exits with N without notifying; "hang" sleeps until killed.
const childEnv = "NOTIFYRUN_TEST_CHILD"

func TestMain(m *testing.M) {
	mode, code, _ := strings.Cut(os.Getenv(childEnv), ":")
	n, _ := strconv.Atoi(code)
	switch mode {
	case "":
		os.Exit(m.Run())
	case "ready":
		if ok, err := daemon.SdNotify(false, "STATUS=starting"); !ok || err != nil {
			os.Exit(100)
		}
		daemon.SdNotify(false, daemon.SdNotifyReady)
		time.Sleep(200 * time.Millisecond) // let notifyrun read it before the exit
		os.Exit(n)
	case "silent":
		os.Exit(n)
	case "hang":
		time.Sleep(time.Minute)
		os.Exit(0)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		child    string
		timeout  time.Duration
		wantCode int
		wantErr  bool
		wantLogs []string
	}{
		{"ready:0", 10 * time.Second, 0, false, []string{"STATUS=starting", "READY=1"}},
		{"ready:3", 10 * time.Second, 3, false, []string{"STATUS=starting", "READY=1"}},
		{"silent:4", 10 * time.Second, 4, false, nil},
		{"hang", 300 * time.Millisecond, 1, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.child, func(t *testing.T) {
			t.Setenv(childEnv, tt.child)
			state := filepath.Join(t.TempDir(), "state")
			code, err := run(state, tt.timeout, []string{os.Args[0]})
			if code != tt.wantCode || (err != nil) != tt.wantErr {
				t.Fatalf("run = %d, %v; want %d, error %v", code, err, tt.wantCode, tt.wantErr)
			}
			b, _ := os.ReadFile(state)
			got := strings.Fields(string(b))
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.wantLogs) {
				t.Errorf("state file %q, want %q", got, tt.wantLogs)
			}
		})
	}
}

func TestParseNotification(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"READY=1", []string{"READY=1"}},
		{"READY=1\nSTATUS=2 connections in use\n", []string{"READY=1", "STATUS=2 connections in use"}},
		{"", nil},
		{"garbage\n=x\nA B=1\nMAINPID=7", []string{"MAINPID=7"}},
	}
	for _, tt := range tests {
		if got := parseNotification([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseNotification(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, s := range []string{"READY=1", "STATUS=x\nREADY=1\n", "=\n\n", "A\x00=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range parseNotification(b) {
			name, _, ok := strings.Cut(l, "=")
			if !ok || name == "" || strings.Contains(l, "\n") {
				t.Fatalf("bad line %q from %q", l, b)
			}
		}
	})
}
