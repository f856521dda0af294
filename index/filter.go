package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"unsafe"

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
//	56+8w   8     PWNDXBF1: xxhash64 of bytes [0, 56+8w); PWNDXBB1:
//	              xxhash64 of bytes [0, 56) followed by the 8-byte
//	              little-endian xxhash64 of bytes [56, 56+8w)
//	              (blockFilterSum: the words are written before the header)
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
	filterHeaderLen    = 56
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

// loadedFilter is a filter read back from disk: blocked (memory-mapped:
// file-backed pages, shared by processes serving the same files), or
// classic for generations written before the blocked format.
type loadedFilter struct {
	block   *blockFilter
	classic *bloom.BloomFilter
	mapped  []byte // the mapping behind block.words, if mapped
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

// close releases the filter's mapping.
func (f *loadedFilter) close() {
	if f != nil && f.mapped != nil {
		syscall.Munmap(f.mapped)
		f.mapped, f.block = nil, nil
	}
}

var errFilterCorrupt = errors.New("corrupt filter file")

// readFilter loads and verifies a filter file (every byte against its
// checksum): a blocked one is memory-mapped, a classic one (written by
// versions before the blocked format) read into memory.
func readFilter(path string, k Kind) (*loadedFilter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read filter: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read filter: %w", err)
	}
	if st.Size() < 64 {
		return nil, fmt.Errorf("%s: %w: bad magic or size", path, errFilterCorrupt)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap filter: %w", err)
	}
	lf, keep, err := parseFilter(path, data, k)
	if !keep {
		syscall.Munmap(data)
	}
	return lf, err
}

// parseFilter verifies a filter file's bytes; keep reports whether the
// result refers to data (a blocked filter on a little-endian machine).
func parseFilter(path string, data []byte, k Kind) (lf *loadedFilter, keep bool, err error) {
	if len(data) < 64 || string(data[:8]) != filterMagic && string(data[:8]) != filterMagicClassic {
		return nil, false, fmt.Errorf("%s: %w: bad magic or size", path, errFilterCorrupt)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FormatVersion {
		return nil, false, fmt.Errorf("%s: filter format %d, want %d", path, v, FormatVersion)
	}
	if Kind(data[12]) != k {
		return nil, false, fmt.Errorf("%s: %w: kind %d, want %d", path, errFilterCorrupt, data[12], k)
	}
	nw := binary.LittleEndian.Uint64(data[48:])
	if nw > uint64(len(data)) || uint64(len(data)) != 64+8*nw {
		return nil, false, fmt.Errorf("%s: %w: truncated", path, errFilterCorrupt)
	}
	m := binary.LittleEndian.Uint64(data[24:])
	kk := binary.LittleEndian.Uint64(data[32:])
	lf = &loadedFilter{
		n:   binary.LittleEndian.Uint64(data[16:]),
		fpr: math.Float64frombits(binary.LittleEndian.Uint64(data[40:])),
	}
	body := data[filterHeaderLen : filterHeaderLen+8*nw]
	trailer := binary.LittleEndian.Uint64(data[filterHeaderLen+8*nw:])
	if string(data[:8]) == filterMagic {
		if blockFilterSum(data, xxhash.Sum64(body)) != trailer {
			return nil, false, fmt.Errorf("%s: %w: checksum mismatch", path, errFilterCorrupt)
		}
		if m == 0 || nw != 8*m || kk == 0 || kk > maxBlockK || k.HashLen() < 16 {
			return nil, false, fmt.Errorf("%s: %w: bad parameters", path, errFilterCorrupt)
		}
		var words []uint64
		if littleEndian {
			// The mapping is page-aligned and the words start at byte 56.
			words, keep = unsafe.Slice((*uint64)(unsafe.Pointer(&body[0])), nw), true
			lf.mapped = data
		} else {
			words = decodeWords(body)
		}
		lf.block, lf.bits = &blockFilter{words: words, blocks: m, k: kk}, m*blockBits
		return lf, keep, nil
	}
	if xxhash.Sum64(data[:filterHeaderLen+8*nw]) != trailer {
		return nil, false, fmt.Errorf("%s: %w: checksum mismatch", path, errFilterCorrupt)
	}
	if m == 0 || kk == 0 || m > 64*nw {
		return nil, false, fmt.Errorf("%s: %w: bad parameters", path, errFilterCorrupt)
	}
	lf.classic, lf.bits = bloom.FromWithM(decodeWords(body), uint(m), uint(kk)), m
	return lf, false, nil
}

func decodeWords(b []byte) []uint64 {
	words := make([]uint64, len(b)/8)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return words
}

// littleEndian reports whether this machine stores uint64s little-endian,
// the filter file's order (then a mapped file is used as it is).
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
