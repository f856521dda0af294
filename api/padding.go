package api

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/pwndex/pwndex/index"
)

// HIBP-style padding (Add-Padding: true) costs no per-request generation:
// each process formats, once, a table of padPoolRows random rows per
// password kind, each "\r\n" + random upper-case hex suffix + ":0", laid
// end to end. A padded response appends a window of 10-209 consecutive
// rows starting at a random row: a sub-slice of the table, so the window
// already has CRLF between rows and none after the last; an empty range
// drops the window's leading CRLF. The response body is a stream of the
// precomputed real rows followed by the window (paddedBody), written from
// both slices to the connection's buffered writer: the handler copies
// nothing.
//
// The rows are fresh random hex per process, uniformly distributed like
// the real suffixes; what padding hides from a network observer is the
// response length, which is drawn per request.

// padPoolRows is the number of precomputed padding rows per kind (about
// 1.3 MB for SHA-1, 1 MB for NTLM).
const padPoolRows = 1 << 15

// The largest padding window fits one stored deflate block (addStoredGzip):
// this constant overflows, failing the build, if it ever does not.
const _ = uint16((padMin + padSpread - 1) * (2 + 40 + 2))

// padTable holds the precomputed padding rows of one kind.
type padTable struct {
	rows   []byte // padPoolRows rows of rowLen bytes
	rowLen int    // 2 (CRLF) + suffix + 2 (":0")
}

// padTables holds the tables of SHA-1 and NTLM, built once (New builds
// them, so no request waits for it).
var padTables = sync.OnceValue(func() *[2]padTable {
	var t [2]padTable
	for i, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		t[i] = newPadTable(k.HexLen()-5, padPoolRows)
	}
	return &t
})

// padTableOf returns the padding table of a password kind.
func padTableOf(kind index.Kind) *padTable {
	if kind == index.KindNTLM {
		return &padTables()[1]
	}
	return &padTables()[0]
}

// newPadTable formats n rows of "\r\n" + hexLen random hex digits + ":0".
func newPadTable(hexLen, n int) padTable {
	t := padTable{rowLen: 2 + hexLen + 2}
	t.rows = make([]byte, n*t.rowLen)
	for r := t.rows; len(r) > 0; r = r[t.rowLen:] {
		r[0], r[1] = '\r', '\n'
		fillRandomHex(r[2 : 2+hexLen])
		r[2+hexLen], r[3+hexLen] = ':', '0'
	}
	return t
}

// window returns between padMin and padMin+padSpread-1 consecutive rows
// starting at a random row; without leading CRLF if first is set (the
// padding starts the body).
func (t *padTable) window(first bool) []byte {
	n := len(t.rows) / t.rowLen
	k := padMin + rand.IntN(padSpread)
	start := rand.IntN(n - k + 1)
	w := t.rows[start*t.rowLen : (start+k)*t.rowLen]
	if first {
		w = w[2:]
	}
	return w
}

// paddedBody is the body stream of a padded range response: the given
// parts written in order. It implements fasthttp.BodyWriterTo so fasthttp
// writes the parts straight to the connection's buffered writer, and
// returns itself to a pool when fasthttp closes it.
type paddedBody struct {
	parts [4][]byte
	n     int // parts in use
	// gzHead and gzTail hold the header and trailer of a stored gzip
	// member wrapping the padding.
	gzHead [15]byte
	gzTail [8]byte
	// cur and off track Read's position.
	cur, off int
}

var paddedBodyPool = sync.Pool{New: func() any { return new(paddedBody) }}

// newPaddedBody returns a pooled, empty paddedBody.
func newPaddedBody() *paddedBody { return paddedBodyPool.Get().(*paddedBody) }

// add appends a part.
func (b *paddedBody) add(p []byte) {
	b.parts[b.n] = p
	b.n++
}

// addStoredGzip appends data as one gzip member of one stored (BTYPE 00)
// deflate block; data must be at most 65535 bytes.
func (b *paddedBody) addStoredGzip(data []byte) {
	b.gzHead = [15]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1} // BFINAL, stored
	binary.LittleEndian.PutUint16(b.gzHead[11:], uint16(len(data)))
	binary.LittleEndian.PutUint16(b.gzHead[13:], ^uint16(len(data)))
	binary.LittleEndian.PutUint32(b.gzTail[:], crc32.ChecksumIEEE(data))
	binary.LittleEndian.PutUint32(b.gzTail[4:], uint32(len(data)))
	b.add(b.gzHead[:])
	b.add(data)
	b.add(b.gzTail[:])
}

// Len returns the body length.
func (b *paddedBody) Len() int {
	n := 0
	for _, p := range b.parts[:b.n] {
		n += len(p)
	}
	return n
}

// WriteTo writes the unread parts to w.
func (b *paddedBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for ; b.cur < b.n; b.cur, b.off = b.cur+1, 0 {
		n, err := w.Write(b.parts[b.cur][b.off:])
		total += int64(n)
		if err != nil {
			b.off += n
			return total, err
		}
	}
	return total, nil
}

// SupportsBodyWriteTo tells fasthttp to use WriteTo.
func (b *paddedBody) SupportsBodyWriteTo() bool { return true }

// Read implements io.Reader.
func (b *paddedBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && b.cur < b.n {
		c := copy(p[n:], b.parts[b.cur][b.off:])
		n += c
		b.off += c
		if b.off == len(b.parts[b.cur]) {
			b.cur, b.off = b.cur+1, 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Close releases b to the pool; fasthttp calls it once the response is
// written or reset.
func (b *paddedBody) Close() error {
	*b = paddedBody{}
	paddedBodyPool.Put(b)
	return nil
}
