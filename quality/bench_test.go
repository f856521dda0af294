package quality_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/pwndex/pwndex/quality"
	"github.com/pwndex/pwndex/quality/testgen"
)

// BenchmarkVet measures the whole pipeline (decode, parse, every check
// including phone validation, duplicates, outputs) on a generated
// Windows-1252 file; rows/s is reported as a metric.
func BenchmarkVet(b *testing.B) {
	var in bytes.Buffer
	tr, err := testgen.GenerateContacts(&in, 20000, 7, testgen.Windows1252)
	if err != nil {
		b.Fatal(err)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := quality.Vet(context.Background(), bytes.NewReader(data), "bench.csv",
			quality.VetOptions{Now: tr.Now}, quality.Outputs{Clean: io.Discard, Rejects: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tr.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadTable measures decoding and CSV parsing alone.
func BenchmarkReadTable(b *testing.B) {
	var in bytes.Buffer
	if _, err := testgen.GenerateContacts(&in, 20000, 7, testgen.Windows1252); err != nil {
		b.Fatal(err)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		t, err := quality.OpenTable(bytes.NewReader(data), "bench.csv", quality.TableOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := t.Next(); err == io.EOF {
				break
			}
		}
	}
}

// BenchmarkCheckPhone measures phone validation alone (index/ident and
// phonenumbers), to compare with BenchmarkVet's per-row cost in one run.
func BenchmarkCheckPhone(b *testing.B) {
	nums := []string{"06 12 34 56 78", "+33 7 81 22 33 44", "01 45 67 89 01", "0470 12 34 56", "06.98.76.54.32"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		quality.CheckPhone(nums[i%len(nums)], "FR", false)
		i++
	}
}
