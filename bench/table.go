package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Goal says which side of a target passes.
type Goal uint8

// Goals.
const (
	NoTarget Goal = iota // informational row
	AtLeast              // pass when median >= target (throughputs)
	AtMost               // pass when median <= target (latencies, ratios)
)

// Row is one line of the benchmark table: the samples of one measure over
// the repetitions of a run.
type Row struct {
	Name    string
	Unit    string    // "hashes/s", "µs", "req/s", "ratio", ...
	Samples []float64 // one per repetition
	Goal    Goal
	Target  float64
	Note    string // e.g. "vs baseline 0.82x"
	Err     error  // the benchmark failed; the row shows FAIL and the error
}

// Median returns the median of the samples (NaN when there are none).
func (r *Row) Median() float64 { return Median(r.Samples) }

// Verdict returns "pass", "FAIL" or "-" (no target).
func (r *Row) Verdict() string {
	m := r.Median()
	switch {
	case r.Err != nil || math.IsNaN(m):
		return "FAIL"
	case r.Goal == AtLeast && m >= r.Target, r.Goal == AtMost && m <= r.Target:
		return "pass"
	case r.Goal == NoTarget:
		return "-"
	}
	return "FAIL"
}

// Passed reports whether the row has no error and meets its target if any.
func (r *Row) Passed() bool { return r.Verdict() != "FAIL" }

// Median returns the median of xs without modifying it (NaN when empty).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// FormatValue prints a measure with 3 significant digits and thousands
// grouping for large values: 1234567 → "1.23M", 0.0421 → "0.0421".
func FormatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 2, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// WriteTable prints the rows as one aligned table: name, median, unit,
// target, verdict, samples count and note. It returns the number of rows
// that failed.
func WriteTable(w io.Writer, rows []Row) (failed int, err error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmedian\tunit\ttarget\tresult\tn\tnote")
	for i := range rows {
		r := &rows[i]
		target := "-"
		switch r.Goal {
		case AtLeast:
			target = ">= " + FormatValue(r.Target)
		case AtMost:
			target = "<= " + FormatValue(r.Target)
		}
		note := r.Note
		if r.Err != nil {
			note = "error: " + r.Err.Error()
		}
		v := r.Verdict()
		if v == "FAIL" {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Name, FormatValue(r.Median()), r.Unit, target, v, len(r.Samples), note)
	}
	return failed, tw.Flush()
}

// WriteRaw writes the samples in the Go benchmark format (one line per row
// and sample, "BenchmarkName 1 value unit"), for `go tool benchstat`.
func WriteRaw(w io.Writer, rows []Row) error {
	for i := range rows {
		name := rawName(rows[i].Name)
		unit := strings.ReplaceAll(rows[i].Unit, " ", "-")
		for _, v := range rows[i].Samples {
			if _, err := fmt.Fprintf(w, "Benchmark%s 1 %s %s\n", name, strconv.FormatFloat(v, 'g', -1, 64), unit); err != nil {
				return err
			}
		}
	}
	return nil
}

// rawName turns a row name into a benchmark name: letters and digits of
// each word, capitalised, e.g. "range dense bucket" → "RangeDenseBucket".
func rawName(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}
