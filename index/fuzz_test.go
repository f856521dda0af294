package index

import (
	"os"
	"path/filepath"
	"testing"
)

// The index reads its own files back from disk, where a crash, a full disk
// or a bad copy can leave anything: every reader must fail cleanly.

func FuzzReadFilter(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.bf")
	fw, err := createFilterFile(good, KindSHA1, 100, 1e-3)
	if err != nil {
		f.Fatal(err)
	}
	if err := fw.add(make([]byte, 20)); err != nil {
		f.Fatal(err)
	}
	if err := fw.finish(); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(filterMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.bf")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		lf, err := readFilter(p, KindSHA1)
		if err != nil {
			return
		}
		var h Hash
		lf.test(filterKey(KindSHA1, &h)) // must not panic
		lf.close()
	})
}

func FuzzDecodeRecords(f *testing.F) {
	f.Add(encodePassword(nil, 3, 4))
	f.Add(encodeIDs(nil, []BreachID{1, 2, 300}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		if base, extra, err := decodePassword(v); err == nil {
			if got := encodePassword(nil, base, extra); string(got) != string(v) && len(got) > len(v) {
				t.Fatalf("password record %x re-encodes longer: %x", v, got)
			}
		}
		ids, rest, err := decodeIDs(nil, v)
		if err == nil && len(rest) > len(v) {
			t.Fatalf("rest longer than input")
		}
		_ = ids
		appendBinaryEntries(nil, KindEmail, v, Prefix{Digits: 5})
	})
}

func FuzzTextBucket(f *testing.F) {
	f.Add([]byte("0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"))
	f.Add([]byte(":"))
	f.Add([]byte("\r"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, k := range []Kind{KindSHA1, KindNTLM} {
			es, err := appendTextEntries(nil, k, 0x21BD1, body, Prefix{Value: 0x21BD1, Digits: 5})
			if err != nil {
				continue
			}
			for _, e := range es {
				if e.Hash.Prefix(5) != 0x21BD1 {
					t.Fatalf("entry outside its bucket: %s", e.Hash.Hex(k))
				}
			}
		}
	})
}
