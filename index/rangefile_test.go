package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// denseBase builds a SHA-1 base whose bucket 0xABCDE holds 150 rows (so its
// gzip and brotli forms exist) plus sparse rows elsewhere, and returns the
// index directory and the expected identity body of bucket 0xABCDE,
// rendered here from the inputs.
func denseBase(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ix, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	b, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{SourceID: "dense", Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := range 400 {
		var h Hash
		for j := range h {
			h[j] = byte(rng.Uint32())
		}
		if i < 150 {
			h[0], h[1], h[2] = 0xAB, 0xCD, 0xE0|h[2]&0x0F
		}
		n := uint64(i + 1)
		if err := b.SetBase(&h, n); err != nil {
			t.Fatal(err)
		}
		if i < 150 {
			rows = append(rows, fmt.Sprintf("%X:%d", h[:20], n)[5:])
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(rows)
	return dir, strings.Join(rows, "\r\n")
}

// rangePath finds the one file called name under dir's generations.
func rangePath(t *testing.T, dir, name string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "gens", "*", name))
	if err != nil || len(m) != 1 {
		t.Fatalf("glob %s: %v %v", name, m, err)
	}
	return m[0]
}

// flipInBucket flips one byte of bucket b's body, locating it from the
// documented layout (header 64 bytes, offsets 8*(2^20+1), checksums 4*2^20).
func flipInBucket(t *testing.T, path string, b uint32) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lo := binary.LittleEndian.Uint64(data[64+8*int(b):])
	hi := binary.LittleEndian.Uint64(data[64+8*int(b)+8:])
	if hi <= lo {
		t.Fatalf("%s: bucket %05X empty", path, b)
	}
	bodyStart := 64 + 8*(1<<20+1) + 4*(1<<20)
	data[bodyStart+int(lo+(hi-lo)/2)] ^= 0x10
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRangeBucketChecksums(t *testing.T) {
	for _, tc := range []struct {
		file string
		enc  Encoding
	}{{fileText, Identity}, {fileGzip, Gzip}, {fileBrotli, Brotli}} {
		t.Run(tc.file, func(t *testing.T) {
			dir, want := denseBase(t)
			ix := openTest(t, dir)
			body, ok, err := ix.PasswordRangeChecked(KindSHA1, 0xABCDE, Identity)
			if err != nil || !ok || string(body) != want {
				t.Fatalf("before the flip: ok %v err %v, body matches %v", ok, err, string(body) == want)
			}
			if _, ok, err := ix.PasswordRangeChecked(KindSHA1, 0xABCDE, tc.enc); !ok || err != nil {
				t.Fatalf("%s form missing before the flip: %v %v", tc.file, ok, err)
			}
			ix.Close()
			flipInBucket(t, rangePath(t, dir, tc.file), 0xABCDE)
			ix = openTest(t, dir)
			for range 2 { // a failure is not remembered as success
				body, ok, err := ix.PasswordRangeChecked(KindSHA1, 0xABCDE, tc.enc)
				if !errors.Is(err, ErrRangeCorrupt) || body != nil || ok {
					t.Fatalf("flipped %s: body %d bytes, ok %v, err %v; want ErrRangeCorrupt", tc.file, len(body), ok, err)
				}
				if strings.Contains(strings.ToUpper(err.Error()), "ABCDE") {
					t.Errorf("error names the bucket (a hash prefix): %v", err)
				}
				if body, ok := ix.PasswordRange(KindSHA1, 0xABCDE, tc.enc); body != nil || ok {
					t.Errorf("PasswordRange returned %d bytes of a corrupt bucket", len(body))
				}
			}
			if tc.enc != Identity {
				if body, _, err := ix.PasswordRangeChecked(KindSHA1, 0xABCDE, Identity); err != nil || string(body) != want {
					t.Errorf("identity body after a %s flip: err %v", tc.file, err)
				}
			} else if _, err := ix.AppendRange(nil, KindSHA1, Prefix{Value: 0xABCDE, Digits: 5}); !errors.Is(err, ErrRangeCorrupt) {
				t.Errorf("AppendRange over a corrupt bucket: err %v, want ErrRangeCorrupt", err)
			}
		})
	}
}

func TestRangeFileFormat1Refused(t *testing.T) {
	dir, _ := denseBase(t)
	p := rangePath(t, dir, fileText)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("PWNDXRG1"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(Options{Dir: dir, ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "pwndex repair") || !strings.Contains(err.Error(), "format 1") {
		t.Fatalf("opening a format-1 range file: %v, want a refusal pointing to pwndex repair", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(fileText)) {
		t.Errorf("error does not name the file: %v", err)
	}
}
