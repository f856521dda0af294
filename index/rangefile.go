package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/cespare/xxhash/v2"
)

// Range file format. A range file holds, for one kind and one encoding, the
// body of every 5-hex bucket (2^20 buckets), so that a range request is one
// offset-table lookup and one slice of a memory map: no Badger iteration and
// no rendering per request. All integers little-endian.
//
//	offset  size          field
//	0       8             magic "PWNDXRG1"
//	8       4             format version (FormatVersion)
//	12      1             kind
//	13      1             encoding: 0 identity text, 1 gzip, 2 brotli, 3 binary records
//	14      2             zero
//	16      4             number of buckets B (2^20)
//	20      4             zero
//	24      8             records in the file
//	32      8             body length L
//	40      8             xxhash64 of the body
//	48      8             xxhash64 of the offset table
//	56      8             xxhash64 of bytes [0, 56)
//	64      8*(B+1)       offset table: bucket i is body[off[i]:off[i+1]]
//	64+8(B+1) L           body
//
// Identity text bodies are exactly what api.pwnedpasswords.com returns:
// "SUFFIX:COUNT" lines, upper-case hex, CRLF between lines, none after the
// last. Binary-record bodies (identifier kinds) are a sequence of records
// hash[HashLen] uvarint(n) uvarint(breachID)*n in hash order.
//
// Invariants: off[0] = 0, off is non-decreasing, off[B] = L; bucket i holds
// exactly the records whose first 5 hex digits are i, in hash order, and the
// same records as the generation's Badger store (Check verifies it). A file
// is written under a temporary name, synced and only then renamed into a
// generation directory, which itself only becomes live by a metadata commit.

const (
	rangeMagic     = "PWNDXRG1"
	rangeHeaderLen = 64
	// RangeBuckets is the number of 5-hex buckets in a range file.
	RangeBuckets = 1 << 20

	encBinary = 3
)

// rangeWriter writes a range file bucket by bucket, in bucket order.
type rangeWriter struct {
	path    string
	f       *os.File
	w       *bufio.Writer
	sum     *xxhash.Digest
	offsets []uint64
	next    uint32 // next bucket whose start offset is unset
	pos     uint64
	records uint64
	kind    Kind
	enc     uint8
}

func createRangeFile(path string, k Kind, enc uint8) (*rangeWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create range file: %w", err)
	}
	dataStart := int64(rangeHeaderLen + 8*(RangeBuckets+1))
	if _, err := f.Seek(dataStart, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("range file: %w", err)
	}
	return &rangeWriter{
		path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), sum: xxhash.New(),
		offsets: make([]uint64, RangeBuckets+1), kind: k, enc: enc,
	}, nil
}

// writeBucket appends the body of bucket b holding n records. Buckets must
// come in increasing order; skipped buckets are empty.
func (rw *rangeWriter) writeBucket(b uint32, body []byte, n int) error {
	if b < rw.next {
		return fmt.Errorf("range file: bucket %05X written out of order", b)
	}
	for ; rw.next <= b; rw.next++ {
		rw.offsets[rw.next] = rw.pos
	}
	if _, err := rw.w.Write(body); err != nil {
		return fmt.Errorf("write range file: %w", err)
	}
	rw.sum.Write(body)
	rw.pos += uint64(len(body))
	rw.records += uint64(n)
	return nil
}

// finish completes the offset table and header and syncs the file.
func (rw *rangeWriter) finish() error {
	for ; rw.next <= RangeBuckets; rw.next++ {
		rw.offsets[rw.next] = rw.pos
	}
	if err := rw.w.Flush(); err != nil {
		rw.f.Close()
		return fmt.Errorf("write range file: %w", err)
	}
	tab := make([]byte, 8*(RangeBuckets+1))
	for i, o := range rw.offsets {
		binary.LittleEndian.PutUint64(tab[8*i:], o)
	}
	var hdr [rangeHeaderLen]byte
	copy(hdr[:], rangeMagic)
	binary.LittleEndian.PutUint32(hdr[8:], FormatVersion)
	hdr[12] = byte(rw.kind)
	hdr[13] = rw.enc
	binary.LittleEndian.PutUint32(hdr[16:], RangeBuckets)
	binary.LittleEndian.PutUint64(hdr[24:], rw.records)
	binary.LittleEndian.PutUint64(hdr[32:], rw.pos)
	binary.LittleEndian.PutUint64(hdr[40:], rw.sum.Sum64())
	binary.LittleEndian.PutUint64(hdr[48:], xxhash.Sum64(tab))
	binary.LittleEndian.PutUint64(hdr[56:], xxhash.Sum64(hdr[:56]))
	if _, err := rw.f.WriteAt(hdr[:], 0); err != nil {
		rw.f.Close()
		return fmt.Errorf("write range header: %w", err)
	}
	if _, err := rw.f.WriteAt(tab, rangeHeaderLen); err != nil {
		rw.f.Close()
		return fmt.Errorf("write range offsets: %w", err)
	}
	if err := rw.f.Sync(); err != nil {
		rw.f.Close()
		return fmt.Errorf("sync range file: %w", err)
	}
	return rw.f.Close()
}

func (rw *rangeWriter) abort() {
	rw.f.Close()
	os.Remove(rw.path)
}

// rangeFile is a memory-mapped range file.
type rangeFile struct {
	data    []byte // whole mapping
	offsets []byte // 8*(B+1) bytes
	body    []byte
	records uint64
	bodySum uint64
}

var errRangeCorrupt = errors.New("corrupt range file")

// openRangeFile maps a range file and verifies its header and offset table
// (the body checksum is verified by Check, as it reads every byte).
func openRangeFile(path string, k Kind, enc uint8) (*rangeFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open range file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat range file: %w", err)
	}
	minLen := int64(rangeHeaderLen + 8*(RangeBuckets+1))
	if st.Size() < minLen {
		return nil, fmt.Errorf("%s: %w: truncated", path, errRangeCorrupt)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap range file: %w", err)
	}
	bad := func(why string) (*rangeFile, error) {
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: %w: %s", path, errRangeCorrupt, why)
	}
	if string(data[:8]) != rangeMagic || xxhash.Sum64(data[:56]) != binary.LittleEndian.Uint64(data[56:]) {
		return bad("bad header")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FormatVersion {
		return bad(fmt.Sprintf("format %d, want %d", v, FormatVersion))
	}
	if Kind(data[12]) != k || data[13] != enc || binary.LittleEndian.Uint32(data[16:]) != RangeBuckets {
		return bad("wrong kind, encoding or bucket count")
	}
	bodyLen := binary.LittleEndian.Uint64(data[32:])
	if uint64(st.Size()) != uint64(minLen)+bodyLen {
		return bad("size does not match header")
	}
	offsets := data[rangeHeaderLen:minLen]
	if xxhash.Sum64(offsets) != binary.LittleEndian.Uint64(data[48:]) {
		return bad("offset table checksum mismatch")
	}
	var prev uint64
	for i := 0; i <= RangeBuckets; i++ {
		o := binary.LittleEndian.Uint64(offsets[8*i:])
		if o < prev || o > bodyLen {
			return bad("offset table not monotonic")
		}
		prev = o
	}
	if prev != bodyLen {
		return bad("offset table does not end at body length")
	}
	return &rangeFile{
		data: data, offsets: offsets, body: data[minLen:],
		records: binary.LittleEndian.Uint64(data[24:]),
		bodySum: binary.LittleEndian.Uint64(data[40:]),
	}, nil
}

// bucket returns the body of bucket b. It does not allocate.
func (r *rangeFile) bucket(b uint32) []byte {
	lo := binary.LittleEndian.Uint64(r.offsets[8*b:])
	hi := binary.LittleEndian.Uint64(r.offsets[8*b+8:])
	return r.body[lo:hi:hi]
}

// span returns the bodies of buckets [lo, hi) (they are contiguous). It
// does not allocate.
func (r *rangeFile) span(lo, hi uint32) []byte {
	a := binary.LittleEndian.Uint64(r.offsets[8*lo:])
	b := binary.LittleEndian.Uint64(r.offsets[8*hi:])
	return r.body[a:b:b]
}

func (r *rangeFile) close() error {
	if r == nil || r.data == nil {
		return nil
	}
	err := syscall.Munmap(r.data)
	r.data = nil
	return err
}
