package index

import (
	"bytes"
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
// Repair: a flip in a derived file (filter, compressed copies, an
// identifier kind's range file) is repaired, after which Check is clean
// (rep.Remaining) and every range body is the one rendered independently
// from the test's passwords; a flip in the records (Badger files, db.sums,
// and for password kinds ranges.txt, which is their store: pwstore.go)
// leaves the generation alone and names the sources to ingest again. The
// sha1 generation of a Pwned Passwords ingest holds no Badger table.
func TestRepairAfterFlipInEveryFileKind(t *testing.T) {
	clean := t.TempDir()
	ps := smallIndex(t, clean)
	files := []struct {
		kind    Kind
		name    string
		where   string
		derived bool
	}{
		{KindSHA1, "ranges.gz", "end", true}, {KindSHA1, "ranges.br", "middle", true},
		{KindEmail, "ranges.bin", "end", true}, {KindSHA1, "filter.bf", "middle", true}, {KindEmail, "filter.bf", "end", true},
		{KindSHA1, "ranges.txt", "middle", false}, {KindSHA1, "ranges.txt", "end", false}, {KindSHA1, "ranges.txt", "start", false},
		{KindSHA1, "db.sums", "end", false}, {KindSHA1, "db/MANIFEST", "middle", false}, {KindEmail, "db/000001.sst", "middle", false},
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
			flipAt(t, p, map[string]int64{"start": 20, "middle": fi.Size() / 2, "end": fi.Size() - 2}[f.where], 0x10)
			flipped, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Repair(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !f.derived {
				if len(rep.Damaged[f.kind]) == 0 || rep.OK() {
					t.Fatalf("records damaged but not reported: %+v", rep)
				}
				if f.name == fileText && !strings.Contains(strings.Join(rep.Damaged[f.kind], " "), fileText) {
					t.Errorf("damage = %q, want it to name %s", rep.Damaged[f.kind], fileText)
				}
				if after, err := os.ReadFile(p); err != nil || slices.Contains(rep.Rebuilt, filepath.Base(gdir)) || !bytes.Equal(after, flipped) {
					t.Errorf("damaged generation changed by repair: rebuilt %v, %v", rep.Rebuilt, err)
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

// denseSmallIndex is smallIndex written in the layout of versions before
// pwstore.go: every password record also in Badger.
func denseSmallIndex(t *testing.T, dir string) []pw {
	writeDenseStore = true
	defer func() { writeDenseStore = false }()
	return smallIndex(t, dir)
}

// TestRepairMigratesFormat1: an index whose range file is of the old format
// 1 (written by versions that kept every password record in Badger too) is
// refused at open with a message naming pwndex repair; after Repair it
// opens and serves the same bodies, rendered independently.
func TestRepairMigratesFormat1(t *testing.T) {
	dir := t.TempDir()
	ps := denseSmallIndex(t, dir)
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

// TestRepairPasswordRecords: repair of a password generation keeps the
// records as they are: a sparse generation (ranges.txt plus the breach
// counts in Badger) whose filter is flipped is rebuilt with every count
// (base and breach part, as the test computed them) and the Badger store
// still sparse; a dense generation (every record in Badger, written before
// pwstore.go) whose ranges.txt is flipped is rebuilt from Badger; a sparse
// one whose ranges.txt is flipped is reported damaged and left alone.
func TestRepairPasswordRecords(t *testing.T) {
	ps := passwords(3000)
	tests := []struct {
		name    string
		dense   bool
		flip    string
		breach  int
		rebuilt bool
	}{
		{"sparse with breach counts, filter flipped", false, fileFilter, 40, true},
		{"sparse, gzip copy flipped", false, fileGzip, 0, true},
		{"dense, range file flipped", true, fileText, 0, true},
		{"sparse, range file flipped", false, fileText, 40, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var extra map[Hash]uint64
			func() {
				writeDenseStore = tt.dense
				defer func() { writeDenseStore = false }()
				ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
				if err != nil {
					t.Fatal(err)
				}
				defer ix.Close()
				buildBase(t, ix, KindSHA1, ps, true)
				if tt.breach > 0 {
					extra = addBreachPasswords(t, ix, "Extra", ps, tt.breach)
				}
			}()
			p := filepath.Join(genDir(t, dir, KindSHA1), tt.flip)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			flipAt(t, p, fi.Size()-3, 0x04)
			rep, err := Repair(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.rebuilt {
				if rep.OK() || len(rep.Damaged[KindSHA1]) == 0 {
					t.Fatalf("damaged range file not reported: %+v", rep)
				}
				if p := checkDir(t, dir); len(p) == 0 {
					t.Error("check after the refused repair finds nothing")
				}
				return
			}
			if !rep.OK() || len(rep.Rebuilt) != 1 {
				t.Fatalf("repair: %+v", rep)
			}
			ix := openTest(t, dir)
			checkLookups(t, ix, ps, extra)
			mustCheck(t, ix)
			want := tt.breach
			if tt.dense {
				want = len(ps)
			}
			if n := badgerKeys(t, ix, KindSHA1); n != want {
				t.Errorf("%d Badger records after repair, want %d", n, want)
			}
			for _, prefix := range []uint32{ps[0].h.Prefix(5), ps[1500].h.Prefix(5)} {
				counts := map[Hash]uint64{}
				for _, p := range ps {
					counts[p.h] = p.count + extra[p.h]
				}
				if body, _ := ix.PasswordRange(KindSHA1, prefix, Identity); string(body) != expectedBody(ps, prefix, counts) {
					t.Errorf("range %05X = %q, want %q", prefix, body, expectedBody(ps, prefix, counts))
				}
			}
		})
	}
}
