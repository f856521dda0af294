package quality

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// csvReference writes records with encoding/csv, the format csvWriter
// must reproduce.
func csvReference(t testing.TB, comma rune, records [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = comma
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeRecords(t testing.TB, comma rune, records [][]string) []byte {
	var b bytes.Buffer
	w := newRecordWriter(&b, comma)
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCSVWriterMatchesEncodingCSV compares the output writer with
// encoding/csv on random records made of the characters that matter
// (delimiters, quotes, CR, LF, leading ASCII and Unicode spaces, `\.`,
// accents), for every delimiter vet writes and a non-ASCII one, across
// the buffer's flush size.
func TestCSVWriterMatchesEncodingCSV(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Jean", "é", ",", ";", "\t", "|", "\"", "\r", "\n", " ", "\u00a0", "\u2003", `\.`, "\\", "x y", "§", ""}
	for _, comma := range []rune{',', ';', '\t', '|', '§'} {
		var records [][]string
		for range 5000 {
			rec := make([]string, 1+r.IntN(6))
			for i := range rec {
				var b strings.Builder
				for range r.IntN(4) {
					b.WriteString(pieces[r.IntN(len(pieces))])
				}
				rec[i] = b.String()
			}
			records = append(records, rec)
		}
		records = append(records, []string{`\.`}, []string{""}, []string{"", ""}, []string{" lead", "\u00a0nbsp", "trail "})
		want, got := csvReference(t, comma, records), writeRecords(t, comma, records)
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("delimiter %q: output differs from encoding/csv at byte %d of %d: got %q, want %q",
				comma, i, len(want), got[i:min(len(got), i+40)], want[i:min(len(want), i+40)])
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestCSVWriterReportsWriteErrors: a failing output surfaces at the
// latest on Flush, and every later call returns it.
func TestCSVWriterReportsWriteErrors(t *testing.T) {
	w := newRecordWriter(failWriter{}, ',')
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = w.Write([]string{"a row of some length", "to fill the buffer"})
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("write error = %v, want disk full", err)
	}
	if err := w.Write([]string{"x"}); err == nil {
		t.Error("Write after a failure succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Error("Flush after a failure succeeded")
	}
}

// FuzzCSVWriterMatchesEncodingCSV: any three cells, written by vet's
// writer, are byte for byte what encoding/csv writes.
func FuzzCSVWriterMatchesEncodingCSV(f *testing.F) {
	f.Add("a", "b\"c", " d")
	f.Add(`\.`, "x\r\ny", "\u00a0")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, comma := range []rune{',', ';'} {
			rec := [][]string{{a, b, c}}
			if want, got := csvReference(t, comma, rec), writeRecords(t, comma, rec); !bytes.Equal(got, want) {
				t.Errorf("delimiter %q, record %q: got %q, want %q", comma, rec, got, want)
			}
		}
	})
}
