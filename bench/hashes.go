package bench

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"

	"github.com/pwndex/pwndex/index"
)

// Sizes of the generated data sets used by the full benchmark run.
const (
	// DefaultHIBPKeys is the number of hashes in the generated Pwned
	// Passwords download used by the ingest and lookup benchmarks.
	DefaultHIBPKeys = 10_000_000
	// DenseBuckets is the number of 5-hex prefixes filled by the dense
	// generator by default: a sample of the 2^20 real buckets.
	DenseBuckets = 4096
	// DensePerBucket is the real Pwned Passwords bucket density: about
	// 1e9 hashes over 2^20 prefixes, ~950 rows (~37 KB) per range.
	DensePerBucket = 950
)

// zipf parameters for the occurrence counts: most hashes were seen once or a
// few times, a handful millions of times, as in Pwned Passwords.
const (
	zipfS   = 1.2
	zipfV   = 1
	zipfMax = 1 << 26
)

// counter draws heavy-tailed occurrence counts (>= 1).
type counter struct{ z *rand.Zipf }

func newCounter(seed uint64) counter {
	return counter{rand.NewZipf(newRand(seed, streamCounts), zipfS, zipfV, zipfMax)}
}

func (c counter) next() uint64 { return c.z.Uint64() + 1 }

// sortedDistinct returns n distinct random values in increasing order, each
// masked with mask and or-ed with base, drawn from r.
func sortedDistinct(r *rand.Rand, n int, base, mask uint64) []uint64 {
	v := make([]uint64, 0, n)
	for len(v) < n {
		for len(v) < n {
			v = append(v, base|r.Uint64()&mask)
		}
		slices.Sort(v)
		v = slices.Compact(v)
	}
	return v
}

// fill builds a hash of kind k whose first 8 bytes are top and whose other
// meaningful bytes come from r.
func fill(h *index.Hash, k index.Kind, top uint64, r *rand.Rand) {
	*h = index.Hash{}
	binary.BigEndian.PutUint64(h[:8], top)
	var tail [16]byte
	binary.BigEndian.PutUint64(tail[:8], r.Uint64())
	binary.BigEndian.PutUint64(tail[8:], r.Uint64())
	copy(h[8:k.HashLen()], tail[:])
}

// HIBP returns n distinct uniformly random hashes of password kind k in
// increasing order, each with a heavy-tailed (Zipf) occurrence count >= 1:
// the content of a Pwned Passwords download. The sequence is a pure
// function of (k, n, seed) and can be iterated several times; each
// iteration holds 8 bytes per hash in memory.
func HIBP(k index.Kind, n int, seed uint64) iter.Seq2[index.Hash, uint64] {
	return func(yield func(index.Hash, uint64) bool) {
		tops := sortedDistinct(newRand(seed, streamTops), n, 0, ^uint64(0))
		tails := newRand(seed, streamTails)
		c := newCounter(seed)
		var h index.Hash
		for _, t := range tops {
			fill(&h, k, t, tails)
			if !yield(h, c.next()) {
				return
			}
		}
	}
}

// DensePrefixes returns the 5-hex prefixes filled by Dense(k, buckets, ...,
// seed), in increasing order: one random prefix in each of `buckets` equal
// slices of the 2^20 prefix space. buckets must be in [1, 2^20].
func DensePrefixes(buckets int, seed uint64) []uint32 {
	if buckets < 1 || buckets > 1<<20 {
		panic(fmt.Sprintf("bench: %d dense buckets, want 1..2^20", buckets))
	}
	r := newRand(seed, streamDense)
	out := make([]uint32, buckets)
	for i := range out {
		lo := uint64(i) << 20 / uint64(buckets)
		hi := uint64(i+1) << 20 / uint64(buckets)
		out[i] = uint32(lo + r.Uint64N(hi-lo))
	}
	return out
}

// Dense returns, in increasing order, exactly perBucket distinct random
// hashes of kind k in each prefix of DensePrefixes(buckets, seed), with
// heavy-tailed counts: real Pwned Passwords density (DensePerBucket) in a
// sample of buckets, so a benchmark sees real range sizes without a
// billion-row input.
func Dense(k index.Kind, buckets, perBucket int, seed uint64) iter.Seq2[index.Hash, uint64] {
	return func(yield func(index.Hash, uint64) bool) {
		prefixes := DensePrefixes(buckets, seed)
		r := newRand(seed, streamTops)
		tails := newRand(seed, streamTails)
		c := newCounter(seed)
		var h index.Hash
		for _, p := range prefixes {
			for _, t := range sortedDistinct(r, perBucket, uint64(p)<<44, 1<<44-1) {
				fill(&h, k, t, tails)
				if !yield(h, c.next()) {
					return
				}
			}
		}
	}
}

// Probes returns n random hashes of kind k drawn from a stream independent
// of every generator above: with 2^-64 odds per pair of colliding with a
// generated hash, they serve as absent keys.
func Probes(k index.Kind, n int, seed uint64) []index.Hash {
	r := newRand(seed, streamProbe)
	out := make([]index.Hash, n)
	for i := range out {
		fill(&out[i], k, r.Uint64(), r)
	}
	return out
}
