package main

import (
	"crypto/sha1"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestIngestCompressedCopies: by default a Pwned Passwords ingest stores no
// gzip or brotli copies; --compress stores them, a later default ingest
// keeps them, --no-compress drops them; check is clean at every step and
// both flags together are a usage error.
func TestIngestCompressedCopies(t *testing.T) {
	tmp := t.TempDir()
	input := func(name string, add int) string {
		var lines []string
		for i := range 3000 {
			lines = append(lines, fmt.Sprintf("%X:%d", sha1.Sum([]byte(fmt.Sprint("pw", i))), i+add))
		}
		slices.Sort(lines)
		return writeFile(t, tmp, name, strings.Join(lines, "\r\n")+"\r\n")
	}
	dir := filepath.Join(tmp, "idx")
	copies := func() []string {
		var have []string
		for _, n := range []string{"ranges.gz", "ranges.br"} {
			if m, _ := filepath.Glob(filepath.Join(dir, "gens", "sha1-*", n)); len(m) > 0 {
				have = append(have, n)
			}
		}
		return have
	}
	steps := []struct {
		name  string
		flags []string
		want  int // copies present after the step
	}{
		{"default", nil, 0},
		{"compress", []string{"--compress"}, 2},
		{"default keeps", nil, 2},
		{"no-compress drops", []string{"--no-compress"}, 0},
		{"default after drop", nil, 0},
	}
	for i, s := range steps {
		args := append([]string{"ingest", "--quiet", "--no-private", "--index", dir}, s.flags...)
		args = append(args, input(fmt.Sprintf("pwned%d.txt", i), i+1))
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: ingest exited %d: %s", s.name, code, stderr)
		}
		if got := copies(); len(got) != s.want {
			t.Errorf("%s: copies %v, want %d", s.name, got, s.want)
		}
		if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 0 {
			t.Fatalf("%s: check exited %d\n%s", s.name, code, stdout)
		}
	}
	code, _, stderr := runCLI(t, "ingest", "--compress", "--no-compress", "--index", dir, input("x.txt", 9))
	if code != 2 || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("both flags: exit %d, %q", code, stderr)
	}
}
