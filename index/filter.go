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

// Filter file format (all integers little-endian):
//
//	offset  size  field
//	0       8     magic "PWNDXBF1"
//	8       4     format version (FormatVersion)
//	12      1     kind
//	13      3     zero
//	16      8     n, keys added
//	24      8     m, bits
//	32      8     k, hash functions
//	40      8     false-positive rate the filter was sized for (float64 bits)
//	48      8     w, number of 64-bit words that follow
//	56      8*w   the bit set, bloom/v3's word order
//	56+8w   8     xxhash64 of bytes [0, 56+8w)
//
// bloom/v3's own WriteTo has no magic, version or checksum; this wrapper
// makes a truncated or foreign file an error at load instead of a filter
// that silently answers "absent" for keys that are present.
//
// Invariant: every key of a generation's Badger store was added to its
// filter (no false negatives); Check verifies it record by record.

const filterMagic = "PWNDXBF1"

// filterKey is the byte string the filter hashes for h: the meaningful bytes.
func filterKey(k Kind, h *Hash) []byte { return h[:k.HashLen()] }

// newFilter sizes a Bloom filter for n keys at rate p.
func newFilter(n uint64, p float64) *bloom.BloomFilter {
	if n < 1 {
		n = 1
	}
	return bloom.NewWithEstimates(uint(n), p)
}

// TheoreticalBits returns the optimal number of Bloom filter bits for n keys
// at false-positive rate p: n * -ln(p) / ln(2)^2.
func TheoreticalBits(n uint64, p float64) float64 {
	return float64(n) * -math.Log(p) / (math.Ln2 * math.Ln2)
}

// writeFilter writes f in the filter file format to path and syncs it.
func writeFilter(path string, k Kind, f *bloom.BloomFilter, n uint64, p float64) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create filter: %w", err)
	}
	defer file.Close()
	h := xxhash.New()
	w := bufio.NewWriterSize(io.MultiWriter(file, h), 1<<20)
	words := f.BitSet().Words()
	var hdr [56]byte
	copy(hdr[:8], filterMagic)
	binary.LittleEndian.PutUint32(hdr[8:], FormatVersion)
	hdr[12] = byte(k)
	binary.LittleEndian.PutUint64(hdr[16:], n)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(f.Cap()))
	binary.LittleEndian.PutUint64(hdr[32:], uint64(f.K()))
	binary.LittleEndian.PutUint64(hdr[40:], math.Float64bits(p))
	binary.LittleEndian.PutUint64(hdr[48:], uint64(len(words)))
	w.Write(hdr[:])
	var b [8]byte
	for _, x := range words {
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

// loadedFilter is a filter read back from disk.
type loadedFilter struct {
	f    *bloom.BloomFilter
	n    uint64
	fpr  float64
	bits uint64
}

var errFilterCorrupt = errors.New("corrupt filter file")

// readFilter loads and verifies a filter file written by writeFilter.
func readFilter(path string, k Kind) (*loadedFilter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read filter: %w", err)
	}
	if len(data) < 64 || string(data[:8]) != filterMagic {
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
	if m == 0 || kk == 0 || m > 64*nw {
		return nil, fmt.Errorf("%s: %w: bad parameters", path, errFilterCorrupt)
	}
	return &loadedFilter{
		f:    bloom.FromWithM(words, uint(m), uint(kk)),
		n:    binary.LittleEndian.Uint64(data[16:]),
		fpr:  math.Float64frombits(binary.LittleEndian.Uint64(data[40:])),
		bits: m,
	}, nil
}
