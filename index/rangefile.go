package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/cespare/xxhash/v2"
)

// Range file format. A range file holds, for one kind and one encoding, the
// body of every 5-hex bucket (2^20 buckets), so that a range request is one
// offset-table lookup and one slice of a memory map: no Badger iteration and
// no rendering per request. All integers little-endian.
//
//	offset  size          field
//	0       8             magic "PWNDXRG2"
//	8       4             format version (FormatVersion)
//	12      1             kind
//	13      1             encoding: 0 identity text, 1 gzip, 2 brotli, 3 binary records
//	14      2             zero
//	16      4             number of buckets B (2^20)
//	20      4             zero
//	24      8             records in the file
//	32      8             body length L
//	40      8             xxhash64 of the body
//	48      8             xxhash64 of the offset and bucket checksum tables
//	56      8             xxhash64 of bytes [0, 56)
//	64      8*(B+1)       offset table: bucket i is body[off[i]:off[i+1]]
//	64+8(B+1) 4*B         bucket checksum table: low 32 bits of xxhash64 of
//	                      bucket i's body (of the empty string if empty)
//	64+12B+8  L           body
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
//
// Checksum invariants (format 2, "PWNDXRG2"):
//   - header[56] = xxhash64(header[0:56]); header[48] = xxhash64 of the
//     offset table followed by the bucket checksum table; header[40] =
//     xxhash64(body). Open verifies the first two (12 MiB read once) and the
//     offset table's monotony; Check verifies the third.
//   - sum[i] = uint32(xxhash64(body[off[i]:off[i+1]])) for every bucket i,
//     empty ones included, for every encoding (identity, gzip, brotli,
//     binary records): the bytes a client would receive.
//   - No bucket body leaves this package unverified: checkedBucket compares
//     a bucket with sum[i] the first time this process reads it (a bit per
//     bucket remembers success; a failure is never remembered, so it is
//     reported on every read) and returns ErrRangeCorrupt instead of bytes.
//     Verifying once per process costs one atomic load per later read; a
//     flip made in the file after a bucket was verified is caught by Check,
//     not by serving (the page cache is trusted once read).
//
// Files of format 1 ("PWNDXRG1", no bucket checksums) are refused at open
// with a message asking to re-ingest into a new directory: serving them
// could send a flipped byte, and verifying their whole body at open would
// cost a full read of the index at every start.

const (
	rangeMagic     = "PWNDXRG2"
	rangeMagicV1   = "PWNDXRG1"
	rangeHeaderLen = 64
	// rangeTablesLen is the bytes of the offset and bucket checksum tables.
	rangeTablesLen = 8*(RangeBuckets+1) + 4*RangeBuckets
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
	sums    []uint32 // bucket checksums
	next    uint32   // next bucket whose start offset is unset
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
	dataStart := int64(rangeHeaderLen + rangeTablesLen)
	if _, err := f.Seek(dataStart, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("range file: %w", err)
	}
	return &rangeWriter{
		path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), sum: xxhash.New(),
		offsets: make([]uint64, RangeBuckets+1), sums: make([]uint32, RangeBuckets),
		kind: k, enc: enc,
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
		rw.sums[rw.next] = emptyBucketSum
	}
	rw.sums[b] = uint32(xxhash.Sum64(body))
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
		if rw.next < RangeBuckets {
			rw.sums[rw.next] = emptyBucketSum
		}
	}
	if err := rw.w.Flush(); err != nil {
		rw.f.Close()
		return fmt.Errorf("write range file: %w", err)
	}
	tab := make([]byte, rangeTablesLen)
	for i, o := range rw.offsets {
		binary.LittleEndian.PutUint64(tab[8*i:], o)
	}
	sumTab := tab[8*(RangeBuckets+1):]
	for i, c := range rw.sums {
		binary.LittleEndian.PutUint32(sumTab[4*i:], c)
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
		return fmt.Errorf("write range offset and checksum tables: %w", err)
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

// emptyBucketSum is the bucket checksum of an empty bucket.
var emptyBucketSum = uint32(xxhash.Sum64(nil))

// rangeFile is a memory-mapped range file.
type rangeFile struct {
	path    string
	data    []byte // whole mapping
	offsets []byte // 8*(B+1) bytes
	sums    []byte // 4*B bytes
	body    []byte
	records uint64
	bodySum uint64
	// verified has bit b set once bucket b matched its checksum.
	verified []atomic.Uint64
}

// ErrRangeCorrupt reports range file data failing its checksums: a bucket
// read by PasswordRangeChecked or AppendRange, or a file at open.
var ErrRangeCorrupt = errors.New("corrupt range file")

var errRangeCorrupt = ErrRangeCorrupt

// openRangeFile maps a range file and verifies its header, offset table and
// bucket checksum table (bucket bodies are verified on first read, see
// checkedBucket; the whole-body checksum by Check, as it reads every byte).
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
	minLen := int64(rangeHeaderLen + rangeTablesLen)
	if st.Size() >= 8 {
		var magic [8]byte
		if _, err := f.ReadAt(magic[:], 0); err == nil && string(magic[:]) == rangeMagicV1 {
			return nil, fmt.Errorf("%s: range file of format 1 has no bucket checksums (written by an older pwndex): run pwndex repair to rewrite it", path)
		}
	}
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
	tables := data[rangeHeaderLen:minLen]
	if xxhash.Sum64(tables) != binary.LittleEndian.Uint64(data[48:]) {
		return bad("offset or checksum table checksum mismatch")
	}
	offsets := tables[:8*(RangeBuckets+1)]
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
		path: path, data: data, offsets: offsets, sums: tables[8*(RangeBuckets+1):],
		body: data[minLen:], verified: make([]atomic.Uint64, RangeBuckets/64),
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

// checkedBucket returns the body of bucket b once it matches its checksum:
// verified on the first read in this process, remembered afterwards (one
// atomic load). A mismatch returns an error wrapping ErrRangeCorrupt that
// names the file but not the bucket (a bucket number is a hash prefix).
func (r *rangeFile) checkedBucket(b uint32) ([]byte, error) {
	body := r.bucket(b)
	w, bit := &r.verified[b>>6], uint64(1)<<(b&63)
	if w.Load()&bit != 0 {
		return body, nil
	}
	if !r.bucketOK(b, body) {
		return nil, fmt.Errorf("%s: %w: a bucket fails its checksum (run pwndex check, then pwndex repair)", r.path, ErrRangeCorrupt)
	}
	w.Or(bit)
	return body, nil
}

// bucketOK reports whether body (bucket b) matches its stored checksum.
func (r *rangeFile) bucketOK(b uint32, body []byte) bool {
	return uint32(xxhash.Sum64(body)) == binary.LittleEndian.Uint32(r.sums[4*b:])
}

// span returns the bodies of buckets [lo, hi) (they are contiguous) once
// each matches its checksum, as checkedBucket. It does not allocate.
func (r *rangeFile) span(lo, hi uint32) ([]byte, error) {
	for b := lo; b < hi; b++ {
		if _, err := r.checkedBucket(b); err != nil {
			return nil, err
		}
	}
	a := binary.LittleEndian.Uint64(r.offsets[8*lo:])
	z := binary.LittleEndian.Uint64(r.offsets[8*hi:])
	return r.body[a:z:z], nil
}

func (r *rangeFile) close() error {
	if r == nil || r.data == nil {
		return nil
	}
	err := syscall.Munmap(r.data)
	r.data = nil
	return err
}

// encName names a range body encoding in messages.
func encName(e Encoding) string {
	switch e {
	case Identity:
		return "identity"
	case Gzip:
		return "gzip"
	case Brotli:
		return "brotli"
	}
	return "binary"
}
