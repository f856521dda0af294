package bench

import (
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/pwndex/pwndex/index"
)

// BucketChecksum benchmarks what verifying a range bucket's checksum on
// every read would add to a request: xxhash64 of the dense bucket's
// identity body, as the index computes it on a bucket's first read (one op
// = one bucket).
func BucketChecksum(b *testing.B, ix *index.Index, k index.Kind, prefixes []uint32) {
	var sum uint64
	var n int
	for i := 0; b.Loop(); i++ {
		body, ok := ix.PasswordRange(k, prefixes[i%len(prefixes)], index.Identity)
		if !ok || len(body) == 0 {
			b.Fatalf("range %05X: ok %v, %d bytes", prefixes[i%len(prefixes)], ok, len(body))
		}
		sum += xxhash.Sum64(body)
		n = len(body)
	}
	if sum == 1 {
		b.Log(sum) // keep the sums alive
	}
	b.SetBytes(int64(n))
}
