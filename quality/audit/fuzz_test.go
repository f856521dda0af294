package audit

import (
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
