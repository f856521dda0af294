package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/pwndex/pwndex/index"
)

// Issue 15: what each way of storing password range bodies costs on disk
// at real bucket density, and what compressing one per request costs, to
// choose the stored layout by measurement.
const (
	rowEncText       = "stored bytes/hash, dense bodies: identity text"
	rowEncGzip6      = "stored bytes/hash, dense bodies: gzip level 6 copy"
	rowEncGzip1      = "stored bytes/hash, dense bodies: gzip level 1 copy"
	rowEncBrotli     = "stored bytes/hash, dense bodies: brotli level 5 copy"
	rowEncBinary     = "stored bytes/hash, dense bodies: binary suffix+uvarint"
	rowEncGzipOnline = "gzip one dense body per request, Huffman only"
	rowEncGzip1Time  = "gzip one dense body per request, level 1"
)

// encBuckets is the number of dense buckets the encodings case renders
// (8 with --quick).
const encBuckets = 256

func encodingsCase() *benchCase {
	return &benchCase{
		name: "ingest/encodings",
		once: true,
		rows: []Row{
			{Name: rowEncText, Unit: "bytes/hash"},
			{Name: rowEncGzip6, Unit: "bytes/hash"},
			{Name: rowEncGzip1, Unit: "bytes/hash"},
			{Name: rowEncBrotli, Unit: "bytes/hash"},
			{Name: rowEncBinary, Unit: "bytes/hash"},
			{Name: rowEncGzipOnline, Unit: "µs"},
			{Name: rowEncGzip1Time, Unit: "µs"},
		},
		run: runEncodingsBench,
	}
}

// denseBodies renders encBuckets dense identity bodies (HIBP's text:
// upper-case suffix, ':', count, CRLF between lines) and their binary form
// (17.5 suffix bytes rounded up to 18, uvarint count), with this package's
// own formatting, not the index's.
func denseBodies(quick bool) (text, bin [][]byte, rows int) {
	buckets := encBuckets
	if quick {
		buckets = 8
	}
	var cur, curBin []byte
	last := uint32(1 << 31)
	flush := func() {
		if len(cur) > 0 {
			text, bin = append(text, cur), append(bin, curBin)
		}
		cur, curBin = nil, nil
	}
	for h, c := range Dense(index.KindSHA1, buckets, DensePerBucket, benchSeedDense) {
		p := uint32(h[0])<<12 | uint32(h[1])<<4 | uint32(h[2])>>4
		if p != last {
			flush()
			last = p
		} else {
			cur = append(cur, '\r', '\n')
		}
		full := fmt.Sprintf("%X", h[:20])
		cur = append(cur, full[5:]...)
		cur = append(cur, ':')
		cur = strconv.AppendUint(cur, c, 10)
		curBin = append(curBin, h[2:20]...)
		curBin = binary.AppendUvarint(curBin, c)
		rows++
	}
	flush()
	return text, bin, rows
}

func runEncodingsBench(e *benchEnv) (map[string]benchMeasure, error) {
	text, bin, rows := denseBodies(e.quick)
	sum := func(bodies [][]byte) int {
		n := 0
		for _, b := range bodies {
			n += len(b)
		}
		return n
	}
	gz := func(level int, body []byte) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, level)
		w.Write(body)
		w.Close()
		return b.Bytes()
	}
	var g6, g1, br int
	for _, t := range text {
		g6 += len(gz(6, t))
		g1 += len(gz(1, t))
		var b bytes.Buffer
		w := brotli.NewWriterLevel(&b, 5)
		w.Write(t)
		w.Close()
		br += b.Len()
	}
	per := func(n int) float64 { return float64(n) / float64(rows) }
	note := fmt.Sprintf("%d buckets x %d rows, avg body %.1f KB", len(text), DensePerBucket, float64(sum(text))/float64(len(text))/1e3)
	res := map[string]benchMeasure{
		rowEncText:   {value: per(sum(text)), note: note},
		rowEncGzip6:  {value: per(g6), note: note},
		rowEncGzip1:  {value: per(g1), note: note},
		rowEncBrotli: {value: per(br), note: note},
		rowEncBinary: {value: per(sum(bin)), note: note + ", 18 suffix bytes"},
	}
	for _, c := range []struct {
		row   string
		level int
	}{{rowEncGzipOnline, gzip.HuffmanOnly}, {rowEncGzip1Time, 1}} {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, c.level)
		span := time.Second
		if e.quick {
			span = 50 * time.Millisecond
		}
		start := time.Now()
		n := 0
		for time.Since(start) < span || n < len(text) {
			b.Reset()
			w.Reset(&b)
			w.Write(text[n%len(text)])
			w.Close()
			n++
		}
		res[c.row] = benchMeasure{value: float64(time.Since(start).Microseconds()) / float64(n),
			note: fmt.Sprintf("%d bodies, %.0f%% of identity", n, 100*float64(b.Len())/float64(len(text[(n-1)%len(text)])))}
	}
	return res, nil
}
