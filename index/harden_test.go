package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestCountsSaturate: base + breach occurrences and duplicate staged counts
// saturate at MaxCount instead of wrapping, and the range body, Lookup and
// Check agree on the saturated value.
func TestCountsSaturate(t *testing.T) {
	const maxCount = uint64(9999999999999999999) // 10^19-1, written out independently
	tests := []struct {
		name   string
		sorted bool
		counts []uint64 // SetBase calls for one hash (unsorted builds combine duplicates)
		add    uint64   // breach occurrences added afterwards
		want   uint64
	}{
		{"max base plus breach", true, []uint64{maxCount}, 224, maxCount},
		{"uint64 max clamped", true, []uint64{1<<64 - 1}, 0, maxCount},
		{"unsorted duplicates past 2^64", false, []uint64{1 << 63, 1 << 63, 5}, 0, maxCount},
		{"small sum exact", false, []uint64{3, 4}, 2, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := openTest(t, t.TempDir())
			h := sha1Of("saturate")
			other := sha1Of("other")
			b, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{Sorted: tt.sorted, MemoryBudget: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if tt.sorted {
				if err := b.SetBase(&h, tt.counts[0]); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, c := range tt.counts {
					if err := b.SetBase(&h, c); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := b.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.add > 0 {
				bb, err := ix.NewBreachBuilder(Breach{Name: "B"}, BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if err := bb.AddPassword(KindSHA1, &h, tt.add); err != nil {
					t.Fatal(err)
				}
				if err := bb.AddPassword(KindSHA1, &other, 1); err != nil {
					t.Fatal(err)
				}
				if _, err := bb.Commit(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			e, found, err := ix.Lookup(KindSHA1, &h)
			if err != nil || !found || e.Count != tt.want {
				t.Fatalf("Lookup = %d %v %v, want %d", e.Count, found, err, tt.want)
			}
			body, _ := ix.PasswordRange(KindSHA1, h.Prefix(5), Identity)
			wantLine := fmt.Sprintf("%X:%d", h[:], tt.want)[5:]
			if !strings.Contains(string(body), wantLine) {
				t.Fatalf("range body %q lacks %q", body, wantLine)
			}
			mustCheck(t, ix)
		})
	}
}

// flipAt XORs the byte at off (negative: from the end) of file p with x.
func flipAt(t *testing.T, p string, off int64, x byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		fi, _ := f.Stat()
		off += fi.Size()
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= x
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// smallIndex builds an index with every kind of generation file: a SHA-1
// base (compressed ranges) and a breach with e-mail identifiers.
func smallIndex(t *testing.T, dir string) (ps []pw) {
	t.Helper()
	ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ps = passwords(6000)
	buildBase(t, ix, KindSHA1, ps, true)
	b, err := ix.NewBreachBuilder(Breach{Name: "Flip"}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		h := sha1Of(fmt.Sprintf("user%d@example.com", i))
		if err := b.AddIdentifier(KindEmail, &h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ps
}

// checkDir opens dir the way `pwndex check` does and returns the problems,
// or the open error as the only problem.
func checkDir(t *testing.T, dir string) []string {
	t.Helper()
	ix, err := Open(Options{Dir: dir, ReadOnly: true, Lenient: true})
	if err != nil {
		return []string{"open: " + err.Error()}
	}
	defer ix.Close()
	rep, err := ix.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep.Problems
}

// genDir returns the directory of kind k's live generation.
func genDir(t *testing.T, dir string, k Kind) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "gens", k.String()+"-*"))
	if err != nil || len(m) != 1 {
		t.Fatalf("generation of %s: %v %v", k, m, err)
	}
	return m[0]
}

// TestCheckFindsFlipInEveryFileKind flips one byte in each kind of file of
// a generation (in the middle or at the end of the file) and wants Check (or the
// lenient Open it runs after) to report it, without panicking. The
// torture test does the same at random offsets, many times.
func TestCheckFindsFlipInEveryFileKind(t *testing.T) {
	clean := t.TempDir()
	smallIndex(t, clean)
	if p := checkDir(t, clean); len(p) != 0 {
		t.Fatalf("clean index: %v", p)
	}
	// One flip per kind of file, alternating middle and end; the torture
	// suite (TestTortureByteFlips) flips random bytes many times.
	files := []struct {
		kind  Kind
		name  string
		where string
	}{
		{KindSHA1, "ranges.txt", "middle"}, {KindSHA1, "ranges.gz", "end"}, {KindSHA1, "ranges.br", "middle"},
		{KindEmail, "ranges.bin", "end"}, {KindSHA1, "filter.bf", "middle"}, {KindSHA1, "db.sums", "end"},
		{KindSHA1, "db/MANIFEST", "middle"}, {KindSHA1, "db/KEYREGISTRY", "end"}, {KindSHA1, "db/DISCARD", "middle"},
		{KindSHA1, "db/000001.vlog", "end"}, {KindEmail, "db/000001.sst", "middle"}, {KindEmail, "db/000001.sst", "end"},
	}
	for _, f := range files {
		{
			where := f.where
			t.Run(f.kind.String()+"/"+f.name+"/"+where, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(genDir(t, dir, f.kind), filepath.FromSlash(f.name))
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				off := map[string]int64{"middle": fi.Size() / 2, "end": fi.Size() - 2}[where]
				flipAt(t, p, off, 0x10)
				if probs := checkDir(t, dir); len(probs) == 0 {
					t.Fatalf("flip at %d of %d bytes not found", off, fi.Size())
				}
			})
		}
	}
}

// TestCheckOneBadBucketStaysAligned: a bucket that no longer parses, or a
// changed hash in one bucket, is reported as that bucket's problems only;
// the following buckets are still matched record by record.
func TestCheckOneBadBucketStaysAligned(t *testing.T) {
	clean := t.TempDir()
	ps := smallIndex(t, clean)
	// The bucket of the 100th hash: rewrite its identity body.
	target := ps[100].h.Prefix(5)
	tests := []struct {
		name string
		edit func(body []byte) // edits the bucket's body in place
		want []string          // substrings of the expected problems, in any order
	}{
		{"bucket does not parse", func(b []byte) { b[bytes.IndexByte(b, ':')] = 'x' }, []string{"bucket " + fmt.Sprintf("%05X", target)}},
		// Hex digit 20 of the hash (suffix digit 15): byte 10, which
		// places the key's bits inside its filter block (blockfilter.go).
		{"hash changed", func(b []byte) { b[15] = map[bool]byte{true: '1', false: '0'}[b[15] == '0'] },
			// Password kinds: the range file is the store (pwstore.go), so
			// a changed hash is a checksum failure and a record the
			// filter does not know.
			[]string{"range file body checksum mismatch", "filter rejects 1 present records"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(genDir(t, dir, KindSHA1), "ranges.txt")
			r, err := openRangeFile(path, KindSHA1, uint8(Identity))
			if err != nil {
				t.Fatal(err)
			}
			lo := binary.LittleEndian.Uint64(r.offsets[8*target:])
			hi := binary.LittleEndian.Uint64(r.offsets[8*target+8:])
			r.close()
			start := int64(rangeHeaderLen + rangeTablesLen + lo)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			body := data[start : start+int64(hi-lo)]
			tt.edit(body)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			probs := checkDir(t, dir)
			all := strings.Join(probs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
			// Body checksum, the bucket's own problems, and the counts
			// they imply: a handful, never a cascade.
			if len(probs) > 6 || strings.Contains(all, "more mismatches") {
				t.Errorf("%d problems, want the bucket's only:\n%s", len(probs), all)
			}
		})
	}
}

// FuzzParseSums: the sums-file parser never panics, and what it accepts
// renders (as writeSums does) to a file that parses to the same entries.
func FuzzParseSums(f *testing.F) {
	body := "a1992c5f0970f307 38439 db/000001.sst\n4a77d946e14acae8 30 db/MANIFEST\n"
	f.Add([]byte(body + fmt.Sprintf("sum %016x\n", xxhash.Sum64([]byte(body)))))
	f.Add([]byte("sum 0000000000000000\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseSums(data)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "%016x %d %s\n", e.sum, e.size, e.path)
		}
		fmt.Fprintf(&b, "sum %016x\n", xxhash.Sum64([]byte(b.String())))
		again, err := parseSums([]byte(b.String()))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(es) {
			t.Fatalf("accepted %q as %v; rendered %q parses as %v, %v", data, es, b.String(), again, err)
		}
	})
}
