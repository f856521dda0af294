package main

import (
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// TestRepairCommand: after one flipped byte in the filter, check reports a
// problem, repair rebuilds the generation, and check is clean again; the
// index answers the hash the test computed with crypto/sha1. A flipped byte
// in ranges.txt, the store of a password kind's records, is damage repair
// cannot undo: exit 1, the generation untouched, the source to ingest again
// named.
func TestRepairCommand(t *testing.T) {
	tmp := t.TempDir()
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("%X:%d", sha1.Sum([]byte(fmt.Sprint("pw", i))), i+1))
	}
	slices.Sort(lines)
	in := writeFile(t, tmp, "pwned.txt", strings.Join(lines, "\n")+"\n")
	dir := filepath.Join(tmp, "idx")
	if code, _, stderr := runCLI(t, "ingest", "--quiet", "--no-private", "--index", dir, in); code != 0 {
		t.Fatalf("ingest exited %d: %s", code, stderr)
	}
	flip := func(name string) {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(dir, "gens", "sha1-*", name))
		if len(m) != 1 {
			t.Fatalf("%s: %v", name, m)
		}
		f, err := os.OpenFile(m[0], os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		b := []byte{0}
		f.ReadAt(b, fi.Size()-100)
		b[0] ^= 0x10
		f.WriteAt(b, fi.Size()-100)
	}
	flip("filter.bf")
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "PROBLEM") {
		t.Fatalf("check after the flip: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr := runCLI(t, "repair", "--index", dir); code != 0 || !strings.Contains(stdout, "rebuilt sha1-") {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 0 {
		t.Fatalf("check after repair: exit %d\n%s", code, stdout)
	}
	ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := index.Hash(sha1.Sum([]byte("pw5")))
	if e, ok, err := ix.Lookup(index.KindSHA1, &h); !ok || err != nil || e.Count != 6 {
		t.Errorf("lookup of pw5 after repair = %d %v %v, want 6", e.Count, ok, err)
	}
	ix.Close()

	flip("ranges.txt")
	code, stdout, stderr := runCLI(t, "repair", "--index", dir)
	if code != 1 || !strings.Contains(stdout, "DAMAGED sha1 records: ranges.txt") || !strings.Contains(stdout, "hibp-sha1:") || strings.Contains(stdout, "rebuilt sha1-") {
		t.Fatalf("repair of a flipped ranges.txt: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "PROBLEM") {
		t.Fatalf("check after the refused repair: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "repair", "--index", dir, "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("repair with an argument: exit %d, %q", code, stderr)
	}
}
