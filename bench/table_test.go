package bench

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		in := append([]float64(nil), tc.in...)
		if got := Median(in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slicesEqual(in, tc.in) {
			t.Errorf("Median modified its input: %v", in)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		2_345_678: "2.35M", 812_000: "812.0k", 950: "950", 41.5: "41.50", 0.0421: "0.0421", 0: "0",
		3.2e9: "3.20G", math.NaN(): "n/a",
	} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Name: "ingest", Unit: "hashes/s", Samples: []float64{9e5, 7e5, 8.5e5}, Goal: AtLeast, Target: 8e5},
		{Name: "range", Unit: "µs", Samples: []float64{60, 40, 55}, Goal: AtMost, Target: 50},
		{Name: "info", Unit: "ratio", Samples: []float64{1.01}},
		{Name: "broken", Unit: "req/s", Goal: AtLeast, Target: 1, Err: errors.New("server died")},
		{Name: "lat", Unit: "µs", Samples: []float64{10, 20}, Goal: AtMost, Target: 15},
	}
	wantVerdict := []string{"pass", "FAIL", "-", "FAIL", "pass"}
	for i := range rows {
		if got := rows[i].Verdict(); got != wantVerdict[i] {
			t.Errorf("%s: verdict %s, want %s", rows[i].Name, got, wantVerdict[i])
		}
	}
	var buf bytes.Buffer
	failed, err := WriteTable(&buf, rows)
	if err != nil || failed != 2 {
		t.Fatalf("WriteTable: %d failed, %v; want 2", failed, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(rows)+1 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		"benchmark median unit target result n note",
		"ingest 850.0k hashes/s >= 800.0k pass 3",
		"range 55.00 µs <= 50.00 FAIL 3",
		"info 1.01 ratio - - 1",
		"broken n/a req/s >= 1.00 FAIL 0 error: server died",
		"lat 15.00 µs <= 15.00 pass 2",
	} {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != want {
			t.Errorf("line %d = %q, want %q", i, got, want)
		}
	}
}

func TestWriteRaw(t *testing.T) {
	var buf bytes.Buffer
	err := WriteRaw(&buf, []Row{
		{Name: "serve /range Add-Padding: true", Unit: "req/s", Samples: []float64{1500.5, 1600}},
		{Name: "no samples", Unit: "x"},
	})
	want := "BenchmarkServeRangeAddPaddingTrue 1 1500.5 req/s\nBenchmarkServeRangeAddPaddingTrue 1 1600 req/s\n"
	if err != nil || buf.String() != want {
		t.Errorf("WriteRaw = %q, %v; want %q", buf.String(), err, want)
	}
}
