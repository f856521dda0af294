package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

func FuzzParseRange(f *testing.F) {
	f.Add([]byte(`[{"hashSuffix":"1F2E3D4C5B6A79881F2E3D4C5B6A798811","websites":["Alpha","Beta"]}]`), uint32(0xABCDEF))
	f.Add([]byte(`[]`), uint32(0))
	f.Add([]byte(`null`), uint32(1))
	f.Add([]byte(`[{"hashSuffix":"zz","websites":null}]`), uint32(2))
	f.Add([]byte(`{"statusCode":429}`), uint32(3))
	f.Fuzz(func(t *testing.T, body []byte, prefix uint32) {
		prefix &= 1<<24 - 1
		for _, k := range []index.Kind{index.KindEmail, index.KindPhone} {
			es, err := ParseRange(body, k, prefix, nil)
			if err != nil {
				if len(es) != 0 && !strings.Contains(err.Error(), "malformed") {
					t.Fatalf("error %v with entries", err)
				}
				continue
			}
			for _, e := range es {
				if e.Hash.Prefix(RangeDigits) != prefix {
					t.Fatalf("entry %X outside prefix %06X", e.Hash, prefix)
				}
			}
		}
	})
}

func TestParseRange(t *testing.T) {
	const suffix = "1F2E3D4C5B6A79881F2E3D4C5B6A798811"
	es, err := ParseRange([]byte(` [{"hashSuffix":"`+strings.ToLower(suffix)+`","websites":["Alpha","Beta"]}] `), index.KindEmail, 0xABCDEF, nil)
	if err != nil || len(es) != 1 || es[0].Hash.Hex(index.KindEmail) != "ABCDEF"+suffix || strings.Join(es[0].Breaches, ",") != "Alpha,Beta" {
		t.Fatalf("ParseRange = %+v, %v", es, err)
	}
	for _, bad := range []string{`[{"hashSuffix":"ABC","websites":[]}]`, `[{"hashSuffix":"` + suffix[:33] + `G"}]`, `{`, `[1]`} {
		if _, err := ParseRange([]byte(bad), index.KindEmail, 0, nil); err == nil {
			t.Errorf("ParseRange(%s) accepted", bad)
		}
	}
	for _, empty := range []string{``, `null`, `[]`} {
		if es, err := ParseRange([]byte(empty), index.KindPhone, 0, nil); err != nil || len(es) != 0 {
			t.Errorf("ParseRange(%q) = %v, %v", empty, es, err)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	good, _ := json.Marshal(checkpoint{Version: checkpointVersion, Fingerprint: "x", Bits: 1, SpillSizes: []int64{32, 64}, BadSize: 18})
	f.Add(good)
	f.Add([]byte(`{"version":1,"partitionBits":2,"spillSizes":[0,0,0]}`))
	f.Add([]byte(`{"version":1,"partitionBits":0,"spillSizes":[31]}`))
	f.Add([]byte(`{"version":1,"partitionBits":40}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCheckpoint(data)
		if err != nil {
			return
		}
		if len(c.SpillSizes) != 1<<uint(c.Bits) || c.RowsDone < 0 || c.BadSize < 0 {
			t.Fatalf("accepted an inconsistent checkpoint: %+v", c)
		}
		for _, s := range c.SpillSizes {
			if s < 0 || s%recSize != 0 {
				t.Fatalf("accepted spill size %d", s)
			}
		}
	})
}

func TestParseCheckpoint(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"version":1,"partitionBits":1,"spillSizes":[32,0],"badSize":18}`, true},
		{`{"version":2,"partitionBits":1,"spillSizes":[32,0]}`, false},
		{`{"version":1,"partitionBits":1,"spillSizes":[32]}`, false},
		{`{"version":1,"partitionBits":1,"spillSizes":[33,0]}`, false},
		{`{"version":1,"partitionBits":1,"spillSizes":[0,0],"rowsDone":-1}`, false},
		{`{"version":1,"partitionBits":13,"spillSizes":[]}`, false},
		{`{"version":1,"partitionBits":0,"spillSizes":[0],"counters":{"rows":-5}}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		if _, err := parseCheckpoint([]byte(tt.in)); (err == nil) != tt.ok {
			t.Errorf("parseCheckpoint(%s) error %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// privateBinarySeed is a hand-encoded binary answer: key ID 0102..08,
// 2 prefix bits, one evaluation, one bucket holding one 16-byte value in
// breach 9, named "XY".
func privateBinarySeed() []byte {
	ok := []byte{1, 1, 2, 3, 4, 5, 6, 7, 8, 2, 0, 1}
	ok = append(ok, bytes.Repeat([]byte{2}, 33)...)
	ok = append(ok, make([]byte, 64)...)
	ok = append(ok, 0, 1, 1) // one bucket of one entry
	ok = append(ok, bytes.Repeat([]byte{7}, 16)...)
	return append(ok, 1, 9, 1, 9, 2, 'X', 'Y')
}

func TestDecodePrivateBinary(t *testing.T) {
	seed := privateBinarySeed()
	a, err := decodePrivateBinary(seed, 16)
	if err != nil {
		t.Fatal(err)
	}
	if a.keyID != "0102030405060708" || a.bits != 2 || len(a.evals) != 1 || len(a.buckets) != 1 || len(a.buckets[0]) != 1 ||
		!bytes.Equal(a.buckets[0][0].value, bytes.Repeat([]byte{7}, 16)) || len(a.buckets[0][0].ids) != 1 || a.buckets[0][0].ids[0] != 9 || a.names[9] != "XY" {
		t.Fatalf("decoded %+v", a)
	}
	for n := range len(seed) {
		if _, err := decodePrivateBinary(seed[:n], 16); err == nil {
			t.Fatalf("accepted the first %d bytes", n)
		}
	}
	if _, err := decodePrivateBinary(append(seed, 0), 16); err == nil {
		t.Fatal("accepted a trailing byte")
	}
}

// FuzzDecodePrivateBinary: the binary private answer decoder never
// panics, and what it accepts has the structure the format promises.
func FuzzDecodePrivateBinary(f *testing.F) {
	ok := privateBinarySeed()
	f.Add(ok, 16)
	f.Add(ok[:40], 16)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8)
	f.Fuzz(func(t *testing.T, b []byte, vb int) {
		if vb < 8 || vb > 32 {
			return
		}
		a, err := decodePrivateBinary(b, vb)
		if err != nil {
			return
		}
		if len(a.keyID) != 16 || len(a.proof) != 64 {
			t.Fatalf("accepted %x: key %q, proof of %d bytes", b, a.keyID, len(a.proof))
		}
		for _, e := range a.evals {
			if len(e) != 33 {
				t.Fatalf("evaluation of %d bytes", len(e))
			}
		}
		for _, bk := range a.buckets {
			for _, e := range bk {
				if len(e.value) != vb {
					t.Fatalf("value of %d bytes", len(e.value))
				}
			}
		}
	})
}
