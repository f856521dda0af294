package audit

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// compactBody builds a compact range body by the documented format.
func compactBody(names []string, recs ...any) []byte {
	b := []byte("PXR1")
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	for i := 0; i < len(recs); i += 2 {
		h := recs[i].([20]byte)
		refs := recs[i+1].([]uint64)
		b = append(b, h[:]...)
		b = binary.AppendUvarint(b, uint64(len(refs)))
		for _, r := range refs {
			b = binary.AppendUvarint(b, r)
		}
	}
	return b
}

func TestParseCompactRange(t *testing.T) {
	a, c := sha1.Sum([]byte("a")), sha1.Sum([]byte("c"))    // 86F7E4..., 84A516...
	pa := index.Prefix{Value: uint32(a[0]) >> 4, Digits: 1} // "8"
	lo, hi := c, a                                          // 84A5 < 86F7
	good := compactBody([]string{"Alpha", "Beta"}, lo, []uint64{1}, hi, []uint64{0, 1})
	var cr compactRange
	if err := parseCompactRange(good, index.KindEmail, pa, &cr); err != nil {
		t.Fatal(err)
	}
	if len(cr.hashes) != 2 || cr.hashes[0] != index.Hash(lo) || cr.hashes[1] != index.Hash(hi) ||
		cr.names[cr.breaches(0)[0]] != "Beta" || len(cr.breaches(1)) != 2 {
		t.Fatalf("parsed %+v", cr)
	}
	for _, tc := range []struct {
		name string
		body []byte
		p    index.Prefix
		want string
	}{
		{"no magic", []byte("[]"), pa, "not a compact"},
		{"outside prefix", good, index.Prefix{Value: 0x9, Digits: 1}, "outside the prefix"},
		{"unsorted", compactBody([]string{"A"}, hi, []uint64{0}, lo, []uint64{0}), pa, "increasing"},
		{"duplicate", compactBody([]string{"A"}, lo, []uint64{0}, lo, []uint64{0}), pa, "increasing"},
		{"bad index", compactBody([]string{"A"}, lo, []uint64{1}), pa, "breach index"},
		{"no breach", compactBody([]string{"A"}, lo, []uint64{}), pa, "breach count"},
		{"truncated", good[:len(good)-5], pa, "malformed"},
		{"empty name", compactBody([]string{""}), pa, "empty"},
	} {
		err := parseCompactRange(tc.body, index.KindEmail, tc.p, &cr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseCompactRange(f *testing.F) {
	a, c := sha1.Sum([]byte("a")), sha1.Sum([]byte("c"))
	f.Add(compactBody([]string{"Alpha", "Beta"}, c, []uint64{1}, a, []uint64{0, 1}), uint32(8), 1)
	f.Add([]byte("PXR1\x00"), uint32(0), 3)
	f.Add([]byte("PXR1\x01\x05Alpha"), uint32(0xABC), 3)
	f.Add([]byte(`[{"hashSuffix":"00"}]`), uint32(1), 6)
	f.Fuzz(func(t *testing.T, body []byte, prefix uint32, digits int) {
		digits = 1 + (digits%RangeDigits+RangeDigits)%RangeDigits
		p := index.Prefix{Value: prefix & (1<<(4*uint(digits)) - 1), Digits: digits}
		var cr compactRange
		if err := parseCompactRange(body, index.KindEmail, p, &cr); err != nil {
			return
		}
		if len(cr.ends) != len(cr.hashes) {
			t.Fatalf("%d ends for %d hashes", len(cr.ends), len(cr.hashes))
		}
		for i := range cr.hashes {
			if !p.Matches(&cr.hashes[i]) {
				t.Fatalf("hash %X outside %v", cr.hashes[i], p)
			}
			if i > 0 && bytes.Compare(cr.hashes[i-1][:], cr.hashes[i][:]) >= 0 {
				t.Fatalf("hashes out of order")
			}
			bs := cr.breaches(i)
			if len(bs) == 0 {
				t.Fatalf("entry %d without breach", i)
			}
			for _, x := range bs {
				if int(x) >= len(cr.names) {
					t.Fatalf("name index %d of %d", x, len(cr.names))
				}
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"SubscriptionName":"Pwned 3","Rpm":500,"IncludesKAnon":true}`))
	f.Add([]byte(`{"Rpm":600,"PwndexRanges":{"Path":"/v1/range/{kind}/{prefix}","MinDigits":1,"MaxDigits":6,"Counts":{"email":3,"phone":1}}}`))
	f.Add([]byte(`{"Rpm":-1}`))
	f.Add([]byte(`{"Rpm":1,"PwndexRanges":{"MinDigits":0,"MaxDigits":9}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, ok := parseStatus(body)
		if !ok {
			return
		}
		if st.Rpm < 0 {
			t.Fatalf("accepted Rpm %d", st.Rpm)
		}
		if p := st.PwndexRanges; p != nil && (p.MinDigits < 1 || p.MaxDigits > RangeDigits || p.MinDigits > p.MaxDigits) {
			t.Fatalf("accepted prefix lengths %d..%d", p.MinDigits, p.MaxDigits)
		}
	})
}
