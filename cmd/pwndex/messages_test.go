package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// runCLI runs pwndex with args and returns its exit code and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// emptyIndex creates an index with no data in a temporary directory.
func emptyIndex(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLockedIndexSameErrorEverywhere holds an index open for writing (as
// ingest or keys do) and runs every other command that opens it: each must
// fail with the same exit code and one line naming the index and the lock.
// A missing input is reported as such, before the index is opened.
func TestLockedIndexSameErrorEverywhere(t *testing.T) {
	dir := emptyIndex(t)
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	tmp := t.TempDir()
	hibp := writeFile(t, tmp, "pwned.txt", "0000000000000000000000000000000000000001:3\n")
	crm := writeFile(t, tmp, "crm.csv", "email\nalice@example.com\n")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ingest", []string{"ingest", "--quiet", "--index", dir, hibp}},
		{"check", []string{"check", "--index", dir}},
		{"vet", []string{"vet", "--index", dir, "--out", filepath.Join(tmp, "vet-out"), crm}},
		{"audit", []string{"audit", "--index", dir, "--quiet", "--out", filepath.Join(tmp, "audit-out"), crm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			want := "pwndex " + tc.name + ": index " + dir + " is in use by another process"
			if !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting %q", stderr, want)
			}
		})
	}
	t.Run("ingest missing file", func(t *testing.T) {
		missing := filepath.Join(tmp, "no-such-dump.txt")
		code, _, stderr := runCLI(t, "ingest", "--quiet", "--index", dir, missing)
		if code != 2 || !strings.Contains(stderr, missing+": no such file") || strings.Contains(stderr, "lock") || strings.Contains(stderr, "in use") {
			t.Errorf("exit %d, stderr %q; want 2 and a message naming the missing file, not the lock", code, stderr)
		}
	})
}

// TestUsageMessages covers messages a newcomer meets: extra arguments to
// check, and the output folder that audit -h announces.
func TestUsageMessages(t *testing.T) {
	dir := emptyIndex(t)
	if code, _, stderr := runCLI(t, "check", "--index", dir, "extra"); code != 2 || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("check with an extra argument: exit %d, stderr %q; want 2 naming the argument", code, stderr)
	}
	_, _, help := runCLI(t, "audit", "-h")
	if !strings.Contains(help, "crm.csv writes to crm.audit/") {
		t.Fatalf("audit -h does not state the default output folder:\n%s", help)
	}
	// The folder it states is the one it uses.
	tmp := t.TempDir()
	crm := writeFile(t, tmp, "crm.csv", "email\nalice@example.com\n")
	if code, _, stderr := runCLI(t, "audit", "--index", dir, "--quiet", crm); code != 0 {
		t.Fatalf("audit exited %d: %s", code, stderr)
	}
	if fi, err := os.Stat(filepath.Join(tmp, "crm.audit")); err != nil || !fi.IsDir() {
		t.Errorf("audit did not write to crm.audit/: %v", err)
	}
}

// TestFailedRunsLeaveNoEmptyFolder runs vet and audit on unusable input
// with an output folder that does not exist yet: it must not exist after.
func TestFailedRunsLeaveNoEmptyFolder(t *testing.T) {
	dir := emptyIndex(t)
	tmp := t.TempDir()
	empty := writeFile(t, tmp, "empty.csv", "")
	for _, tc := range []struct {
		name string
		args func(out string) []string
	}{
		{"vet", func(out string) []string { return []string{"vet", "--out", out, empty} }},
		{"audit", func(out string) []string { return []string{"audit", "--index", dir, "--quiet", "--out", out, empty} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, tc.name+"-out")
			code, _, stderr := runCLI(t, tc.args(out)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (unusable input); stderr %q", code, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output folder %s left behind (stat: %v)", out, err)
			}
		})
	}
}

// TestBenchGenCreatesFolders writes every kind of generated data to a
// path whose folders do not exist yet.
func TestBenchGenCreatesFolders(t *testing.T) {
	for _, kind := range []string{"hibp", "dense", "dump", "crm"} {
		t.Run(kind, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "a", "b", kind+".out")
			args := []string{"bench", "gen", "--kind", kind, "--n", "20", "--out", out}
			if kind == "dense" {
				args = append(args, "--buckets", "2", "--per-bucket", "3")
			}
			if code, _, stderr := runCLI(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if _, err := os.Stat(out); err != nil {
				t.Errorf("%s not written: %v", out, err)
			}
		})
	}
}
