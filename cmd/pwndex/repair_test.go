package main

import (
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRepairCommand: after one flipped byte in a range file, check reports
// a problem, repair rebuilds the generation, and check is clean again; the
// index answers the hash the test computed with crypto/sha1.
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
	m, _ := filepath.Glob(filepath.Join(dir, "gens", "sha1-*", "ranges.txt"))
	if len(m) != 1 {
		t.Fatalf("range file: %v", m)
	}
	f, err := os.OpenFile(m[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	b := []byte{0}
	f.ReadAt(b, fi.Size()/2)
	b[0] ^= 0x10
	f.WriteAt(b, fi.Size()/2)
	f.Close()
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "PROBLEM") {
		t.Fatalf("check after the flip: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr := runCLI(t, "repair", "--index", dir); code != 0 || !strings.Contains(stdout, "rebuilt sha1-") {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 0 {
		t.Fatalf("check after repair: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "repair", "--index", dir, "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("repair with an argument: exit %d, %q", code, stderr)
	}
}
