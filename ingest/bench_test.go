package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// BenchmarkReadParseHIBP measures the ingest's own share of a Pwned
// Passwords ingest: reading lines through the bounded buffer and parsing
// them, without the index. It reports lines per second.
func BenchmarkReadParseHIBP(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "%08X%032X:%d\r\n", i, uint64(i)*0x9E3779B97F4A7C15, 1+i%5000)
	}
	data := buf.Bytes()
	br := newLineReader(nil, nil).br
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		lr := newLineReader(bytes.NewReader(data), br)
		var sum uint64
		for {
			line, _, err := lr.next()
			if err == io.EOF {
				break
			}
			_, c, r := ParseHashCount(index.KindSHA1, line)
			if r != ReasonNone {
				b.Fatalf("line %d: %v", lr.line, r)
			}
			sum += c
		}
		if sum == 0 {
			b.Fatal("nothing parsed")
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkIngestHIBP measures a whole Pwned Passwords ingest of 200,000
// lines into a fresh index (file fingerprint, parse, sorted stream into the
// store, filters and range files). It reports hashes per second.
func BenchmarkIngestHIBP(b *testing.B) {
	dir := b.TempDir()
	path, _, _ := writeKillInputs(b, dir, 200_000, 10)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ix, err := index.Open(index.Options{Dir: filepath.Join(dir, fmt.Sprint("ix", i))})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), ix, Config{Inputs: []string{path}}, nil); err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
	b.ReportMetric(200_000*float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
