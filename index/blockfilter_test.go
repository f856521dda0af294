package index

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cespare/xxhash/v2"
)

// TestBlockFilter: every key added is found (SHA-1 and NTLM-length keys,
// several sizes), and the false-positive rate on keys never added is close
// to the rate the sizing predicts (blockFPR) and not above the rate asked
// for (beyond sampling noise).
func TestBlockFilter(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		keyLen int
		p      float64
	}{
		{"sha1 1e-3", 100_000, 20, 1e-3},
		{"ntlm 1e-3", 50_000, 16, 1e-3},
		{"sha1 1e-2", 50_000, 20, 1e-2},
		{"one key", 1, 20, 1e-3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := func(s string) []byte { h := sha1.Sum([]byte(s)); return h[:tt.keyLen] }
			// Written as a generation writes it (sorted keys streamed
			// to the file), read back as a generation reads it.
			keys := make([][]byte, tt.n)
			for i := range keys {
				keys[i] = key(fmt.Sprint("in-", i))
			}
			slices.SortFunc(keys, bytes.Compare)
			path := filepath.Join(t.TempDir(), "filter.bf")
			fw, err := createFilterFile(path, KindSHA1, uint64(tt.n), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if err := fw.add(k); err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.finish(); err != nil {
				t.Fatal(err)
			}
			lf, err := readFilter(path, KindSHA1)
			if err != nil {
				t.Fatal(err)
			}
			defer lf.close()
			f := lf.block
			if lf.n != uint64(tt.n) || f == nil {
				t.Fatalf("read back %d keys, blocked %v", lf.n, f != nil)
			}
			// The file's bits are those of the in-memory filter.
			mem := newFilter(uint64(tt.n), tt.p)
			for _, k := range keys {
				mem.add(k)
			}
			if !slices.Equal(mem.words, f.words) || mem.k != f.k {
				t.Fatal("streamed filter differs from the in-memory one")
			}
			for i := range tt.n {
				if !f.test(key(fmt.Sprint("in-", i))) {
					t.Fatalf("key %d added but not found", i)
				}
			}
			if tt.n < 1000 {
				return
			}
			const probes = 400_000
			fp := 0
			for i := range probes {
				if f.test(key(fmt.Sprint("out-", i))) {
					fp++
				}
			}
			got := float64(fp) / probes
			want := blockFPR(float64(f.blocks*blockBits)/float64(tt.n), f.k)
			// 5 standard deviations of a binomial count.
			if tol := 5 * math.Sqrt(want*probes) / probes; math.Abs(got-want) > tol || got > tt.p+5*math.Sqrt(tt.p*probes)/probes {
				t.Errorf("false-positive rate %.5f, predicted %.5f (k=%d, %.2f bits/key), asked %g", got, want, f.k, float64(f.blocks*blockBits)/float64(tt.n), tt.p)
			}
		})
	}
}

// TestClassicFilterStillRead: a generation whose filter.bf is in the
// classic bloom/v3 format of earlier versions (written here by the test
// itself, header included) is opened, looked up and checked as it is, and
// the next commit of the kind replaces it with a blocked filter.
func TestClassicFilterStillRead(t *testing.T) {
	dir := t.TempDir()
	ps := passwords(3000)
	func() {
		ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		buildBase(t, ix, KindSHA1, ps, true)
	}()
	path := filepath.Join(genDir(t, dir, KindSHA1), fileFilter)
	bf := bloom.NewWithEstimates(uint(len(ps)), 1e-4)
	for _, p := range ps {
		bf.Add(p.h[:20])
	}
	words := bf.BitSet().Words()
	var data []byte
	data = append(data, "PWNDXBF1"...)
	data = binary.LittleEndian.AppendUint32(data, FormatVersion)
	data = append(data, byte(KindSHA1), 0, 0, 0)
	for _, v := range []uint64{uint64(len(ps)), uint64(bf.Cap()), uint64(bf.K()), math.Float64bits(1e-4), uint64(len(words))} {
		data = binary.LittleEndian.AppendUint64(data, v)
	}
	for _, w := range words {
		data = binary.LittleEndian.AppendUint64(data, w)
	}
	data = binary.LittleEndian.AppendUint64(data, xxhash.Sum64(data))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ix := openTest(t, dir)
	if g := ix.gen(KindSHA1); g.filter.classic == nil {
		t.Fatal("classic filter not read as classic")
	}
	checkLookups(t, ix, ps, nil)
	rep := mustCheck(t, ix)
	if kc := rep.Kinds[KindSHA1]; kc.FilterBits != uint64(bf.Cap()) || kc.FilterKeys != uint64(len(ps)) {
		t.Errorf("check reports %d bits, %d keys; want %d, %d", kc.FilterBits, kc.FilterKeys, bf.Cap(), len(ps))
	}
	extra := addBreachPasswords(t, ix, "After", ps, 10)
	if g := ix.gen(KindSHA1); g.filter.block == nil {
		t.Error("the next commit kept a classic filter")
	}
	checkLookups(t, ix, ps, extra)
	mustCheck(t, ix)
}

// TestFilterWriterRefusesDisorder: a key whose block lies before the
// writer's window (input out of hash order) is an error.
func TestFilterWriterRefusesDisorder(t *testing.T) {
	fw, err := createFilterFile(filepath.Join(t.TempDir(), "f.bf"), KindSHA1, 10_000_000, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.abort()
	hi, lo := make([]byte, 20), make([]byte, 20)
	hi[0] = 0xF0
	if err := fw.add(hi); err != nil {
		t.Fatal(err)
	}
	if err := fw.add(lo); err == nil {
		t.Fatal("a key before the window was accepted")
	}
}
