package index

import (
	"crypto/sha1"
	"fmt"
	"testing"
)

// TestAppendSuffixHex: every suffix length, odd and even, of SHA-1 and
// NTLM-length hashes equals the tail of fmt's upper-case hex form, appended
// after existing bytes.
func TestAppendSuffixHex(t *testing.T) {
	for _, k := range []Kind{KindSHA1, KindNTLM} {
		for i := range 20 {
			h := Hash(sha1.Sum([]byte(fmt.Sprint("x", i))))
			for j := k.HashLen(); j < len(h); j++ {
				h[j] = 0
			}
			full := fmt.Sprintf("%X", h[:k.HashLen()])
			for digits := 0; digits <= k.HexLen(); digits++ {
				got := string(h.AppendSuffixHex([]byte("ab"), k, digits))
				if want := "ab" + full[digits:]; got != want {
					t.Fatalf("%s digits %d: %q, want %q", k, digits, got, want)
				}
			}
		}
	}
}
