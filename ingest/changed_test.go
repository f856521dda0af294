package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// TestIngestRefusesInputChangedUnderneath: an input truncated, appended to,
// rewritten or touched between the fingerprint and the end of the build
// read is refused (ErrChanged, an ErrBadInput: exit 2) and the index is
// unchanged; once the file is stable the same ingest completes.
func TestIngestRefusesInputChangedUnderneath(t *testing.T) {
	extra := []byte("0000000000000000000000000000000000000001:7\r\n")
	tests := []struct {
		name   string
		breach bool
		event  string // test hook event at which the file is changed
		change func(t *testing.T, path string)
	}{
		{"truncated mid-read", false, "lines", func(t *testing.T, p string) { truncateHalf(t, p) }},
		{"appended mid-read", false, "lines", func(t *testing.T, p string) { appendTo(t, p, extra) }},
		{"truncated between reads", false, "build", func(t *testing.T, p string) { truncateHalf(t, p) }},
		{"touched between reads", false, "build", func(t *testing.T, p string) { touch(t, p) }},
		{"appended after the read, before the commit", false, "read", func(t *testing.T, p string) { appendTo(t, p, extra) }},
		{"combo appended mid-read", true, "lines", func(t *testing.T, p string) { appendTo(t, p, []byte("late@exemple.fr:pw\n")) }},
		{"combo rewritten same size", true, "build", func(t *testing.T, p string) { rewriteFirstByte(t, p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hibp, combo, manifest := writeKillInputs(t, dir, 30000, 40000) // both over the 1 MiB read buffer
			cfg := Config{Inputs: []string{hibp}, Now: fixedNow}
			target := hibp
			if tt.breach {
				cfg = Config{Inputs: []string{combo}, Manifest: manifest, Now: fixedNow}
				target = combo
			}
			ix := newIndex(t)
			before := ix.Meta().Version
			fired := false
			testHook = func(ev string) {
				if ev == tt.event && !fired {
					fired = true
					tt.change(t, target)
				}
			}
			defer func() { testHook = nil }()
			_, err := Run(context.Background(), ix, cfg, nil)
			testHook = nil
			if !fired {
				t.Fatalf("hook %q never fired", tt.event)
			}
			if !errors.Is(err, ErrChanged) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("Run = %v, want ErrChanged and ErrBadInput", err)
			}
			if v := ix.Meta().Version; v != before {
				t.Fatalf("index version %d after a refused ingest, want %d", v, before)
			}
			// The file is now stable: the same ingest completes, once.
			sum, err := Run(context.Background(), ix, cfg, nil)
			if err != nil || sum.Jobs[0].Status != StatusIngested {
				t.Fatalf("re-run: %v %+v", err, sum.Jobs)
			}
			sum, err = Run(context.Background(), ix, cfg, nil)
			if err != nil || sum.Jobs[0].Status != StatusSkipped {
				t.Fatalf("third run: %v %+v", err, sum.Jobs)
			}
		})
	}
}

// TestIngestRefusesPrefixFileChanged: a downloader directory whose prefix
// file changes during the ingest is refused.
func TestIngestRefusesPrefixFileChanged(t *testing.T) {
	dir := t.TempDir()
	src := td("hibp-sha1-dir")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if first == "" && len(b) > 0 {
			first = e.Name()
		}
	}
	ix := newIndex(t)
	testHook = func(ev string) {
		if ev == "build" {
			appendTo(t, filepath.Join(dir, first), []byte(fmt.Sprintf("%035X:3\r\n", 1)))
		}
	}
	defer func() { testHook = nil }()
	_, err = Run(context.Background(), ix, Config{Inputs: []string{dir}, AllowShrink: true}, nil)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Run = %v, want ErrChanged", err)
	}
	if ix.Meta().Counts[index.KindSHA1] != 0 {
		t.Fatal("refused ingest committed records")
	}
}

func truncateHalf(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func touch(t *testing.T, p string) {
	t.Helper()
	ts := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, ts, ts); err != nil {
		t.Fatal(err)
	}
}

// rewriteFirstByte changes the content but restores size and mtime, so only
// the content hash can tell.
func rewriteFirstByte(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 'v' // "user…" -> "vser…": still a valid combo line
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestIngestRefusesShrink: a base much smaller than the current records of
// its kind, or a directory with missing prefix files, is refused with
// ErrShrink (index unchanged) unless AllowShrink.
func TestIngestRefusesShrink(t *testing.T) {
	dir := t.TempDir()
	full, _, _ := writeKillInputs(t, dir, 20000, 10)
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\r\n"))
	// partial: the first 1,000 lines, as an interrupted download.
	partial := filepath.Join(dir, "partial.txt")
	if err := os.WriteFile(partial, bytes.Join(lines[:1000], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	// padded: 1,000 distinct hashes repeated 30 times each (30,000 lines):
	// only the count of distinct hashes read shows the shrink.
	var pad bytes.Buffer
	for _, l := range lines[:1000] {
		for range 30 {
			pad.Write(l)
		}
	}
	padded := filepath.Join(dir, "padded.txt")
	if err := os.WriteFile(padded, pad.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		allow bool
		want  error
	}{
		{"partial file", partial, false, ErrShrink},
		{"duplicates hide the shrink", padded, false, ErrShrink},
		{"partial dir", td("hibp-sha1-dir"), false, ErrShrink},
		{"partial file allowed", partial, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := newIndex(t)
			ingestOK(t, ix, Config{Inputs: []string{full}})
			v := ix.Meta().Version
			_, err := Run(context.Background(), ix, Config{Inputs: []string{tt.input}, AllowShrink: tt.allow}, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			n := ix.Meta().Counts[index.KindSHA1]
			if tt.want != nil && (n != 20000 || ix.Meta().Version != v) {
				t.Fatalf("refused shrink changed the index: %d records, version %d -> %d", n, v, ix.Meta().Version)
			}
			if tt.want == nil && n != 1000 {
				t.Fatalf("allowed shrink: %d records, want 1000", n)
			}
		})
	}
}
