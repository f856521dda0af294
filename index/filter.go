package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cespare/xxhash/v2"
)

// Filter file format (all integers little-endian), two versions:
//
//	offset  size  field
//	0       8     magic "PWNDXBB1" (blocked, blockfilter.go) or "PWNDXBF1" (classic)
//	8       4     format version (FormatVersion)
//	12      1     kind
//	13      3     zero
//	16      8     n, keys added
//	24      8     PWNDXBB1: number of 512-bit blocks; PWNDXBF1: m, bits
//	32      8     k, bits set per key (hash functions)
//	40      8     false-positive rate the filter was sized for (float64 bits)
//	48      8     w, number of 64-bit words that follow (PWNDXBB1: 8 per block)
//	56      8*w   the bit set (PWNDXBF1: bloom/v3's word order)
//	56+8w   8     xxhash64 of bytes [0, 56+8w)
//
// Generations are written with blocked filters ("PWNDXBB1": one cache line
// per key, the Bloom filter being most of an ingest's CPU before); classic
// bloom/v3 filters ("PWNDXBF1") of older generations are still read, and
// the next commit or repair of the kind replaces them. bloom/v3's own
// WriteTo has no magic, version or checksum; this wrapper makes a
// truncated or foreign file an error at load instead of a filter that
// silently answers "absent" for keys that are present.
//
// Invariant: every key of a generation's records was added to its filter
// (no false negatives); Check verifies it record by record.

const (
	filterMagic        = "PWNDXBB1"
	filterMagicClassic = "PWNDXBF1"
)

// filterKey is the byte string the filter hashes for h: the meaningful bytes.
func filterKey(k Kind, h *Hash) []byte { return h[:k.HashLen()] }

// newFilter sizes a filter for n keys at rate p.
func newFilter(n uint64, p float64) *blockFilter { return newBlockFilter(n, p) }

// TheoreticalBits returns the optimal number of Bloom filter bits for n keys
// at false-positive rate p: n * -ln(p) / ln(2)^2.
func TheoreticalBits(n uint64, p float64) float64 {
	return float64(n) * -math.Log(p) / (math.Ln2 * math.Ln2)
}

// writeFilter writes f in the filter file format to path and syncs it.
func writeFilter(path string, k Kind, f *blockFilter, n uint64, p float64) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create filter: %w", err)
	}
	defer file.Close()
	h := xxhash.New()
	w := bufio.NewWriterSize(io.MultiWriter(file, h), 1<<20)
	var hdr [56]byte
	copy(hdr[:8], filterMagic)
	binary.LittleEndian.PutUint32(hdr[8:], FormatVersion)
	hdr[12] = byte(k)
	binary.LittleEndian.PutUint64(hdr[16:], n)
	binary.LittleEndian.PutUint64(hdr[24:], f.blocks)
	binary.LittleEndian.PutUint64(hdr[32:], f.k)
	binary.LittleEndian.PutUint64(hdr[40:], math.Float64bits(p))
	binary.LittleEndian.PutUint64(hdr[48:], uint64(len(f.words)))
	w.Write(hdr[:])
	var b [8]byte
	for _, x := range f.words {
		binary.LittleEndian.PutUint64(b[:], x)
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write filter: %w", err)
	}
	binary.LittleEndian.PutUint64(b[:], h.Sum64())
	if _, err := file.Write(b[:]); err != nil {
		return fmt.Errorf("write filter: %w", err)
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("sync filter: %w", err)
	}
	return file.Close()
}

// loadedFilter is a filter read back from disk: blocked, or classic for
// generations written before the blocked format.
type loadedFilter struct {
	block   *blockFilter
	classic *bloom.BloomFilter
	n       uint64
	fpr     float64
	bits    uint64
}

// test reports whether key may be in the filter. It does not allocate.
func (f *loadedFilter) test(key []byte) bool {
	if f.block != nil {
		return f.block.test(key)
	}
	return f.classic.Test(key)
}

var errFilterCorrupt = errors.New("corrupt filter file")

// readFilter loads and verifies a filter file written by writeFilter (or,
// classic, by versions before the blocked format).
func readFilter(path string, k Kind) (*loadedFilter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read filter: %w", err)
	}
	if len(data) < 64 || string(data[:8]) != filterMagic && string(data[:8]) != filterMagicClassic {
		return nil, fmt.Errorf("%s: %w: bad magic or size", path, errFilterCorrupt)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FormatVersion {
		return nil, fmt.Errorf("%s: filter format %d, want %d", path, v, FormatVersion)
	}
	if Kind(data[12]) != k {
		return nil, fmt.Errorf("%s: %w: kind %d, want %d", path, errFilterCorrupt, data[12], k)
	}
	nw := binary.LittleEndian.Uint64(data[48:])
	if nw > uint64(len(data)) || uint64(len(data)) != 64+8*nw {
		return nil, fmt.Errorf("%s: %w: truncated", path, errFilterCorrupt)
	}
	body := data[:56+8*nw]
	if xxhash.Sum64(body) != binary.LittleEndian.Uint64(data[56+8*nw:]) {
		return nil, fmt.Errorf("%s: %w: checksum mismatch", path, errFilterCorrupt)
	}
	words := make([]uint64, nw)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(data[56+8*i:])
	}
	m := binary.LittleEndian.Uint64(data[24:])
	kk := binary.LittleEndian.Uint64(data[32:])
	lf := &loadedFilter{
		n:   binary.LittleEndian.Uint64(data[16:]),
		fpr: math.Float64frombits(binary.LittleEndian.Uint64(data[40:])),
	}
	if string(data[:8]) == filterMagic {
		if m == 0 || nw != 8*m || kk == 0 || kk > maxBlockK || k.HashLen() < 16 {
			return nil, fmt.Errorf("%s: %w: bad parameters", path, errFilterCorrupt)
		}
		lf.block, lf.bits = &blockFilter{words: words, blocks: m, k: kk}, m*blockBits
		return lf, nil
	}
	if m == 0 || kk == 0 || m > 64*nw {
		return nil, fmt.Errorf("%s: %w: bad parameters", path, errFilterCorrupt)
	}
	lf.classic, lf.bits = bloom.FromWithM(words, uint(m), uint(kk)), m
	return lf, nil
}
