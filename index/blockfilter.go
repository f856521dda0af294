package index

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// blockFilter is a blocked Bloom filter over hash keys: every key sets and
// tests its k bits in one 512-bit block (eight words, one 64-byte cache
// line), so an add or a test costs one cache miss instead of k. Filters of
// generations written since filter format "PWNDXBB1" are of this kind
// (filter.go); older "PWNDXBF1" files (bloom/v3, k cache misses per key)
// are still read.
//
// Invariants:
//   - Keys are the meaningful bytes of a cryptographic hash (SHA-1 or NTLM,
//     at least 16 bytes), uniformly distributed: their bytes are used as
//     they are, never hashed again.
//   - The block of a key is blockOf(BE64(key[0:8])) = the high 64 bits of
//     BE64(key[0:8]) * blocks: monotone in the key, so a generation written
//     in hash order fills the bit array front to back (sequential writes,
//     no random cache miss per key).
//   - The k bit positions inside the block come from the next 64 bits,
//     BE64(key[8:16]), independent of the first 64: x0 = that value,
//     x(i+1) = x(i)*lcgMul + lcgAdd (a full-period LCG), position i = the
//     top 9 bits of x(i+1). add and test derive the same positions, so a
//     key added is always found (no false negatives).
//   - words has exactly 8*blocks entries, blocks >= 1, 1 <= k <= 16
//     (readFilter refuses other values).
//
// Sizing: blocks = ceil(TheoreticalBits(n, p) / 512), the classic filter's
// bit count, and k minimises the blocked filter's false-positive rate at
// that size (blockFPR). Blocks fill unevenly (Poisson), so the real rate
// is somewhat above p: 1.5e-3 for p = 1e-3 at 14.4 bits a key (k = 9).
// An absent lookup that passes the filter costs one bucket search.
type blockFilter struct {
	words  []uint64
	blocks uint64
	k      uint64
}

const (
	blockBits = 512
	lcgMul    = 0x5851F42D4C957F2D
	lcgAdd    = 0x14057B7EF767814F
	maxBlockK = 16
)

// newBlockFilter sizes a blocked filter for n keys at rate p.
func newBlockFilter(n uint64, p float64) *blockFilter {
	n = max(n, 1)
	blocks := uint64(math.Ceil(TheoreticalBits(n, p) / blockBits))
	blocks = max(blocks, 1)
	return &blockFilter{words: make([]uint64, 8*blocks), blocks: blocks, k: bestBlockK(float64(blocks*blockBits) / float64(n))}
}

// bestBlockK returns the k in [1, maxBlockK] minimising blockFPR.
func bestBlockK(bitsPerKey float64) uint64 {
	best, bestK := 2.0, uint64(1)
	for k := uint64(1); k <= maxBlockK; k++ {
		if f := blockFPR(bitsPerKey, k); f < best {
			best, bestK = f, k
		}
	}
	return bestK
}

// blockFPR is the false-positive rate of a blocked Bloom filter with
// 512-bit blocks at bitsPerKey bits a key and k bits per key: the number
// of keys in a block is Poisson with mean 512/bitsPerKey.
func blockFPR(bitsPerKey float64, k uint64) float64 {
	lam := blockBits / bitsPerKey
	hi := int(lam + 12*math.Sqrt(lam) + 30)
	sum := 0.0
	for j := 0; j <= hi; j++ {
		lg, _ := math.Lgamma(float64(j + 1))
		pj := math.Exp(-lam + float64(j)*math.Log(lam) - lg)
		fill := 1 - math.Pow(1-1.0/blockBits, float64(k)*float64(j))
		sum += pj * math.Pow(fill, float64(k))
	}
	return sum
}

// block returns the index of the first word of key's block.
func (f *blockFilter) block(key []byte) uint64 {
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(key), f.blocks)
	return hi * 8
}

// add sets key's bits. key holds at least 16 bytes.
func (f *blockFilter) add(key []byte) {
	w := f.words[f.block(key):][:8]
	x := binary.BigEndian.Uint64(key[8:])
	for range f.k {
		x = x*lcgMul + lcgAdd
		p := x >> 55
		w[p>>6] |= 1 << (p & 63)
	}
}

// test reports whether every bit of key is set. It does not allocate.
func (f *blockFilter) test(key []byte) bool {
	w := f.words[f.block(key):][:8]
	x := binary.BigEndian.Uint64(key[8:])
	for range f.k {
		x = x*lcgMul + lcgAdd
		p := x >> 55
		if w[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}
