package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// entry is one file or directory of a snapshot.
type entry struct {
	Mode fs.FileMode // type and permission bits, sticky included
	Data string      // content of a regular file
}

func (e entry) String() string {
	if e.Mode.IsRegular() {
		return fmt.Sprintf("%v %q", e.Mode, e.Data)
	}
	return e.Mode.String()
}

// snapshot returns every entry below root by slash-separated relative path
// ("." for root itself).
func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	tree := map[string]entry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		e := entry{Mode: fi.Mode()}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			e.Data = string(data)
		}
		tree[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return tree
}

// diffTrees describes how got differs from want, or returns "".
func diffTrees(want, got map[string]entry) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "  missing %s (want %v)\n", k, w)
		case !wok:
			fmt.Fprintf(&b, "  extra   %s (%v)\n", k, g)
		case w != g:
			fmt.Fprintf(&b, "  differs %s: want %v, got %v\n", k, w, g)
		}
	}
	return b.String()
}

// Tree-building shorthands for expected snapshots.
func dir(mode fs.FileMode) entry { return entry{Mode: fs.ModeDir | mode} }
func file(mode fs.FileMode, data string) entry {
	return entry{Mode: mode, Data: data}
}

// maildirTree adds a maildir (or folder, with marker) at prefix to tree.
func maildirTree(tree map[string]entry, prefix string, top, sub fs.FileMode, marker bool) map[string]entry {
	if tree == nil {
		tree = map[string]entry{}
	}
	join := func(s string) string {
		if prefix == "." {
			return s
		}
		return prefix + "/" + s
	}
	tree[prefix] = dir(top)
	for _, s := range []string{"tmp", "new", "cur"} {
		tree[join(s)] = dir(sub)
	}
	if marker {
		tree[join("maildirfolder")] = file(0o600, "")
	}
	return tree
}

// result is the outcome of one run of maildirmake.
type result struct {
	code           int
	stdout, stderr string
}

// runInProcess calls run with env as the whole environment.
func runInProcess(args []string, env map[string]string) result {
	var out, errOut bytes.Buffer
	code := run(args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// kurierBinary builds this package once per test binary and returns the
// executable, for tests that need a working directory or a umask of their
// own (both are per process).
func kurierBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kurier-maildirmake-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "maildirmake")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// runCommand runs path with args in dir under umask (an octal string, ""
// for the inherited one) and env, and returns its result.
func runCommand(t *testing.T, path, dir, umask string, env []string, args ...string) result {
	t.Helper()
	var cmd *exec.Cmd
	if umask != "" {
		cmd = exec.Command("/bin/sh", append([]string{"-c", `umask ` + umask + `; exec "$0" "$@"`, path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = dir
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %q: %v", path, args, err)
	}
	return result{code, out.String(), errOut.String()}
}

// writeFiles creates files (path → content) below root, with their parent
// directories (0700).
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mkdirs creates directories (0700) below root.
func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}
