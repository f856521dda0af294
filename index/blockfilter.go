package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"

	"github.com/cespare/xxhash/v2"
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
// Sizing (blockSizing): blocks fill unevenly (Poisson), so at the classic
// filter's bit count, TheoreticalBits(n, p), a blocked filter's rate is
// about 1.5x p. The block count therefore starts there and grows by 2%
// steps until the predicted rate (blockFPR, with k minimising it) is at
// most p: about 16 bits a key for p = 1e-3 instead of 14.4.
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
	blocks, k := blockSizing(n, p)
	return &blockFilter{words: make([]uint64, 8*blocks), blocks: blocks, k: k}
}

// blockSizing returns the number of blocks and bits per key of a blocked
// filter holding n keys at a predicted false-positive rate of at most p.
func blockSizing(n uint64, p float64) (blocks, k uint64) {
	n = max(n, 1)
	blocks = max(uint64(math.Ceil(TheoreticalBits(n, p)/blockBits)), 1)
	for range 100 {
		bpk := float64(blocks*blockBits) / float64(n)
		k = bestBlockK(bpk)
		if blockFPR(bpk, k) <= p {
			break
		}
		blocks += max(blocks/50, 1)
	}
	return blocks, k
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

// blockOf returns the block of key among blocks.
func blockOf(key []byte, blocks uint64) uint64 {
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(key), blocks)
	return hi
}

// setBits sets key's k bits in its block w (8 words).
func setBits(w []uint64, key []byte, k uint64) {
	w = w[:8]
	x := binary.BigEndian.Uint64(key[8:])
	for range k {
		x = x*lcgMul + lcgAdd
		p := x >> 55
		w[p>>6] |= 1 << (p & 63)
	}
}

// add sets key's bits. key holds at least 16 bytes.
func (f *blockFilter) add(key []byte) {
	setBits(f.words[8*blockOf(key, f.blocks):], key, f.k)
}

// test reports whether every bit of key is set. It does not allocate.
func (f *blockFilter) test(key []byte) bool {
	w := f.words[8*blockOf(key, f.blocks):][:8]
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

// filterWriter writes a blocked filter file (filter.go) while the keys of
// a generation arrive in hash order: since a key's block is monotone in
// the key, every block before the current key's is final, so only a
// window of filterWindow blocks is held in memory and the rest streams to
// the file. An ingest's memory does not grow with the filter (1.8 bytes a
// hash, 3.6 GB for the whole corpus). A key before the window (input out
// of order) is an error, never a silently missing key.
type filterWriter struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	sum    *xxhash.Digest // of the words, in file order
	kind   Kind
	fpr    float64
	blocks uint64
	k      uint64
	n      uint64
	base   uint64   // first block of the window
	win    []uint64 // blocks [base, base+filterWindow)
	enc    []byte
}

// filterWindow is the number of blocks a filterWriter holds (256 KiB).
const filterWindow = 4096

var errFilterOrder = errors.New("filter: keys out of hash order")

// createFilterFile starts the filter file of a generation sized for n keys
// at rate p (newBlockFilter's sizing).
func createFilterFile(path string, k Kind, n uint64, p float64) (*filterWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create filter: %w", err)
	}
	if _, err := f.Seek(filterHeaderLen, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("create filter: %w", err)
	}
	blocks, bk := blockSizing(n, p)
	return &filterWriter{
		path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), sum: xxhash.New(), kind: k, fpr: p,
		blocks: blocks, k: bk,
		win: make([]uint64, 8*filterWindow), enc: make([]byte, 8*8*filterWindow),
	}, nil
}

// add sets key's bits; keys must come in hash order.
func (fw *filterWriter) add(key []byte) error {
	b := blockOf(key, fw.blocks)
	if b < fw.base {
		return errFilterOrder
	}
	for b >= fw.base+filterWindow {
		if err := fw.flushWindow(); err != nil {
			return err
		}
	}
	setBits(fw.win[8*(b-fw.base):], key, fw.k)
	fw.n++
	return nil
}

// flushWindow writes the window's blocks that exist and moves it on.
func (fw *filterWriter) flushWindow() error {
	nb := min(filterWindow, fw.blocks-fw.base)
	enc := fw.enc[:64*nb]
	for i, x := range fw.win[:8*nb] {
		binary.LittleEndian.PutUint64(enc[8*i:], x)
	}
	clear(fw.win)
	fw.base += filterWindow
	fw.sum.Write(enc)
	if _, err := fw.w.Write(enc); err != nil {
		return fmt.Errorf("write filter: %w", err)
	}
	return nil
}

// finish writes the remaining blocks, the trailer and the header, and
// syncs the file.
func (fw *filterWriter) finish() error {
	for fw.base < fw.blocks {
		if err := fw.flushWindow(); err != nil {
			fw.abort()
			return err
		}
	}
	var hdr [filterHeaderLen]byte
	copy(hdr[:8], filterMagic)
	binary.LittleEndian.PutUint32(hdr[8:], FormatVersion)
	hdr[12] = byte(fw.kind)
	binary.LittleEndian.PutUint64(hdr[16:], fw.n)
	binary.LittleEndian.PutUint64(hdr[24:], fw.blocks)
	binary.LittleEndian.PutUint64(hdr[32:], fw.k)
	binary.LittleEndian.PutUint64(hdr[40:], math.Float64bits(fw.fpr))
	binary.LittleEndian.PutUint64(hdr[48:], 8*fw.blocks)
	var tr [8]byte
	binary.LittleEndian.PutUint64(tr[:], blockFilterSum(hdr[:], fw.sum.Sum64()))
	if _, err := fw.w.Write(tr[:]); err != nil {
		fw.abort()
		return fmt.Errorf("write filter: %w", err)
	}
	if err := fw.w.Flush(); err != nil {
		fw.abort()
		return fmt.Errorf("write filter: %w", err)
	}
	if _, err := fw.f.WriteAt(hdr[:], 0); err != nil {
		fw.abort()
		return fmt.Errorf("write filter header: %w", err)
	}
	if err := fw.f.Sync(); err != nil {
		fw.abort()
		return fmt.Errorf("sync filter: %w", err)
	}
	return fw.f.Close()
}

func (fw *filterWriter) abort() {
	fw.f.Close()
	os.Remove(fw.path)
}

// blockFilterSum is the trailer of a blocked filter file: xxhash64 of the
// header followed by the little-endian xxhash64 of the words, so that
// every byte is covered while the words stream before the header is known.
func blockFilterSum(hdr []byte, words uint64) uint64 {
	d := xxhash.New()
	d.Write(hdr[:filterHeaderLen])
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], words)
	d.Write(b[:])
	return d.Sum64()
}
