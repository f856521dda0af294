package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRepairAfterFlipInEveryFileKind flips one byte in each kind of file of
// a generation (the files of TestCheckFindsFlipInEveryFileKind) and runs
// Repair: a flip in a derived file (filter, range files and compressed
// copies) is repaired, after which Check is clean (rep.Remaining) and every range body is
// the one rendered independently from the test's passwords; a flip in the
// records (Badger files, db.sums) leaves the generation alone and names the
// sources to ingest again.
func TestRepairAfterFlipInEveryFileKind(t *testing.T) {
	clean := t.TempDir()
	ps := smallIndex(t, clean)
	files := []struct {
		kind    Kind
		name    string
		where   string
		derived bool
	}{
		{KindSHA1, "ranges.txt", "middle", true}, {KindSHA1, "ranges.gz", "end", true}, {KindSHA1, "ranges.br", "middle", true},
		{KindEmail, "ranges.bin", "end", true}, {KindSHA1, "filter.bf", "middle", true}, {KindEmail, "filter.bf", "end", true},
		{KindSHA1, "db.sums", "end", false}, {KindSHA1, "db/MANIFEST", "middle", false}, {KindSHA1, "db/000001.sst", "middle", false},
		{KindEmail, "db/000001.sst", "end", false}, {KindSHA1, "db/000001.vlog", "end", false},
	}
	for _, f := range files {
		t.Run(f.kind.String()+"/"+f.name+"/"+f.where, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
				t.Fatal(err)
			}
			gdir := genDir(t, dir, f.kind)
			p := filepath.Join(gdir, filepath.FromSlash(f.name))
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			flipAt(t, p, map[string]int64{"middle": fi.Size() / 2, "end": fi.Size() - 2}[f.where], 0x10)
			rep, err := Repair(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !f.derived {
				if len(rep.Damaged[f.kind]) == 0 || rep.OK() {
					t.Fatalf("records damaged but not reported: %+v", rep)
				}
				if !slices.Contains(rep.Sources, "test-6000-true") {
					t.Errorf("sources to ingest again = %v, want the base's source marker", rep.Sources)
				}
				return
			}
			if !rep.OK() || !slices.Contains(rep.Rebuilt, filepath.Base(gdir)) {
				t.Fatalf("repair: %+v", rep)
			}
			ix, err := Open(Options{Dir: dir, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			for prefix := uint32(0); prefix < 1<<20; prefix += 4099 {
				body, ok, err := ix.PasswordRangeChecked(KindSHA1, prefix, Identity)
				if err != nil || !ok || string(body) != expectedBody(ps, prefix, nil) {
					t.Fatalf("range %05X after repair = %q, %v, %v; want %q", prefix, body, ok, err, expectedBody(ps, prefix, nil))
				}
			}
			for i := range 3000 {
				h := sha1Of(fmt.Sprintf("user%d@example.com", i))
				if _, ok, err := ix.Lookup(KindEmail, &h); !ok || err != nil {
					t.Fatalf("e-mail %d not found after repair: %v", i, err)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "gens", "*.repair")); len(m) != 0 {
				t.Errorf("repair left %v", m)
			}
		})
	}
}

// TestRepairCleanIndexIsNoOp: a repair of a sound index rebuilds every
// generation and leaves Check clean; its message never says re-ingest.
func TestRepairCleanIndexIsNoOp(t *testing.T) {
	dir := t.TempDir()
	smallIndex(t, dir)
	rep, err := Repair(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Rebuilt) != 2 || len(rep.Sources) == 0 {
		t.Fatalf("repair of a clean index: %+v", rep)
	}
	for _, s := range rep.Rebuilt {
		if !strings.HasPrefix(s, "sha1-") && !strings.HasPrefix(s, "email-") {
			t.Errorf("rebuilt %q", s)
		}
	}
}

// TestRepairMigratesFormat1: an index whose range file is of the old format
// 1 is refused at open with a message naming pwndex repair; after Repair it
// opens and serves the same bodies, rendered independently.
func TestRepairMigratesFormat1(t *testing.T) {
	dir := t.TempDir()
	ps := smallIndex(t, dir)
	p := filepath.Join(genDir(t, dir, KindSHA1), fileText)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("PWNDXRG1"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(Options{Dir: dir, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "pwndex repair") {
		t.Fatalf("open of a format-1 index: %v, want a refusal naming pwndex repair", err)
	}
	rep, err := Repair(context.Background(), dir)
	if err != nil || !rep.OK() {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	ix, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, prefix := range []uint32{0, 0x12345, 0xFFFFF} {
		if body, _ := ix.PasswordRange(KindSHA1, prefix, Identity); string(body) != expectedBody(ps, prefix, nil) {
			t.Errorf("range %05X = %q, want %q", prefix, body, expectedBody(ps, prefix, nil))
		}
	}
}
